"""``tmuxorch layout`` and ``tmuxorch validate`` (typer-free: ``layout`` is a hot path)."""

from __future__ import annotations

import os
import sys
import time

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, bad_input, fail, info, warn
from tmuxorch.spec.errors import Problem, SpecError
from tmuxorch.spec.workspace import Loaded, load_workspace
from tmuxorch.tmux.build import BuildError, SessionExists, build, session_exists
from tmuxorch.tmux.client import Client, TmuxError
from tmuxorch.tmux.plan import plan

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.model import Workspace


def server(socket_name: str | None, socket_path: str | None) -> Client | None:
    if socket_name and socket_path:
        fail("give -L or -S, not both", EXIT_BAD_INPUT)
        return None
    return Client(socket_name, socket_path)


def prepare(
    file: str, socket_name: str | None, socket_path: str | None, *, fix_name: bool = False
) -> tuple[Client, Workspace] | int:
    """The server chosen and the file read (every problem with either reported), or 2."""
    client = server(socket_name, socket_path)
    loaded = load(file, fix_name=fix_name)
    if client is None or isinstance(loaded, int):
        return EXIT_BAD_INPUT
    return client, loaded.workspace


def load(file: str, *, fix_name: bool = False) -> Loaded | int:
    try:
        loaded = load_workspace(file, fix_name=fix_name)
    except SpecError as exc:
        return bad_input(exc)
    for problem in loaded.warnings:
        warn(problem)
    if loaded.workspace.tasks is not None:
        from tmuxorch.agents.installed import missing_for

        for task, why in missing_for(loaded.workspace.tasks):
            at = loaded.workspace.tasks.task(task).origin
            warn(Problem(at.file, at.line, at.col, at.where, f"{why}: it cannot start here"))
    return loaded


def find(arg: str, *, fix_name: bool = False) -> Loaded | int:
    """Read the layout ``arg`` means: a file, a project folder's ``.tmuxp.yaml`` (or
    ``.tmuxorch.yaml``), a folder of task files, or a name in the layout folders."""
    from tmuxorch.spec.workspace_dirs import find_layout

    try:
        path, warnings = find_layout(arg)
    except SpecError as exc:
        return bad_input(exc)
    for problem in warnings:
        warn(problem)
    return load(path, fix_name=fix_name)


def layout(
    files: str | list[str],
    *,
    socket_name: str | None = None,
    socket_path: str | None = None,
    detach: bool = False,
    append: bool = False,
    dry_run: bool = False,
    fix_name: bool = False,
) -> int:
    """Build the session each of ``files`` describes (an existing one is left as it is),
    then attach to the last one unless ``detach`` or no terminal (as ``tmuxp load``)."""
    client = server(socket_name, socket_path)
    found = [find(f, fix_name=fix_name) for f in ([files] if isinstance(files, str) else files)]
    if client is None or any(isinstance(f, int) for f in found):
        return EXIT_BAD_INPUT  # bad input: nothing is started
    workspaces = [f.workspace for f in found if not isinstance(f, int)]
    if dry_run:
        for ws in workspaces:
            if ws.tasks is not None:
                ws = with_supervisor(ws, client)
            print(plan(ws, append=append).describe(client.server_args))
        return EXIT_OK
    ready: dict[str, None] = {}  # the sessions there now, in order, once each
    code = EXIT_OK
    for ws in workspaces:
        made = _make(client, ws, append=append)
        if made == EXIT_OK:
            ready.pop(ws.session_name, None)
            ready[ws.session_name] = None
        code = max(code, made)
    sessions = list(ready)
    attaching = not code and not detach and sys.stdin.isatty() and sys.stdout.isatty()
    if not attaching or len(sessions) > 1:
        import shlex

        for session in sessions[:-1] if attaching else sessions:
            info(f"attach: {shlex.join(('tmux', *client.server_args, 'attach', '-t', session))}")
    if not attaching:
        return code
    from tmuxorch.tmux.attach import attach

    try:
        attach(client, sessions[-1])
    except TmuxError as exc:
        return fail(str(exc))
    return EXIT_OK


