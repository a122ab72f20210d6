"""``tmuxorch layout`` and ``tmuxorch validate`` (typer-free: ``layout`` is a hot path)."""

from __future__ import annotations

import os
import sys
import time

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, bad_input, fail, info, warn
from tmuxorch.spec.errors import Problem, SpecError
from tmuxorch.spec.workspace import Loaded, load_workspace
from tmuxorch.tmux.build import BuildError, build, session_exists
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
    file: str, socket_name: str | None, socket_path: str | None
) -> tuple[Client, Workspace] | int:
    """The server chosen and the file read (every problem with either reported), or 2."""
    client = server(socket_name, socket_path)
    loaded = load(file)
    if client is None or isinstance(loaded, int):
        return EXIT_BAD_INPUT
    return client, loaded.workspace


def load(file: str) -> Loaded | int:
    try:
        loaded = load_workspace(file)
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


def layout(
    file: str,
    *,
    socket_name: str | None = None,
    socket_path: str | None = None,
    detach: bool = False,
    append: bool = False,
    dry_run: bool = False,
) -> int:
    """Build the session ``file`` describes; attach unless ``detach`` or no terminal."""
    prepared = prepare(file, socket_name, socket_path)
    if isinstance(prepared, int):
        return prepared
    client, ws = prepared
    if ws.tasks is not None:
        ws = with_supervisor(ws, client)
    if dry_run:
        print(plan(ws, append=append).describe(client.server_args))
        return EXIT_OK
    started = time.perf_counter()
    try:
        adding = append and session_exists(client, ws.session_name)
        built = build(client, plan(ws, append=adding))
    except (BuildError, TmuxError) as exc:
        return fail(str(exc))
    took = (time.perf_counter() - started) * 1000
    info(
        f"{'added to' if adding else 'built'} session {ws.session_name!r}: "
        f"{len(ws.windows)} window(s), {ws.pane_count} pane(s) in {took:.0f} ms"
    )
    if built.not_ready:
        info(
            f"tmuxorch: {len(built.not_ready)} shell(s) showed no prompt within a few "
            "seconds; their commands were typed anyway"
        )
    if detach or not (sys.stdin.isatty() and sys.stdout.isatty()):
        import shlex

        info(
            f"attach: {shlex.join(('tmux', *client.server_args, 'attach', '-t', ws.session_name))}"
        )
        return EXIT_OK
    from tmuxorch.tmux.attach import attach

    try:
        attach(client, ws.session_name)
    except TmuxError as exc:
        return fail(str(exc))
    return EXIT_OK


def validate(file: str) -> int:
    """Check ``file``; print its problems as ``file:line:col`` (2 if any)."""
    loaded = load(file)
    if isinstance(loaded, int):
        return loaded
    ws = loaded.workspace
    tasks = f", {len(ws.tasks.tasks)} task(s)" if ws.tasks else ""
    print(
        f"{file}: ok: session {ws.session_name!r}, {len(ws.windows)} window(s), "
        f"{ws.pane_count} pane(s){tasks}"
    )
    return EXIT_OK


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
