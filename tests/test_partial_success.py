"""Partial success without tmux: ``allow_failure`` and quorum groups in ``depends_on`` —
the file's form and its errors, the scheduler's decisions, the run's verdict."""

from __future__ import annotations

import random
import textwrap
from typing import TYPE_CHECKING

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tmuxorch.graph import build_graph
from tmuxorch.run import reload
from tmuxorch.run.needs import QUORUM_MET
from tmuxorch.run.scheduler import (
    FAILED,
    PENDING,
    RUNNING,
    SKIPPED,
    STOPPED,
    SUCCEEDED,
    Scheduler,
    TaskState,
)
from tmuxorch.run.summary import summarize
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.intake import check_task
from tmuxorch.spec.task_model import Origin, Quorum, Task, TaskSet
from tmuxorch.spec.tasks import load_tasks

if TYPE_CHECKING:
    from pathlib import Path


def tasks_of(tmp_path: Path, text: str) -> TaskSet:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent(text))
    return load_tasks(str(path)).tasks


def scheduler(tmp_path: Path, text: str) -> Scheduler:
    taskset = tasks_of(tmp_path, text)
    return Scheduler(taskset, build_graph(taskset), rng=random.Random(1))


def errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        tasks_of(tmp_path, text).graph  # noqa: B018 - checks the graph too
    return [
        f"{p.file}:{p.line}:{p.col}: {p.where}: {p.what}" + (f" ({p.hint})" if p.hint else "")
        for p in caught.value.problems
    ]


def run(s: Scheduler, task_id: str, *, ok: bool) -> tuple[str, ...]:
    """Start ``task_id`` and end it; what its end skipped."""
    assert task_id in startable(s), f"{task_id} cannot start"
    s.start(task_id)
    return s.finish(task_id, 0.0, ok=ok, exit_code=0 if ok else 1, reason=None).skipped


def startable(s: Scheduler) -> list[str]:
    return [t.id for t in s.startable(now=1e12)]


# -- the file ---------------------------------------------------------------------------------
def test_the_forms_of_depends_on(tmp_path: Path) -> None:
    taskset = tasks_of(
        tmp_path,
        """
        tasks:
          - {id: build, command: x, allow_failure: true}
          - {id: r1, command: x}
          - {id: r2, command: x}
          - {id: r3, command: x}
          - {id: alone, command: x, depends_on: {any: 1, of: [r1, r2]}}
          - id: merge
            command: x
            depends_on: [build, {any: 2, of: [r1, r2, r3], then: stop}]
        """,
    )
    alone, merge = taskset.task("alone"), taskset.task("merge")
    assert alone.quorums == (Quorum(1, ("r1", "r2")),) and alone.required == ()
    assert merge.depends_on == ("build", "r1", "r2", "r3")
    assert merge.quorums == (Quorum(2, ("r1", "r2", "r3"), "stop"),)
    assert merge.required == ("build",)
    assert taskset.task("build").allow_failure and not merge.allow_failure
    assert str(merge.quorums[0]) == "2 of (r1, r2, r3)"


def test_mistakes_in_groups_are_reported_where_they_are(tmp_path: Path) -> None:
    said = errors(
        tmp_path,
        """
        tasks:
          - {id: a, command: x, allow_failure: sometimes}
          - {id: r1, command: x}
          - {id: r2, command: x}
          - id: m
            command: x
            depends_on: [r1, {any: 3, of: [r1, r2, r2, nope], then: halt}]
          - {id: n, command: x, depends_on: {any: 0, of: []}}
          - {id: o, command: x, depends_on: {of: [r1], some: 1}}
          - {id: p, command: x, depends_on: [{any: 1, of: [r1]}, {any: 1, of: [r1, r2]}]}
          - {id: q, command: x, depends_on: {any: 4, of: [r1, r2, a]}}
        """,
    )
    file = str(tmp_path / "t.yaml")
    assert said == [
        f"{file}:3:40: tasks[0].allow_failure: expected true or false, got text ('sometimes')",
        f"{file}:8:36: tasks[3].depends_on[1].of[0]: 'r1' is needed on its own already"
        " (at tasks[3].depends_on[0]) (a task is needed on its own or in one group, not both)",
        f"{file}:8:44: tasks[3].depends_on[1].of[2]: 'r2' is twice in this group",
        f"{file}:8:48: tasks[3].depends_on[1].of[3]: unknown task 'nope'"
        " (known tasks: a, m, n, o, p, q, r1, r2)",
        f"{file}:8:61: tasks[3].depends_on[1].then: unknown then 'halt' (one of: finish, stop)",
        f"{file}:9:43: tasks[4].depends_on.any: must be at least 1, got 0",
        f"{file}:9:50: tasks[4].depends_on.of: empty: expected the tasks of the group",
        f"{file}:10:37: tasks[5].depends_on.any: required key is missing"
        " (a group is {any: N, of: [TASK, ...]} (then: finish or stop))",
        f"{file}:10:48: tasks[5].depends_on.some: unknown key (known keys: any, of, then)",
        f"{file}:11:72: tasks[6].depends_on[1].of[0]: 'r1' is in another group"
        " (at tasks[6].depends_on[0].of)",
        f"{file}:12:43: tasks[7].depends_on.any: 4 is more than the 3 task(s) of the group"
        " (any is between 1 and 3)",
    ]


