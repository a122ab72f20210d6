"""Hot reload (pure): a run's task set, edited while it runs, merged with what has started.

Tasks that have not started take the new file as it is: added ones join the run, edited
ones change, removed ones leave it. A task that has started (running, retrying, or over)
keeps the definition it started with, and stays while it runs even if the file drops it.
Everything else in the file (``max_parallel``, agent profiles...) takes effect at once:
a profile edit applies to the attempts that start from then on (retries too); running
ones keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from tmuxorch.run.scheduler import TaskState
    from tmuxorch.spec.task_model import Task, TaskSet


@dataclass(frozen=True)
class Reloaded:
    taskset: TaskSet
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    """Not started, and gone from the file: they leave the run."""
    ignored: tuple[str, ...]
    """Started, and edited or removed in the file: they carry on as they were."""


def merge(old: TaskSet, new: TaskSet, states: Mapping[str, TaskState]) -> Reloaded:
    """The task set the run goes on with. Raises SpecError if what has started and what
    the file now says cannot live together (a cycle through a started task)."""
    started = {t for t, st in states.items() if st.attempts > 0 or st.state != "pending"}
    old_tasks, new_tasks = old.by_id, new.by_id
    tasks: list[Task] = []
    added, changed, ignored = [], [], []
    for task in new.tasks:
        before = old_tasks.get(task.id)
        if before is None:
            added.append(task.id)
            tasks.append(task)
        elif task.id in started:
            if task != before:
                ignored.append(task.id)
            tasks.append(before)
        else:
            if task != before:
                changed.append(task.id)
            tasks.append(task)
    kept = [t for t in old.tasks if t.id not in new_tasks and t.id in started]
    ignored += [t.id for t in kept]
    removed = [t.id for t in old.tasks if t.id not in new_tasks and t.id not in started]
    tasks += kept
    ids = {t.id for t in tasks}
    tasks = [_without_missing(t, ids) for t in tasks]
    agents = {a.name: a for a in new.agents}
    for task in kept:  # gone from the file with its profile, maybe
        if task.agent not in agents:
            agents[task.agent] = old.agent(task.agent)
    taskset = replace(new, tasks=tuple(tasks), agents=tuple(agents.values()))
    taskset.graph  # noqa: B018 - checks the graph as a whole (SpecError on a cycle)
    return Reloaded(taskset, tuple(added), tuple(changed), tuple(removed), tuple(ignored))


def _without_missing(task: Task, ids: set[str]) -> Task:
    """A kept task's dependencies that left the file are over for it (it has started)."""
    deps = tuple(d for d in task.depends_on if d in ids)
    if deps == task.depends_on:
        return task
    groups = []
    for group in task.quorums:  # what is left of each group, asking no more than it has
        of = tuple(d for d in group.of if d in ids)
        if of:
            groups.append(replace(group, any=min(group.any, len(of)), of=of))
    return replace(task, depends_on=deps, quorums=tuple(groups))
