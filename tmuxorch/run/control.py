"""A live run's control interface: one function per action (``stop``, ``retry``, ``add``),
callable from any thread. Each call goes into the run's inputs and is done by its loop (see
:mod:`tmuxorch.run.actions`); the returned future gives its answer: the task ids it acted
on, or (``add``) an :class:`~tmuxorch.run.adding.Added`.

Other processes reach the same actions through a transport: today request files
(:mod:`tmuxorch.run.requests`, what ``tmuxorch stop``/``retry``/``add`` write).
"""

from __future__ import annotations

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from concurrent.futures import Future
    from typing import Any

    from tmuxorch.run.adding import Added
    from tmuxorch.run.context import Run

ACTIONS = ("stop", "retry")


class RunOver(Exception):
    """The run ended before it could act."""


class Control:
    def __init__(self, run: Run) -> None:
        self._run = run

    def stop(self, tasks: list[str] | None = None) -> Future[list[str]]:
        """Stop ``tasks`` (None: every task): no retry, and what depends on them is skipped."""
        return self.ask("stop", tasks)

    def retry(self, tasks: list[str]) -> Future[list[str]]:
        """Run finished ``tasks`` again (and what was skipped because of them)."""
        return self.ask("retry", tasks)

    def add(self, task: Mapping[str, object]) -> Future[Added]:
        """Add ``task`` (its keys as in a task file: ``id``, ``agent``, ``prompt``,
        ``command``, ``depends_on``...; JSON values) to the run, checked as a task of its
        file. The answer's ``errors`` say what is wrong (then nothing changed); else the
        task joined the run (it starts when what it needs has succeeded) and is recorded:
        a resumed run keeps it. See :mod:`tmuxorch.run.adding`."""
        import contextlib
        import json

        with contextlib.suppress(TypeError, ValueError):  # not JSON data: the answer says so
            task = json.loads(json.dumps(task, allow_nan=False))  # as now: the loop reads later
        return self._call("add", task)

    def ask(self, action: str, tasks: list[str] | None) -> Future[list[str]]:
        if action not in ACTIONS:
            raise ValueError(f"no action {action!r} (actions: {', '.join(ACTIONS)}, add)")
        return self._call(action, tasks)

    def _call(self, action: str, asked: object) -> Future[Any]:
        from concurrent.futures import Future  # 16 ms: only for those who call

        future: Future[Any] = Future()
        with self._run.closing:
            if self._run.over:
                future.set_exception(RunOver("the run is over"))
            else:
                self._run.put("control", (action, asked, future))
        return future