def test_a_cycle_through_a_group_is_found(tmp_path: Path) -> None:
    said = errors(
        tmp_path,
        """
        tasks:
          - {id: r1, command: x, depends_on: m}
          - {id: r2, command: x}
          - {id: m, command: x, depends_on: {any: 1, of: [r1, r2]}}
        """,
    )
    assert said == [
        f"{tmp_path / 't.yaml'}:3:10: tasks[0].depends_on: dependency cycle: r1 → m → r1"
        " (→ reads 'depends on'; remove one of these dependencies)"
    ]


def test_an_added_task_takes_the_same_form(tmp_path: Path) -> None:
    taskset = tasks_of(
        tmp_path, "tasks: [{id: r1, command: x}, {id: r2, command: x}, {id: r3, command: x}]\n"
    )
    data = {"id": "m", "command": "x", "depends_on": [{"any": 2, "of": ["r1", "r2", "nope"]}]}
    bad = check_task(data, taskset)
    assert [str(e) for e in bad.errors] == [
        "task.depends_on[0].of[2]: unknown task 'nope' (known tasks: m, r1, r2, r3)"
    ]
    data["depends_on"] = ["r3", {"any": 2, "of": ["r1", "r2"], "then": "stop"}]
    good = check_task({**data, "allow_failure": True}, taskset)
    assert good.ok and good.tasks[0].quorums == (Quorum(2, ("r1", "r2"), "stop"),)
    assert good.tasks[0].required == ("r3",) and good.tasks[0].allow_failure


def test_a_reload_that_drops_a_member_keeps_what_is_left_of_the_group(tmp_path: Path) -> None:
    old = tasks_of(
        tmp_path,
        """
        tasks:
          - {id: r1, command: x}
          - {id: r2, command: x}
          - {id: r3, command: x}
          - {id: m, command: x, depends_on: {any: 3, of: [r1, r2, r3]}}
        """,
    )
    new = tasks_of(tmp_path, "tasks: [{id: r1, command: x}, {id: r2, command: x}]\n")
    states = {t: TaskState(RUNNING, 1) for t in ("r1", "r2", "m")} | {"r3": TaskState()}
    merged = reload.merge(old, new, states).taskset
    assert merged.task("m").quorums == (Quorum(2, ("r1", "r2")),)
    assert merged.task("m").depends_on == ("r1", "r2")


# -- allow_failure ----------------------------------------------------------------------------
ALLOWED = """
tasks:
  - {id: lint, command: x, allow_failure: true, retries: 1}
  - {id: test, command: x}
  - {id: ship, command: x, depends_on: [lint, test]}
"""


def test_an_allowed_failure_lets_its_dependents_run(tmp_path: Path) -> None:
    s = scheduler(tmp_path, ALLOWED)
    run(s, "test", ok=True)
    s.start("lint")
    assert s.finish("lint", 0.0, ok=False, exit_code=1, reason=None).state == "retrying"
    assert startable(s) == ["lint"]  # not before its retries are used up
    assert run(s, "lint", ok=False) == ()
    assert s.states["lint"].state == FAILED
    run(s, "ship", ok=True)
    assert s.finished()
    assert summarize(s.tasks, s.states, ["lint", "test", "ship"]) == (
        True,
        "2 succeeded; 1 failed (allowed): lint",
    )


def test_what_is_skipped_is_not_an_allowed_failure(tmp_path: Path) -> None:
    """allow_failure covers the task's own failure: one skipped because something before
    it failed still holds back what needs it."""
    s = scheduler(
        tmp_path,
        """
        tasks:
          - {id: a, command: x}
          - {id: b, command: x, depends_on: a, allow_failure: true}
          - {id: c, command: x, depends_on: b}
        """,
    )
    assert run(s, "a", ok=False) == ("b", "c")
    assert s.states["c"].reason == "needs a, which failed"
    assert summarize(s.tasks, s.states, "abc") == (False, "1 failed, 2 skipped")


