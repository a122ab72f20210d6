"""The typer commands ``hosts``, ``hosts check`` and ``hosts install`` (registered on
:data:`tmuxorch.cli.app.app` when that module is imported)."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch.cli.app import _done, app
from tmuxorch.cli.usage import App

hosts_app = App(
    name="hosts",
    help="Other machines tasks may run on, over ssh: list them, check one, install tmuxorch.",
    no_args_is_help=False,
    invoke_without_command=True,
)
app.add_typer(hosts_app)

HostsFile = Annotated[
    str | None,
    typer.Option(
        "--file", "-f", metavar="TASKS", help="Also the hosts of this tasks file (or folder)."
    ),
]
HostName = Annotated[str, typer.Argument(metavar="NAME", help="A host's name under hosts:.")]


@hosts_app.callback()
def hosts(ctx: typer.Context, file: HostsFile = None) -> None:
    """List the hosts of your user config (and of a tasks file)."""
    if ctx.invoked_subcommand is None:
        from tmuxorch.cli.hosts import list_hosts

        _done(list_hosts(file))


@hosts_app.command()
def check(name: HostName, file: HostsFile = None) -> None:
    """Connect to NAME and say what runs there (ssh, Python, tmuxorch, tmux, its dir).

    Exit 1, saying what to do, when something lacks."""
    from tmuxorch.cli.hosts import check as check_host

    _done(check_host(name, file))


@hosts_app.command()
def install(
    name: HostName,
    file: HostsFile = None,
    venv: Annotated[
        str,
        typer.Option("--venv", metavar="DIR", help="The venv there (~ is its home)."),
    ] = "~/.local/share/tmuxorch/venv",
    python: Annotated[
        str,
        typer.Option("--python", metavar="PY", help="The Python there that makes the venv."),
    ] = "python3",
    deps: Annotated[
        bool,
        typer.Option(
            "--deps/--no-deps",
            help="Install tmuxorch's dependencies from that host's pip index (the worker"
            " that runs tasks there needs none of them).",
        ),
    ] = True,
) -> None:
    """Install this tmuxorch into a venv on NAME; print the python: setting to give it.

    The running tmuxorch is sent over ssh as a wheel: no PyPI is needed for it."""
    from tmuxorch.cli.hosts import install as install_on

    _done(install_on(name, file, venv=venv, python=python, deps=deps))
