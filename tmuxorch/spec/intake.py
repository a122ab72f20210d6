"""One task given as data — a JSON body, a YAML or JSON mapping, CLI flags — checked
against a run's task set exactly as if it were written at the end of the run's file
(pure; see :class:`~tmuxorch.spec.task_model.TaskHome`).

The same keys and checks as a task in a file (:mod:`tmuxorch.spec.tasks` reads it), the
same agent profiles (the file's, or any preset), its prompt template and ``cwd`` relative
to the file's folder; a dependency on a task the run does not have, or an id it has
already, is an error. ``then:`` follow-ups come with it. Problems are reported by field
(``task.agent: unknown agent 'codr'``), not by line: the data has no lines a person wrote.

::

    checked = check_task({"id": "docs", "agent": "coder", "prompt": "..."}, run_taskset)
    if checked.errors:
        for error in checked.errors:
            print(error)              # task.agent: unknown agent 'codr'
    else:
        run_taskset = checked.taskset  # the run's tasks, then the added one
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace

from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.source import Reader, load_nodes
from tmuxorch.spec.task_model import TaskHome
from tmuxorch.spec.tasks import Collector

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.errors import Problem
    from tmuxorch.spec.task_model import Task, TaskSet

ADDED = "(added task)"
"""The file name an added task's origin gives (it was written in no file)."""


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field of the data (``field`` is its path: ``task.agent``,
    ``task.depends_on[1]``, ``task.then[0].id``; ``task`` for the task as a whole)."""

    field: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" + (f" ({self.hint})" if self.hint else "")

    def as_json(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.message, "hint": self.hint}

    @classmethod
    def from_json(cls, data: object) -> FieldError:
        if not isinstance(data, dict):
            return cls("(reply)", f"not an error: {data!r}")
        hint = data.get("hint")
        return cls(
            str(data.get("field")), str(data.get("message")), None if hint is None else str(hint)
        )

    @classmethod
    def of(cls, problem: Problem) -> FieldError:
        return cls(problem.where, problem.what, problem.hint)


@dataclass(frozen=True)
class Checked:
    """A task checked against a run: the task and its follow-ups (``then:``) and the run's
    task set with them joined; or, if bad, the errors (and nothing else)."""

    tasks: tuple[Task, ...]
    taskset: TaskSet | None
    errors: tuple[FieldError, ...]

    @property
    def ok(self) -> bool:
        return not self.errors


def check_task(data: object, taskset: TaskSet, *, where: str = "task") -> Checked:
    """``data`` (a mapping of task keys, as JSON would give it) read and checked as a task
    of ``taskset``'s file; ``where``: the path its fields are reported under."""
    try:
        text = json.dumps(data, indent=1, allow_nan=False)  # JSON is YAML: read as files are
    except (TypeError, ValueError) as exc:
        return _refused([FieldError(where, f"not JSON data: {exc}")])
    try:
        node = load_nodes(ADDED, text)
    except SpecError as exc:
        return _refused([FieldError.of(p) for p in exc.problems])
    assert node is not None  # the text is never empty
    home = taskset.home or TaskHome(os.getcwd(), os.getcwd())  # a task set made in code
    collector = Collector()
    collector.earlier = taskset.tasks
    collector.profiles = {profile.name: profile for profile in taskset.agents}
    collector.first_seen = {task.id: task.origin for task in taskset.tasks}
    reader = Reader(ADDED)
    collector.readers.append(reader)
    collector.task(
        reader,
        node,
        where,
        home.base_dir,
        home.cwd,
        worktree=home.worktree,
        defaults=home.defaults,
    )
    try:
        tasks = collector.finish().tasks
        everything = (*taskset.tasks, *tasks.tasks)
        joined = replace(
            taskset,
            tasks=everything,
            agents=tasks.agents,  # the run's profiles, and presets it now uses
            max_parallel=taskset.max_parallel
            if taskset.max_parallel_given
            else max(1, len(everything)),
        )
        joined.graph  # noqa: B018 - a cycle among its follow-ups raises SpecError
    except SpecError as exc:
        return _refused([FieldError.of(p) for p in exc.problems])
    return Checked(tasks.tasks, joined, ())


def _refused(errors: list[FieldError]) -> Checked:
    return Checked((), None, tuple(errors))
