"""What a run does when the link to a host closes: a cut link (the host unreachable)
leaves its tasks running there, their state ``unknown`` here, while the link is made again
every few seconds; once it is back their panes are followed again (each task still its one
attempt: nothing starts twice) and the time without live output is said. A host whose tmux
server is gone took its tasks' panes with it: they fail, saying so."""

from __future__ import annotations

import time

from tmuxorch.agents import failures
from tmuxorch.run import events
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.run.ending import Ending
    from tmuxorch.run.host_links import HostLink
    from tmuxorch.run.launching import Launcher
    from tmuxorch.tmux.panes import PaneFacts

CUT, TMUX_GONE, BACK = "cut", "tmux", "back"


class HostFaults:
    def __init__(self, run: Run, ending: Ending, launcher: Launcher) -> None:
        self.run = run
        self.ending = ending
        self.launcher = launcher
        run.hosts.on_close = lambda name, kind: run.put("host", (name, kind))

    def on(self, attempt_host: str) -> list[Attempt]:
        return [a for a in self.run.attempts.values() if a.host == attempt_host]

    def handle(self, name: str, kind: str) -> None:
        """(The loop.) ``kind``: :data:`CUT`, :data:`TMUX_GONE` or :data:`BACK`."""
        if kind == TMUX_GONE:
            self._tmux_gone(name)
        elif kind == CUT:
            self._cut(name)
        elif kind == BACK:
            self._back(name)

    def _tmux_gone(self, name: str) -> None:
        run = self.run
        run.note(f"host {name}: its tmux server is gone (killed or crashed), its panes with it")
        for attempt in self.on(name):
            attempt.cause = failures.LOST
            reason = f"the tmux server on {name} ended, and the task's pane with it"
            self.ending.complete(attempt, ok=False, code=None, reason=reason)
        self._reconnect(name)  # its next tasks get a new server there

    def _cut(self, name: str) -> None:
        run = self.run
        if name in run.unreachable:
            return
        run.unreachable.add(name)
        attempts = self.on(name)
        tasks = ", ".join(a.task.id for a in attempts) or "none"
        run.note(
            f"host {name} is unreachable (the ssh link was cut): its tasks go on there, "
            f"their state unknown until it is back ({tasks}); reconnecting"
        )
        for attempt in attempts:
            run.task_event(events.HOST, attempt.task.id, host=name, link=CUT)
        self._reconnect(name)

    def _reconnect(self, name: str) -> None:
        run = self.run

        def why(host: str, reason: str) -> None:
            run.put("note", (None, f"host {host}: not back yet: {reason}"))

        run.hosts.retry(name, lambda host: run.put("host", (host, BACK)), why)

    def _made(self, attempt: Attempt, link: HostLink, there: list[PaneFacts]) -> str | None:
        """The pane number there of an attempt adopted while out of reach before its pane
        was on record: found by its task and attempt (then tagged and on record), or ""
        when it is not there; None when it never was made (no exit status either): it is
        forgotten, as if it had not begun."""
        from tmuxorch.agents.launch import pane_options

        run, task = self.run, attempt.task
        fact = next((f for f in there if (f.task, f.attempt) == (task.id, attempt.n)), None)
        if fact is None:
            assert attempt.remote is not None
            if link.exit_status(attempt.remote.exit) is not None:
                return ""
            del run.attempts[task.id]
            run.forget(task.id, attempt.n)
            return None
        attempt.pane, attempt.pid = f"{fact.pane}@{link.name}", fact.pid
        attempt.window = fact.window
        assert link.client is not None
        agent = pane_options(run.profile(attempt))
        tmux_panes.tag(link.client, run.run_id, task.id, attempt.n, fact.pane, agent)
        run.task_event(events.ADOPTED, task.id, pid=fact.pid, record=True)
        return fact.pane

    def _back(self, name: str) -> None:
        run = self.run
        link = run.hosts.find(name)
        if link is None or link.client is None:
            return
        run.unreachable.discard(name)
        try:
            there = {f.pane: f for f in tmux_panes.task_panes(link.client, run.run_id)}
        except TmuxError:  # lost again at once: not back yet (the retries say why, if it lasts)
            run.unreachable.add(name)
            link.up = False
            self._reconnect(name)
            return
        lost_at, link.lost_at = link.lost_at, None
        gap = time.time() - lost_at if lost_at else 0.0
        if not there and self.on(name) and link.lost() == TMUX_GONE:
            self._tmux_gone(name)
            return
        for attempt in self.on(name):
            if attempt.remote is None:  # adopted while out of reach: its files from now
                attempt.remote = link.files(attempt.task.id, attempt.n)
                link.follow(attempt.remote, attempt.files)
            run.task_event(events.HOST, attempt.task.id, host=name, link=BACK, gap=round(gap, 1))
            raw = attempt.pane.partition("@")[0]
            if attempt.ending:
                continue
            if not raw:  # adopted while out of reach before its pane was on record
                made = self._made(attempt, link, list(there.values()))
                if made is None:
                    continue
                raw = made
            if raw in there:
                profile = run.profile(attempt)
                run.poller.unwatch(attempt.pane)  # (seen gone while the link was cut)
                run.poller.watch(attempt.pane, label=attempt.task.id, patterns=profile.patterns)
                continue
            code = link.exit_status(attempt.remote.exit)
            if code is not None:
                self.ending.exited(attempt, code)
            else:
                why = f"its pane on {name} was gone when the link came back"
                self.ending.complete(attempt, ok=False, code=None, reason=why)
        run.note(
            f"host {name} is back after {gap:.0f}s: its tasks' panes are followed again "
            "(their transcripts come whole from each pane's record there)"
        )
