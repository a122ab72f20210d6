"""When an attempt is done (``done_when:``), one small strategy per kind.

Each answers the same questions, so the engine never asks which kind it has: what an exit
status means (:meth:`Condition.on_exit`), whether a screen or lines met it
(:meth:`Condition.on_output`), whether files met it now (:meth:`Condition.met`), when it
will be met if nothing changes (:meth:`Condition.due`), and which file to watch
(:meth:`Condition.path`).
"""

from __future__ import annotations

import os
import re

from tmuxorch.run import results

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.bridge.poller import Event
    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.spec.task_model import DoneWhen


class Condition:
    """``exit``: the agent's exit status decides (0: success)."""

    def __init__(self, done: DoneWhen) -> None:
        self.done = done

    def on_exit(self, run: Run, attempt: Attempt, code: int) -> tuple[bool, str | None]:
        """The agent's process ended with ``code``: success, or why not."""
        del run, attempt
        ok = code == 0
        if code == 127:
            return False, "exit status 127 (a program it runs was not found)"
        return ok, None if ok else f"exit status {code}"

    def on_output(self, run: Run, attempt: Attempt, event: Event) -> bool:
        del run, attempt, event
        return False

    def met(self, run: Run, attempt: Attempt) -> bool:
        """Met by the files there now."""
        del run, attempt
        return False

    def due(self, attempt: Attempt) -> float | None:
        """The monotonic time it is met if nothing changes meanwhile."""
        del attempt
        return None

    def path(self, run: Run, attempt: Attempt) -> str | None:
        """A file whose appearance may meet it (its folder is watched)."""
        del run, attempt
        return None


class Idle(Condition):
    """``idle``: the agent has shown it is idle for ``seconds``; a plain command (which has
    no idle screen) has printed nothing for ``seconds``. An exit decides as ``exit``."""

    def due(self, attempt: Attempt) -> float | None:
        profile = attempt.profile
        if profile is not None and profile.prompt == "type" and not attempt.typed:
            return None  # an agent idle before it got its prompt has done nothing
        if profile is not None and profile.takes_command:
            return attempt.output_at + self.done.seconds
        return None if attempt.idle_since is None else attempt.idle_since + self.done.seconds


class _Before(Condition):
    """A condition on what the agent leaves behind: exiting before it is met is a failure."""

    what = ""

    def on_exit(self, run: Run, attempt: Attempt, code: int) -> tuple[bool, str | None]:
        ok = self.final(run, attempt)
        return ok, None if ok else f"exited (status {code}) before {self.what}"

    def final(self, run: Run, attempt: Attempt) -> bool:
        return self.met(run, attempt)


class Output(_Before):
    """``{output: REGEX}``: the pane shows or printed a match."""

    def __init__(self, done: DoneWhen) -> None:
        super().__init__(done)
        self.what = f"printing /{done.pattern}/"
        self.pattern = re.compile(done.pattern or "", re.MULTILINE)

    def on_output(self, run: Run, attempt: Attempt, event: Event) -> bool:
        if event["type"] == "lines":
            text = "\n".join(str(line) for line in event["lines"])  # type: ignore[attr-defined]
            if self.pattern.search(text):
                return True
        screen = run.poller.screen(attempt.pane) or ""
        return self.pattern.search(screen) is not None

    def final(self, run: Run, attempt: Attempt) -> bool:
        """Once the program ended: on all it printed (its transcript, completed by a last
        look)."""
        if attempt.pane:
            run.poller.finish(attempt.pane)
        try:
            with open(attempt.files.transcript, encoding="utf-8") as handle:
                return self.pattern.search(handle.read()) is not None
        except OSError:
            return False


class File(_Before):
    """``{file: PATH}``: the file exists (a ``.json`` one holds valid JSON)."""

    def __init__(self, done: DoneWhen) -> None:
        super().__init__(done)
        self.what = f"writing {done.path}"

    def met(self, run: Run, attempt: Attempt) -> bool:
        path = self.path(run, attempt)
        if path is None or not os.path.exists(path):
            return False
        return results.ready(path) if path.endswith(".json") else True

    def path(self, run: Run, attempt: Attempt) -> str | None:
        if self.done.path is None:
            return None
        return os.path.join(attempt.cwd or attempt.task.cwd or os.getcwd(), self.done.path)


class Result(_Before):
    """``result``: the attempt's result file (``$TMUXORCH_RESULT``) holds valid JSON."""

    what = "writing its result ($TMUXORCH_RESULT)"

    def met(self, run: Run, attempt: Attempt) -> bool:
        del run
        return results.ready(attempt.files.result)


KINDS: dict[str, type[Condition]] = {
    "exit": Condition,
    "idle": Idle,
    "output": Output,
    "file": File,
    "result": Result,
}


def of(attempt: Attempt) -> Condition:
    """The condition of an attempt's task (made once per attempt)."""
    found = attempt.condition
    if found is None:
        done = attempt.task.done_when
        found = attempt.condition = KINDS[done.kind](done)
    return found
