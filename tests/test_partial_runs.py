"""Partial success in real runs (real tmux, a real supervisor, ``command:`` tasks):
``allow_failure`` and quorum groups — what runs, what is stopped or skipped, the run's
exit and its last line, and what ``status`` says."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.test_add import add
from tests.test_run import run, start, states, tasks_file
from tmuxorch.run.store import Store, state_dir

if TYPE_CHECKING:
    from pathlib import Path


def reasons(file: str) -> dict[str, str | None]:
    store = Store(state_dir(file))
    try:
        return {t: row.reason for t, row in store.tasks(store.runs(file)[0].id).items()}
    finally:
        store.close()


def status(file: str, *args: str) -> str:
    shown = subprocess.run(
        tmuxorch_argv("status", "--file", file, *args),
        env=tmux_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    return shown.stdout


def log_of(tmp_path: Path) -> list[str]:
    return (tmp_path / "log").read_text().split()


def test_an_allowed_failure_lets_dependents_run_and_the_run_succeed(
    tmux_server: Server, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: lint, command: 'echo lint broke; exit 3', allow_failure: true}}
          - {{id: build, command: 'echo build >> {log}'}}
          - {{id: ship, command: 'echo ship >> {log}', depends_on: [lint, build]}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "finished: 2 succeeded; 1 failed (allowed): lint" in said
    assert "lint: failed (exit status 3); allowed: what depends on it goes on" in said
    assert states(file) == {"lint": "failed", "build": "succeeded", "ship": "succeeded"}
    assert log_of(tmp_path) == ["build", "ship"]
    report = {t["task"]: t for t in json.loads(status(file, "--json"))["tasks"]}
    assert report["lint"]["state"] == "failed" and report["lint"]["allow_failure"] is True
    assert report["ship"]["allow_failure"] is False
    table = status(file)
    assert "failed (allowed)" in table and "1 allowed failure" in table


def test_two_of_three_with_one_failing_starts_the_dependent_at_the_second_success(
    tmux_server: Server, tmp_path: Path
) -> None:
    """r4 ends only once m has run: m started while a member of its group still ran."""
    log = tmp_path / "log"
    done = tmp_path / "m.done"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: r1, command: 'echo r1 >> {log}'}}
          - {{id: r2, command: 'exit 1'}}
          - {{id: r3, command: 'echo r3 >> {log}'}}
          - {{id: r4, command: 'while [ ! -e {done} ]; do sleep 0.05; done; echo r4 >> {log}'}}
          - id: m
            command: 'echo m >> {log}; touch {done}'
            depends_on: {{any: 2, of: [r1, r2, r3, r4]}}
          - {{id: two, command: 'echo two >> {log}', depends_on: {{any: 2, of: [r1, r2, r3]}}}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1  # r2's failure is not allowed
    assert "finished: 1 failed, 5 succeeded" in result.stdout + result.stderr
    order = log_of(tmp_path)
    assert order.index("r3") < order.index("two")  # not before the second success
    assert order.index("r3") < order.index("m") < order.index("r4")  # r4 went on meanwhile
    assert states(file) == {
        "r1": "succeeded",
        "r2": "failed",
        "r3": "succeeded",
        "r4": "succeeded",
        "m": "succeeded",
        "two": "succeeded",
    }


def test_then_stop_stops_the_rest_of_the_group(tmux_server: Server, tmp_path: Path) -> None:
    log = tmp_path / "log"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: r1, command: 'echo r1 >> {log}'}}
          - {{id: r2, command: 'echo r2 >> {log}'}}
          - {{id: slow, command: 'sleep 300'}}
          - id: m
            command: 'echo m >> {log}'
            depends_on: {{any: 2, of: [r1, r2, slow], then: stop}}
        """,
    )
    result = run(tmux_server, file)
    said = result.stdout + result.stderr
    assert result.returncode == 0, said
    assert "finished: 3 succeeded; 1 stopped (quorum met): slow" in said
    assert "slow: stopped (quorum met)" in said
    assert states(file) == {
        "r1": "succeeded",
        "r2": "succeeded",
        "slow": "stopped",
        "m": "succeeded",
    }
    assert reasons(file)["slow"] == "quorum met"
    assert log_of(tmp_path)[-1] == "m"


