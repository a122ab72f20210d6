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
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from tmuxorch.agents.patterns import for_agent
from tmuxorch.bridge.detect import Detector
from tmuxorch.bridge.frames import make_patch
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from tmuxorch.agents.patterns import Patterns
    from tmuxorch.tmux.client import Client
    from tmuxorch.tmux.control import ControlClient

Event = dict[str, object]
_SEP = "\t"
FACTS = _SEP.join(
    (
        "#{pane_id}",
        "#{history_size}",
        "#{cursor_x}",
        "#{cursor_y}",
        "#{pane_width}",
        "#{pane_height}",
        "#{pane_dead}",
        "#{pane_dead_status}",
        "#{alternate_on}",
        "#{pane_pid}",
        "#{session_name}",
        "#{pane_current_command}",
        "#{history_limit}",
    )
)
DEAD_SETTLE = 0.03
"""Seconds between the two looks that end a dead pane."""
END_LOOK = 0.05
"""Seconds between looks at a pane whose program is said to be ending (deaths print nothing
that would wake the poller)."""
LOOKBACK = 64
"""History lines fetched with each look beyond what the last look says is new."""


@dataclass
class Facts:
    pane: str
    history: int
    cursor: tuple[int, int]
    size: tuple[int, int]
    dead: bool
    dead_status: int | None
    alternate: bool
    pid: int
    session: str
    command: str
    limit: int

    @classmethod
    def parse(cls, line: str) -> Facts:
        f = line.split(_SEP)
        return cls(
            f[0],
            int(f[1]),
            (int(f[2]), int(f[3])),
            (int(f[4]), int(f[5])),
            f[6] == "1",
            int(f[7]) if f[7] else None,
            f[8] == "1",
            int(f[9] or 0),
            f[10],
            f[11],
            int(f[12] or 0),
        )


@dataclass
class _Pane:
    pane: str
    label: str
    detector: Detector
    from_start: bool
    facts: Facts | None = None
    emitted: int = -1
    """Absolute number of the next history line to emit (-1: not looked at yet)."""
    base: int = 0
    """Absolute number of the first line of tmux's history now (trims move it)."""
    frame: str | None = None
    key_at: float = 0.0
    seq: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    margin: int = LOOKBACK
    dead_seen: tuple[int, str] | None = None
    settle_at: float | None = None
    """When to look again at a pane just found dead."""
    short: bool = False
    """The last look did not reach all new history: look again at once."""
    ending: bool = False
    """Its program is ending (:meth:`Poller.expect_end`): look often until it is dead."""
    ended: bool = False


