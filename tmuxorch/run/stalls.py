"""Agents that show nothing new (issue: a run must never hang on a silent agent): an
attempt with no output and no change of what its agent does for its task's ``stall.after``
is told of (``task-stalled``: the notify hook, the channels, the run's log); for
``stall.fail_after`` it fails as stalled. An agent waiting for a person is never failed
for that: people are reminded every ``stall.remind`` instead, for as long as it waits."""

from __future__ import annotations

import time

from tmuxorch.agents.patterns import WAITING
from tmuxorch.run import events

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.run.ending import Ending

LAST_LINES = 10


def span(seconds: float) -> str:
    """``45s``, ``12m``, ``1h05m``."""
    whole = int(seconds)
    if whole < 120:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class Stalls:
    def __init__(self, run: Run, ending: Ending) -> None:
        self.run = run
        self.ending = ending
        self.heard: dict[int, float] = {}
        """id(attempt) → when it last showed something new (monotonic)."""
        self.told: dict[int, int] = {}
        """id(attempt) → notices given since (a stall, then each reminder)."""

    def hear(self, attempt: Attempt) -> None:
        """It showed something new (output, or a change of what its agent does)."""
        self.heard[id(attempt)] = time.monotonic()
        self.told.pop(id(attempt), None)

    def _quiet_since(self, attempt: Attempt) -> float:
        return max(self.heard.get(id(attempt), 0.0), attempt.begun)

    def _waiting(self, attempt: Attempt) -> bool:
        return self.run.activity.get(attempt.task.id) == WAITING

    def _next(self, attempt: Attempt) -> float | None:
        """When it is next due a look (monotonic), if ever."""
        stall = attempt.task.stall
        if stall is None or attempt.ending:
            return None
        since, told = self._quiet_since(attempt), self.told.get(id(attempt), 0)
        if self._waiting(attempt):
            return since + stall.remind * (told + 1)
        steps = [since + stall.after] if not told else []
        if stall.fail_after is not None:
            steps.append(since + stall.fail_after)
        return min(steps, default=None)

    def due(self) -> float | None:
        times = [self._next(a) for a in self.run.attempts.values()]
        return min((t for t in times if t is not None), default=None)

    def check(self) -> None:
        now = time.monotonic()
        for attempt in list(self.run.attempts.values()):
            stall = attempt.task.stall
            at = self._next(attempt)
            if stall is None or at is None or now < at:
                continue
            quiet = now - self._quiet_since(attempt)
            told = self.told.get(id(attempt), 0)
            if self._waiting(attempt):
                self.told[id(attempt)] = told + 1
                self._tell(attempt, quiet, waiting=True)
            elif stall.fail_after is not None and quiet >= stall.fail_after:
                reason = f"stalled: nothing new on its screen for {span(quiet)}"
                self.run.note(f"{attempt.task.id}: {reason}; stopping it", attempt.task.id)
                self.ending.end(attempt, ok=False, code=None, reason=reason)
            elif not told:
                self.told[id(attempt)] = 1
                self._tell(attempt, quiet, waiting=False)

    def _tell(self, attempt: Attempt, quiet: float, *, waiting: bool) -> None:
        stall = attempt.task.stall
        assert stall is not None
        screen = self.run.poller.screen(attempt.pane) or ""
        lines = [ln for ln in screen.splitlines() if ln.strip()][-LAST_LINES:]
        fails = None if waiting or stall.fail_after is None else stall.fail_after - quiet
        self.run.publish(
            events.STALLED,
            task=attempt.task.id,
            pane=attempt.pane,
            quiet=round(quiet, 1),
            waiting=waiting,
            fails_in=None if fails is None else round(max(0.0, fails), 1),
            last_lines=lines,
        )
