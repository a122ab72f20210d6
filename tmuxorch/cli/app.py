"""The typer application: the full CLI with help; commands call typer-free functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tmuxorch import __version__
from tmuxorch.cli import completion
from tmuxorch.cli import layout as layout_cmd
from tmuxorch.cli import tasks as tasks_cmd
from tmuxorch.cli.usage import App

if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

app = App(
    name="tmuxorch",
    help="A tmux-native session manager and bridge for AI coding agents.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

SocketName = Annotated[
    str | None,
    typer.Option(
        "-L", "--socket-name", metavar="NAME", help="tmux server socket name (as tmux -L)."
    ),
]
SocketPath = Annotated[
    str | None,
    typer.Option(
        "-S", "--socket-path", metavar="PATH", help="tmux server socket path (as tmux -S)."
    ),
]
LayoutFiles = Annotated[
    list[str],
    typer.Argument(
        metavar="FILE",
        help="Layout files (tmuxp workspaces, YAML or JSON); a project folder (its"
        " .tmuxorch.yaml or .tmuxp.yaml/.yml/.json, or its task files); or a name looked up"
        " in ~/.config/tmuxorch/layouts, $TMUXP_CONFIGDIR, ~/.config/tmuxp and ~/.tmuxp.",
        show_default=False,
    ),
]
FixName = Annotated[
    bool,
    typer.Option(
        "--fix-name",
        help="A session_name with '.' or ':' (tmux allows neither) is built with '_' instead"
        " of refused.",
    ),
]


def _server(socket_name: str | None, socket_path: str | None) -> Client:
    """-L/-S as given (a run found in a store otherwise uses the server it ran on)."""
    client = layout_cmd.server(socket_name, socket_path)
    if client is None:
        raise typer.Exit(2)
    return client


def _done(code: int) -> None:
    if code:
        raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        print(f"tmuxorch {__version__}")
        raise typer.Exit()


def _show_completion(value: bool) -> None:
    if value:
        raise typer.Exit(completion.show())


def _install_completion(value: bool) -> None:
    if value:
        raise typer.Exit(completion.install_for())


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
    show_completion: Annotated[
        bool,
        typer.Option(
            "--show-completion",
            callback=_show_completion,
            is_eager=True,
            help="Print the completion script for your shell (or the one named after it).",
        ),
    ] = False,
    install_completion: Annotated[
        bool,
        typer.Option(
            "--install-completion",
            callback=_install_completion,
            is_eager=True,
            help="Install completion for your shell (or the one named after it: bash, zsh...).",
        ),
    ] = False,
) -> None:
    """A tmux-native session manager and bridge for AI coding agents."""


@app.command()
def layout(
    files: LayoutFiles,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    detach: Annotated[bool, typer.Option("-d", "--detach", help="Do not attach.")] = False,
    append: Annotated[
        bool, typer.Option("--append", help="Add the windows to the existing session.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the tmux commands; run nothing.")
    ] = False,
    fix_name: FixName = False,
) -> None:
    """Build the session each layout describes, then attach to the last (unless -d or no
    terminal). A session that exists already is left as it is and attached to."""
    _done(
        layout_cmd.layout(
            list(files),
            socket_name=socket_name,
            socket_path=socket_path,
            detach=detach,
            append=append,
            dry_run=dry_run,
            fix_name=fix_name,
        )
    )


@app.command()
def validate(files: LayoutFiles, fix_name: FixName = False) -> None:
    """Check layout files: what each holds, or its problems as file:line:col (exit 2 if any)."""
    _done(layout_cmd.validate(list(files), fix_name=fix_name))


TaskFile = Annotated[
    str,
    typer.Argument(
        metavar="FILE", help="A tasks file, a directory of them, or a layout with tasks."
    ),
]
RunFile = Annotated[
    str | None,
    typer.Option(
        "--file",
        "-f",
        metavar="FILE",
        help="The tasks/layout file (default: the latest run here or above).",
    ),
]


@app.command()
def run(
    file: TaskFile,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    keep: Annotated[
        bool, typer.Option("--keep", help="On Ctrl-C/SIGTERM/SIGHUP leave the agents running.")
    ] = False,
    new: Annotated[
        bool, typer.Option("--new", help="Start a new run instead of resuming.")
    ] = False,
    inside: Annotated[bool, typer.Option("--inside", hidden=True)] = False,
) -> None:
    """Run the tasks in the foreground (agents in tmux panes); exit 0 iff all succeeded."""
    _done(
        tasks_cmd.run(
            file,
            socket_name=socket_name,
            socket_path=socket_path,
            keep=keep,
            new=new,
            inside=inside,
        )
    )


@app.command()
def status(
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    follow: Annotated[bool, typer.Option("--follow", help="Keep the table live.")] = False,
) -> None:
    """Tasks of the latest run: state, pane, attempt, runtime, last line, exit code."""
    chosen = _server(socket_name, socket_path)
    _done(tasks_cmd.status(file, as_json=as_json, follow=follow, chosen=chosen))


@app.command()
def stop(
    tasks: Annotated[list[str] | None, typer.Argument(metavar="TASK", help="Task ids.")] = None,
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    everything: Annotated[bool, typer.Option("--all", help="Stop the whole run.")] = False,
) -> None:
    """Stop tasks (their whole process trees); what needs them is skipped."""
    from tmuxorch.cli import stopping

    chosen = _server(socket_name, socket_path)
    _done(stopping.stop(file, list(tasks or []), everything=everything, chosen=chosen))


@app.command()
def down(
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """End a run on purpose: stop its agents and close the session tmuxorch made for it."""
    from tmuxorch.cli import stopping

    _done(stopping.down(file, _server(socket_name, socket_path)))


@app.command()
def retry(
    tasks: Annotated[list[str], typer.Argument(metavar="TASK", help="Task ids.")],
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Run finished tasks again (and what was skipped because of them)."""
    _server(socket_name, socket_path)  # the store knows the rest; checked for a clear error
    _done(tasks_cmd.retry(file, list(tasks)))


