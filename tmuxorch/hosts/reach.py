"""Reaching a pane on another host from outside its run (``tmuxorch send``, ``watch``,
``attach``, serve's replies): the host's settings from the run's file, and its tmux over
the host's ssh master — the run's own when it is up (same destination and options, same
control socket), else a new one."""

from __future__ import annotations

from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.hosts.ssh import Connection
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


def host_names(file: str) -> list[str]:
    """The hosts the run's ``file`` names (none if it cannot be read now)."""
    from tmuxorch.spec.workspace import load_workspace

    try:
        tasks = load_workspace(file).workspace.tasks
    except Exception:  # (the file changed meanwhile)
        return []
    return [h.name for h in tasks.hosts] if tasks else []


def stop_there(file: str, name: str, pids: list[int]) -> None:
    """Stop the process trees of panes (by their programs' ``pids``) on host ``name``.
    Raises TmuxError (with the ssh layer's words) when the host cannot be reached."""
    from tmuxorch.hosts.errors import SshError

    try:
        _connection(file, name).stop_groups(pids)
    except SshError as exc:
        raise TmuxError(f"host {name}: {exc}") from None


def _connection(file: str, name: str) -> Connection:
    from tmuxorch.hosts.ssh import Connection

    spec = host_of(file, name)
    if isinstance(spec, str):
        raise TmuxError(spec)
    return Connection(spec.ssh, spec.ssh_options)


def reach(file: str, pane: str) -> tuple[Client, str]:
    """The tmux server of ``pane`` (``%ID@HOST``) over ssh, and its id there. Raises
    TmuxError (with the ssh layer's words) when the host cannot be reached."""
    raw, _, name = pane.partition("@")
    return tmux_there(file, name), raw


_REACHED: dict[tuple[str, str], Client] = {}
"""Each host's tmux this process reached, by (run file, host): asked again (``status
--follow`` asks every second), it is the same link."""


def tmux_there(file: str, name: str) -> Client:
    """Host ``name``'s tmux (of the run's ``file``), over ssh. Raises TmuxError (with the
    ssh layer's words) when the host cannot be reached."""
    from tmuxorch.hosts.errors import SshError
    from tmuxorch.tmux.remote import RemoteClient

    known = _REACHED.get((file, name))
    if known is not None:
        return known
    connection = _connection(file, name)
    try:
        connection.connect()  # the run's master, when it is up: no new login
    except SshError as exc:
        raise TmuxError(f"host {name}: {exc}") from None
    client = _REACHED[(file, name)] = RemoteClient(connection.command, host=name)
    return client
