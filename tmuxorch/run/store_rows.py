"""The shape of ``state.db`` (its tables, and the columns added since the first files) and
the rows read from it (see :mod:`tmuxorch.run.store`)."""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    file TEXT NOT NULL,
    session TEXT NOT NULL,
    server TEXT NOT NULL,
    state TEXT NOT NULL,
    started REAL NOT NULL,
    ended REAL,
    supervisor_pid INTEGER,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS tasks (
    run TEXT NOT NULL,
    id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    pane TEXT,
    exit_code INTEGER,
    reason TEXT,
    started REAL,
    ended REAL,
    retry_at REAL,
    activity TEXT,
    session TEXT,
    allow_failure INTEGER,
    pull_request TEXT,
    failure TEXT,
    waits INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run, id)
);
CREATE TABLE IF NOT EXISTS attempts (
    run TEXT NOT NULL,
    task TEXT NOT NULL,
    n INTEGER NOT NULL,
    pane TEXT,
    pid INTEGER,
    started REAL NOT NULL,
    ended REAL,
    exit_code INTEGER,
    outcome TEXT,
    reason TEXT,
    failure TEXT,
    PRIMARY KEY (run, task, n)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run TEXT NOT NULL,
    t REAL NOT NULL,
    task TEXT,
    kind TEXT NOT NULL,
    data TEXT
);
"""


ADDED = (
    ("tasks", "activity", "TEXT"),
    ("tasks", "session", "TEXT"),
    ("tasks", "allow_failure", "INTEGER"),
    ("tasks", "pull_request", "TEXT"),
    ("tasks", "failure", "TEXT"),
    ("tasks", "waits", "INTEGER NOT NULL DEFAULT 0"),
    ("attempts", "failure", "TEXT"),
)
"""Columns newer than the first ``state.db`` files: added to one that lacks them."""


@dataclass(frozen=True)
class RunRow:
    id: str
    file: str
    session: str
    server: tuple[str, ...]
    state: str
    started: float
    ended: float | None
    supervisor_pid: int | None
    reason: str | None

    @property
    def resume(self) -> str:
        """The command that resumes it: on its tmux server (``-L``/``-S``), where its agents
        are (resumed on another, it would find none of them)."""
        import shlex

        return shlex.join(["tmuxorch", "run", *self.server, self.file])


@dataclass(frozen=True)
class TaskRow:
    id: str
    state: str
    attempts: int
    pane: str | None
    exit_code: int | None
    reason: str | None
    started: float | None
    ended: float | None
    retry_at: float | None
    activity: str | None = None
    """What its agent is doing while it runs (busy, waiting_input, idle...)."""
    session: str | None = None
    """Its agent's conversation id (a retry resumes it)."""
    allow_failure: bool | None = None
    """Its failure holds nothing back (``allow_failure: true``)."""
    pull_request: str | None = None
    """The address of the pull request ``merge: pr`` opened for its branch."""
    failure: str | None = None
    """The class of its latest failure (rate_limited, auth...: see
    :mod:`tmuxorch.agents.failures`)."""
    waits: int = 0
    """Its attempts that ended at a rate or usage limit (they do not count as retries)."""


@dataclass(frozen=True)
class AttemptRow:
    task: str
    n: int
    pane: str | None
    pid: int | None
    started: float
    ended: float | None
    exit_code: int | None
    outcome: str | None
    reason: str | None
    failure: str | None = None
