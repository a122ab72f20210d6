"""What a failure's class means for its task (pure): limits wait (until a stated reset, or
with backoff) without using up ``retries``; auth and missing programs never retry; the rest
use ``retries``. And the store keeps the class (an old ``state.db`` gets its columns)."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

from tmuxorch.agents import failures
from tmuxorch.graph import build_graph
from tmuxorch.run.retry_policy import Decision, RetryPolicy, decide
from tmuxorch.run.scheduler import FAILED, RETRYING, SUCCEEDED, Scheduler
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

POLICY = RetryPolicy(rate_limit_wait=30, usage_limit_wait=600, longest_wait=3600, reset_margin=30)


def decided(
    failure: str, *, attempts: int = 1, waits: int = 0, retries: int = 0, **kw: object
) -> Decision:
    fields: dict[str, object] = {"retry_delay": 1.0, "resets_at": None, "now": 1000.0}
    fields.update(kw)
    return decide(
        failure,
        attempts=attempts,
        waits=waits,
        retries=retries,
        rng=random.Random(1),
        policy=POLICY,
        **fields,  # type: ignore[arg-type]
    )


def test_limits_wait_and_do_not_use_up_retries() -> None:
    at_reset = decided(failures.USAGE_LIMIT, resets_at=5000.0)
    assert at_reset.wait and 5000 + 30 <= (at_reset.retry_at or 0) <= 5000 + 45
    passed = decided(failures.USAGE_LIMIT, resets_at=500.0)  # already past: soon
    assert passed.retry_at is not None and 1030 <= passed.retry_at <= 1045
    waits = [decided(failures.RATE_LIMITED, waits=n).retry_at for n in range(8)]
    assert all(w is not None for w in waits)
    assert 1000 + 30 * 0.75 <= (waits[0] or 0) <= 1000 + 30 * 1.25  # backoff with jitter
    assert 1000 + 60 * 0.75 <= (waits[1] or 0) <= 1000 + 60 * 1.25
    assert max(w or 0 for w in waits) <= 1000 + 3600 * 1.25  # bounded
    usage = decided(failures.USAGE_LIMIT).retry_at or 0
    assert 1000 + 600 * 0.75 <= usage <= 1000 + 600 * 1.25
    too_many = decided(failures.RATE_LIMITED, waits=POLICY.max_waits)
    assert too_many.retry_at is None and too_many.why_not == "still limited after 12 waits"


def test_auth_and_missing_programs_never_retry_the_rest_use_retries() -> None:
    assert decided(failures.AUTH, retries=5).retry_at is None
    assert decided(failures.NOT_INSTALLED, retries=5).retry_at is None
    for kind in (failures.NETWORK, failures.CRASHED, failures.TIMED_OUT, failures.TASK_FAILED):
        assert decided(kind, retries=0).retry_at is None
        again = decided(kind, retries=1).retry_at
        assert again is not None and 1000.5 <= again <= 1001.5
    # attempts that ended at a limit are not retries: the 3rd attempt is the 1st retry
    assert decided(failures.NETWORK, attempts=3, waits=2, retries=1).retry_at is not None
    assert decided(failures.NETWORK, attempts=3, waits=1, retries=1).retry_at is None


def test_the_scheduler_waits_for_a_reset_and_counts_only_real_retries(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("tasks:\n  - {id: t, command: x, retries: 1, retry_delay: 1}\n")
    taskset = load_workspace(str(path)).workspace.tasks
    assert taskset is not None
    s = Scheduler(taskset, build_graph(taskset), rng=random.Random(2), policy=POLICY)
    for limit in (failures.USAGE_LIMIT, failures.RATE_LIMITED, failures.USAGE_LIMIT):
        s.start("t")
        out = s.finish(
            "t", 100.0, ok=False, exit_code=1, reason="limit", failure=limit, resets_at=9000.0
        )
        assert out.state == RETRYING and out.retry_at is not None and out.retry_at >= 9030
        assert s.startable(9000.0) == [] and [t.id for t in s.startable(out.retry_at)] == ["t"]
    assert s.states["t"].waits == 3 and s.states["t"].failure == failures.USAGE_LIMIT
    s.start("t")  # the 4th attempt, its first failure of its own: its one retry
    assert s.finish("t", 200.0, ok=False, exit_code=1, reason="x", failure="network").state == (
        RETRYING
    )
    s.start("t")
    out = s.finish("t", 300.0, ok=False, exit_code=1, reason="x", failure="network")
    assert out.state == FAILED and s.states["t"].failure == failures.NETWORK
    s.retry("t")
    assert s.states["t"].failure is None
    s.start("t")
    assert s.finish("t", 400.0, ok=True, exit_code=0, reason=None).state == SUCCEEDED


def test_auth_fails_the_task_at_once(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "tasks:\n  - {id: t, command: x, retries: 5}\n  - {id: u, command: x, depends_on: [t]}\n"
    )
    taskset = load_workspace(str(path)).workspace.tasks
    assert taskset is not None
    s = Scheduler(taskset, build_graph(taskset), policy=POLICY)
    s.start("t")
    out = s.finish("t", 1.0, ok=False, exit_code=1, reason="login", failure=failures.AUTH)
    assert (out.state, out.skipped) == (FAILED, ("u",))


OLD_SCHEMA = """
CREATE TABLE runs (id TEXT PRIMARY KEY, file TEXT NOT NULL, session TEXT NOT NULL,
    server TEXT NOT NULL, state TEXT NOT NULL, started REAL NOT NULL, ended REAL,
    supervisor_pid INTEGER, reason TEXT);
