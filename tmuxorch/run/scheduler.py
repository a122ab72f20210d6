"""The scheduling decisions, without tmux or time of its own (the supervisor passes ``now``).

Which tasks may start (what they need is there — see :mod:`tmuxorch.run.needs` for
``allow_failure`` and quorum groups —, below ``max_parallel``, their locks free, any retry
backoff over), and what a finished attempt means: success, a retry after an exponential
backoff with jitter, or failure, which skips what can no longer run while unrelated
branches go on.

Only the tasks in :attr:`Scheduler.states` are part of the run: a follow-up (``then:``)
joins it when the task it follows succeeds, and never exists if that one does not.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.graph import Graph
    from tmuxorch.spec.task_model import Task, TaskSet

PENDING = "pending"
RUNNING = "running"
RETRYING = "retrying"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
STOPPED = "stopped"
BLOCKED = "blocked"
NEEDS_REVIEW = "needs_review"
HELD = frozenset({BLOCKED, NEEDS_REVIEW})
"""Waiting for a person (see :mod:`tmuxorch.run.outcomes`): not over, and what depends on
it waits too."""
TERMINAL = frozenset({SUCCEEDED, FAILED, SKIPPED, STOPPED})
MAX_BACKOFF = 300.0


@dataclass
class TaskState:
    state: str = PENDING
    attempts: int = 0
    reason: str | None = None
    exit_code: int | None = None
    retry_at: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What became of a task after an attempt ended."""

    state: str
    retry_at: float | None
    skipped: tuple[str, ...]
    """Tasks downstream that will now never run."""
    created: tuple[str, ...] = ()
    """Follow-ups that joined the run (its success created them)."""
    stop: tuple[str, ...] = ()
    """Tasks its success made superfluous (the rest of a ``then: stop`` quorum group)."""


