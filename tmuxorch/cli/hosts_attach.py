"""``tmuxorch attach TASK`` for a task on another host: ``ssh -t HOST tmux attach …`` with
the host's settings from the run's file, run in place of this process (without a terminal,
printed for the person to run)."""

from __future__ import annotations

import os
import shlex
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail


def attach_there(file: str, session: str, pane: str) -> int:
    from tmuxorch.cli.layout import load
    from tmuxorch.hosts.attach import attach_argv

    raw, _, name = pane.partition("@")
    loaded = load(file)
    if isinstance(loaded, int):
        return loaded
    tasks = loaded.workspace.tasks
    spec = next((h for h in (tasks.hosts if tasks else ()) if h.name == name), None)
    if spec is None:
        return fail(f"host {name} is no longer in {file}'s hosts:", EXIT_BAD_INPUT)
    argv = attach_argv(spec, session, raw)
    command = shlex.join(argv)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return fail(f"no terminal here to attach in; from a terminal run: {command}", EXIT_FAILED)
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        return fail(f"cannot run ssh: {exc}", EXIT_FAILED)
    return EXIT_FAILED  # (not reached: exec replaced this process)
