"""Crash adoption: a resumed run's attempts that were running when its last supervisor
died. Panes still there (found by their ``@tmuxorch-*`` tags, or by their command's marker
if the supervisor died before tagging them) are followed again; what ended meanwhile is
recorded from its exit file; an attempt recorded but never given a pane never ran."""

from __future__ import annotations

import os
import time

from tmuxorch.agents.launch import attempt_id, pane_options
from tmuxorch.run import events, proctree, worktrees
from tmuxorch.run.backstop import EXIT_GRACE, read_exit
from tmuxorch.run.context import Attempt
from tmuxorch.run.scheduler import RUNNING
from tmuxorch.tmux import panes as tmux_panes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Run
    from tmuxorch.run.ending import Ending
    from tmuxorch.run.launching import Launcher
    from tmuxorch.run.store import AttemptRow


def adopt(run: Run, recorded: list[AttemptRow], ending: Ending, launcher: Launcher) -> None:
    running = [t for t, s in run.scheduler.states.items() if s.state == RUNNING]
    if not running:
        return
    facts = {(f.task, f.attempt): f for f in tmux_panes.task_panes(run.client, run.run_id)}
    rows = {(a.task, a.n): a for a in recorded}
    for task_id in running:
        n = run.scheduler.states[task_id].attempts
        task = run.taskset.task(task_id)
        files = run.files(task_id, n)
        fact = facts.get((task_id, n))
        row = rows.get((task_id, n))
        if row is not None and row.pane and "@" in row.pane:  # on another host
            from tmuxorch.run.adoption_there import adopt_there

            adopt_there(run, task, n, row, ending, launcher)
            continue
        started = row.started if row else time.time()
        if fact is None and row is not None and row.pane is None:
            fact = _being_made(run, task_id, n)  # its making may outlive its supervisor
        if fact is None:
            code = read_exit(files.exit)
            if code is None and row is not None and row.pane is None:
                run.forget(task_id, n)  # the supervisor died before making the pane
                continue
            attempt = Attempt(task, n, "", 0, files, started, None, "")
            run.attempts[task_id] = attempt
            if code is not None:
                ending.exited(attempt, code)
            else:
                why = "its pane was gone when the supervisor came back"
                ending.complete(attempt, ok=False, code=None, reason=why)
            ending.sweep(attempt)
            continue
        deadline = None
        if task.timeout is not None:
            deadline = time.monotonic() + max(0.0, started + task.timeout - time.time())
        attempt = Attempt(task, n, fact.pane, fact.pid, files, started, deadline, fact.window)
        attempt.handle = run.pane_maker().pane(
            fact.pane, fact.pid, window_name=fact.window, session_name=fact.session
        )
        attempt.profile = run.taskset.agent(task.agent)
        attempt.output_at = time.monotonic()
        attempt.typed = True  # whether its prompt was typed is not known: never twice
        if task.worktree is not None:
            try:  # its worktree is there already: found again
                attempt.checkout = worktrees.prepare(
                    task.cwd or os.getcwd(), run.state_dir, run.run_id, task_id
                )
                run.checkouts[task_id] = attempt.checkout
            except worktrees.GitError as exc:
                run.note(f"{task_id}: its worktree is gone ({exc})", task_id)
        attempt.cwd = attempt.checkout.cwd if attempt.checkout else (task.cwd or "")
        run.attempts[task_id] = attempt
        record = row is not None and row.pane is None  # made but not yet recorded, nor tagged
        if record:
            agent = pane_options(run.taskset.agent(task.agent))
            tmux_panes.tag(run.client, run.run_id, task_id, n, fact.pane, agent)
        run.task_event(
            events.ADOPTED, task_id, pid=fact.pid, transcript=files.transcript, record=record
        )
        launcher.follow(attempt)
        code = read_exit(files.exit)
        if code is not None:
            ending.exited(attempt, code)
        elif fact.dead:
            attempt.dead_since = time.monotonic() - EXIT_GRACE


MAKING_WAIT = 30.0
"""Seconds a pane still being made by a dead supervisor's tmux command is waited for."""


def _being_made(run: Run, task_id: str, n: int) -> tmux_panes.PaneFacts | None:
    """An attempt recorded with no pane yet: a tmux command of its dead supervisor may still
    be making it (a slow tmux). While a process carries the attempt's marker in its command
    line (that command, or the pane's own program), look for the pane; None once none does
    and no pane showed (it never will: the attempt never ran)."""
    token = (tmux_panes.MARKER + attempt_id(run.run_id, task_id, n)).encode()
    deadline = time.monotonic() + MAKING_WAIT
    while True:
        making = proctree.with_argument(token)  # first: a command that ends after the
        found = [  # listing below made the pane before it ended (seen: it ran twice)
            f
            for f in tmux_panes.task_panes(run.client, run.run_id)
            if (f.task, f.attempt) == (task_id, n)
        ]
        if found:
            return found[0]
        if not making or time.monotonic() > deadline:
            return None
        time.sleep(0.05)
