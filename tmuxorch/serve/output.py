"""A task's recent output, as a lead agent or a script asks for it: the last lines its pane
shows while it runs (screen and scrollback, as ``tmuxorch logs`` shows a running task), the
last lines of its transcript once its attempt is over (or of an earlier attempt)."""

from __future__ import annotations

import os
import time

from tmuxorch.serve.sending import Refused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.serve.runs import RunRef
    from tmuxorch.tmux.client import Client

MOST_LINES = 10_000
SETTLE_WITHIN = 5.0
"""Seconds an ended attempt's pane may take to close (see :func:`_settle`)."""


def last_lines(text: str, count: int) -> str:
    """The last ``count`` lines of ``text``, blank lines at its end left out."""
    lines = text.rstrip("\n").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines[-count:]) + "\n" if lines else ""


def task_output(
    ref: RunRef, task: str, *, lines: int = 50, attempt: int = 0, chosen: Client | None = None
) -> dict[str, object]:
    """The last ``lines`` lines of ``task``'s output in the run ``ref`` (its latest attempt,
    or ``attempt``), with where they come from: ``pane`` (it runs) or ``transcript``."""
    from tmuxorch.agents.launch import AttemptFiles
    from tmuxorch.cli.logs import never_ran
    from tmuxorch.run.store import Store

    if not 1 <= lines <= MOST_LINES:
        raise Refused(422, f"lines must be from 1 to {MOST_LINES}", field="lines")
    store = Store(ref.directory)
    try:
        rows = store.tasks(ref.id)
    finally:
        store.close()
    row = rows.get(task)
    if row is None:
        shown = ", ".join(sorted(rows))
        raise Refused(404, f"no task {task!r} in run {ref.id} (its tasks: {shown})", field="task")
    if not row.attempts:
        raise Refused(409, never_ran(task, row.state, row.reason))
    number = attempt or row.attempts
    if not 1 <= number <= row.attempts:
        raise Refused(
            404, f"{task} has no attempt {number} (it has {row.attempts})", field="attempt"
        )
    said: dict[str, object] = {"run": ref.id, "task": task, "state": row.state, "attempt": number}
    if number == row.attempts and row.state == "running" and row.pane:
        screen = _pane(ref, row.pane, lines, chosen)
        if screen is not None:
            return {**said, "source": "pane", "pane": row.pane, "text": screen}
    if number == row.attempts and row.state != "running" and not row.pane:
        _settle(ref, task, number, chosen)
    run_dir = os.path.join(ref.directory, "runs", ref.id)
    path = AttemptFiles.of(run_dir, task, number).transcript
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    return {**said, "source": "transcript", "text": last_lines(text, lines)}


def _pane(ref: RunRef, pane: str, lines: int, chosen: Client | None) -> str | None:
    """The last ``lines`` lines ``pane`` shows (scrollback included); None if it is gone."""
    from tmuxorch.cli.runs import client_of
    from tmuxorch.tmux.client import TmuxError
    from tmuxorch.tmux.panes import capture

    try:
        shown = capture(client_of(ref.row, chosen), [pane], scrollback=lines).get(pane)
    except TmuxError:
        return None
    return None if shown is None else last_lines(shown, lines)


def _settle(ref: RunRef, task: str, attempt: int, chosen: Client | None) -> None:
    """An attempt that just ended keeps its pane until the run has read its last screen
    into its transcript (then closes it, or keeps it, said in the store): wait for that,
    a few seconds at most, so its transcript is whole when read."""
    from tmuxorch.cli.runs import client_of
    from tmuxorch.run.store import Store
    from tmuxorch.tmux.client import TmuxError
    from tmuxorch.tmux.panes import task_panes

    store = Store(ref.directory)
    try:
        rows = store.attempts(ref.id, task)
    finally:
        store.close()
    pane = next((r.pane for r in rows if r.n == attempt), None)
    if pane is None or ref.row.state != "running":
        return
    client = client_of(ref.row, chosen)
    deadline = time.monotonic() + SETTLE_WITHIN
    while time.monotonic() < deadline:
        try:
            if pane not in {p.pane for p in task_panes(client, ref.id)}:
                return
        except TmuxError:
            return
        time.sleep(0.05)
