"""What a run checks on its own clock: attempts past their ``timeout``, and — now and then
— panes that died without a word or vanished, and exit files the watch missed."""

from __future__ import annotations

import time

from tmuxorch.agents import failures
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Run
    from tmuxorch.run.ending import Ending

EXIT_GRACE = 1.0
"""How long a dead pane may wait for its exit file before it counts as lost."""
REMOTE_EXIT_GRACE = 10.0
"""The same for a pane on a host: its exit file comes here through the link."""
_UNSEEN = tmux_panes.PaneFacts("", 0, False, "", "", 0, "", "")
"""A pane not listed for want of an answer: taken to be alive."""


def read_exit(path: str) -> int | None:
    """The exit status the pane's wrapper recorded, if it did."""
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


class Backstop:
    def __init__(self, run: Run, ending: Ending) -> None:
        self.run = run
        self.ending = ending

    def look(self) -> None:
        """Panes that died without a word (or vanished), and exit files the watch missed.
        One listing of our own format (see :mod:`tmuxorch.tmux.agent_panes` for why not
        libtmux's): a pane that vanishes meanwhile is simply not in it."""
        run = self.run
        if not run.attempts:
            return
        facts = {f.pane: f for f in tmux_panes.task_panes(run.client, run.run_id)}
        facts.update(self._elsewhere())
        now = time.monotonic()
        for attempt in list(run.attempts.values()):
            if attempt.ending or attempt.host in run.unreachable:
                continue  # (on a host out of reach: no one can tell)
            code = read_exit(attempt.files.exit)
            if code is not None:
                self.ending.exited(attempt, code)
                continue
            fact = facts.get(attempt.pane)
            if fact is None:
                self.ending.complete(attempt, ok=False, code=None, reason="its pane was closed")
            elif fact.dead:
                attempt.dead_since = attempt.dead_since or now
                grace = EXIT_GRACE if attempt.host is None else REMOTE_EXIT_GRACE
                if now - attempt.dead_since >= grace:
                    reason = "ended without recording an exit status (killed?)"
                    self.ending.complete(attempt, ok=False, code=None, reason=reason)

    def _elsewhere(self) -> dict[str, tmux_panes.PaneFacts]:
        """The run's panes on its hosts that are reached, named ``%ID@HOST``; an attempt on
        a host whose listing fails is left to the link's own watch."""
        run, found = self.run, {}
        hosts = {a.host for a in run.attempts.values() if a.host is not None}
        for name in hosts - run.unreachable:
            link = run.hosts.find(name)
            if link is None or link.client is None or not link.up:
                continue
            try:
                listed = tmux_panes.task_panes(link.client, run.run_id)
            except TmuxError:
                listed = None
            if listed is None or not link.up or not link.client.alive():
                # no answer, or one the link's loss may have emptied: nothing is known
                for attempt in run.attempts.values():
                    if attempt.host == name:
                        found[attempt.pane] = _UNSEEN
                continue
            found.update({f"{f.pane}@{name}": f for f in listed})
        return found

    def due(self) -> float | None:
        """The next timeout."""
        times = [a.deadline for a in self.run.attempts.values() if a.deadline and not a.ending]
        return min(times, default=None)

    def check_timeouts(self) -> None:
        now = time.monotonic()
        for attempt in list(self.run.attempts.values()):
            if attempt.deadline is not None and now >= attempt.deadline and not attempt.ending:
                timeout = attempt.task.timeout or 0
                task_id = attempt.task.id
                self.run.note(f"{task_id}: timed out after {timeout:g}s; stopping it", task_id)
                attempt.cause = failures.TIMEOUT
                self.ending.end(
                    attempt, ok=False, code=None, reason=f"timed out after {timeout:g}s"
                )
