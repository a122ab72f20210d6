"""Tasks added to a run (``Control.add``, ``tmuxorch add``): checked as tasks of its file,
joined under the hot-reload rules, kept across a crash of the supervisor — real runs on
real tmux."""

from __future__ import annotations

import json
import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests import test_engine
from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.test_engine import start, supervisor
from tests.test_run import attempts, states, tasks_file
from tests.test_run import start as start_process
from tmuxorch.run import events
from tmuxorch.run.adding import Added
from tmuxorch.run.control import RunOver

if TYPE_CHECKING:
    import threading
    from pathlib import Path

    from tmuxorch.run.bus import Event


in_background = test_engine.in_background  # a fixture: runs in threads end with the test


# -- in a live run, from Python ----------------------------------------------------------------


def test_control_adds_tasks_to_a_live_run(
    tmux_server: Server, tmp_path: Path, in_background: list[threading.Thread]
) -> None:
    release = tmp_path / "release"
    log = tmp_path / "log"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: gate, command: 'while [ ! -e {release} ]; do sleep 0.05; done'}}
          - {{id: boom, command: 'exit 3'}}
        """,
    )
    sup = supervisor(tmux_server, file)
    seen: list[Event] = []
    sup.subscribe(seen.append)
    code = start(sup, in_background)
    eventually(lambda: states(file).get("boom") == "failed", what="boom failed")
    stamp = f"echo $TMUXORCH_TASK >> {log}"
    added = sup.control.add({"id": "after", "command": stamp, "depends_on": ["gate"]}).result(30)
    assert added == Added(sup.engine.run.run_id, "after", ("after",))
    assert added.as_json()["ok"] is True
    # it needs a task that failed: skipped, as a task added to the file would be
    assert sup.control.add({"id": "doomed", "command": stamp, "depends_on": "boom"}).result(30).ok
    # bad: errors by field, and nothing changed
    before = {t: st.state for t, st in sup.engine.run.scheduler.states.items()}
    record = (tmp_path / ".tmuxorch" / "runs" / added.run / "added.json").read_text()
    bad = sup.control.add({"id": "gate", "agent": "nosuch"}).result(30)
    assert not bad.ok and bad.task is None
    assert [e.field for e in bad.errors] == ["task.id"]  # a duplicate id is not read further
    bad = sup.control.add({"id": "late", "agent": "nosuch", "depends_on": ["ghost"]}).result(30)
    assert [e.field for e in bad.errors] == ["task.agent", "task.depends_on[0]"]
    assert bad.as_json()["errors"][0]["message"].startswith("unknown agent 'nosuch'")  # type: ignore[index]
    assert {t: st.state for t, st in sup.engine.run.scheduler.states.items()} == before
    assert (tmp_path / ".tmuxorch" / "runs" / added.run / "added.json").read_text() == record
    assert states(file)["after"] == "pending"  # in the store: status shows it
    assert not log.exists()  # it waits for gate
    release.touch()
    eventually(lambda: code, what="the run ended")
    assert code == [1]  # boom failed
    assert log.read_text() == "after\n"
    assert states(file) == {
        "gate": "succeeded",
        "boom": "failed",
        "after": "succeeded",
        "doomed": "skipped",
    }
    said = [(e["type"], e.get("task")) for e in seen]
    assert (events.TASK_ADDED, "after") in said and (events.TASK_ADDED, "doomed") in said
    assert (events.SKIPPED, "doomed") in said
    assert "after: added to the run" in sup.display.lines  # type: ignore[attr-defined]
    assert json.loads(record) == [
        {"id": "after", "command": stamp, "depends_on": ["gate"]},
        {"id": "doomed", "command": stamp, "depends_on": "boom"},
    ]
    with pytest.raises(RunOver):
        sup.control.add({"id": "too-late", "command": "true"}).result(5)


def test_an_added_task_stays_when_the_file_is_edited(
    tmux_server: Server, tmp_path: Path, in_background: list[threading.Thread]
) -> None:
    """A hot reload reads the file again: the task added to the run is not in it, and must
    not leave the run as a task removed from the file would."""
    release = tmp_path / "release"
    log = tmp_path / "log"
    text = f"""
        tasks:
          - {{id: gate, command: 'while [ ! -e {release} ]; do sleep 0.05; done'}}
        """
    file = tasks_file(tmp_path, text)
    sup = supervisor(tmux_server, file)
    seen: list[Event] = []
    sup.subscribe(seen.append)
    code = start(sup, in_background)
    eventually(lambda: states(file).get("gate") == "running", what="gate running")
    stamp = f"echo $TMUXORCH_TASK >> {log}"
    assert sup.control.add({"id": "added", "command": stamp, "depends_on": ["gate"]}).result(30).ok
    tasks_file(tmp_path, text + f"  - {{id: edited, command: '{stamp}', depends_on: [gate]}}\n")
    eventually(lambda: any(e["type"] == events.RELOADED for e in seen), what="reloaded")
    release.touch()
    eventually(lambda: code, what="the run ended")
    assert code == [0]
    assert sorted(log.read_text().split()) == ["added", "edited"]
    reloaded = next(e for e in seen if e["type"] == events.RELOADED)
    assert reloaded["added"] == ["edited"] and reloaded["removed"] == []


# -- tmuxorch add, from another process --------------------------------------------------------


def add(file: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv("add", file, *args),
        env=tmux_env(),
        capture_output=True,
        text=True,
        input=stdin,
        timeout=60,
    )


def status(file: str) -> dict[str, dict[str, object]]:
    shown = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file),
        env=tmux_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.returncode == 0, shown.stderr
    return {str(row["task"]): row for row in json.loads(shown.stdout)["tasks"]}


def gated(tmp_path: Path) -> tuple[str, Path, Path]:
    release, log = tmp_path / "release", tmp_path / "log"
    file = tasks_file(
        tmp_path,
        f"""
        agents: {{coder: {{preset: demo}}}}
        tasks:
          - {{id: gate, command: 'echo gate >> {log}; while [ ! -e {release} ]; do sleep 0.05; done'}}
        """,
    )
    return file, release, log


def test_tmuxorch_add_to_a_live_run(tmux_server: Server, tmp_path: Path) -> None:
    file, release, log = gated(tmp_path)
    proc = start_process(tmux_server, file)
    try:
        eventually(lambda: states(file).get("gate") == "running", what="gate running")
        stamp = f"echo $TMUXORCH_TASK >> {log}"
        done = add(file, "--id", "extra", "--command", stamp, "--depends-on", "gate")
        assert done.returncode == 0, done.stderr
        assert "added extra to run" in done.stderr
        assert status(file)["extra"]["state"] == "pending"
        # as JSON, any task key (on stdin)
        body = json.dumps({"id": "json", "command": stamp, "depends_on": ["extra"]})
        assert add(file, "--json", "-", stdin=body).returncode == 0
        # bad input: exit 2, the field and what is wrong; the run goes on
        bad = add(file, "--id", "y", "--agent", "codr", "--prompt", "hi", "--depends-on", "nope")
        assert bad.returncode == 2
        assert bad.stderr.splitlines() == [
            "task.agent: unknown agent 'codr' (did you mean 'coder'?)",
            "task.depends_on[0]: unknown task 'nope' (known tasks: extra, gate, json, y)",
        ]
        assert add(file, "--id", "gate", "--command", "true").returncode == 2
        flags = add(file, "--id", "z", "--json", '{"id": "z", "command": "true"}')
        assert flags.returncode == 2 and "--id: given in --json too" in flags.stderr
        assert add(file, "--json", "[1").returncode == 2
        assert set(status(file)) == {"gate", "extra", "json"}
        assert proc.poll() is None  # the run goes on
        release.touch()
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "extra: added to the run" in out
    assert log.read_text().split() == ["gate", "extra", "json"]
    assert states(file) == dict.fromkeys(["gate", "extra", "json"], "succeeded")


def test_an_added_task_survives_kill_9_and_resume(tmux_server: Server, tmp_path: Path) -> None:
    file, release, log = gated(tmp_path)
    first = start_process(tmux_server, file)
    eventually(lambda: states(file).get("gate") == "running", what="gate running")
    stamp = f"echo $TMUXORCH_TASK >> {log}"
    assert add(file, "--id", "extra", "--command", stamp, "--depends-on", "gate").returncode == 0
    first.kill()  # SIGKILL: no cleanup at all
    first.wait(timeout=30)
    release.touch()  # gate ends while no supervisor runs: its exit file waits
    second = start_process(tmux_server, file)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert "resuming run" in out
    assert log.read_text().split() == ["gate", "extra"]
    assert states(file) == {"gate": "succeeded", "extra": "succeeded"}
    assert attempts(file) == {"gate": 1, "extra": 1}


def test_with_no_run_or_no_supervisor_add_starts_one_that_runs_it(
    tmux_server: Server, tmp_path: Path
) -> None:
    """ "Adds a task to a live run, or starts one": with no run of the file yet, a run is
    started (in the background, on the server -L names) and the task added to it; with a
    run whose supervisor is gone, the task is recorded and the run goes on in the
    background — the finished tasks not again."""
    from tmuxorch.run.opening import supervisor_alive

    log = tmp_path / "log"
    stamp = f"echo $TMUXORCH_TASK >> {log}"
    file = tasks_file(tmp_path, f"tasks: [{{id: first, command: '{stamp}'}}]\n")
    none_yet = add(file, "-L", tmux_server.name, "--id", "x", "--command", stamp)
    assert none_yet.returncode == 0, none_yet.stderr
    assert "started run" in none_yet.stderr
    eventually(lambda: states(file) == {"first": "succeeded", "x": "succeeded"}, timeout=60)
    eventually(lambda: not supervisor_alive(file), what="that run over", timeout=60)
    later = add(file, "--id", "later", "--command", stamp, "--depends-on", "first")
    assert later.returncode == 0, later.stderr
    assert "it goes on now" in later.stderr
    eventually(lambda: states(file).get("later") == "succeeded", what="later ran", timeout=60)
    eventually(lambda: not supervisor_alive(file), what="the resumed run over", timeout=60)
    assert add(file, "--id", "later", "--command", "true").returncode == 2  # it has it now
    assert sorted(log.read_text().split()) == ["first", "later", "x"]  # none twice
    assert attempts(file) == {"first": 1, "x": 1, "later": 1}


def test_a_request_no_supervisor_takes_is_withdrawn(tmp_path: Path) -> None:
    """The asker waits for a reply only while a supervisor holds the file's lock, and for
    ``timeout`` at most; a request never taken is removed (nothing was done)."""
    from tmuxorch.run.opening import lock
    from tmuxorch.run.requests import Unanswered, answer, ask_add, reply_path
    from tmuxorch.run.store import Store, state_dir

    file = tasks_file(tmp_path, "tasks: [{id: a, command: 'true'}]\n")
    with pytest.raises(LookupError, match="no run of"):
        ask_add(file, {"id": "b", "command": "true"})
    store = Store(state_dir(file))
    store.new_run("r1", file, "tmuxorch-tasks", ("-L", "nowhere"), ["a"])
    store.close()
    folder = tmp_path / ".tmuxorch" / "runs" / "r1" / "requests"
    with pytest.raises(Unanswered, match="is not running") as no_one:
        ask_add(file, {"id": "b", "command": "true"})
    assert not no_one.value.taken
    assert list(folder.iterdir()) == []
    held = lock(file)  # a supervisor that never reads its requests
    try:
        with pytest.raises(Unanswered, match="did not read the request") as late:
            ask_add(file, {"id": "b", "command": "true"}, timeout=0.2)
        assert not late.value.taken
    finally:
        held.close()
    assert list(folder.iterdir()) == []
    refused = ask_add(file, {"id": "b", "command": float("inf")})  # never sent
    assert not refused.ok and str(refused.errors[0]).startswith("task: not JSON data")
    answer(str(folder / "1-2.json"), {"ok": True})
    reply = reply_path(str(folder / "1-2.json"))
    assert reply.endswith("1-2.reply") and (os.stat(reply).st_mode & 0o777) == 0o600
