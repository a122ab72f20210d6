"""The capture-pane diff poller: pane contents in, events out, to any number of subscribers.

Cheap when idle: a control-mode client per session tells the poller which panes printed
(``%output``), so it captures only those, at once (no fixed sleep); a slow backstop looks at
every pane now and then (deaths make no output). Each look at a pane is one atomic tmux
command line (``display-message`` of its facts; ``capture-pane`` of its history tail and
screen), so history size, cursor and text always agree.

Events (plain dicts, ready for JSON):

- ``lines``: text that scrolled into history, in order, each line once (``start`` is the
  absolute number of its first line; when the pane ends, its last screen follows);
- ``frame``: the visible screen, as a line-mode diff-match-patch ``patch`` against the
  previous frame, or as ``text`` when ``key`` (at start, after a resync, on resize, and
  every ``keyframe_every`` seconds);
- ``state``: what the agent is doing (see :mod:`tmuxorch.bridge.detect`);
- ``exit``: the pane's program ended; ``gone``: the pane was closed;
- ``gap``: something was lost (this subscriber was too slow, or history was trimmed
  before it was read); a keyframe follows.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from tmuxorch.agents.patterns import for_agent
from tmuxorch.bridge.detect import Detector
from tmuxorch.bridge.history import FACTS, Facts, PaneState, lookback, new_lines, without_banner
from tmuxorch.bridge.history import Event as Event
from tmuxorch.bridge.subscription import Subscription
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tmuxorch.agents.patterns import Patterns
    from tmuxorch.tmux.client import Client
    from tmuxorch.tmux.control import ControlClient

DEAD_SETTLE = 0.03
"""Seconds between the two looks that end a dead pane."""
END_LOOK = 0.05
"""Seconds between looks at a pane whose program is said to be ending (deaths print nothing
that would wake the poller)."""


class Poller:
    def __init__(
        self,
        client: Client,
        *,
        control: bool = True,
        backstop: float = 1.0,
        keyframe_every: float = 10.0,
    ) -> None:
        self.client = client
        self.use_control = control
        self.backstop = backstop
        self.keyframe_every = keyframe_every
        self._panes: dict[str, PaneState] = {}
        self._subs: list[Subscription] = []
        self._sinks: list[Callable[[Event], None]] = []
        self._failed: set[int] = set()
        self._looking = threading.Lock()
        self._resync: list[Subscription] = []
        self._dirty: set[str] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._controls: dict[str, ControlClient] = {}
        self._thread: threading.Thread | None = None
        self.idle = threading.Event()
        """Set whenever the poller has nothing left to look at (tests, shutdown)."""

    # -- what to watch, who listens ------------------------------------------------------
    def watch(
        self,
        pane: str,
        *,
        label: str | None = None,
        patterns: Patterns | None = None,
        from_start: bool = False,
    ) -> None:
        """Follow ``pane`` (``%id``); ``from_start``: its whole history, not just what comes."""
        with self._lock:
            if pane not in self._panes:
                detector = Detector(patterns if patterns is not None else for_agent(None))
                self._panes[pane] = PaneState(pane, label or pane, detector, from_start)
                self._dirty.add(pane)
        self._wake.set()

    def unwatch(self, pane: str) -> None:
        with self._lock:
            self._panes.pop(pane, None)

    def watching(self) -> list[str]:
        with self._lock:
            return list(self._panes)

    def subscribe(self, *, maxsize: int = 10_000, frames: bool = True) -> Subscription:
        sub = Subscription(self, maxsize, frames)
        with self._lock:
            self._subs.append(sub)
            for ps in self._panes.values():
                ps.key_at = 0.0  # a newcomer starts from a keyframe
                self._dirty.add(ps.pane)
        self._wake.set()
        return sub

    def add_sink(self, sink: Callable[[Event], None]) -> None:
        """Call ``sink(event)`` for every event, in the poller's thread: for fast, local
        consumers (appending to a file, a queue.put); anything slower must subscribe."""
        with self._lock:
            self._sinks.append(sink)

    def screen(self, pane: str) -> str | None:
        """The last screen seen of ``pane``."""
        with self._lock:
            ps = self._panes.get(pane)
            return ps.frame if ps else None

    def finish(self, pane: str, timeout: float = 3.0) -> None:
        """Look at ``pane`` until it is seen dead and settled (emitting its last screen and
        ``exit``), at most ``timeout`` seconds; then stop following it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                ps = self._panes.get(pane)
            if ps is None or ps.ended:
                break
            self.look([pane])
            time.sleep(DEAD_SETTLE)
        self.unwatch(pane)

    def expect_end(self, pane: str) -> bool:
        """``pane``'s program is ending: look at it often until it is seen dead and settled,
        then emit its last screen and ``exit`` as usual (the caller waits for that event,
        not in here). False if ``pane`` is not followed (or has ended already)."""
        with self._lock:
            ps = self._panes.get(pane)
            if ps is None or ps.ended:
                return False
            ps.ending = True
            self._dirty.add(pane)
        self._wake.set()
        return True

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def resync_later(self, sub: Subscription) -> None:
        self._resync.append(sub)
        self._wake.set()

    # -- running -------------------------------------------------------------------------
    def start(self) -> Poller:
        self._thread = threading.Thread(target=self._run, daemon=True, name="tmuxorch-poller")
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for control in self._controls.values():
            control.close()
        for sub in list(self._subs):
            with sub._cond:
                sub.closed = True
                sub._cond.notify_all()

    def __enter__(self) -> Poller:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        next_backstop = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            with self._lock:
                dirty = self._dirty & self._panes.keys()
                self._dirty.clear()
                due = [
                    p
                    for p, ps in self._panes.items()
                    if min(ps.detector.due() or 1e18, ps.settle_at or 1e18) <= now
                ]
            if now >= next_backstop:
                dirty = set(self.watching())
                next_backstop = now + self.backstop
            dirty.update(due)
            if dirty:
                self.idle.clear()
                # the server or a session may go away meanwhile: the next look says which
                with contextlib.suppress(TmuxError):
                    self.look(sorted(dirty))
            if self._resync:
                self._send_resync()
            with self._lock:
                waits = [next_backstop]
                waits += [d for ps in self._panes.values() if (d := ps.detector.due()) is not None]
                waits += [ps.settle_at for ps in self._panes.values() if ps.settle_at is not None]
                if not self._dirty:
                    self.idle.set()
            self._wake.wait(max(0.0, min(waits) - time.monotonic()))
            self._wake.clear()

    # -- looking at panes ------------------------------------------------------------------
    def _control_for(self, session: str) -> ControlClient | None:
        if not self.use_control:
            return None
        control = self._controls.get(session)
        if control is not None and not control.closed.is_set():
            return control
        from tmuxorch.tmux.control import ControlClient

        try:
            control = ControlClient(self.client, session, on_output=self._output)
        except TmuxError:
            return None
        self._controls[session] = control
        return control

    def _output(self, pane: str) -> None:
        with self._lock:
            if pane in self._panes:
                self._dirty.add(pane)
                self._wake.set()

    def _run_groups(
        self, groups: list[list[tuple[str, ...]]], session: str | None
    ) -> list[list[str] | None]:
        """Each group's commands as one atomic tmux command line; outputs flattened, None for a
        command that failed (a pane that is gone) and for the rest of its group."""
        control = self._control_for(session) if session else None
        if control is not None:
            try:
                return control.run_lines(groups)
            except TmuxError:
                pass  # the control client went away: ask the plain way
        results: list[list[str] | None] = []
        for group in groups:  # one invocation per group keeps each group atomic
            try:
                results += self.client.run(group)
            except TmuxError as exc:
                results += [*exc.outputs, *([None] * (len(group) - len(exc.outputs)))]
        return results

    def look(self, panes: Sequence[str]) -> None:
        """Look at ``panes`` now: one round trip per session, and again at once for a pane
        whose new history the look did not reach. Safe from any thread."""
        with self._looking:
            self._look(panes)

    def _look(self, panes: Sequence[str]) -> None:
        todo = list(panes)
        for _ in range(20):  # each retry doubles the reach: 20 is more than any history
            with self._lock:
                states = [self._panes[p] for p in todo if p in self._panes]
            by_session: dict[str, list[PaneState]] = {}
            for ps in states:
                by_session.setdefault(ps.facts.session if ps.facts else "", []).append(ps)
            todo = []
            for session, group in by_session.items():
                todo += self._look_session(session or None, group)
            if not todo:
                return

    def _look_session(self, session: str | None, panes: list[PaneState]) -> list[str]:
        groups = []
        for ps in panes:
            capture = ("capture-pane", "-p", "-t", ps.pane, "-S", f"-{lookback(ps)}")
            groups.append([("display-message", "-p", "-t", ps.pane, FACTS), capture])
        outputs = self._run_groups(groups, session)
        now = time.monotonic()
        events: list[Event] = []
        again: list[str] = []
        for i, ps in enumerate(panes):
            facts_out, capture_out = outputs[2 * i], outputs[2 * i + 1]
            if not facts_out or capture_out is None:
                events += self._gone(ps)
                continue
            events += self._update(ps, Facts.parse(facts_out[0]), capture_out, now)
            if ps.short:
                again.append(ps.pane)
            elif (
                session is None
                and ps.facts is not None
                and not ps.ended
                and self._control_for(ps.facts.session) is not None
            ):
                # first look: attached to its session for wake-ups now; look once more, so
                # nothing printed meanwhile waits for the backstop
                again.append(ps.pane)
        self._publish(events)
        return again

    def _capture_all(self, ps: PaneState) -> Callable[[], list[str]]:
        return lambda: self.client.cmd("capture-pane", "-p", "-t", ps.pane, "-S", "-")

    def _update(self, ps: PaneState, facts: Facts, captured: list[str], now: float) -> list[Event]:
        if ps.ended:
            return []
        ps.settle_at = now + END_LOOK if ps.ending else None
        events: list[Event] = []
        height = facts.size[1]
        screen_lines = captured[-height:] if height else []
        history_part = captured[: len(captured) - len(screen_lines)]
        screen_lines = without_banner(screen_lines) if facts.dead else screen_lines
        old = ps.facts
        resync = old is None or old.size != facts.size or old.alternate != facts.alternate
        if old is not None and old.pid != facts.pid and not facts.dead:
            resync = True  # respawned
        ps.facts = facts
        if ps.emitted < 0:  # the first look: from here on (or from the very start)
            ps.base = 0
            ps.emitted = 0 if ps.from_start else facts.history
        events += new_lines(ps, facts, history_part, screen_lines, self._capture_all(ps))
        if ps.short:
            return events  # looked again at once, reaching far enough: frames and end then
        if events and events[0]["type"] == "gap":
            resync = True
        screen = "\n".join(screen_lines)
        events += self._frame(ps, screen, now, key=resync)
        if facts.dead:
            # tmux may mark the pane dead before it has drawn the program's last output:
            # end only once a second look, a moment later, shows nothing new
            seen = (facts.history, screen)
            if ps.dead_seen == seen:
                events += self._end(ps, facts, screen_lines)
            else:
                ps.dead_seen, ps.settle_at = seen, now + DEAD_SETTLE
            return events
        state = ps.detector.observe(screen, now)
        if state is not None:
            events.append(ps.event("state", state=state))
        return events

    def _frame(self, ps: PaneState, screen: str, now: float, *, key: bool) -> list[Event]:
        return ps.frame_event(screen, now, key=key, every=self.keyframe_every)

    def _end(self, ps: PaneState, facts: Facts, screen_lines: list[str]) -> list[Event]:
        """The program ended: its last screen as lines (the transcript's end), then ``exit``.
        Rows emitted already (taken back from history onto the screen) are not repeated."""
        lines = ps.final_lines(facts, screen_lines)
        events: list[Event] = []
        if lines:
            events.append(ps.event("lines", start=ps.emitted, lines=lines, final=True))
            ps.emitted += len(lines)
        state = ps.detector.observe("", time.monotonic(), alive=False, exit_code=facts.dead_status)
        if state is not None:
            events.append(ps.event("state", state=state))
        events.append(ps.event("exit", code=facts.dead_status))
        ps.ended = True
        with self._lock:
            self._panes.pop(ps.pane, None)
        return events

    def _gone(self, ps: PaneState) -> list[Event]:
        with self._lock:
            self._panes.pop(ps.pane, None)
        return [ps.event("gone")]

    def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        with self._lock:
            subs = list(self._subs)
            sinks = list(self._sinks)
        for event in events:
            for sink in sinks:
                try:
                    sink(event)
                except Exception as exc:  # one sink's failure never stops the others
                    if id(sink) not in self._failed:
                        self._failed.add(id(sink))
                        print(f"tmuxorch: {sink!r} failed on an event: {exc!r}", file=sys.stderr)
        for sub in subs:
            for event in events:
                sub.put(event)

    def _send_resync(self) -> None:
        """Keyframes for subscribers that fell behind, then they are back in step."""
        waiting, self._resync = self._resync, []
        with self._lock:
            frames = []
            for ps in self._panes.values():
                if ps.facts is not None and ps.frame is not None:
                    frames.append(ps.event("frame", key=True, text=ps.frame, **ps.frame_facts()))
        for sub in waiting:
            sub.resync(frames)
