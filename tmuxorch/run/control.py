"""A live run's control interface: one function per action (``stop``, ``retry``), callable
from any thread. Each call goes into the run's inputs and is done by its loop (see
:mod:`tmuxorch.run.actions`); the returned future gives the task ids it acted on.

Other processes reach the same actions through a transport: today request files
(:mod:`tmuxorch.run.requests`, what ``tmuxorch stop``/``retry`` write).
"""

from __future__ import annotations

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from concurrent.futures import Future

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

    def ask(self, action: str, tasks: list[str] | None) -> Future[list[str]]:
        if action not in ACTIONS:
            raise ValueError(f"no action {action!r} (actions: {', '.join(ACTIONS)})")
        from concurrent.futures import Future  # 16 ms: only for those who call

        future: Future[list[str]] = Future()
        with self._run.closing:
            if self._run.over:
                future.set_exception(RunOver("the run is over"))
            else:
                self._run.put("control", (action, tasks, future))
        return future
