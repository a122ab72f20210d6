"""The typer commands of the bridge beyond the terminal: ``serve`` (and its kin)."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch.cli.app import SocketName, SocketPath, _done, _server, app


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option("--host", metavar="ADDRESS", help="Address to listen on [127.0.0.1]."),
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", metavar="PORT", help="Port (0: any free one) [8765].")
    ] = None,
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


@app.command()
def add(
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="A tasks file, a directory of them, or a layout with tasks."
        ),
    ],
    task_id: Annotated[
        str | None, typer.Option("--id", metavar="ID", help="The new task's id.")
    ] = None,
    agent: Annotated[
        str | None,
        typer.Option("--agent", metavar="NAME", help="Its agent: a profile of FILE, or a preset."),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option(
            "--prompt", metavar="TEXT", help="Its prompt: text, or a template (from FILE's folder)."
        ),
    ] = None,
    command: Annotated[
        str | None,
        typer.Option("--command", metavar="COMMAND", help="A shell command instead of an agent."),
    ] = None,
    depends_on: Annotated[
        list[str] | None,
        typer.Option("--depends-on", metavar="TASK", help="A task it needs first (repeatable)."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option(
            "--json", metavar="JSON", help="The task as a JSON mapping of task keys ('-': stdin)."
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds to wait for the live run's answer."
        ),
    ] = 30.0,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Add a task to a run of FILE, checked as a task of the file (the file is not changed).

    A live run takes it at once; with no supervisor running, FILE's latest run gets it and
    'tmuxorch run FILE' is started in the background to go on with it (with no run yet, one
    is started, on the server -L/-S name). Bad input: exit 2, and the run goes on.
    """
    from tmuxorch.cli import add as add_cmd

    _done(
        add_cmd.add(
            file,
            task_id=task_id,
            agent=agent,
            prompt=prompt,
            command=command,
            depends_on=list(depends_on or []),
            data=data,
            timeout=timeout,
            server_args=_server(socket_name, socket_path).server_args,
        )
    )


@app.command()
def mcp(
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """An MCP server on stdin/stdout: a lead agent lists runs and tasks, reads and types into
    tasks, stops, retries, adds tasks and starts runs (register: see the README)."""
    from tmuxorch.cli.mcp import mcp as mcp_cmd

    _done(mcp_cmd(socket_name=socket_name, socket_path=socket_path))