CREATE TABLE tasks (run TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, pane TEXT, exit_code INTEGER, reason TEXT,
    started REAL, ended REAL, retry_at REAL, PRIMARY KEY (run, id));
CREATE TABLE attempts (run TEXT NOT NULL, task TEXT NOT NULL, n INTEGER NOT NULL, pane TEXT,
    pid INTEGER, started REAL NOT NULL, ended REAL, exit_code INTEGER, outcome TEXT,
    reason TEXT, PRIMARY KEY (run, task, n));
CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, run TEXT NOT NULL, t REAL NOT NULL,
    task TEXT, kind TEXT NOT NULL, data TEXT);
INSERT INTO runs VALUES ('r1', '/p/tasks.yaml', 's', '[]', 'finished', 1.0, 2.0, NULL, NULL);
INSERT INTO tasks VALUES ('r1', 't', 'failed', 2, NULL, 1, 'exit status 1', 1.0, 2.0, NULL);
INSERT INTO attempts VALUES ('r1', 't', 2, '%1', 42, 1.5, 2.0, 1, 'failed', 'exit status 1');
"""


def test_a_state_db_from_before_failure_classes_is_opened_and_kept(tmp_path: Path) -> None:
    import sqlite3

    from tmuxorch.run.store import Store

    old = sqlite3.connect(tmp_path / "state.db")
    old.executescript(OLD_SCHEMA)
    old.close()
    store = Store(str(tmp_path))
    try:
        row = store.tasks("r1")["t"]
        assert (row.state, row.attempts, row.reason, row.failure, row.waits) == (
            "failed",
            2,
            "exit status 1",
            None,
            0,
        )
        assert store.attempts("r1")[0].failure is None
        fields = {"state": "retrying", "failure": "usage_limit", "waits": 1}
        store.end_attempt(
            "r1",
            "t",
            2,
            exit_code=1,
            outcome="retrying",
            reason="limit",
            task_fields=fields,
            failure="usage_limit",
        )
        assert (store.tasks("r1")["t"].failure, store.tasks("r1")["t"].waits) == ("usage_limit", 1)
        assert store.attempts("r1")[0].failure == "usage_limit"
    finally:
        store.close()
    again = Store(str(tmp_path))  # opened again: nothing to add
    again.close()
