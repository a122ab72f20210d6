"""How a finished run went: its verdict and the line that says it (pure).

A run went well (exit 0) when every task succeeded, or failed with ``allow_failure:
true``, or was stopped because a quorum group it was in had enough without it (``then:
stop``). Anything else — a failure not allowed, a task skipped or stopped by a person —
makes it fail (exit 1). The line counts tasks by state, then names the allowed failures
and the tasks a quorum stopped: ``4 succeeded; 1 failed (allowed): lint``.
"""

from __future__ import annotations

from tmuxorch.run.needs import QUORUM_MET
from tmuxorch.run.scheduler import FAILED, STOPPED, SUCCEEDED

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tmuxorch.run.scheduler import TaskState
    from tmuxorch.spec.task_model import Task

ALLOWED = "failed (allowed)"
BY_QUORUM = f"stopped ({QUORUM_MET})"


def allowed(task: Task, st: TaskState) -> bool:
    """``task`` failed, and may."""
    return st.state == FAILED and task.allow_failure


def shown_state(task: Task, st: TaskState) -> str:
    """Its state as the summary counts it."""
    if allowed(task, st):
        return ALLOWED
    if st.state == STOPPED and st.reason == QUORUM_MET:
        return BY_QUORUM
    return st.state


def summarize(
    tasks: Mapping[str, Task], states: Mapping[str, TaskState], order: Iterable[str]
) -> tuple[bool, str]:
    """(whether the run went well, what it came to), tasks named in ``order``."""
    counts: dict[str, int] = {}
    named: dict[str, list[str]] = {ALLOWED: [], BY_QUORUM: []}
    for task_id in order:
        st = states.get(task_id)
        if st is None:
            continue
        state = shown_state(tasks[task_id], st)
        if state in named:
            named[state].append(task_id)
        else:
            counts[state] = counts.get(state, 0) + 1
    ok = not counts.keys() - {SUCCEEDED}
    said = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    parts = [said] if said else []
    parts += [f"{len(ids)} {state}: {', '.join(ids)}" for state, ids in named.items() if ids]
    return ok, "; ".join(parts) or "no tasks"
