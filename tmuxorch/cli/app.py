"""The typer application: the full CLI with help; commands call typer-free functions."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch import __version__
from tmuxorch.cli import layout as layout_cmd

app = typer.Typer(
    name="tmuxorch",
    help="A tmux-native session manager and bridge for AI coding agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SocketName = Annotated[
    str | None,
    typer.Option("-L", "--socket-name", help="tmux server socket name (as tmux -L)."),
]
SocketPath = Annotated[
    str | None,
    typer.Option("-S", "--socket-path", help="tmux server socket path (as tmux -S)."),
]
LayoutFile = Annotated[str, typer.Argument(help="Layout file: a tmuxp workspace (YAML or JSON).")]


def _done(code: int) -> None:
    if code:
        raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"tmuxorch {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """A tmux-native session manager and bridge for AI coding agents."""


@app.command()
def layout(
    file: LayoutFile,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    detach: Annotated[bool, typer.Option("-d", "--detach", help="Do not attach.")] = False,
    append: Annotated[
        bool, typer.Option("--append", help="Add the windows to the existing session.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the tmux commands; run nothing.")
    ] = False,
) -> None:
    """Build the session a layout file describes, then attach (unless -d or no terminal)."""
    _done(
        layout_cmd.layout(
            file,
            socket_name=socket_name,
            socket_path=socket_path,
            detach=detach,
            append=append,
            dry_run=dry_run,
        )
    )


@app.command()
def validate(file: LayoutFile) -> None:
    """Check a layout file; print its problems as file:line:col (exit 2 if any)."""
    _done(layout_cmd.validate(file))
