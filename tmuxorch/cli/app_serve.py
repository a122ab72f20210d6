"""The typer commands of the bridge beyond the terminal: ``serve`` (and its kin)."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch.cli.app import _done, app


@app.command()
def serve(
    host: Annotated[
        str, typer.Option("--host", metavar="ADDRESS", help="Address to listen on.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port (0: any free one).")
    ] = 8765,
    socket_names: Annotated[
        list[str] | None,
        typer.Option("-L", "--socket-name", metavar="NAME", help="tmux server(s) to look at."),
    ] = None,
    socket_paths: Annotated[
        list[str] | None,
        typer.Option("-S", "--socket-path", metavar="PATH", help="tmux server(s) by socket path."),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a --host other machines can reach.")
    ] = False,
    token_file: Annotated[
        str | None, typer.Option("--token-file", metavar="FILE", help="Where the token is kept.")
    ] = None,
) -> None:
    """Serve the runs over HTTP: API, live events, a web page mirroring every agent."""
    from tmuxorch.cli.serve import serve as serve_cmd

    _done(
        serve_cmd(
            host=host,
            port=port,
            socket_names=list(socket_names or []),
            socket_paths=list(socket_paths or []),
            allow_remote=allow_remote,
            token_file=token_file,
        )
    )


@app.command()
def jobs(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The scheduled jobs of the user config: cron, next time, last run, missed policy."""
    from tmuxorch.cli import jobs as jobs_cmd

    _done(jobs_cmd.jobs(as_json=as_json))
