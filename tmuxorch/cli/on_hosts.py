"""Commands that reach a task on another host, with the host's settings from the run's
file: ``tmuxorch attach`` (``ssh -t HOST tmux attach …`` in place of this process; without
a terminal, printed for the person to run) and ``tmuxorch send`` (over the host's ssh
master: the run's own when it is up)."""

from __future__ import annotations

import os
import shlex
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from tmuxorch.hosts.reach import host_of, reach

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.whereabouts import Whereabouts
    from tmuxorch.tmux.client import Client

__all__ = ["attach_there", "pane_there", "reach"]


def pane_there(
    client: Client, target: str, *, guess: bool
) -> tuple[Client, str, Whereabouts] | None:
    """A task on one of its run's hosts (``target``: its name, or its pane ``%ID@HOST``):
    that host's tmux, its pane's id there, and where it is. With ``guess`` (no -L/-S
    given), a pane not known to a run on ``client``'s server is looked for in the run
    here (the one ``status`` shows), whose server may be another."""
    from tmuxorch.run.whereabouts import task_on_host

    found = task_on_host(client, target)
    if found is None and guess and target.startswith("%") and "@" in target:
        from tmuxorch.cli.runs import other_server, run_here

        run = run_here(client)
        other = None if run is None else other_server(run, client)
        if other is not None:
            found = task_on_host(other, target)
    return found


def attach_there(file: str, session: str, pane: str) -> int:
    from tmuxorch.tmux.attach import attach_over_ssh

    raw, _, name = pane.partition("@")
    spec = host_of(file, name)
    if isinstance(spec, str):
        return fail(spec, EXIT_BAD_INPUT)
    argv = attach_over_ssh([*spec.ssh_options, spec.ssh], session, raw)
    command = shlex.join(argv)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail(f"no terminal here to attach in; from a terminal run: {command}", EXIT_FAILED)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        return fail(f"cannot run ssh: {exc}", EXIT_FAILED)
    return EXIT_FAILED  # (not reached: exec replaced this process)