class Scheduler:
    def __init__(
        self,
        tasks: TaskSet,
        graph: Graph,
        states: dict[str, TaskState] | None = None,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.taskset = tasks
        self.graph = graph
        self.tasks = {t.id: t for t in tasks.tasks}
        self.states = states if states is not None else {}
        for task in tasks.tasks:  # the run's tasks; a follow-up once its task succeeded
            if task.follows is None or self._succeeded(task.follows):
                self.states.setdefault(task.id, TaskState())
        self.rng = rng or random.Random()
        from tmuxorch.run.needs import Needs  # it reads this module's states

        self.needs = Needs(self.tasks, self.states, graph)
        self.held: dict[str, str] = {}
        for task_id, st in self.states.items():
            if st.state == RUNNING:
                for lock in self.tasks[task_id].locks:
                    self.held[lock] = task_id

    # -- questions -------------------------------------------------------------------------
    def _succeeded(self, task_id: str) -> bool:
        st = self.states.get(task_id)
        return st is not None and st.state == SUCCEEDED

    def running(self) -> list[str]:
        return [t for t in self.graph.order if t in self.states and self.states[t].state == RUNNING]

    def startable(self, now: float) -> list[Task]:
        """Tasks to start now, in graph order, within ``max_parallel`` and free locks."""
        room = self.taskset.max_parallel - len(self.running())
        held = dict(self.held)
        chosen: list[Task] = []
        for task_id in self.graph.order:
            if room <= 0:
                break
            st = self.states.get(task_id)
            if st is None:
                continue  # a follow-up not created (yet)
            if st.state == RETRYING and (st.retry_at or 0) > now:
                continue
            if st.state not in (PENDING, RETRYING):
                continue
            task = self.tasks[task_id]
            if not self.needs.met(task):
                continue
            if any(lock in held for lock in task.locks):
                continue
            for lock in task.locks:
                held[lock] = task_id
            chosen.append(task)
            room -= 1
        return chosen

    def next_retry(self) -> float | None:
        times = [s.retry_at for s in self.states.values() if s.state == RETRYING and s.retry_at]
        return min(times, default=None)

    def finished(self) -> bool:
        return all(s.state in TERMINAL for s in self.states.values())

    def all_succeeded(self) -> bool:
        return all(s.state == SUCCEEDED for s in self.states.values())

    # -- changes ---------------------------------------------------------------------------
    def start(self, task_id: str) -> int:
        """Mark ``task_id`` running; returns its attempt number (1, 2, ...)."""
        st = self.states[task_id]
        st.state = RUNNING
        st.attempts += 1
        st.retry_at = None
        for lock in self.tasks[task_id].locks:
            self.held[lock] = task_id
        return st.attempts

    def finish(
        self,
        task_id: str,
        now: float,
        *,
        ok: bool,
        exit_code: int | None,
        reason: str | None,
        final: bool = False,
    ) -> Outcome:
        """An attempt ended: success, a retry later, or failure (downstream skipped);
        ``final``: a failure no retry can mend (a program that is not there)."""
        st = self.states[task_id]
        self._release(task_id)
        st.exit_code = exit_code
        st.reason = reason
        if ok:
            st.state = SUCCEEDED
            created = []
            for follower in self.taskset.followers(task_id):
                if follower.id not in self.states:
                    self.states[follower.id] = TaskState()
                    created.append(follower.id)
            stop = tuple(self.needs.to_stop(task_id))
            return Outcome(SUCCEEDED, None, (), tuple(created), stop)
        task = self.tasks[task_id]
        if st.attempts <= task.retries and not final:
            st.state = RETRYING
            st.retry_at = now + self.backoff(task, st.attempts)
            return Outcome(RETRYING, st.retry_at, ())
        st.state = FAILED
        return Outcome(FAILED, None, self._skip_blocked(self.graph.downstream(task_id)))

    def hold(self, task_id: str, state: str, reason: str | None) -> Outcome:
        """Its attempt ended, and its agent says a person is needed (``blocked``,
        ``needs_review``): it waits, and what depends on it waits."""
        st = self.states[task_id]
        self._release(task_id)
        st.state, st.reason, st.exit_code, st.retry_at = state, reason, 0, None
        return Outcome(state, None, ())

    def reopen(self, task_id: str) -> None:
        """A held task runs again (unblocked, or its work rejected)."""
        st = self.states[task_id]
        st.state, st.reason, st.retry_at = PENDING, None, None

    def stop(self, task_id: str, reason: str) -> Outcome:
        """Stopped (by a person, or a quorum met without it): no retry; what can no
        longer run without it is skipped."""
        st = self.states[task_id]
        self._release(task_id)
        st.state = STOPPED
        st.reason = reason
        st.retry_at = None
        return Outcome(STOPPED, None, self._skip_blocked(self.graph.downstream(task_id)))

    def retry(self, task_id: str) -> list[str]:
        """Run a finished task again (and what was skipped because of it)."""
        again = [
            task_id,
            *(
                t
                for t in self.graph.downstream(task_id)
                if t in self.states and self.states[t].state == SKIPPED
            ),
        ]
        for t in again:
            st = self.states[t]
            st.state, st.reason, st.exit_code, st.retry_at = PENDING, None, None, None
        return again

    def skip_blocked(self) -> tuple[str, ...]:
        """Tasks waiting for something that will never happen (a task they need failed, was
        stopped or skipped, or a follow-up of one; a quorum out of reach) are skipped: a
        run must end. Returns those skipped now (a resumed run, a reload, an added task or
        a retry can leave such tasks behind)."""
        return self._skip_blocked(self.graph.order)

    def backoff(self, task: Task, attempt: int) -> float:
        """``retry_delay`` × 2^(attempt-1), ±50% jitter, at most five minutes."""
        base = min(task.retry_delay * 2 ** (attempt - 1), MAX_BACKOFF)
        return float(base * self.rng.uniform(0.5, 1.5))

    def _release(self, task_id: str) -> None:
        for lock in self.tasks[task_id].locks:
            if self.held.get(lock) == task_id:
                del self.held[lock]

    def _skip_blocked(self, among: list[str] | tuple[str, ...]) -> tuple[str, ...]:
        """Skip those of ``among`` (in graph order) that can never start now."""
        skipped = []
        for task_id in among:
            st = self.states.get(task_id)
            if st is None or st.state not in (PENDING, RETRYING):
                continue
            reason = self.needs.blocked(self.tasks[task_id])
            if reason is not None:
                st.state, st.reason, st.retry_at = SKIPPED, reason, None
                skipped.append(task_id)
        return tuple(skipped)