def test_a_failure_not_allowed_fails_the_run() -> None:
    tasks = {t: Task(t, Origin("f", 1, 1, t), "shell", command="x") for t in "ab"}
    states = {"a": TaskState(SUCCEEDED), "b": TaskState(FAILED)}
    assert summarize(tasks, states, "ab") == (False, "1 failed, 1 succeeded")


# -- quorum -----------------------------------------------------------------------------------
QUORUM = """
tasks:
  - {id: r1, command: x}
  - {id: r2, command: x}
  - {id: r3, command: x}
  - {id: m, command: x, depends_on: {any: 2, of: [r1, r2, r3]THEN}}
  - {id: after, command: x, depends_on: m}
"""


def quorum(tmp_path: Path, then: str = "") -> Scheduler:
    return scheduler(tmp_path, QUORUM.replace("THEN", f", then: {then}" if then else ""))


def test_the_dependent_starts_when_enough_have_succeeded(tmp_path: Path) -> None:
    s = quorum(tmp_path)
    for t in ("r1", "r2", "r3"):
        s.start(t)
    s.finish("r1", 0.0, ok=True, exit_code=0, reason=None)
    assert startable(s) == []
    s.finish("r2", 0.0, ok=False, exit_code=1, reason=None)
    assert startable(s) == [] and s.states["m"].state == PENDING  # r3 may still succeed
    outcome = s.finish("r3", 0.0, ok=True, exit_code=0, reason=None)
    assert outcome.stop == () and startable(s) == ["m"]


def test_the_rest_of_the_group_finishes_unless_it_says_stop(tmp_path: Path) -> None:
    s = quorum(tmp_path)
    for t in ("r1", "r2", "r3"):
        s.start(t)
    s.finish("r1", 0.0, ok=True, exit_code=0, reason=None)
    assert s.finish("r2", 0.0, ok=True, exit_code=0, reason=None).stop == ()
    assert startable(s) == ["m"] and s.states["r3"].state == RUNNING

    s = quorum(tmp_path, "stop")
    for t in ("r1", "r2", "r3"):
        s.start(t)
    s.finish("r1", 0.0, ok=True, exit_code=0, reason=None)
    assert s.finish("r2", 0.0, ok=True, exit_code=0, reason=None).stop == ("r3",)
    assert s.stop("r3", QUORUM_MET).skipped == ()  # m has what it needs
    assert startable(s) == ["m"]
    run(s, "m", ok=True)
    run(s, "after", ok=True)
    assert summarize(s.tasks, s.states, ["r1", "r2", "r3", "m", "after"]) == (
        True,
        "4 succeeded; 1 stopped (quorum met): r3",
    )


def test_a_pending_member_is_stopped_too_but_not_one_another_task_waits_for(
    tmp_path: Path,
) -> None:
    s = scheduler(
        tmp_path,
        """
        max_parallel: 2
        tasks:
          - {id: r1, command: x}
          - {id: r2, command: x}
          - {id: r3, command: x}
          - {id: r4, command: x}
          - {id: m, command: x, depends_on: {any: 2, of: [r1, r2, r3, r4], then: stop}}
          - {id: needs-r4, command: x, depends_on: r4}
        """,
    )
    assert startable(s) == ["r1", "r2"]
    run(s, "r1", ok=True)
    s.start("r2")
    outcome = s.finish("r2", 0.0, ok=True, exit_code=0, reason=None)
    assert outcome.stop == ("r3",)  # pending; r4 is needed by needs-r4


def test_an_unreachable_quorum_skips_the_dependent_and_leaves_the_rest(tmp_path: Path) -> None:
    s = quorum(tmp_path)
    for t in ("r1", "r2", "r3"):
        s.start(t)
    assert s.finish("r1", 0.0, ok=False, exit_code=1, reason=None).skipped == ()
    assert s.finish("r2", 0.0, ok=False, exit_code=1, reason=None).skipped == ("m", "after")
    reason = "needs 2 of (r1, r2, r3), but r1 failed, r2 failed"
    assert s.states["m"].reason == reason and s.states["after"].reason == reason
    assert s.states["r3"].state == RUNNING  # left to finish
    assert not s.finished()


def test_a_member_stopped_by_a_person_skips_nothing_while_the_quorum_can_be_met(
    tmp_path: Path,
) -> None:
    s = quorum(tmp_path)
    for t in ("r1", "r2", "r3"):
        s.start(t)
    assert s.stop("r1", "stopped by request").skipped == ()
    assert s.stop("r2", "stopped by request").skipped == ("m", "after")
    assert s.states["m"].reason == "needs 2 of (r1, r2, r3), but r1 was stopped, r2 was stopped"


