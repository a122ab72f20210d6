"""The scheduler's decisions, without tmux: order, bounds, locks, failures, retries."""

from __future__ import annotations

import random
import textwrap
from typing import TYPE_CHECKING

from hypothesis import given, settings
from hypothesis import strategies as st

from tmuxorch.graph import build_graph
from tmuxorch.run.scheduler import FAILED, RETRYING, SKIPPED, STOPPED, SUCCEEDED, Scheduler
from tmuxorch.spec.task_model import Origin, Task, TaskSet
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path


def scheduler(tmp_path: Path, text: str, seed: int = 1) -> Scheduler:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(text))
    ws = load_workspace(str(path)).workspace
    assert ws.tasks is not None
    return Scheduler(ws.tasks, build_graph(ws.tasks), rng=random.Random(seed))


def drive(s: Scheduler, fail: set[str] = frozenset()) -> list[list[str]]:  # type: ignore[assignment]
    """Start what can start, finish it all, repeat: the rounds of starts."""
    rounds = []
    while not s.finished():
        started = [t.id for t in s.startable(now=1e12)]
        assert started, "stuck"
        for task in started:
            s.start(task)
        for task in started:
            s.finish(
                task, 0.0, ok=task not in fail, exit_code=0 if task not in fail else 1, reason=None
            )
        rounds.append(started)
    return rounds


DIAMOND = """
tasks:
  - {id: a, command: x}
  - {id: b, command: x, depends_on: [a]}
  - {id: c, command: x, depends_on: [a]}
  - {id: d, command: x, depends_on: [b, c]}
  - {id: z, command: x}
"""


def test_diamond_rounds(tmp_path: Path) -> None:
    assert drive(scheduler(tmp_path, DIAMOND)) == [["a", "z"], ["b", "c"], ["d"]]


def test_max_parallel(tmp_path: Path) -> None:
    tasks = "\n".join(f"  - {{id: t{i}, command: x}}" for i in range(7))
    s = scheduler(tmp_path, f"max_parallel: 3\ntasks:\n{tasks}\n")
    assert [len(r) for r in drive(s)] == [3, 3, 1]


def test_locks_exclude_each_other(tmp_path: Path) -> None:
    s = scheduler(
        tmp_path,
        """
        tasks:
          - {id: a, command: x, locks: [db]}
          - {id: b, command: x, locks: [db, cache]}
          - {id: c, command: x, locks: [cache]}
          - {id: d, command: x}
        """,
    )
    first = [t.id for t in s.startable(0)]
    assert first == ["a", "c", "d"]
    for t in first:
        s.start(t)
    assert s.startable(0) == []
    s.finish("a", 0, ok=True, exit_code=0, reason=None)
    assert s.startable(0) == []  # b still needs cache, held by c
    s.finish("c", 0, ok=True, exit_code=0, reason=None)
    assert [t.id for t in s.startable(0)] == ["b"]


def test_failure_skips_downstream_and_siblings_go_on(tmp_path: Path) -> None:
    s = scheduler(tmp_path, DIAMOND)
    rounds = drive(s, fail={"b"})
    assert rounds == [["a", "z"], ["b", "c"]]
    states = {t: st.state for t, st in s.states.items()}
    assert states == {"a": SUCCEEDED, "z": SUCCEEDED, "b": FAILED, "c": SUCCEEDED, "d": SKIPPED}
    assert s.states["d"].reason == "needs b, which failed"
    assert not s.all_succeeded()


def test_retries_then_failure(tmp_path: Path) -> None:
    s = scheduler(tmp_path, "tasks: [{id: a, command: x, retries: 2, retry_delay: 10}]\n")
    waits = []
    for attempt in (1, 2, 3):
        (task,) = s.startable(now=1e12)
        assert s.start(task.id) == attempt
        outcome = s.finish("a", 100.0, ok=False, exit_code=1, reason="boom")
        if attempt < 3:
            assert outcome.state == RETRYING and outcome.retry_at is not None
            waits.append(outcome.retry_at - 100.0)
            assert s.startable(now=100.0) == []  # not before the backoff is over
        else:
            assert outcome.state == FAILED
    assert 5 <= waits[0] <= 15 and 10 <= waits[1] <= 30  # 10 s then 20 s, ±50 %


@settings(max_examples=200)
@given(st.floats(0.01, 100), st.integers(1, 12), st.integers(0, 2**32))
def test_backoff_bounds(base: float, attempt: int, seed: int) -> None:
    task = Task("t", Origin("f", 1, 1, "t"), "shell", command="x", retry_delay=base)
    s = Scheduler(
        TaskSet((task,), (), 1), build_graph(TaskSet((task,), (), 1)), rng=random.Random(seed)
    )
    wait = s.backoff(task, attempt)
    expected = min(base * 2 ** (attempt - 1), 300.0)
    assert 0.5 * expected <= wait <= 1.5 * expected


def test_stop_and_retry(tmp_path: Path) -> None:
    s = scheduler(tmp_path, DIAMOND)
    for t in s.startable(0):
        s.start(t.id)
    outcome = s.stop("a", "stopped by request")
    assert outcome.state == STOPPED and outcome.skipped == ("b", "c", "d")
    assert s.states["b"].reason == "needs a, which was stopped"
    assert sorted(s.retry("a")) == ["a", "b", "c", "d"]
    s.finish("z", 0, ok=True, exit_code=0, reason=None)
    assert drive(s) == [["a"], ["b", "c"], ["d"]]
    assert s.all_succeeded()


def test_what_needs_a_task_that_cannot_succeed_is_skipped_so_the_run_ends(
    tmp_path: Path,
) -> None:
    from tmuxorch.run.scheduler import PENDING, TaskState

    s = scheduler(tmp_path, DIAMOND)
    states = {
        "a": TaskState(FAILED, 1, "exit status 1"),
        "b": TaskState(PENDING),  # reset by hand, or added later
        "c": TaskState(STOPPED, 1, "stopped by request"),
        "d": TaskState(PENDING),
        "z": TaskState(PENDING),
    }
    s = Scheduler(s.taskset, s.graph, states)
    assert not s.finished() and [t.id for t in s.startable(1e12)] == ["z"]
    assert s.skip_blocked() == ("b", "d")
    assert states["b"].reason == "needs a, which failed"
    assert states["d"].reason == "needs a, which failed"  # the root cause, not b
    assert s.skip_blocked() == ()
    s.start("z")
    s.finish("z", 0.0, ok=True, exit_code=0, reason=None)
    assert s.finished()


def test_what_needs_a_follow_up_that_will_never_be_made_is_skipped(tmp_path: Path) -> None:
    """A task that joined the run later (a reload, ``tmuxorch add``) and needs a follow-up
    of a task that failed already: that follow-up will never exist, so it never runs
    (it waited forever, and the run never ended)."""
    from tmuxorch.run.scheduler import PENDING, TaskState

    s = scheduler(
        tmp_path,
        """
        tasks:
          - {id: p, command: x, then: [{id: p-review, command: x}]}
          - {id: late, command: x, depends_on: [p-review]}
        """,
    )
    states = {"p": TaskState(FAILED, 1, "exit status 1"), "late": TaskState(PENDING)}
    s = Scheduler(s.taskset, s.graph, states)
    assert s.skip_blocked() == ("late",)
    assert states["late"].reason == "needs p, which failed"
    assert s.finished()
    running = {"p": TaskState(PENDING), "late": TaskState(PENDING)}  # p may still succeed
    assert Scheduler(s.taskset, s.graph, running).skip_blocked() == ()
