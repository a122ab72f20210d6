"""The runs ``serve`` knows: every tmuxorch session on the tmux servers it watches (each
names its task file with ``@tmuxorch-file``), and every file it has seen so (kept in a
private file), so a run stays listed when its session is gone and after ``serve``
restarts. A run's facts come from its own store, as ``tmuxorch status --json`` reads them.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass

from tmuxorch import private
from tmuxorch.run.store import RunRow, Store, state_dir
from tmuxorch.tmux.client import Client, TmuxError
from tmuxorch.tmux.panes import run_sessions


def state_home() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "state"
    )
    return os.path.join(base, "tmuxorch")


@dataclass(frozen=True)
class RunRef:
    row: RunRow
    directory: str
    """Its state folder (``.tmuxorch``)."""

    @property
    def id(self) -> str:
        return self.row.id


class Runs:
    def __init__(self, clients: list[Client], known_file: str | None = None) -> None:
        self.clients = clients
        self.known_file = known_file or os.path.join(state_home(), "serve", "known-files.json")
        self._lock = threading.Lock()
        self._files: list[str] = self._load()

    def _load(self) -> list[str]:
        try:
            fd = private.open_fd(self.known_file, os.O_RDONLY)
        except (FileNotFoundError, private.Unsafe):
            return []
        try:
            with os.fdopen(fd, encoding="utf-8") as handle:
                files = json.load(handle)
        except ValueError:
            return []
        return [f for f in files if isinstance(f, str)] if isinstance(files, list) else []

    def scan(self) -> list[str]:
        """Look at the servers again; the files of their runs (newest activity first)."""
        found: list[str] = []
        for client in self.clients:
            try:
                found += [file for _, file in run_sessions(client)]
            except TmuxError:
                continue
        self.remember(found)
        return found

    def remember(self, files: list[str]) -> None:
        """Know these files' runs from now on (first in the list), even once their
        sessions are gone."""
        with self._lock:
            new = [f for f in dict.fromkeys(files) if f not in self._files]
            if new:  # with those another process (serve, mcp) wrote meanwhile
                self._files = list(dict.fromkeys(new + self._files + self._load()))
                private.folder(os.path.dirname(self.known_file))
                temporary = f"{self.known_file}.{os.getpid()}.tmp"  # serve and mcp share it
                private.write(temporary, json.dumps(self._files))
                os.replace(temporary, self.known_file)

    def files(self) -> list[str]:
        with self._lock:
            return list(self._files)

    def directories(self) -> list[str]:
        """The state folders of the known runs (each has its ``events.jsonl``)."""
        return list(dict.fromkeys(state_dir(f) for f in self.files()))

    def all(self) -> list[RunRef]:
        """Every run of every known file, newest first."""
        refs: list[RunRef] = []
        for directory in self.directories():
            if not os.path.exists(os.path.join(directory, "state.db")):
                continue
            store = Store(directory)
            try:
                refs += [RunRef(row, directory) for row in store.runs()]
            finally:
                store.close()
        refs.sort(key=lambda r: r.row.started, reverse=True)
        return list({r.id: r for r in refs}.values())

    def find(self, run_id: str) -> RunRef | None:
        return next((r for r in self.all() if r.id == run_id), None)


def summary(ref: RunRef) -> dict[str, object]:
    """A run in a list: what it is and how far it got."""
    row = ref.row
    store = Store(ref.directory)
    try:
        tasks = store.tasks(row.id)
    finally:
        store.close()
    counts: dict[str, int] = {}
    for task in tasks.values():
        counts[task.state] = counts.get(task.state, 0) + 1
    return {
        "run": row.id,
        "file": row.file,
        "session": row.session,
        "state": row.state,
        "started": row.started,
        "ended": row.ended,
        "tasks": len(tasks),
        "states": counts,
    }


def report(ref: RunRef, chosen: Client | None = None) -> dict[str, object]:
    """The run as ``tmuxorch status --json`` prints it."""
    from tmuxorch.cli.tasks import as_json_report

    store = Store(ref.directory)
    try:
        return as_json_report(store, ref.row, chosen)
    finally:
        store.close()
