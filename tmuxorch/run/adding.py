"""Tasks added to a run (``tmuxorch add``, ``Control.add``, later HTTP and MCP): checked as
a task of the run's file (:mod:`tmuxorch.spec.intake`), recorded, then joined to it under
the hot-reload rules — it starts when what it needs has succeeded, and is skipped if
something it needs failed or was stopped; bad data changes nothing.

The record: ``runs/RUN/added.json`` in the state folder (0600, replaced atomically), the
data of every task added to the run, in order. The run's file itself is never written.
Whoever reads the run's tasks again reads them too, checked again against the file as it
is then: a supervisor resuming the run (after a crash, ``kill -9``, or with no supervisor
when the task was added) and a hot reload. One that no longer fits the file (it needs a
task the file dropped, the file has its id now...) is left out with a note, like a task
removed from the file; one that has started keeps its definition on a reload. A new run
(``tmuxorch run --new``, or after every task of the latest one was over) starts from the
file alone.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

from tmuxorch import private
from tmuxorch.run import events
from tmuxorch.run.scheduler import Scheduler
from tmuxorch.spec.intake import FieldError, check_task

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Collection

    from tmuxorch.run.context import Run
    from tmuxorch.spec.task_model import TaskSet

RECORD = "added.json"


@dataclass(frozen=True)
class Added:
    """The answer to an ``add``: the task's id and every task that joined the run's task
    set with it (itself, then its ``then:`` follow-ups); or why it was refused."""

    run: str
    task: str | None
    tasks: tuple[str, ...] = ()
    errors: tuple[FieldError, ...] = ()
    live: bool = True
    """A supervisor took it (else it is recorded for the next one: ``tmuxorch run FILE``)."""

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "run": self.run,
            "task": self.task,
            "tasks": list(self.tasks),
            "errors": [e.as_json() for e in self.errors],
            "live": self.live,
        }

    @classmethod
    def from_json(cls, data: object) -> Added:
        if not isinstance(data, dict):
            raise ValueError(f"not an answer to add: {data!r}")
        task = data.get("task")
        return cls(
            str(data.get("run") or ""),
            None if task is None else str(task),
            tuple(str(t) for t in data.get("tasks") or ()),
            tuple(FieldError.from_json(e) for e in data.get("errors") or ()),
            data.get("live") is not False,
        )


def add(run: Run, data: object) -> Added:
    """(The run's loop.) Check ``data`` as a task of the run; if good, record it and let it
    join the run; else change nothing."""
    checked = check_task(data, run.taskset)
    if checked.taskset is None:
        return Added(run.run_id, None, (), checked.errors)
    try:
        record(run.run_dir, data)  # before the run acts: a crash from here on keeps it
    except OSError as exc:
        return Added(run.run_id, None, (), (FieldError("(run)", f"cannot record it: {exc}"),))
    states = run.scheduler.states
    run.use_tasks(checked.taskset)
    run.scheduler = Scheduler(
        run.taskset, run.graph, states, rng=run.scheduler.rng, policy=run.policy
    )
    ids = tuple(task.id for task in checked.tasks)
    joined = [t for t in ids if t in run.scheduler.states]  # a follow-up joins later
    rows = [run.row(t) for t in joined]
    run.publish(events.TASKS_ADDED, tasks=rows, follows=None, order=run.graph.order)
    run.publish(events.TASK_ADDED, task=ids[0], tasks=list(ids))
    run.skip_blocked()  # it may need a task that failed already
    return Added(run.run_id, ids[0], ids)


def add_to(file: str, data: object, *, timeout: float = 30.0) -> Added:
    """Add the task ``data`` to a run of ``file`` from any process: to the live run if a
    supervisor runs it (asked through a request file), else to its latest run (recorded
    for the next supervisor). Raises :class:`LookupError` (no run of ``file`` yet),
    :class:`~tmuxorch.run.requests.Unanswered` (the supervisor took it but did not answer),
    :class:`~tmuxorch.spec.errors.SpecError` (no supervisor, and ``file`` is bad now)."""
    from tmuxorch.run.opening import SupervisorBusy, supervisor_alive
    from tmuxorch.run.requests import Unanswered, ask_add

    for _ in range(3):  # a supervisor that starts or ends meanwhile: again
        if supervisor_alive(file):
            try:
                return ask_add(file, data, timeout=timeout)
            except LookupError:  # one that has not written its run down yet
                pass
            except Unanswered as exc:
                if exc.taken:
                    raise  # withdrawn otherwise: nothing was done
        try:
            return add_to_latest(file, data)
        except SupervisorBusy:
            continue
    raise Unanswered(f"could not reach the supervisor of {file}, nor do without it", taken=False)


def add_to_latest(file: str, data: object) -> Added:
    """No supervisor runs ``file``: add the task to its latest run's record (and store),
    under the supervisor's lock; ``tmuxorch run FILE`` resumes the run and goes on with it.
    Raises :class:`~tmuxorch.run.opening.SupervisorBusy`, :class:`LookupError`,
    :class:`~tmuxorch.spec.errors.SpecError` (``file`` is bad, or has no tasks)."""
    from tmuxorch.run.opening import lock
    from tmuxorch.run.store import Store, state_dir
    from tmuxorch.spec.errors import Problem, SpecError
    from tmuxorch.spec.workspace import load_workspace

    held = lock(file)  # no supervisor starts while its run's record is written
    try:
        taskset = load_workspace(file).workspace.tasks
        if taskset is None:
            raise SpecError([Problem(file, 1, 1, "tasks", "no tasks: there is no run to add to")])
        store = Store(state_dir(file))
        try:
            runs = store.runs(file)
            if not runs:
                raise LookupError(f"no run of {file} yet")
            run_id = runs[0].id
            folder = os.path.join(state_dir(file), "runs", run_id)
            checked = check_task(data, with_recorded(taskset, folder)[0])
            if not checked.ok:
                return Added(run_id, None, (), checked.errors, live=False)
            record(folder, data)
            ids = tuple(t.id for t in checked.tasks)
            store.add_tasks(run_id, ids[:1])  # its follow-ups join once it succeeds
            store.event(run_id, ids[0], "added", {"tasks": list(ids)})
        finally:
            store.close()
    finally:
        held.close()
    return Added(run_id, ids[0], ids, live=False)


def record(run_dir: str, data: object) -> None:
    """Add ``data`` to the run's record of added tasks."""
    path = os.path.join(run_dir, RECORD)
    kept = recorded(run_dir)
    kept.append(json.loads(json.dumps(data)))  # as JSON has it (tuples are lists...)
    private.write(path + ".tmp", json.dumps(kept, indent=1))
    os.replace(path + ".tmp", path)


def recorded(run_dir: str) -> list[object]:
    """The data of every task added to the run, in order (none if unreadable)."""
    try:
        with open(os.path.join(run_dir, RECORD), encoding="utf-8") as handle:
            kept = json.load(handle)
    except (OSError, ValueError):
        return []
    return kept if isinstance(kept, list) else []


def with_recorded(
    taskset: TaskSet, run_dir: str, *, started: Collection[str] = ()
) -> tuple[TaskSet, list[str]]:
    """``taskset`` (the run's file as read now) with the tasks added to the run joined, each
    checked again; and a note for each left out (``started``: tasks that have started, which
    a reload keeps as they began)."""
    notes = []
    for data in recorded(run_dir):
        checked = check_task(data, taskset)
        if checked.taskset is not None:
            taskset = checked.taskset
            continue
        task_id = data.get("id") if isinstance(data, dict) else None
        said = "; ".join(str(e) for e in checked.errors)
        then = "it goes on as it began" if task_id in started else "left out"
        notes.append(f"added task {task_id or '?'} no longer fits the file ({said}): {then}")
    return taskset, notes
