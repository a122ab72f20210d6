"""Commands that reach a task on another host, with the host's settings from the run's
file: ``tmuxorch attach`` (``ssh -t HOST tmux attach …`` in place of this process; without
a terminal, printed for the person to run) and ``tmuxorch send`` (over the host's ssh
master: the run's own when it is up)."""

from __future__ import annotations

import os
import shlex
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.hosts import HostSpec
    from tmuxorch.tmux.client import Client


def host_of(file: str, name: str) -> HostSpec | str:
    """The settings of host ``name`` in the run's ``file``, or why there are none."""
    from tmuxorch.spec.workspace import load_workspace

    try:
        tasks = load_workspace(file).workspace.tasks
    except Exception as exc:  # (the file changed meanwhile: its own words)
        return f"cannot read {file}: {exc}"
    spec = next((h for h in (tasks.hosts if tasks else ()) if h.name == name), None)
    return spec if spec is not None else f"host {name} is no longer in {file}'s hosts:"


def reach(file: str, pane: str) -> tuple[Client, str]:
    """The tmux server of ``pane`` (``%ID@HOST``) over ssh, and its id there. Raises
    TmuxError (with the ssh layer's words) when the host cannot be reached."""
    from tmuxorch.hosts.errors import SshError
    from tmuxorch.hosts.ssh import Connection
    from tmuxorch.tmux.remote import RemoteClient

    raw, _, name = pane.partition("@")
    spec = host_of(file, name)
    if isinstance(spec, str):
        raise TmuxError(spec)
    connection = Connection(spec.ssh, spec.ssh_options)
    try:
        connection.connect()  # the run's master, when it is up: no new login
    except SshError as exc:
        raise TmuxError(f"host {name}: {exc}") from None
    return RemoteClient(connection.command, host=name), raw


def attach_there(file: str, session: str, pane: str) -> int:
    from tmuxorch.hosts.attach import attach_argv

    raw, _, name = pane.partition("@")
    spec = host_of(file, name)
    if isinstance(spec, str):
        return fail(spec, EXIT_BAD_INPUT)
    argv = attach_argv(spec, session, raw)
    command = shlex.join(argv)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail(f"no terminal here to attach in; from a terminal run: {command}", EXIT_FAILED)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        return fail(f"cannot run ssh: {exc}", EXIT_FAILED)
    return EXIT_FAILED  # (not reached: exec replaced this process)
