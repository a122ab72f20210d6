"""Hot reload in a live run: the task files changed (a watch saw it, or their stamps
did), so they are read again, quiet for a moment first, and merged as
:mod:`tmuxorch.run.reload` says; a bad edit is reported and ignored."""

from __future__ import annotations

import os
import time

from tmuxorch.run import events
from tmuxorch.run.scheduler import Scheduler

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Run

RELOAD_SETTLE = 0.3
"""Seconds a task file must be quiet before it is read again (editors write in steps)."""


class Reloading:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.at: float | None = None
        """When to read the files again (monotonic), if they changed."""
        self.stamps = self._stamps()
        """The task files as last read (a change the watch missed shows here)."""

    def sources(self) -> set[str]:
        """The files the run's tasks come from: an edit to one reloads them."""
        run = self.run
        files = {os.path.abspath(run.ws.file), *map(os.path.abspath, run.taskset.files)}
        for task in run.taskset.tasks:
            files.update(os.path.abspath(f) for f in task.sources)
        return files

    def changed(self, paths: set[str]) -> None:
        """A watch saw ``paths`` change."""
        if paths & self.sources():
            self.at = time.monotonic() + RELOAD_SETTLE

    def check_stamps(self) -> None:
        """Changed before the watch was on, or unseen by it."""
        if self.at is None and self._stamps() != self.stamps:
            self.at = time.monotonic()

    def _stamps(self) -> dict[str, tuple[int, int]]:
        stamps = {}
        for path in self.sources():
            try:
                info = os.stat(path)
            except OSError:
                continue
            stamps[path] = (info.st_mtime_ns, info.st_size)
        return stamps

    def reload(self) -> bool:
        """Read the files again; whether the run's tasks changed."""
        from tmuxorch.run import adding, reload
        from tmuxorch.spec.errors import Problem, SpecError
        from tmuxorch.spec.workspace import load_workspace

        run = self.run
        self.at = None
        self.stamps = self._stamps()
        try:
            # only the tasks are read again: a session name made fit (--fix-name) stays so
            taskset = load_workspace(run.ws.file, fix_name=True).workspace.tasks
            if taskset is None:
                problem = Problem(run.ws.file, 1, 1, "tasks", "the file has no tasks any more")
                raise SpecError([problem])
            started = [
                t for t, st in run.scheduler.states.items() if st.attempts or st.state != "pending"
            ]
            taskset, left_out = adding.with_recorded(taskset, run.run_dir, started=started)
            merged = reload.merge(run.taskset, taskset, run.scheduler.states)
        except SpecError as exc:
            for problem in exc.problems:
                run.note(f"edit ignored: {problem}")
            run.note("the run goes on with its tasks as they were")
            return False
        except OSError as exc:
            run.note(f"edit ignored: {exc}")
            return False
        for note in left_out:
            run.note(note)
        if merged.taskset == run.taskset:
            return False
        states = {t: st for t, st in run.scheduler.states.items() if t not in merged.removed}
        run.use_tasks(merged.taskset)
        run.scheduler = Scheduler(
            run.taskset, run.graph, states, rng=run.scheduler.rng, policy=run.policy
        )
        joined = [t for t in merged.added if t in run.scheduler.states]
        if merged.removed:
            why = "removed from the task file"
            run.publish(events.TASKS_REMOVED, ids=list(merged.removed), reason=why, order=run.order)
        if joined:
            rows = [run.row(t) for t in joined]
            run.publish(events.TASKS_ADDED, tasks=rows, follows=None, order=run.order)
        self.stamps = self._stamps()  # new templates, maybe
        run.skip_blocked()  # an added task may need one that failed already
        run.publish(
            events.RELOADED,
            added=list(merged.added),
            changed=list(merged.changed),
            removed=list(merged.removed),
            ignored=list(merged.ignored),
        )
        return True
