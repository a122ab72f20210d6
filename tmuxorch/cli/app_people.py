"""The typer commands by which a person answers tasks that wait for one: ``approve``,
``reject``, ``unblock``."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch.cli.app import RunFile, SocketName, SocketPath, _done, _server, app

Tasks = Annotated[list[str], typer.Argument(metavar="TASK", help="Task ids.")]


@app.command()
def approve(
    tasks: Tasks,
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Approve tasks that need review: they succeed, and what needs them goes on."""
    from tmuxorch.cli.resolving import resolve

    _done(resolve("approve", file, list(tasks), chosen=_server(socket_name, socket_path)))


@app.command()
def reject(
    tasks: Tasks,
    reason: Annotated[
        str,
        typer.Option("--reason", "-m", metavar="TEXT", help="What to change (the agent reads it)."),
    ],
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Reject the work of tasks that need review: they run again, told why."""
    from tmuxorch.cli.resolving import resolve

    chosen = _server(socket_name, socket_path)
    _done(resolve("reject", file, list(tasks), reason, chosen=chosen))


@app.command()
def unblock(
    tasks: Tasks,
    note: Annotated[
        str, typer.Option("--note", "-m", metavar="TEXT", help="What the agent needed to know.")
    ] = "",
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Unblock tasks whose agent said it was blocked: they run again, with your note."""
    from tmuxorch.cli.resolving import resolve

    _done(resolve("unblock", file, list(tasks), note, chosen=_server(socket_name, socket_path)))
