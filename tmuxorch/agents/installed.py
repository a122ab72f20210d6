"""Whether an agent's program is installed here (on ``$PATH``, or at the path given)."""

from __future__ import annotations

import os
import shutil

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.task_model import AgentProfile, TaskSet


def missing(profile: AgentProfile) -> str | None:
    """Why ``profile``'s program cannot start here (``claude: not found (install: ...)``),
    or None if it can (or it needs none)."""
    program = profile.program
    if not program or shutil.which(os.path.expanduser(program)) is not None:
        return None
    how = f" (install: {profile.install})" if profile.install else ""
    return f"{program}: not found{how}"


def missing_for(taskset: TaskSet) -> list[tuple[str, str]]:
    """``(task, why)`` for every task whose agent's program is not installed here."""
    found: dict[str, str | None] = {}
    out = []
    for task in taskset.tasks:
        if task.agent not in found:
            found[task.agent] = missing(taskset.agent(task.agent))
        why = found[task.agent]
        if why is not None:
            out.append((task.id, why))
    return out
