"""The typer commands around layout files: ``freeze``, ``ls``, ``edit``, ``convert``
(registered on :data:`tmuxorch.cli.app.app` when that module is imported)."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch.cli.app import SocketName, SocketPath, _done, _server, app


@app.command()
def freeze(
    session: Annotated[
        str | None,
        typer.Argument(help="The session (default: the current one, else the most recent)."),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option(
            "-o",
            "--output",
            help="The file to write: .yaml or .json; '-' prints it"
            " (default: SESSION.yaml in ~/.config/tmuxorch/layouts).",
        ),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="yaml or json (default: by the file's extension)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the file.")] = False,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Write a live session as a layout file that builds it again.

    Windows, layouts, each pane's directory and the program it runs, focus.
    """
    from tmuxorch.cli import freeze as freeze_cmd

    client = _server(socket_name, socket_path)
    _done(freeze_cmd.freeze(client, session, output=output, fmt=fmt, force=force))


@app.command(name="ls")
def list_layouts(
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the layouts found and the runs on this tmux server.

    Layouts: this directory's own (.tmuxorch.yaml, .tmuxp.yaml), then those named in
    ~/.config/tmuxorch/layouts and in tmuxp's folders (~/.config/tmuxp, ~/.tmuxp).
    """
    from tmuxorch.cli import ls as ls_cmd

    _done(ls_cmd.ls(_server(socket_name, socket_path), as_json=as_json))


LayoutName = Annotated[
    str | None,
    typer.Argument(
        help="A layout file, or a name as 'tmuxorch ls' lists them (default: this"
        " directory's .tmuxorch.yaml or .tmuxp.yaml)."
    ),
]


@app.command()
def edit(layout: LayoutName = None) -> None:
    """Open a layout in your editor ($VISUAL, $EDITOR, else vi)."""
    from tmuxorch.cli import edit as edit_cmd

    _done(edit_cmd.edit(layout))


@app.command()
def convert(
    layout: Annotated[
        str, typer.Argument(help="A layout file, or a name as 'tmuxorch ls' lists them.")
    ],
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Overwrite the converted file if it exists.")
    ] = False,
) -> None:
    """Convert a layout from YAML to JSON or back, into a file beside it (same name)."""
    from tmuxorch.cli import convert as convert_cmd

    _done(convert_cmd.convert(layout, yes=yes))