def _make(client: Client, ws: Workspace, *, append: bool) -> int:
    """Build ``ws``'s session, or add its windows to it (``append``); an existing one is
    left alone (said, with what its tasks' run needs). 0, or 1 if the build failed."""
    started = time.perf_counter()
    exists = None
    if append or ws.before_script or ws.global_options:  # nothing runs for an existing one
        exists = session_exists(client, ws.session_name)
    if exists and not append:
        return _exists(ws)
    ours = ws
    if ws.tasks is not None:
        from tmuxorch.run.opening import supervisor_alive

        if exists and supervisor_alive(ws.file):  # its run goes on: one supervisor a file
            info(f"a supervisor already runs the tasks of {ws.file}: no second one is added")
        else:
            ours = with_supervisor(ws, client)
    if not ours.windows:
        info(f"session {ws.session_name!r}: nothing to add")
        return EXIT_OK
    try:
        built = build(client, plan(ours, append=bool(exists)))
    except SessionExists:
        return _exists(ws)
    except (BuildError, TmuxError) as exc:
        return fail(str(exc))
    took = (time.perf_counter() - started) * 1000
    info(
        f"{'added to' if exists else 'built'} session {ws.session_name!r}: "
        f"{len(ours.windows)} window(s), {ours.pane_count} pane(s) in {took:.0f} ms"
    )
    if built.not_ready:
        info(
            f"tmuxorch: {len(built.not_ready)} shell(s) showed no prompt within a few "
            "seconds; their commands were typed anyway"
        )
    return EXIT_OK


def _exists(ws: Workspace) -> int:
    """The session is there already: left as it is (as ``tmux new-session -A``)."""
    info(
        f"session {ws.session_name!r} already exists on this tmux server: left as it is, "
        f"not rebuilt from {ws.file} (--append adds the file's windows to it)"
    )
    if ws.tasks is not None:
        why = _run_needs(ws.file)
        if why:
            info(why)
    return EXIT_OK


def _run_needs(file: str) -> str | None:
    """What the run of ``file``'s tasks needs when no supervisor runs it, or None."""
    import shlex

    from tmuxorch.run.opening import supervisor_alive

    if supervisor_alive(file):
        return None
    from tmuxorch.cli.runs import find_run

    found = find_run(file)
    command = shlex.join(("tmuxorch", "run", file))
    if isinstance(found, str):
        return f"no supervisor runs its tasks: '{command}' runs them"
    store, run_row = found
    store.close()
    if run_row.state == "running":
        return (
            f"its run {run_row.id} lost its supervisor: '{run_row.resume}' resumes it "
            "(adopting the agents still running)"
        )
    if run_row.state == "interrupted":
        return f"its run {run_row.id} was interrupted: '{run_row.resume}' resumes it"
    return None


def validate(files: str | list[str], *, fix_name: bool = False) -> int:
    """Check each file; print what it holds, or its problems as ``file:line:col`` (2 if any)."""
    code = EXIT_OK
    for file in [files] if isinstance(files, str) else files:
        loaded = find(file, fix_name=fix_name)
        if isinstance(loaded, int):
            code = loaded
            continue
        print(f"{loaded.workspace.file}: ok: {summary(loaded.workspace)}")
    return code


def summary(ws: Workspace) -> str:
    """What a file holds, as ``validate`` says it."""
    tasks = ws.tasks
    said = []
    if ws.windows or tasks is None:
        said.append(
            f"session {ws.session_name!r}, {len(ws.windows)} window(s), {ws.pane_count} pane(s)"
        )
    if tasks is not None:
        levels = len(tasks.graph.levels())
        files = f" from {len(tasks.files)} file(s)" if len(tasks.files) > 1 else ""
        said.append(f"{len(tasks.tasks)} task(s){files} in {levels} level(s)")
        if not ws.windows:
            said.append(f"run in session {ws.session_name!r}")
    return ", ".join(said)


SUPERVISOR_WINDOW = "tmuxorch"


def with_supervisor(ws: Workspace, client: Client) -> Workspace:
    """The layout plus a window where the scheduler runs (``tmuxorch run --inside``)."""
    import shlex
    from dataclasses import replace

    from tmuxorch.spec.model import Pane, Window

    argv = [
        sys.executable,
        "-m",
        "tmuxorch",
        "run",
        *client.server_args,
        "--inside",
        os.path.abspath(ws.file),
    ]
    window = Window(panes=(Pane(shell=shlex.join(argv)),), name=SUPERVISOR_WINDOW)
    return replace(ws, windows=(*ws.windows, window))
