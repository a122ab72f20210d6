"""Durable run state: SQLite in ``.tmuxorch/state.db`` beside the task/layout file.

WAL journal, one transaction per change, so a reader (``tmuxorch status``) never sees half
a transition and a ``kill -9`` of the supervisor loses nothing that was committed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time

from tmuxorch import private
from tmuxorch.run.store_rows import ADDED, SCHEMA
from tmuxorch.run.store_rows import AttemptRow as AttemptRow
from tmuxorch.run.store_rows import RunRow as RunRow
from tmuxorch.run.store_rows import TaskRow as TaskRow

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping


GITIGNORE = b"# written by tmuxorch: nothing here belongs in git\n*\n"
"""A state folder's ``.gitignore`` (here, and on a host: ``DIR/.tmuxorch``)."""


def state_dir(file: str) -> str:
    """``.tmuxorch/`` beside a layout/tasks file (or beside a directory of task files)."""
    return os.path.join(os.path.dirname(os.path.abspath(file)), ".tmuxorch")


class Store:
    def __init__(self, directory: str) -> None:
        private.folder(directory)
        ignore = os.path.join(directory, ".gitignore")
        try:  # run state (and task worktrees) is not project code; never through a link
            fd = private.open_fd(ignore, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            pass
        else:
            os.write(fd, GITIGNORE)
            os.close(fd)
        self.directory = directory
        self.path = os.path.join(directory, "state.db")
        # made 0600 here, never through a link (SQLite gives its -wal and -shm files the
        # database's own permissions)
        os.close(private.open_fd(self.path, os.O_RDWR | os.O_CREAT))
        self.db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        self._wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA busy_timeout=10000")
        self.db.executescript(SCHEMA)
        self._add_columns()

    def _add_columns(self) -> None:
        """A ``state.db`` from before some columns were kept gets them (its rows keep
        their values; the new columns are empty)."""
        columns = {
            table: {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}
            for table in ("tasks", "attempts")
        }
        for table, column, kind in ADDED:
            if column not in columns[table]:
                try:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:  # another process added it meanwhile
                    if "duplicate column" not in str(exc):
                        raise

    def _wal(self) -> None:
        """WAL mode. Switching to it needs the database alone, and SQLite then answers
        "locked" at once rather than waiting (another process making the same new
        database, or reading it meanwhile): so ask until it is, or WAL already."""
        deadline = time.monotonic() + 10.0
        while True:
            try:
                if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def close(self) -> None:
        self.db.close()

    def transaction(self) -> _Transaction:
        return _Transaction(self.db)

    # -- runs ------------------------------------------------------------------------------
    def new_run(
        self, run_id: str, file: str, session: str, server: tuple[str, ...], tasks: Iterable[str]
    ) -> None:
        now = time.time()
        with self.transaction():
            self.db.execute(
                "INSERT INTO runs (id, file, session, server, state, started, supervisor_pid)"
                " VALUES (?, ?, ?, ?, 'running', ?, ?)",
                (run_id, os.path.abspath(file), session, json.dumps(server), now, os.getpid()),
            )
            self.db.executemany(
                "INSERT INTO tasks (run, id, state) VALUES (?, ?, 'pending')",
                [(run_id, task) for task in tasks],
            )
            self._event(run_id, None, "run-started", {"file": file, "session": session})

    def add_tasks(self, run_id: str, tasks: Iterable[str]) -> None:
        with self.transaction():
            self.db.executemany(
                "INSERT OR IGNORE INTO tasks (run, id, state) VALUES (?, ?, 'pending')",
                [(run_id, task) for task in tasks],
            )

    def allow_failures(self, run_id: str, tasks: Iterable[str]) -> None:
        """Tasks whose failure holds nothing back (``allow_failure: true``)."""
        with self.transaction():
            self.db.executemany(
                "UPDATE tasks SET allow_failure = 1 WHERE run = ? AND id = ?",
                [(run_id, task) for task in tasks],
            )

    def remove_tasks(self, run_id: str, tasks: Iterable[str], why: str) -> None:
        """Tasks that are no longer part of the run (removed from its file before they
        started, or follow-ups never created)."""
        with self.transaction():
            for task in tasks:
                self.db.execute("DELETE FROM tasks WHERE run = ? AND id = ?", (run_id, task))
                self._event(run_id, task, "removed", {"reason": why})

    def runs(self, file: str | None = None) -> list[RunRow]:
        """Runs, newest first (of ``file`` if given)."""
        query = "SELECT * FROM runs"
        args: tuple[str, ...] = ()
        if file is not None:
            query += " WHERE file = ?"
            args = (os.path.abspath(file),)
        rows = self.db.execute(query + " ORDER BY started DESC", args).fetchall()
        return [
            RunRow(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6], r[7], r[8])
            for r in rows
        ]

    def run(self, run_id: str) -> RunRow | None:
        return next((r for r in self.runs() if r.id == run_id), None)

    def adopt(self, run_id: str) -> None:
        """This process now supervises ``run_id``."""
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET supervisor_pid = ?, state = 'running', ended = NULL WHERE id = ?",
                (os.getpid(), run_id),
            )
            self._event(run_id, None, "supervisor-adopted", {"pid": os.getpid()})

    def end_run(self, run_id: str, state: str, reason: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET state = ?, ended = ?, reason = ?, supervisor_pid = NULL"
                " WHERE id = ?",
                (state, time.time(), reason, run_id),
            )
            self._event(run_id, None, "run-ended", {"state": state, "reason": reason})

    # -- tasks -----------------------------------------------------------------------------
    def tasks(self, run_id: str) -> dict[str, TaskRow]:
        """The run's tasks, in the order they joined it (the file's)."""
        rows = self.db.execute(
            "SELECT id, state, attempts, pane, exit_code, reason, started, ended, retry_at,"
            " activity, session, allow_failure, pull_request, failure, waits FROM tasks"
            " WHERE run = ? ORDER BY rowid",  # the file's order
            (run_id,),
        ).fetchall()
        return {r[0]: TaskRow(*r) for r in rows}

    def attempts(self, run_id: str, task: str | None = None) -> list[AttemptRow]:
        query = (
            "SELECT task, n, pane, pid, started, ended, exit_code, outcome, reason, failure"
            " FROM attempts WHERE run = ?"
        )
        args: tuple[str, ...] = (run_id,)
        if task is not None:
            query += " AND task = ?"
            args = (run_id, task)
        return [AttemptRow(*r) for r in self.db.execute(query + " ORDER BY started", args)]

    def update_task(self, run_id: str, task: str, kind: str, **fields: object) -> None:
        """Change a task's row and log the event, in one transaction."""
        with self.transaction():
            self._update_task(run_id, task, fields)
            self._event(run_id, task, kind, fields)

    def start_attempt(
        self,
        run_id: str,
        task: str,
        n: int,
        pane: str | None,
        pid: int | None,
        started: float,
        *,
        host: str | None = None,
    ) -> None:
        """An attempt begins (recorded before its pane is made: a pane without a record
        could run twice after a crash; a record without a pane is undone on resume). One
        being made on another host is recorded with the pane ``@HOST`` (its number there is
        not known yet), so that a resumed run looks for it there."""
        made = f"@{host}" if pane is None and host is not None else pane
        with self.transaction():
            self.db.execute(
                "INSERT OR REPLACE INTO attempts (run, task, n, pane, pid, started)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, task, n, made, pid, started),
            )
            fields = {"state": "running", "attempts": n, "pane": pane, "started": started}
            fields.update(ended=None, exit_code=None, reason=None, retry_at=None, failure=None)
            self._update_task(run_id, task, fields)
            self._event(run_id, task, "started", {"attempt": n, "pane": pane, "pid": pid})

    def attempt_opened(self, run_id: str, task: str, n: int, pane: str, pid: int) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE attempts SET pane = ?, pid = ? WHERE run = ? AND task = ? AND n = ?",
                (pane, pid, run_id, task, n),
            )
            self._update_task(run_id, task, {"pane": pane})
            self._event(run_id, task, "opened", {"attempt": n, "pane": pane, "pid": pid})

    def forget_attempt(self, run_id: str, task: str, n: int) -> None:
        """An attempt whose pane was never made: as if it had not begun."""
        with self.transaction():
            self.db.execute(
                "DELETE FROM attempts WHERE run = ? AND task = ? AND n = ?", (run_id, task, n)
            )
            fields = {"state": "pending", "attempts": n - 1, "pane": None, "started": None}
            self._update_task(run_id, task, fields)
            self._event(run_id, task, "never-started", {"attempt": n})

    def end_attempt(
        self,
        run_id: str,
        task: str,
        n: int,
        *,
        exit_code: int | None,
        outcome: str,
        reason: str | None,
        task_fields: dict[str, object],
        failure: str | None = None,
    ) -> None:
        """Close an attempt and move its task on (to succeeded/failed/retrying...);
        ``failure``: the class of its failure."""
        now = time.time()
        with self.transaction():
            self.db.execute(
                "UPDATE attempts SET ended = ?, exit_code = ?, outcome = ?, reason = ?,"
                " failure = ? WHERE run = ? AND task = ? AND n = ?",
                (now, exit_code, outcome, reason, failure, run_id, task, n),
            )
            self._update_task(run_id, task, task_fields)
            data = {"attempt": n, "exit_code": exit_code, "outcome": outcome, "reason": reason}
            if failure is not None:
                data["failure"] = failure
            self._event(run_id, task, outcome, data)

    def events(
        self, run_id: str, after: int = 0
    ) -> Iterator[tuple[int, float, str | None, str, dict[str, object]]]:
        for seq, t, task, kind, data in self.db.execute(
            "SELECT seq, t, task, kind, data FROM events WHERE run = ? AND seq > ? ORDER BY seq",
            (run_id, after),
        ):
            yield seq, t, task, kind, json.loads(data) if data else {}

    def event(self, run_id: str, task: str | None, kind: str, data: Mapping[str, object]) -> None:
        with self.transaction():
            self._event(run_id, task, kind, data)

    def _update_task(self, run_id: str, task: str, fields: dict[str, object]) -> None:
        if not fields:
            return
        columns = ", ".join(f"{name} = ?" for name in fields)
        self.db.execute(
            f"UPDATE tasks SET {columns} WHERE run = ? AND id = ?",
            (*fields.values(), run_id, task),
        )

    def _event(self, run_id: str, task: str | None, kind: str, data: Mapping[str, object]) -> None:
        self.db.execute(
            "INSERT INTO events (run, t, task, kind, data) VALUES (?, ?, ?, ?, ?)",
            (run_id, time.time(), task, kind, json.dumps(data, default=str)),
        )


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind: object, value: object, traceback: object) -> None:
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
