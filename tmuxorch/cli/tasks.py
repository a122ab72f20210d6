"""``run``, ``status``, ``stop``, ``retry``, ``graph``, ``attach``: tasks and their runs."""

from __future__ import annotations

import json
import os
import sys
import time

from tmuxorch.cli.layout import load, prepare
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, info
from tmuxorch.cli.runs import client_of, find_run
from tmuxorch.run.display import Display
from tmuxorch.run.table import Row, last_line, progress
from tmuxorch.tmux.client import Client, TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.store import RunRow, Store
    from tmuxorch.spec.model import Workspace


def run(
    file: str,
    *,
    socket_name: str | None = None,
    socket_path: str | None = None,
    keep: bool = False,
    new: bool = False,
    inside: bool = False,
) -> int:
    """Run the tasks of ``file`` in the foreground; 0 iff every task succeeded."""
    from tmuxorch.run.display import LiveDisplay
    from tmuxorch.run.opening import OtherServer
    from tmuxorch.run.placement import SessionTaken
    from tmuxorch.run.supervisor import Supervisor, SupervisorBusy

    # --inside: started by 'layout', which built the session (its name made fit if asked)
    prepared = prepare(file, socket_name, socket_path, fix_name=inside)
    if isinstance(prepared, int):
        return prepared
    client, ws = prepared
    if ws.tasks is None:
        return fail(
            f"{file} has no tasks to run (a layout without tasks: use 'tmuxorch layout')",
            EXIT_BAD_INPUT,
        )
    if ws.windows and not inside:
        code = _build_layout_session(client, ws)
        if code:
            return code
    display = LiveDisplay() if sys.stdout.isatty() else Display()
    ran = True
    try:
        return Supervisor(ws, client, display, keep=keep, inside=inside, fresh=new).run()
    except (SupervisorBusy, SessionTaken) as exc:
        ran = False
        return fail(str(exc))
    except OtherServer as exc:
        ran = False
        return fail(str(exc), EXIT_BAD_INPUT)
    except TmuxError as exc:
        return fail(str(exc))
    finally:
        if inside:
            _hold_window(ran)


def _build_layout_session(client: Client, ws: Workspace) -> int:
    """``run`` of a layout with windows: build them first, unless the session is there."""
    from tmuxorch.tmux.build import BuildError, build, session_exists
    from tmuxorch.tmux.plan import plan

    try:
        if not session_exists(client, ws.session_name):
            build(client, plan(ws))
    except (BuildError, TmuxError) as exc:
        return fail(str(exc))
    return EXIT_OK


def _hold_window(ran: bool) -> None:
    """Inside a session (its ``tmuxorch`` window), keep the final table (or why no run
    started) on screen."""
    said = "The run is over." if ran else "No run was started here (see above)."
    print(f"\n{said} Close this window with: exit, or C-b &", flush=True)
    try:
        while sys.stdin.readline() not in ("", "exit\n", "q\n"):
            pass
    except (KeyboardInterrupt, OSError):
        pass


_OVER = ("succeeded", "failed", "skipped", "stopped")
OVER = ("finished", "stopped", "down")
"""States of a run that no supervisor will go on with (an interrupted one may resume)."""


def rows(
    store: Store, run: RunRow, *, last_lines: bool = True, chosen: Client | None = None
) -> list[Row]:
    """The run's tasks in the file's order; ``last_lines``: with the last line each one's
    pane shows (running) or showed (from its transcript, once over)."""
    tasks = store.tasks(run.id)
    lines: dict[str, str] = {}
    live = {t.pane: t.id for t in tasks.values() if t.state == "running" and t.pane}
    if last_lines and live:
        from tmuxorch.cli.runs import screens

        for pane, screen in screens(run, list(live), chosen).items():
            lines[live[pane]] = last_line(screen.splitlines())
    if last_lines:
        from tmuxorch.bridge.sinks import transcript_end

        for task in tasks.values():
            if task.state in _OVER and task.attempts:
                name = f"{task.id}.{task.attempts}.txt"
                path = os.path.join(store.directory, "transcripts", run.id, name)
                lines[task.id] = last_line(transcript_end(path))
    now = time.time()
    result = []
    for task in tasks.values():
        runtime = None
        if task.started is not None and task.state in ("running", "unknown"):
            runtime = now - task.started
        elif task.started is not None and task.ended and task.state in _OVER:
            runtime = task.ended - task.started
        state = task.state
        if state == "running" and task.activity == "waiting_input":
            state = "waiting_input"
        result.append(
            Row(
                task.id,
                state,
                task.pane if state in ("running", "waiting_input", "failed") else None,
                task.attempts,
                runtime,
                lines.get(task.id, ""),
                task.exit_code,
                task.reason,
                bool(task.allow_failure),
                task.pull_request,
                task.failure,
                task.retry_at if state == "retrying" else None,
            )
        )
    return result