def test_a_quorum_out_of_reach_skips_the_dependent(tmux_server: Server, tmp_path: Path) -> None:
    log = tmp_path / "log"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: r1, command: 'exit 1'}}
          - {{id: r2, command: 'exit 2', allow_failure: true}}
          - {{id: r3, command: 'echo r3 >> {log}'}}
          - {{id: m, command: 'echo m >> {log}', depends_on: {{any: 2, of: [r1, r2, r3]}}}}
          - {{id: after, command: 'echo after >> {log}', depends_on: m}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    said = result.stdout + result.stderr
    why = "needs 2 of (r1, r2, r3), but r1 failed, r2 failed"
    assert f"m: skipped ({why})" in said
    assert "finished: 1 failed, 2 skipped, 1 succeeded; 1 failed (allowed): r2" in said
    assert states(file)["m"] == "skipped" and reasons(file)["m"] == why
    assert reasons(file)["after"] == why
    assert log_of(tmp_path) == ["r3"]  # left to finish


def test_a_task_added_to_a_live_run_may_need_a_quorum(tmux_server: Server, tmp_path: Path) -> None:
    release, log = tmp_path / "release", tmp_path / "log"
    gate = f"while [ ! -e {release} ]; do sleep 0.05; done"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: r1, command: '{gate}; echo r1 >> {log}'}}
          - {{id: r2, command: 'exit 1'}}
          - {{id: r3, command: '{gate}; sleep 300', allow_failure: true}}
        """,
    )
    proc = start(tmux_server, file)
    try:
        eventually(lambda: states(file).get("r1") == "running", what="r1 running")
        stamp = f"echo $TMUXORCH_TASK >> {log}"
        group = {"any": 1, "of": ["r1", "r2", "nope"]}
        body = {"id": "m", "command": stamp, "depends_on": [group]}
        bad = add(file, "--json", json.dumps(body))
        assert bad.returncode == 2
        assert bad.stderr.splitlines() == [
            "task.depends_on[0].of[2]: unknown task 'nope' (known tasks: m, r1, r2, r3)"
        ]
        group.update(of=["r1", "r2", "r3"], then="stop")
        assert add(file, "--json", json.dumps(body)).returncode == 0
        release.touch()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, out  # r2 failed
    assert states(file) == {"r1": "succeeded", "r2": "failed", "r3": "stopped", "m": "succeeded"}
    assert log_of(tmp_path) == ["r1", "m"]


def test_a_task_the_file_gains_while_it_runs_may_need_a_quorum(
    tmux_server: Server, tmp_path: Path
) -> None:
    release, log = tmp_path / "release", tmp_path / "log"
    gate = f"while [ ! -e {release} ]; do sleep 0.05; done"
    text = f"""
        tasks:
          - {{id: r1, command: '{gate}; echo r1 >> {log}'}}
          - {{id: r2, command: '{gate}; echo r2 >> {log}'}}
        """
    file = tasks_file(tmp_path, text)
    proc = start(tmux_server, file)
    try:
        eventually(lambda: states(file).get("r1") == "running", what="r1 running")
        added = (
            "  - {id: m, command: 'echo m >> "
            + str(log)
            + "', depends_on: {any: 2, of: [r1, r2]}}\n"
        )
        tasks_file(tmp_path, text + added)
        eventually(lambda: "m" in states(file), what="m joined the run")
        release.touch()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert log_of(tmp_path)[-1] == "m"


def test_graph_shows_groups_and_allowed_failures(tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: lint, command: x, allow_failure: true}
          - {id: r1, command: x}
          - {id: r2, command: x}
          - {id: m, command: x, depends_on: [lint, {any: 1, of: [r1, r2], then: stop}]}
        """,
    )
    out = subprocess.run(
        tmuxorch_argv("graph", file), capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [
        "level 0:",
        "  lint (shell)  [failure allowed]",
        "  r1 (shell)",
        "  r2 (shell)",
        "level 1:",
        "  m (shell)  ← lint, 1 of (r1, r2) then stop",
        "4 task(s), at most 4 at once",
    ]