@app.command()
def graph(file: TaskFile) -> None:
    """Print the task graph by levels."""
    _done(tasks_cmd.graph(file))


@app.command()
def agents(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table.")] = False,
) -> None:
    """List the agent presets: installed here or not, version, modes."""
    from tmuxorch.cli import agents as agents_cmd

    _done(agents_cmd.agents(as_json=as_json))


@app.command()
def attach(
    task: Annotated[str, typer.Argument(metavar="TASK", help="Task id.")],
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Attach to the pane of a task (select it, then attach or switch-client)."""
    _done(tasks_cmd.attach(file, task, _server(socket_name, socket_path)))


@app.command(context_settings={"allow_interspersed_args": False})  # after TARGET: text
def send(
    words: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="TARGET [TEXT...]",
            help="TARGET (a task, session:task, %pane; several with commas) then the TEXT"
            " ('-' reads stdin). With --all, every word is TEXT.",
        ),
    ] = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    keys: Annotated[
        list[str] | None,
        typer.Option(
            "--key", metavar="KEY", help="A key to press (C-c, Escape, Up...); repeatable."
        ),
    ] = None,
    no_enter: Annotated[bool, typer.Option("--no-enter", help="Do not press Enter.")] = False,
    when_idle: Annotated[
        bool,
        typer.Option(
            "--when-idle",
            help="Wait until the agent is ready for input (a plain command: until it shows"
            " a prompt or a question, or prints nothing for a second).",
        ),
    ] = False,
    everything: Annotated[
        bool, typer.Option("--all", help="Every task pane on the server.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", help="Seconds --when-idle may wait.")
    ] = 120.0,
    delay: Annotated[
        float | None,
        typer.Option("--delay", metavar="SECONDS", help="Seconds between the text and Enter."),
    ] = None,
) -> None:
    """Send text and keys into panes, byte for byte, with a separate Enter (exit 1 if not delivered)."""
    from tmuxorch.cli import send as send_cmd

    _done(
        send_cmd.send(
            list(words or []),
            keys=list(keys or []),
            enter=not no_enter,
            when_idle=when_idle,
            everything=everything,
            timeout=timeout,
            delay=delay,
            socket_name=socket_name,
            socket_path=socket_path,
        )
    )


@app.command()
def watch(
    targets: Annotated[
        list[str], typer.Argument(metavar="TARGET", help="Tasks, session:task or %pane ids.")
    ],
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    as_json: Annotated[bool, typer.Option("--json", help="Events as JSON lines.")] = False,
    frames: Annotated[bool, typer.Option("--frames", help="Mirror the screens.")] = False,
    from_start: Annotated[
        bool, typer.Option("--from-start", help="Replay the panes' history first.")
    ] = False,
) -> None:
    """Follow panes live: their output as it comes, their agents' state, their exit.

    A task is followed through its life: waited for, each retry shown in full, until done.
    """
    from tmuxorch.cli import watch as watch_cmd

    _done(
        watch_cmd.watch(
            list(targets),
            as_json=as_json,
            frames=frames,
            from_start=from_start,
            client=_server(socket_name, socket_path),
        )
    )


@app.command()
def logs(
    task: Annotated[str, typer.Argument(metavar="TASK", help="Task id.")],
    attempt: Annotated[
        int | None,
        typer.Option("--attempt", metavar="N", help="Attempt N (default: the latest)."),
    ] = None,
    run_id: Annotated[
        str | None,
        typer.Option("--run", metavar="ID", help="A run of the file (default: the latest)."),
    ] = None,
    file: RunFile = None,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
    follow: Annotated[bool, typer.Option("--follow", help="Keep printing while it runs.")] = False,
) -> None:
    """Print a task's transcript (its latest attempt of the latest run, unless told)."""
    from tmuxorch.cli import logs as logs_cmd

    _done(
        logs_cmd.logs(
            file,
            task,
            attempt=attempt,
            run_id=run_id,
            follow=follow,
            chosen=_server(socket_name, socket_path),
        )
    )


# commands in modules of their own (layout files; people; the bridge beyond the terminal;
# planning; other hosts)
from tmuxorch.cli import (  # noqa: E402, F401
    app_hosts,
    app_layouts,
    app_people,
    app_plan,
    app_serve,
)
