"""Reaching a pane on a host by hand: ``ssh -t HOST tmux …`` with the host's own ssh
settings, as ``tmuxorch attach`` runs it (or prints it, without a terminal)."""

from __future__ import annotations

import shlex

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.hosts import HostSpec


def attach_argv(host: HostSpec, session: str, pane: str) -> list[str]:
    """``ssh -t [OPTIONS] DEST 'tmux select-window -t PANE ; select-pane -t PANE ; attach
    -t =SESSION'``: the remote command is one quoted string (ssh hands it to a shell)."""
    steps = [
        ["select-window", "-t", pane],
        ["select-pane", "-t", pane],
        ["attach-session", "-t", f"={session}"],
    ]
    remote = "tmux " + " \\; ".join(shlex.join(step) for step in steps)
    return ["ssh", "-t", *host.ssh_options, "--", host.ssh, remote]