def test_a_resumed_run_skips_what_a_quorum_out_of_reach_blocks(tmp_path: Path) -> None:
    """Follow-ups in a group: one never made (its task failed) will not succeed."""
    taskset = tasks_of(
        tmp_path,
        """
        tasks:
          - {id: p, command: x, then: [{id: p-review, command: x}]}
          - {id: q, command: x}
          - {id: m, command: x, depends_on: {any: 2, of: [p-review, q]}}
        """,
    )
    states = {"p": TaskState(FAILED, 1), "q": TaskState(PENDING), "m": TaskState(PENDING)}
    s = Scheduler(taskset, taskset.graph, states)
    assert s.skip_blocked() == ("m",)
    assert states["m"].reason == "needs 2 of (p-review, q), but p-review will not run (p failed)"


# -- properties -------------------------------------------------------------------------------
@st.composite
def graphs(draw: st.DrawFn) -> tuple[TaskSet, set[str], bool]:
    """Up to 8 tasks, each needing some earlier ones on their own and maybe a group of
    others; which fail; whether groups stop the rest."""
    stop = draw(st.booleans())
    tasks = []
    for i in range(draw(st.integers(1, 8))):
        earlier = [f"t{j}" for j in range(i)]
        picked = draw(st.lists(st.sampled_from(earlier), unique=True) if earlier else st.just([]))
        split = draw(st.integers(0, len(picked)))
        grouped = picked[split:]  # the first `split` are needed on their own
        groups: tuple[Quorum, ...] = ()
        if grouped:
            need = draw(st.integers(1, len(grouped)))
            groups = (Quorum(need, tuple(grouped), "stop" if stop else "finish"),)
        tasks.append(
            Task(
                f"t{i}",
                Origin("f", i + 1, 1, f"t{i}"),
                "shell",
                command="x",
                depends_on=tuple(picked),
                quorums=groups,
                allow_failure=draw(st.booleans()),
            )
        )
    ids = [t.id for t in tasks]
    fail = set(draw(st.lists(st.sampled_from(ids), unique=True)))
    parallel = draw(st.integers(1, 4))
    return TaskSet(tuple(tasks), (), parallel), fail, stop


def drive(s: Scheduler, fail: set[str]) -> list[str]:
    """Start what can start one at a time, end the earliest running; the order they
    started in. Fails if the run is stuck."""
    started: list[str] = []
    running: list[str] = []
    while not s.finished():
        for task in s.startable(now=1e12):
            assert s.needs.met(task)  # what it needs is there when it starts
            s.start(task.id)
            started.append(task.id)
            running.append(task.id)
        assert running, "stuck: nothing runs and the run is not over"
        task_id = running.pop(0)
        if s.states[task_id].state != RUNNING:
            continue  # stopped meanwhile
        ok = task_id not in fail
        outcome = s.finish(task_id, 0.0, ok=ok, exit_code=int(not ok), reason=None)
        for superfluous in outcome.stop:
            s.stop(superfluous, QUORUM_MET)
    return started


@settings(max_examples=300, deadline=None)
@given(graphs())
def test_every_run_ends_and_a_task_runs_iff_what_it_needs_came_to_be(
    drawn: tuple[TaskSet, set[str], bool],
) -> None:
    taskset, fail, stop = drawn
    s = Scheduler(taskset, build_graph(taskset), rng=random.Random(0))
    started = drive(s, fail)
    states = s.states
    for task in taskset.tasks:
        state = states[task.id].state
        if state == SKIPPED:
            assert s.needs.blocked(task) is not None
        elif state == STOPPED:
            assert stop and states[task.id].reason == QUORUM_MET
        else:
            assert task.id in started and state == (FAILED if task.id in fail else SUCCEEDED)
    if stop:
        return
    # without stops, an oracle: what runs is decided by what fails, whatever the order
    ran: dict[str, bool] = {}  # task → it ran and succeeded
    for task in taskset.tasks:
        needed = all(d in ran and (ran[d] or taskset.task(d).allow_failure) for d in task.required)
        enough = all(sum(ran.get(d, False) for d in g.of) >= g.any for g in task.quorums)
        assert (task.id in started) == (needed and enough)
        if task.id in started:
            ran[task.id] = task.id not in fail
    ok, _ = summarize(s.tasks, states, [t.id for t in taskset.tasks])
    assert ok == all(
        states[t.id].state == SUCCEEDED or (t.id in fail and t.allow_failure and t.id in ran)
        for t in taskset.tasks
    )
