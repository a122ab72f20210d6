"""Finding the run a command means, and the server it ran on. Without ``--file``: the run
of a live tmuxorch session whose file is here (below or above where you are), else of the
nearest ``.tmuxorch`` here or above, else of the tmuxorch session last active on the tmux
server. A live run near you wins over an old state folder higher up."""

from __future__ import annotations

import os

from tmuxorch.run.store import RunRow, Store, state_dir
from tmuxorch.tmux.client import Client, TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.whereabouts import Whereabouts


def find_run(file: str | None, chosen: Client | None = None) -> tuple[Store, RunRow] | str:
    """The latest run of ``file``; without one, see the module's text."""
    if file is None:
        sessions = _files_of_sessions(chosen or Client())
        file = _nearby(sessions) or _file_here() or (sessions[0] if sessions else None)
        if file is None:
            return "no tmuxorch run here, above, or on this tmux server (give --file FILE)"
        if os.path.isdir(file) and os.path.exists(os.path.join(file, "state.db")):
            store = Store(file)  # a .tmuxorch found here: its latest run, whatever its file
            runs = store.runs()
            if runs:
                return store, runs[0]
            store.close()
            return "no runs yet"
    if not os.path.exists(os.path.join(state_dir(file), "state.db")):
        return f"no runs of {file} yet"
    store = Store(state_dir(file))
    runs = store.runs(file)
    if not runs:
        store.close()
        return f"no runs of {file} yet"
    return store, runs[0]


def _file_here() -> str | None:
    here = os.getcwd()
    while True:
        if os.path.exists(os.path.join(here, ".tmuxorch", "state.db")):
            return os.path.join(here, ".tmuxorch")
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _files_of_sessions(client: Client) -> list[str]:
    """The files of the tmuxorch sessions on the server (``@tmuxorch-file``), the most
    recently active first."""
    from tmuxorch.tmux.panes import run_sessions

    try:
        return [file for _, file in run_sessions(client)]
    except TmuxError:
        return []


def _nearby(files: list[str]) -> str | None:
    """The first of ``files`` in or above the working directory, or in a folder below it."""
    here = os.path.realpath(os.getcwd())
    for file in files:
        folder = os.path.realpath(os.path.dirname(file))
        if os.path.commonpath([here, folder]) in (here, folder):
            return file
    return None


def client_of(run: RunRow, chosen: Client | None = None) -> Client:
    """The tmux server of a run: the one given with -L/-S, else the one it ran on."""
    if chosen is not None and chosen.server_args:
        return chosen
    args = list(run.server)
    name = args[args.index("-L") + 1] if "-L" in args else None
    path = args[args.index("-S") + 1] if "-S" in args else None
    return Client(name, path)


def run_here(client: Client) -> RunRow | None:
    """The run ``status`` shows here without -L/-S or --file (see the module's text)."""
    found = find_run(None, client)
    if isinstance(found, str):
        return None
    store, run_row = found
    store.close()
    return run_row


def other_server(run: RunRow, client: Client) -> Client | None:
    """The server ``run`` ran on, if it is not ``client``'s."""
    other = client_of(run)
    return None if other.server_args == client.server_args else other


def task_in(run: RunRow, target: str) -> Whereabouts | None:
    """Where the task ``target`` names is in ``run``, from its store (its server may be
    gone: the run is over); None if it has no such task."""
    from tmuxorch.bridge.send import split_target
    from tmuxorch.run.whereabouts import in_run

    session, task = split_target(target)
    return None if session not in ("", run.session) else in_run(run.session, run.file, task)


def screens(run: RunRow, panes: list[str], chosen: Client | None = None) -> dict[str, str]:
    """The screen of each pane of the run (here, or ``%ID@HOST`` on one of its hosts) that
    can be reached now."""
    from tmuxorch.tmux.panes import capture

    servers: dict[str, dict[str, str]] = {}  # host ("": here) → its pane id → pane
    for pane in panes:
        raw, _, host = pane.partition("@")
        servers.setdefault(host, {})[raw] = pane
    found: dict[str, str] = {}
    for host, named in servers.items():
        try:
            if host:
                from tmuxorch.hosts.reach import tmux_there

                client = tmux_there(run.file, host)
            else:
                client = client_of(run, chosen)
            for raw, screen in capture(client, list(named)).items():
                found[named[raw]] = screen
        except TmuxError:
            pass  # (its host out of reach: nothing to show of it)
    return found