def heading(run_row: RunRow, found: list[Row], *, orphaned: bool = False) -> list[str]:
    """What a run's table is headed with: the run, its state, how far it is, its session
    and file."""
    said = run_row.state + (" (no supervisor)" if orphaned else "")
    session = f"session {run_row.session}" if run_row.session else ""
    return [f"run {run_row.id}", said, progress(found), session, run_row.file]


def status(
    file: str | None, *, as_json: bool = False, follow: bool = False, chosen: Client | None = None
) -> int:
    found = find_run(file, chosen)
    deadline = time.monotonic() + 60
    while follow and isinstance(found, str) and found.startswith("no runs"):
        if time.monotonic() > deadline:  # a run starting writes itself down in a moment
            break
        time.sleep(0.2)
        found = find_run(file, chosen)
    if isinstance(found, str):
        return fail(found)
    store, run_row = found
    try:
        orphaned = _orphaned(run_row)
        if as_json:
            print(json.dumps(as_json_report(store, run_row, chosen), indent=2))
            return EXIT_OK
        if not follow:
            shown = rows(store, run_row, chosen=chosen)
            Display().close(shown, heading(run_row, shown, orphaned=orphaned))
            if orphaned:
                print(
                    f"its supervisor is not running: '{run_row.resume}' adopts the agents "
                    "still running and goes on"
                )
            return EXIT_OK
        from tmuxorch.cli.following import follow as follow_run

        return follow_run(store, run_row, chosen)
    finally:
        store.close()


def as_json_report(store: Store, run_row: RunRow, chosen: Client | None) -> dict[str, object]:
    """A run as ``status --json`` (and ``serve``'s ``/api/runs/RUN``) shows it."""
    return {
        "run": run_row.id,
        "file": run_row.file,
        "session": run_row.session,
        "state": run_row.state,
        "supervised": run_row.state == "running" and not _orphaned(run_row),
        "reason": run_row.reason,
        "tasks": _with_results(store, run_row, rows(store, run_row, chosen=chosen)),
    }


def _orphaned(run_row: RunRow) -> bool:
    """The run says it runs, but its supervisor is gone (killed, or its machine rebooted)."""
    from tmuxorch.run.opening import supervisor_alive

    return run_row.state == "running" and not supervisor_alive(run_row.file)


def _with_results(store: Store, run_row: RunRow, found: list[Row]) -> list[dict[str, object]]:
    """Rows as JSON, with each task's agent conversation and result (``$TMUXORCH_RESULT``)."""
    from tmuxorch.run import results

    sessions = {t.id: t.session for t in store.tasks(run_row.id).values()}
    chosen = {  # the agent its latest attempt ran on, when not its own (a fallback, a route)
        task: data for _, _, task, kind, data in store.events(run_row.id) if kind == "agent"
    }
    folder = os.path.join(store.directory, "runs", run_row.id, "results")
    out = []
    for row in found:
        data = row.as_json()
        data["session"] = sessions.get(row.task)
        data["agent_choice"] = chosen.get(row.task)
        try:
            value = results.read(os.path.join(folder, f"{row.task}.json"))
        except results.ResultError as exc:
            value = {"error": str(exc)}
        data["result"] = None if value is results.MISSING else value
        out.append(data)
    return out


def named(
    file: str | None, tasks: list[str], chosen: Client | None = None
) -> tuple[Store, RunRow, list[str]] | int:
    """The latest run and ``tasks`` of it (all known), or the exit status of why not."""
    found = find_run(file, chosen)
    if isinstance(found, str):
        return fail(found)
    store, run_row = found
    known = store.tasks(run_row.id)
    unknown = [t for t in tasks if t not in known]
    if unknown:
        store.close()
        return fail(
            f"no task {', '.join(unknown)} in run {run_row.id} (tasks: {', '.join(sorted(known))})",
            EXIT_BAD_INPUT,
        )
    return store, run_row, tasks


