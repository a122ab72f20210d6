"""``stop`` and ``down``: ending tasks, and ending a run on purpose (its supervisor, its
agents, the session tmuxorch made for it). With no supervisor alive they do it themselves."""

from __future__ import annotations

import os
import signal
import time

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, fail, info
from tmuxorch.cli.runs import client_of, find_run
from tmuxorch.cli.tasks import asked, named

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.store import RunRow, Store
    from tmuxorch.tmux.client import Client


def stop(
    file: str | None, tasks: list[str], *, everything: bool = False, chosen: Client | None = None
) -> int:
    if not tasks and not everything:
        return fail("name the tasks to stop, or --all", EXIT_BAD_INPUT)
    found = named(file, tasks, chosen)
    if isinstance(found, int):
        return found
    store, run_row, names = found
    try:
        what = "stop " + ("everything" if everything else ", ".join(names))
        if asked(run_row, "stop", names, what, everything=everything):
            return EXIT_OK
        _stop_directly(store, run_row, names or list(store.tasks(run_row.id)), chosen)
        _end_if_over(store, run_row, chosen, "stopped")
        return EXIT_OK
    finally:
        store.close()


def _stop_directly(
    store: Store, run_row: RunRow, names: list[str], chosen: Client | None, why: str = ""
) -> None:
    """No supervisor: kill the tasks' process trees ourselves and record it."""
    from tmuxorch.agents.launch import attempt_id
    from tmuxorch.run import proctree
    from tmuxorch.run.scheduler import TERMINAL
    from tmuxorch.tmux import panes as tmux_panes

    client = client_of(run_row, chosen)
    facts = {f.task: f for f in tmux_panes.task_panes(client, run_row.id)}
    rows_now = store.tasks(run_row.id)
    for name in names:
        row = rows_now[name]
        if row.state in TERMINAL:
            continue
        fact = facts.get(name)
        if fact is not None:
            marker = attempt_id(run_row.id, name, fact.attempt)
            proctree.kill_tree(fact.pid, marker, session=fact.pid)
            tmux_panes.kill_panes(client, [fact.pane])
        reason = why or "stopped (no supervisor running)"
        store.update_task(run_row.id, name, "stopped", state="stopped", reason=reason, pane=None)
        info(f"{name}: stopped")
    _stop_there(run_row, {n for n in names if rows_now[n].state not in TERMINAL})


def _stop_there(run_row: RunRow, names: set[str]) -> None:
    """The panes of ``names`` on the run's hosts (a run interrupted with the link cut may
    have left them running there): their process trees stopped, the panes closed."""
    from tmuxorch.hosts.reach import host_names, stop_there, tmux_there
    from tmuxorch.tmux import panes as tmux_panes
    from tmuxorch.tmux.client import TmuxError

    for host in host_names(run_row.file) if names else []:
        try:
            there = tmux_there(run_row.file, host)
            facts = [f for f in tmux_panes.task_panes(there, run_row.id) if f.task in names]
            stop_there(run_row.file, host, [f.pid for f in facts if f.pid])
            tmux_panes.kill_panes(there, [f.pane for f in facts])
        except TmuxError as exc:
            info(f"host {host}: not reached, its tasks there may still run ({exc})")


def _end_if_over(store: Store, run_row: RunRow, chosen: Client | None, state: str) -> bool:
    """Every task is over and no supervisor runs it: the run ends (``state``) and the
    session tmuxorch made for it closes. Whether it did."""
    from tmuxorch.run.opening import supervisor_alive
    from tmuxorch.run.scheduler import TERMINAL
    from tmuxorch.tmux.panes import close_run_session

    if supervisor_alive(run_row.file):
        return False
    if any(row.state not in TERMINAL for row in store.tasks(run_row.id).values()):
        return False
    if run_row.state == "running":
        store.end_run(run_row.id, state, "every task is over")
    if close_run_session(client_of(run_row, chosen), run_row.session, run_row.file):
        info(f"closed session {run_row.session!r}")
    _close_there(run_row)
    return True


def down(file: str | None, chosen: Client | None = None, *, timeout: float = 60.0) -> int:
    """End the run: its supervisor stops its agents (or, with none alive, they are stopped
    here), and the session tmuxorch made for it closes. The tasks not finished stay so: a
    later ``tmuxorch run`` resumes them."""
    from tmuxorch.run.opening import supervisor_alive
    from tmuxorch.tmux.panes import close_run_session

    found = find_run(file, chosen)
    if isinstance(found, str):
        return fail(found)
    store, run_row = found
    try:
        if supervisor_alive(run_row.file):
            pid = run_row.supervisor_pid
            if pid is None:
                return fail(f"the supervisor of run {run_row.id} runs, but its pid is unknown")
            os.kill(pid, signal.SIGTERM)  # it stops its agents and closes its session
            deadline = time.monotonic() + timeout
            while supervisor_alive(run_row.file):
                if time.monotonic() > deadline:
                    return fail(f"the supervisor of run {run_row.id} (pid {pid}) did not stop")
                time.sleep(0.05)
            info(f"stopped the supervisor of run {run_row.id} (pid {pid})")
        # what still runs (no supervisor, or one that kept its agents): stopped here
        tasks = store.tasks(run_row.id)
        live = [t for t, row in tasks.items() if row.state == "running"]
        _stop_directly(store, run_row, live, chosen, why="stopped by tmuxorch down")
        _stop_there(run_row, set(tasks))  # any pane of the run left there (an interrupted one)
        latest = store.run(run_row.id)
        if latest is not None and latest.state in ("running", "interrupted"):
            store.end_run(run_row.id, "down", "ended by tmuxorch down")
        if close_run_session(client_of(run_row, chosen), run_row.session, run_row.file):
            info(f"closed session {run_row.session!r}")
        _close_there(run_row)
        return EXIT_OK
    finally:
        store.close()


def _close_there(run_row: RunRow) -> None:
    """The sessions the run made on its hosts, closed (those reached)."""
    from tmuxorch.hosts.reach import host_names, tmux_there
    from tmuxorch.tmux.client import TmuxError
    from tmuxorch.tmux.panes import close_run_session

    for host in host_names(run_row.file):
        try:
            if close_run_session(tmux_there(run_row.file, host), run_row.session, run_row.file):
                info(f"closed session {run_row.session!r} on {host}")
        except TmuxError:
            pass  # (not reached: nothing to close that anyone can see from here)
