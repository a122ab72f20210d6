"""Holding a pane open for its viewers: a pane tmux would close the moment its program
exits (``remain-on-exit`` off) is kept, dead, until every viewer that holds it has read
its end, then closed as tmux would have closed it.

A program that prints and exits at once is otherwise gone before a viewer reads its last
lines. Each viewer marks the pane with ``@tmuxorch-hold-PID``; the first one to hold it
turns ``remain-on-exit`` on and says so (``@tmuxorch-held``). Releasing is one tmux
invocation (unmark, then list the pane's options), and tmux runs invocations one after
the other, so exactly one viewer — the last — finds no other holder left and closes the
pane (or, if its program still runs, gives it back its old ``remain-on-exit``). A holder
whose process is gone does not count.
"""

from __future__ import annotations

import os

from tmuxorch.tmux.client import Client, TmuxError

_HOLD = "@tmuxorch-hold-"
_HELD = "@tmuxorch-held"


def hold(client: Client, pane: str) -> bool:
    """Keep ``pane`` once its program exits, until :func:`release`; False when tmux keeps
    it anyway (``remain-on-exit`` on: a run's pane) or it is gone."""
    try:
        (kept,) = client.cmd("display-message", "-p", "-t", pane, "#{remain-on-exit}")
    except (TmuxError, ValueError):
        return False
    if kept in ("on", "failed"):
        held = client.cmd("show-options", "-p", "-q", "-v", "-t", pane, _HELD)
        if held != ["1"]:
            return False  # kept by its own settings, not by viewers
    try:
        client.run(
            [
                ("set-option", "-p", "-t", pane, "remain-on-exit", "on"),
                ("set-option", "-p", "-t", pane, _HELD, "1"),
                ("set-option", "-p", "-t", pane, f"{_HOLD}{os.getpid()}", "1"),
            ]
        )
    except TmuxError:
        return False
    return True


def release(client: Client, pane: str) -> None:
    """This viewer is done with ``pane``: the last holder closes it if its program has
    ended, or else lets tmux close it when it does."""
    try:
        options = client.run(
            [
                ("set-option", "-p", "-u", "-t", pane, f"{_HOLD}{os.getpid()}"),
                ("show-options", "-p", "-t", pane),
                ("display-message", "-p", "-t", pane, "#{pane_dead}"),
            ]
        )
    except TmuxError:
        return  # gone already
    others = [line.split()[0][len(_HOLD) :] for line in options[1] if line.startswith(_HOLD)]
    if any(_alive(pid) for pid in others):
        return
    dead = options[2] == ["1"]
    try:
        if dead:
            client.cmd("kill-pane", "-t", pane)
        else:
            commands = [("set-option", "-p", "-u", "-t", pane, _HELD)]
            commands += [("set-option", "-p", "-u", "-t", pane, f"{_HOLD}{p}") for p in others]
            commands.append(("set-option", "-p", "-u", "-t", pane, "remain-on-exit"))
            client.run(commands)
    except TmuxError:
        pass  # it went meanwhile


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