class Subscription:
    """A bounded queue of events. Never blocks the poller: when full, what is queued is
    dropped and the subscriber gets a ``gap`` and a keyframe per pane instead."""

    def __init__(self, poller: Poller, maxsize: int, frames: bool) -> None:
        self.poller = poller
        self.maxsize = maxsize
        self.frames = frames
        self._events: deque[Event] = deque()
        self._cond = threading.Condition()
        self.lagging = False
        self.dropped = 0
        self.closed = False

    def put(self, event: Event) -> None:
        if not self.frames and event["type"] == "frame":
            return
        with self._cond:
            if self.lagging:
                self.dropped += 1
                return
            if len(self._events) >= self.maxsize:
                self.dropped += len(self._events) + 1
                self._events.clear()
                self.lagging = True
                self.poller.resync_later(self)
                return
            self._events.append(event)
            self._cond.notify()

    def resync(self, events: list[Event]) -> None:
        """Back in step: a gap marker, then the poller's fresh keyframes."""
        with self._cond:
            gap: Event = {"type": "gap", "reason": "subscriber too slow", "dropped": self.dropped}
            self._events.extend([gap, *events])
            self.lagging, self.dropped = False, 0
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Event | None:
        with self._cond:
            if not self._events and not self.closed:
                self._cond.wait(timeout)
            return self._events.popleft() if self._events else None

    def __iter__(self) -> Iterator[Event]:
        while not self.closed or self._events:
            event = self.get(0.5)
            if event is not None:
                yield event

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self.poller.unsubscribe(self)


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
        self._panes: dict[str, _Pane] = {}
        self._subs: list[Subscription] = []
        self._sinks: list[Callable[[Event], None]] = []
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
                self._panes[pane] = _Pane(pane, label or pane, detector, from_start)
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
            by_session: dict[str, list[_Pane]] = {}
            for ps in states:
                by_session.setdefault(ps.facts.session if ps.facts else "", []).append(ps)
            todo = []
            for session, group in by_session.items():
                todo += self._look_session(session or None, group)
            if not todo:
                return

    def _look_session(self, session: str | None, panes: list[_Pane]) -> list[str]:
        groups = []
        for ps in panes:
            capture = ("capture-pane", "-p", "-t", ps.pane, "-S", f"-{self._lookback(ps)}")
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

    def _lookback(self, ps: _Pane) -> int:
        """History lines to capture above the screen: what is new since the last look, the
        lines just before it (to check the alignment), and a margin for what comes meanwhile."""
        if ps.facts is None:
            return 10**9 if ps.from_start else 0
        unseen = max(0, ps.base + ps.facts.history - ps.emitted)
        return unseen + len(ps.tail) + ps.margin

    def _update(self, ps: _Pane, facts: Facts, captured: list[str], now: float) -> list[Event]:
        if ps.ended:
            return []
        ps.settle_at = now + END_LOOK if ps.ending else None
        events: list[Event] = []
        height = facts.size[1]
        screen_lines = captured[-height:] if height else []
        history_part = captured[: len(captured) - len(screen_lines)]
        old = ps.facts
        resync = old is None or old.size != facts.size or old.alternate != facts.alternate
        if old is not None and old.pid != facts.pid and not facts.dead:
            resync = True  # respawned
        ps.facts = facts
        if ps.emitted < 0:  # the first look: from here on (or from the very start)
            ps.base = 0
            ps.emitted = 0 if ps.from_start else facts.history
        events += self._history(ps, facts, history_part, screen_lines)
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
            events.append(self._event(ps, "state", state=state))
        return events

    def _history(
        self, ps: _Pane, facts: Facts, history_part: list[str], screen_lines: list[str]
    ) -> list[Event]:
        """Emit history lines [emitted, base + history), in order, each once."""
        ps.short = False
        events: list[Event] = []
        top = ps.base + facts.history
        back = ps.emitted - top  # > 0: lines emitted already are on the screen again (it grew)
        if 0 < back <= len(screen_lines) and ps.tail:
            last = min(back, len(ps.tail))
            if screen_lines[back - last : back] == list(ps.tail)[-last:]:
                return events
        first = top - len(history_part)
        overlap = min(len(ps.tail), ps.emitted - first)
        known = list(ps.tail)[-overlap:] if overlap > 0 else []
        seen = (
            history_part[ps.emitted - overlap - first : ps.emitted - first] if overlap > 0 else []
        )
        if top < ps.emitted or seen != known:
            # history shrank (trimmed at its limit, cleared, reflowed): find our place again
            events += self._realign(ps, facts)
            top = ps.base + facts.history
            if top <= ps.emitted:
                return events
            ps.short = True  # look again with the new alignment
            return events
        if ps.emitted < first:  # a burst outran this look: look again, reaching further
            ps.short = True
            ps.margin *= 2
            return events
        ps.margin = LOOKBACK
        new = history_part[ps.emitted - first :]
        if new and not ps.tail and facts.limit and facts.history >= facts.limit * 9 // 10:
            # tmux drops the oldest tenth at its limit: with nothing read yet to align on,
            # there is no telling what went before
            reason = f"history reached its limit ({facts.limit} lines) before it was read"
            events.append(self._event(ps, "gap", reason=reason))
        if new:
            events.append(self._event(ps, "lines", start=ps.emitted, lines=new))
            ps.emitted += len(new)
            ps.tail.extend(new)
        return events

    def _realign(self, ps: _Pane, facts: Facts) -> list[Event]:
        """History shrank or moved (trimmed at its limit, cleared, reflowed, or lines taken
        back onto a screen that grew): find where we are in it, by the last lines emitted
        (in the history or at the top of the screen), or by the top of the last screen seen
        (the lines that come next); failing both, skip what is there now and say so."""
        everything = self.client.cmd("capture-pane", "-p", "-t", ps.pane, "-S", "-")
        height = facts.size[1]
        history = everything[: max(0, len(everything) - height)]
        tail = list(ps.tail)
        if tail and ps.emitted == len(tail) and everything[: len(tail)] == tail:
            ps.base = 0  # every line since the pane began is known: they are all still here
            return []
        for size in (len(tail), 3):
            probe = tail[-size:]
            if size >= 2 and size <= len(tail) and any(line.strip() for line in probe):
                at = _find(everything, probe)
                if at is not None:
                    ps.base = ps.emitted - (at + size)
                    return []
        screen = (ps.frame or "").split("\n")
        for size in (3, 2):
            probe = screen[:size]
            if len(probe) == size and all(line.strip() for line in probe):
                at = _find(history, probe)
                if at is not None:
                    ps.base = ps.emitted - at
                    return []
        ps.base = ps.emitted - len(history)
        ps.tail.clear()
        ps.tail.extend(history[-ps.tail.maxlen :] if ps.tail.maxlen else [])
        lost = "history trimmed, cleared or reflowed before it was read"
        return [self._event(ps, "gap", reason=lost)]

    def _frame(self, ps: _Pane, screen: str, now: float, *, key: bool) -> list[Event]:
        facts = ps.facts
        assert facts is not None
        key = key or ps.frame is None or now - ps.key_at >= self.keyframe_every
        if not key and screen == ps.frame:
            return []
        data = self._frame_facts(ps)
        if key:
            data.update(key=True, text=screen)
            ps.key_at = now
        else:
            data.update(key=False, patch=make_patch(ps.frame or "", screen))
        ps.frame = screen
        return [self._event(ps, "frame", **data)]

    @staticmethod
    def _frame_facts(ps: _Pane) -> Event:
        facts = ps.facts
        assert facts is not None
        return {
            "cursor": list(facts.cursor),
            "size": list(facts.size),
            "history": ps.base + facts.history,
            "alternate": facts.alternate,
        }

    def _end(self, ps: _Pane, facts: Facts, screen_lines: list[str]) -> list[Event]:
        """The program ended: its last screen as lines (the transcript's end), then ``exit``.
        Rows emitted already (taken back from history onto the screen) are not repeated."""
        lines = list(screen_lines[max(0, ps.emitted - (ps.base + facts.history)) :])
        while lines and not lines[-1].strip():
            lines.pop()
        if lines and lines[-1].startswith("Pane is dead"):
            lines.pop()
            while lines and not lines[-1].strip():
                lines.pop()
        events: list[Event] = []
        if lines:
            events.append(self._event(ps, "lines", start=ps.emitted, lines=lines, final=True))
            ps.emitted += len(lines)
        state = ps.detector.observe("", time.monotonic(), alive=False, exit_code=facts.dead_status)
        if state is not None:
            events.append(self._event(ps, "state", state=state))
        events.append(self._event(ps, "exit", code=facts.dead_status))
        ps.ended = True
        with self._lock:
            self._panes.pop(ps.pane, None)
        return events

    def _gone(self, ps: _Pane) -> list[Event]:
        with self._lock:
            self._panes.pop(ps.pane, None)
        return [self._event(ps, "gone")]

    def _event(self, ps: _Pane, kind: str, **data: object) -> Event:
        ps.seq += 1
        return {
            "type": kind,
            "pane": ps.pane,
            "label": ps.label,
            "seq": ps.seq,
            "t": time.time(),
            **data,
        }

    def _publish(self, events: list[Event]) -> None:
        if not events:
            return
        with self._lock:
            subs = list(self._subs)
            sinks = list(self._sinks)
        for event in events:
            for sink in sinks:
                sink(event)
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
                    frames.append(
                        self._event(ps, "frame", key=True, text=ps.frame, **self._frame_facts(ps))
                    )
        for sub in waiting:
            sub.resync(frames)


def _find(lines: list[str], probe: list[str]) -> int | None:
    """Where ``probe`` last occurs in ``lines``."""
    for j in range(len(lines) - len(probe), -1, -1):
        if lines[j : j + len(probe)] == probe:
            return j
    return None
