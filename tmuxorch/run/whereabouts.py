"""Where a task is when it has no live pane: not started yet, between two attempts, or
over. Read from the latest run of each tmuxorch session on a server (``@tmuxorch-file``),
for ``watch`` and ``send`` to say more than "no such pane"."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tmuxorch.bridge.send import split_target
from tmuxorch.run.scheduler import TERMINAL
from tmuxorch.run.store import Store, state_dir
from tmuxorch.tmux.client import Client, TmuxError
from tmuxorch.tmux.panes import run_sessions

SAID = {
    "pending": "has not started yet",
    "running": "is running",
    "retrying": "is waiting to be tried again",
    "succeeded": "has succeeded",
    "failed": "has failed",
    "skipped": "was skipped",
    "stopped": "was stopped",
    "blocked": "is blocked (tmuxorch unblock)",
    "needs_review": "needs review (tmuxorch approve / reject)",
}


def said(task: str, state: str) -> str:
    """``task`` in ``state``, as a sentence: "build has failed", "docs was skipped"."""
    return f"{task} {SAID.get(state, 'is ' + state)}"


@dataclass(frozen=True)
class Whereabouts:
    session: str
    task: str
    state: str
    attempts: int
    exit_code: int | None
    reason: str | None
    coming: bool
    """It will have a pane (again): not over, and its run's supervisor is alive."""
    run: str
    directory: str
    """Its run's state directory (``.tmuxorch``)."""
    file: str
    """Its run's task or layout file."""
    newer: bool = False
    """Its run is over but a supervisor of its file runs: a new run is on its way."""
    pane: str | None = None
    """Its pane as its run knows it (``%ID@HOST`` on another host)."""

    @property
    def ended_attempts(self) -> int:
        """How many of its attempts have ended (all of them, unless one is running)."""
        return self.attempts - 1 if self.state == "running" else self.attempts

    def transcript(self, attempt: int) -> str:
        from tmuxorch.agents.launch import AttemptFiles

        run_dir = os.path.join(self.directory, "runs", self.run)
        return AttemptFiles.of(run_dir, self.task, attempt).transcript

    def again(self) -> Whereabouts | None:
        """Where the task is now, read again from its run's store (its session may be
        closed: the run is over)."""
        return in_run(self.session, self.file, self.task)

    def describe(self) -> str:
        if self.coming:
            return f"{self.task} is {self.state}" + ("" if self.attempts else " (not started yet)")
        if self.state not in TERMINAL:
            return f"{self.task} is {self.state}, but its run's supervisor is not running"
        detail = [] if self.exit_code is None else [f"exit {self.exit_code}"]
        detail += [self.reason] if self.reason else []
        return said(self.task, self.state) + (f" ({', '.join(detail)})" if detail else "")


def find_task(
    client: Client, target: str, sessions: list[tuple[str, str]] | None = None
) -> Whereabouts | None:
    """The task named by ``target`` (``task`` or ``session:task``) in the latest run of a
    tmuxorch session on ``client``'s server (``sessions``: :func:`run_sessions` already
    asked); None if no such task."""
    wanted_session, task = split_target(target)
    if sessions is None:
        try:
            sessions = run_sessions(client)
        except TmuxError:
            return None
    for session, file in sessions:
        if wanted_session and session != wanted_session:
            continue
        found = in_run(session, file, task)
        if found is not None:
            return found
    return None


def on_host(client: Client, target: str) -> tuple[Client, str] | None:
    """A task (``target``) of a run on ``client``'s server whose live pane is on one of its
    hosts, or such a pane named as its run knows it (``%ID@HOST``, as the run's events and
    ``status`` say it): that host's tmux over ssh, and the pane's id there; None for
    anything else. Raises TmuxError (the ssh layer's words) when the host cannot be
    reached."""
    found = task_on_host(client, target)
    return None if found is None else (found[0], found[1])


def task_on_host(client: Client, target: str) -> tuple[Client, str, Whereabouts] | None:
    """:func:`on_host`, with where the task is (its run, its transcripts here)."""
    try:
        if target.startswith("%"):
            where = _of_pane(client, target) if "@" in target else None
        else:
            where = find_task(client, target)
    except TmuxError:
        return None
    if where is None or not where.coming or not where.pane or "@" not in where.pane:
        return None
    from tmuxorch.hosts.reach import reach

    return (*reach(where.file, where.pane), where)


def _of_pane(client: Client, pane: str) -> Whereabouts | None:
    """The task whose pane is ``pane`` in the latest run of a session on the server."""
    for session, file in run_sessions(client):
        if not os.path.exists(os.path.join(state_dir(file), "state.db")):
            continue
        store = Store(state_dir(file))
        try:
            run = next((r for r in store.runs(file) if r.session == session), None)
            rows = store.tasks(run.id) if run is not None else {}
            task = next((t for t, row in rows.items() if row.pane == pane), None)
        finally:
            store.close()
        if task is not None:
            return in_run(session, file, task)
    return None


def in_run(session: str, file: str, task: str) -> Whereabouts | None:
    if not os.path.exists(os.path.join(state_dir(file), "state.db")):
        return None
    store = Store(state_dir(file))
    try:
        run = next((r for r in store.runs(file) if r.session == session), None)
        row = store.tasks(run.id).get(task) if run is not None else None
        if run is None or row is None:
            return None
        from tmuxorch.run.opening import supervisor_alive

        supervised = supervisor_alive(file)
        live = run.state == "running" and supervised
        return Whereabouts(
            session,
            task,
            row.state,
            row.attempts,
            row.exit_code,
            row.reason,
            coming=live and row.state not in TERMINAL,
            run=run.id,
            directory=store.directory,
            file=file,
            newer=supervised and run.state != "running",
            pane=row.pane,
        )
    finally:
        store.close()
