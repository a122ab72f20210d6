"""Put the user's terminal on a session: ``attach-session``, or ``switch-client`` from
inside tmux."""

from __future__ import annotations

import os
import shlex
import sys

from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from tmuxorch.tmux.client import Client


def attach(client: Client, session: str, *, pane: str | None = None) -> None:
    """Show ``session`` (at ``pane`` if given). Replaces this process when attaching.

    Inside tmux on the same server, switch the current client instead of nesting; inside
    tmux on another server, nesting would need ``$TMUX`` unset, and outside tmux without a
    terminal there is nothing to attach: say how instead.
    """
    target = pane or f"={session}"
    command = shlex.join(("tmux", *client.server_args, "attach", "-t", target))
    inside = os.environ.get("TMUX", "")
    if not inside and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise TmuxError(f"no terminal here to attach in; from a terminal run: {command}")
    if pane:
        client.run([("select-window", "-t", pane), ("select-pane", "-t", pane)])
    if inside:
        ours = client.cmd("display-message", "-p", "#{socket_path}")
        if ours and inside.split(",", 1)[0] == ours[0]:
            client.cmd("switch-client", "-t", target)
            return
        raise TmuxError(f"already inside another tmux server; from a plain terminal run: {command}")
    argv = [client.argv[0], *client.server_args, "attach-session", "-t", target]
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        raise TmuxError(f"cannot run tmux attach: {exc}") from None


def attach_over_ssh(ssh: Sequence[str], session: str, pane: str) -> list[str]:
    """``ssh -t [OPTIONS] -- DEST 'tmux select-window -t PANE \\; select-pane -t PANE \\;
    attach-session -t =SESSION'`` (``ssh``: the ssh options, then the destination): a
    person's terminal on a pane of another host's default tmux server. The remote command
    is one quoted string (ssh hands it to a shell)."""
    steps = [
        ["select-window", "-t", pane],
        ["select-pane", "-t", pane],
        ["attach-session", "-t", f"={session}"],
    ]
    remote = "tmux " + " \\; ".join(shlex.join(step) for step in steps)
    *options, destination = ssh
    return ["ssh", "-t", *options, "--", destination, remote]