def asked(
    run_row: RunRow, action: str, names: list[str], what: str, *, everything: bool = False
) -> bool:
    """Whether the run's supervisor is alive and was asked to do it (it acts on its own;
    a supervisor of the same file running a newer run is not this run's)."""
    from tmuxorch.run.opening import supervises
    from tmuxorch.run.requests import request

    if not supervises(run_row.file, run_row.id):
        return False
    request(run_row.file, action, names, everything=everything)
    info(f"asked the supervisor of run {run_row.id} to {what}")
    return True


def retry(file: str | None, tasks: list[str]) -> int:
    found = named(file, tasks)
    if isinstance(found, int):
        return found
    store, run_row, names = found
    try:
        if asked(run_row, "retry", names, f"run {', '.join(names)} again"):
            return EXIT_OK
        for name in names:
            store.update_task(
                run_row.id,
                name,
                "retry-requested",
                state="pending",
                reason=None,
                exit_code=None,
                failure=None,
            )
        # what was skipped because of them runs too (its reason names the task it needs)
        causes = tuple(f"needs {n}, which " for n in names)
        for row in store.tasks(run_row.id).values():
            if row.state == "skipped" and (row.reason or "").startswith(causes):
                store.update_task(
                    run_row.id, row.id, "retry-requested", state="pending", reason=None
                )
        info(f"reset {', '.join(names)}; run them with: {run_row.resume}")
        return EXIT_OK
    finally:
        store.close()


def graph(file: str) -> int:
    from tmuxorch.spec.duration import written

    loaded = load(file)
    if isinstance(loaded, int):
        return loaded
    taskset = loaded.workspace.tasks
    if taskset is None:
        return fail(f"{file} has no tasks", EXIT_BAD_INPUT)
    g = taskset.graph
    for depth, level in enumerate(g.levels()):
        print(f"level {depth}:")
        for task_id in level:
            task = taskset.task(task_id)
            groups = [f"{g}{' then stop' if g.then == 'stop' else ''}" for g in task.quorums]
            wanted = [*task.required, *groups]
            needs = f"  ← {', '.join(wanted)}" if wanted else ""
            extra = ["failure allowed"] if task.allow_failure else []
            if task.locks:
                extra.append(f"locks {', '.join(task.locks)}")
            if task.retries:
                extra.append(f"retries {task.retries}")
            if task.timeout:
                extra.append(f"timeout {written(task.timeout)}")
            if task.follows:
                extra.append(f"created when {task.follows} succeeds")
            if task.worktree:
                policy = task.worktree
                extra.append(
                    f"worktree, then {policy.after}"
                    + (f" ({policy.merge})" if policy.after == "merge" else "")
                )
            detail = f"  [{'; '.join(extra)}]" if extra else ""
            print(f"  {task_id} ({task.agent}){needs}{detail}")
    print(f"{len(taskset.tasks)} task(s), at most {taskset.max_parallel} at once")
    return EXIT_OK


def attach(file: str | None, task: str, chosen: Client | None = None) -> int:
    from tmuxorch.tmux import panes as tmux_panes
    from tmuxorch.tmux.attach import attach as attach_pane

    found = named(file, [task], chosen)
    if isinstance(found, int):
        return found
    store, run_row, _ = found
    try:
        pane_there = store.tasks(run_row.id)[task].pane or ""
        if "@" in pane_there:  # on one of its hosts: over ssh
            from tmuxorch.cli.on_hosts import attach_there

            return attach_there(run_row.file, run_row.session, pane_there)
        client = client_of(run_row, chosen)
        facts = [f for f in tmux_panes.task_panes(client, run_row.id) if f.task == task]
        if not facts:
            from tmuxorch.run.whereabouts import said

            row = store.tasks(run_row.id)[task]
            logs = f"; its output: tmuxorch logs {task}" if row.attempts else ""
            return fail(f"{said(task, row.state)}: no pane to attach to{logs}", EXIT_FAILED)
        pane = max(facts, key=lambda f: f.attempt)
        try:
            attach_pane(client, pane.session, pane=pane.pane)
        except TmuxError as exc:
            return fail(str(exc))
        return EXIT_OK
    finally:
        store.close()
