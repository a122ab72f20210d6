"""Crash adoption of attempts on other hosts: a resumed run's attempt recorded on a pane
``%ID@HOST`` is looked for on that host (by its ``@tmuxorch-*`` tags) and followed again;
one that ended meanwhile is completed from its exit file there; a host out of reach leaves
it ``unknown`` (running there, for all anyone here knows) until the link is made again —
never started a second time."""

from __future__ import annotations

import time

from tmuxorch.run import events
from tmuxorch.run.context import Attempt
from tmuxorch.run.host_links import split
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Run
    from tmuxorch.run.ending import Ending
    from tmuxorch.run.launching import Launcher
    from tmuxorch.run.store import AttemptRow
    from tmuxorch.spec.task_model import Task
    from tmuxorch.tmux.panes import PaneFacts
    from tmuxorch.tmux.remote import RemoteClient


def adopt_there(
    run: Run, task: Task, n: int, row: AttemptRow, ending: Ending, launcher: Launcher
) -> None:
    from dataclasses import replace

    from tmuxorch.agents.launch import pane_options
    from tmuxorch.run import elsewhere

    raw, host = split(row.pane or "")
    assert host is not None
    files = run.files(task.id, n)
    deadline = None
    if task.timeout is not None:
        deadline = time.monotonic() + max(0.0, row.started + task.timeout - time.time())
    attempt = Attempt(
        replace(task, host=host), n, row.pane or "", 0, files, row.started, deadline, ""
    )
    attempt.host = host
    attempt.profile = run.taskset.agent(task.agent)
    attempt.output_at = time.monotonic()
    attempt.typed = True  # whether its prompt was typed is not known: never twice
    run.attempts[task.id] = attempt
    reached = launcher.elsewhere.link(attempt.task)
    if isinstance(reached, elsewhere.Refused):
        spec = next((h for h in run.taskset.hosts if h.name == host), None)
        if reached.final or spec is None:
            ending.complete(attempt, ok=False, code=None, reason=reached.reason)
            return
        run.hosts.add(spec)  # out of reach for now: unknown, and tried again
        run.put("host", (host, "cut"))
        return
    link = reached
    assert link.client is not None
    found = _look(link.client, run.run_id, task.id, n, making=not raw)
    attempt.remote = link.files(task.id, n)
    code = None if found else link.exit_status(attempt.remote.exit)
    if not found and code is None and not raw:
        del run.attempts[task.id]  # the supervisor died before its pane was made there
        run.forget(task.id, n)
        return
    link.follow(attempt.remote, files)
    if not found:
        if code is not None:
            ending.exited(attempt, code)
        else:
            why = f"its pane on {host} was gone when the supervisor came back"
            ending.complete(attempt, ok=False, code=None, reason=why)
        return
    fact = found[0]
    attempt.pane, attempt.pid, attempt.window = f"{fact.pane}@{host}", fact.pid, fact.window
    if link.placement is not None and fact.window not in link.placement.windows:
        link.placement.windows[fact.window] = 1
    record = not raw  # made but not yet recorded, perhaps not yet tagged
    if record:
        agent = pane_options(attempt.profile)
        tmux_panes.tag(link.client, run.run_id, task.id, n, fact.pane, agent)
    run.task_event(
        events.ADOPTED, task.id, pid=fact.pid, transcript=files.transcript, record=record
    )
    launcher.follow(attempt)


MAKING_WAIT = 2.0
"""Seconds an attempt recorded while its pane was being made on a host is looked for
there: the dead supervisor's command to make it went down its link to the host's tmux,
which runs what it was sent before that link's client goes (within moments)."""


def _look(
    client: RemoteClient, run_id: str, task_id: str, n: int, *, making: bool
) -> list[PaneFacts]:
    """The attempt's pane on the host (by its tags, or by the marker in its command line);
    ``making``: for up to :data:`MAKING_WAIT` seconds."""
    deadline = time.monotonic() + (MAKING_WAIT if making else 0.0)
    while True:
        try:
            found = [
                f
                for f in tmux_panes.task_panes(client, run_id)
                if (f.task, f.attempt) == (task_id, n)
            ]
        except TmuxError:
            found = []
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)
