"""Which agent runs a task's next attempt (pure: the run passes ``now``).

A task's candidates are its agent (or, without one, the agents its ``route:`` rule names)
then its ``fallback:`` agents, in order. The first that may run now is chosen:

- its **cap** has room: ``agents: coder: {max_parallel: 2}`` counts that agent's running
  attempts across the run;
- its **breaker** lets it: after ``breaker.failures`` limit or login failures of one agent
  within ``breaker.window``, its breaker opens — none of its tasks start (they go to their
  fallback, or wait) — and after ``breaker.cooldown`` it half-opens: one attempt is let
  through; its success closes the breaker, its failure opens it again;
- it has not failed this task for a reason of its own (a limit, a login, a missing
  program: :data:`~tmuxorch.agents.failures.ELSEWHERE`) while another candidate is left.

None may run: the task waits (and is looked at again on the run's next round).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tmuxorch.agents.failures import AUTH, ELSEWHERE, LIMITS

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.spec.task_model import AgentProfile, Task

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"
TRIPS = LIMITS | {AUTH}
"""The failures a breaker counts: the agent's, not the task's."""


@dataclass
class Breaker:
    failures: int
    window: float
    cooldown: float
    times: list[float] = field(default_factory=list)
    opened: float | None = None
    trial: bool = False
    """Its one attempt while half-open is running."""

    def state(self, now: float) -> str:
        if self.opened is None:
            return CLOSED
        return HALF_OPEN if now >= self.opened + self.cooldown else OPEN

    def allows(self, now: float) -> bool:
        state = self.state(now)
        return state == CLOSED or (state == HALF_OPEN and not self.trial)

    def failed(self, now: float) -> bool:
        """A limit or login failure; whether the breaker opened now."""
        before = self.state(now)
        self.trial = False
        self.times = [t for t in self.times if now - t < self.window] + [now]
        if before == HALF_OPEN or len(self.times) >= self.failures:
            self.opened = now  # (again, after a failed trial)
            return before != OPEN
        return False

    def succeeded(self) -> bool:
        """Whether it closed now."""
        was = self.opened is not None
        self.opened, self.trial, self.times = None, False, []
        return was


@dataclass(frozen=True)
class Choice:
    agent: str
    why: str
    """Why this one, when it is not the task's own agent (else empty)."""


class Chooser:
    def __init__(self, profile: Callable[[str], AgentProfile]) -> None:
        self.profile = profile
        """An agent's profile by name (the run's task set's now: a reload may change it)."""
        self.breakers: dict[str, Breaker] = {}
        self.running: dict[str, int] = {}
        self.avoid: dict[str, set[str]] = {}
        """Task → agents that failed it for a reason of their own."""

    def candidates(self, task: Task) -> list[str]:
        return list(dict.fromkeys((task.agent, *task.fallback)))

    def choose(self, task: Task, now: float) -> Choice | None:
        names = self.candidates(task)
        usable = [n for n in names if n not in self.avoid.get(task.id, set())] or names
        for name in usable:
            if not self._free(name, now):
                continue
            if name == task.agent:
                return Choice(name, "")
            return Choice(name, self._why_not(task.agent, task.id, now))
        return None

    def _breaker(self, name: str) -> Breaker | None:
        if name not in self.breakers:
            try:
                settings = self.profile(name).breaker
            except KeyError:
                return None
            if settings is None:
                return None
            self.breakers[name] = Breaker(*settings)
        return self.breakers[name]

    def _free(self, name: str, now: float) -> bool:
        breaker = self._breaker(name)
        if breaker is not None and not breaker.allows(now):
            return False
        try:
            cap = self.profile(name).max_parallel
        except KeyError:
            return True
        return cap is None or self.running.get(name, 0) < cap

    def _why_not(self, first: str, task_id: str, now: float) -> str:
        if first in self.avoid.get(task_id, set()):
            return f"fallback: {first} failed it"
        breaker = self._breaker(first)
        if breaker is not None and not breaker.allows(now):
            return f"fallback: {first}'s breaker is {breaker.state(now).replace('_', '-')}"
        return f"fallback: {first} is at its max_parallel"

    def waiting_for(self, task: Task, now: float) -> str:
        """Why a task may not start now (for a person to read)."""
        return "; ".join(
            self._why_not(n, task.id, now)[len("fallback: ") :] for n in self.candidates(task)
        )

    def started(self, agent: str, now: float) -> None:
        self.running[agent] = self.running.get(agent, 0) + 1
        breaker = self._breaker(agent)
        if breaker is not None and breaker.state(now) == HALF_OPEN:
            breaker.trial = True

    def ended(self, task: Task, agent: str, failure: str | None, now: float) -> str | None:
        """An attempt of ``agent`` ended (``failure``: its class, None if it succeeded); the
        breaker's new state if it changed (``open``, ``closed``)."""
        self.running[agent] = max(0, self.running.get(agent, 0) - 1)
        if failure in ELSEWHERE:
            self.avoid.setdefault(task.id, set()).add(agent)
        breaker = self._breaker(agent)
        if breaker is None:
            return None
        if failure in TRIPS:
            return OPEN if breaker.failed(now) else None
        if failure is None:
            return CLOSED if breaker.succeeded() else None
        breaker.trial = False  # a failure of the task's own: the trial says nothing
        return None

    def elsewhere(self, task: Task, agent: str, failure: str | None) -> bool:
        """After ``agent`` failed ``task`` so: is there another candidate to try at once?"""
        if failure not in ELSEWHERE:
            return False
        tried = self.avoid.get(task.id, set()) | {agent}
        return any(n not in tried for n in self.candidates(task))
