"""The supervisor of one task file: its lock, its run's engine, and the engine's standard
subscribers — the store (inline: on record before tmux acts), transcripts (inline: a pane's
file is assigned before its first line is read), ``events.jsonl``, the display, pane
titles and notifications. Python users may add their own with :meth:`subscribe`.

::

    supervisor = Supervisor(workspace, Client(), Display())
    supervisor.subscribe(print)           # every domain event, in order
    code = supervisor.run()
"""

from __future__ import annotations

import os

from tmuxorch.bridge.sinks import EventLog, Transcripts, transcript_end
from tmuxorch.run import events
from tmuxorch.run.bus import Bus
from tmuxorch.run.display import DisplayFeed
from tmuxorch.run.engine import Engine
from tmuxorch.run.journal import Journal
from tmuxorch.run.opening import SupervisorBusy, lock
from tmuxorch.run.store import Store, state_dir
from tmuxorch.run.table import last_line
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.run.bus import Event, Subscription
    from tmuxorch.run.control import Control
    from tmuxorch.run.display import Display
    from tmuxorch.run.retry_policy import RetryPolicy
    from tmuxorch.spec.model import Workspace
    from tmuxorch.tmux.agent_panes import AgentPane
    from tmuxorch.tmux.client import Client


class Supervisor:
    def __init__(
        self,
        workspace: Workspace,
        client: Client,
        display: Display,
        *,
        keep: bool = False,
        inside: bool = False,
        fresh: bool = False,
        clock: Callable[[], float] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        """``clock``: the wall clock retries and limits' waits go by (default
        ``time.time``); ``policy``: how failures are retried (see
        :mod:`tmuxorch.run.retry_policy`)."""
        self.workspace = workspace
        self.fresh = fresh
        self.bus = Bus()
        self.engine = Engine(
            workspace, client, self.bus, keep=keep, inside=inside, clock=clock, policy=policy
        )
        self.display = display
        self.client = client
        self.transcripts = Transcripts()
        self.last_lines: dict[str, str] = {}
        """Pane → the last line seen on it (kept once it is closed: the table shows it)."""
        self.ended: dict[str, str] = {}
        """Pane (closed or kept) → its transcript, until its last line is read from it."""

    @property
    def control(self) -> Control:
        """Stop, retry or add tasks of the live run, from any thread:
        ``sup.control.add({"id": "docs", "agent": "coder", "prompt": "..."}).result()``
        (see :mod:`tmuxorch.run.control`)."""
        return self.engine.control

    def subscribe(
        self, handler: Callable[[Event], None], *, inline: bool = False, maxsize: int = 1000
    ) -> Subscription | None:
        """Give ``handler`` every domain event of the run (see :mod:`tmuxorch.run.bus`)."""
        return self.bus.subscribe(handler, inline=inline, maxsize=maxsize)

    def panes(self) -> dict[str, AgentPane]:
        """Each live attempt's pane as a ``libtmux.Pane``, by task id."""
        return self.engine.panes()

    def run(self) -> int:
        held = lock(self.workspace.file)
        try:
            store = Store(state_dir(self.workspace.file))
            try:
                self._wire(store)
                return self.engine.run_to_end(store, fresh=self.fresh)
            finally:
                self.bus.close()
                self.transcripts.wait()  # each made whole before we are gone
                store.close()
        finally:
            held.close()  # releases the lock: no supervisor any more

    def _wire(self, store: Store) -> None:
        run, bus = self.engine.run, self.bus
        transcripts = self.transcripts
        log = EventLog(
            os.path.join(state_dir(self.workspace.file), "events.jsonl"), run=lambda: run.run_id
        )
        run.poller.add_sink(transcripts)
        run.poller.add_sink(log)

        def assign(event: Event) -> None:
            kind = event["type"]
            if kind in (events.STARTED, events.ADOPTED):
                transcripts.assign(str(event["pane"]), str(event["transcript"]))
            elif kind in (events.PANE_CLOSED, events.PANE_KEPT):
                pane, transcript, record = (str(event[k]) for k in ("pane", "transcript", "record"))
                transcripts.finish(pane, transcript, record, closed=kind == events.PANE_CLOSED)
                self.ended[pane] = transcript

        from tmuxorch.run.notify import Notifier
        from tmuxorch.run.titles import Titles

        bus.subscribe(Journal(store), name="store", inline=True)
        bus.subscribe(assign, name="transcripts", inline=True)
        every = 1.0 if self.display.wants_last_lines() else None
        feed = DisplayFeed(self.display, self._last_lines, settle=transcripts.wait)
        bus.subscribe(feed, name="display", every=every)
        bus.subscribe(log, name="events.jsonl")
        bus.subscribe(Titles(self.client), name="titles")
        bus.subscribe(Notifier(self.client, lambda: run.taskset.notify), name="notify")

    def _last_lines(self, panes: list[str]) -> dict[str, str]:
        """The last line of each pane: of its screen while it is open (its wrapped lines
        joined, in one tmux invocation for all), of its transcript once it is whole."""
        from tmuxorch.tmux.panes import capture

        run = self.engine.run
        watched = set(run.poller.watching())
        live = [pane for pane in panes if pane in watched or "@" in pane]
        servers: dict[int, tuple[Client, dict[str, str]]] = {}  # here, and each host reached
        for pane in live:
            if pane in self.ended:
                continue
            try:
                client, raw = run.tmux(pane)
            except TmuxError:
                continue  # (its host out of reach: the last line seen stands)
            servers.setdefault(id(client), (client, {}))[1][raw] = pane
        for client, named in servers.values():
            try:
                for raw, screen in capture(client, list(named)).items():
                    self.last_lines[named[raw]] = last_line(screen.splitlines())
            except TmuxError:
                pass  # the last lines seen stand
        for pane in [p for p in panes if p in self.ended]:
            transcript = self.ended[pane]
            if transcript in self.transcripts.whole:
                del self.ended[pane]
                line = last_line(transcript_end(transcript))
                self.last_lines[pane] = line or self.last_lines.get(pane, "")
        return {pane: self.last_lines.get(pane, "") for pane in panes}


__all__ = ["Supervisor", "SupervisorBusy"]
