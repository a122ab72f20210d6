"""Shell completion: ``--show-completion [SHELL]`` and ``--install-completion [SHELL]``.

The scripts, where they are installed and the completing itself are typer's (the shell
runs ``tmuxorch`` with ``_TMUXORCH_COMPLETE`` set and no arguments, which the fast path
leaves to typer). What is added: a shell may be named (``--install-completion bash``;
typer's options take no value, and then install for the shell shellingham detects, which
fails with none or ``sh``), and without a name ``$SHELL`` is used when detection fails.
``tmuxorch.cli.fast`` reads the named form (typer cannot have an option whose value is
optional); typer reads the bare one.
"""

from __future__ import annotations

import os
import sys

from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script, install

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, fail

PROG = "tmuxorch"
VAR = "_TMUXORCH_COMPLETE"
SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def detected() -> str | None:
    """The user's shell: shellingham's guess (from the parent processes), else ``$SHELL``."""
    try:
        import shellingham  # type: ignore[import-untyped]  # typer's dependency

        name: str = shellingham.detect_shell()[0]
    except Exception:  # no shell among the parents (or shellingham missing)
        name = os.path.basename(os.environ.get("SHELL", ""))
    return name.lower() or None


def _chosen(name: str) -> str | int:
    shell = name or detected()
    if shell in SHELLS:
        return shell
    said = f"{shell!r} is not one" if shell else "cannot tell which shell this is"
    return fail(
        f"completion is for {', '.join(SHELLS)}: {said}; name it: --show-completion bash",
        EXIT_BAD_INPUT,
    )


def show(name: str = "") -> int:
    """Print the completion script for shell ``name`` (default: the user's)."""
    shell = _chosen(name)
    if isinstance(shell, int):
        return shell
    print(get_completion_script(prog_name=PROG, complete_var=VAR, shell=shell))
    return EXIT_OK


def install_for(name: str = "") -> int:
    """Install completion where shell ``name`` (default: the user's) loads it from."""
    shell = _chosen(name)
    if isinstance(shell, int):
        return shell
    shell, path = install(shell=shell, prog_name=PROG, complete_var=VAR)
    print(f"{shell} completion installed in {path}: it works in new shells", file=sys.stderr)
    return EXIT_OK


completion_init()  # typer's completion classes answer the shell's requests
