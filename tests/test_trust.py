"""States that are true: runs that end, retries that reset what they name, conditions that
are noticed, prompts that count only when delivered — in real runs on real tmux."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from pathlib import Path

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.test_run import run, start, states, tasks_file
from tmuxorch.run import proctree
from tmuxorch.tmux import panes as tmux_panes


def test_a_task_added_by_reload_that_needs_a_failed_one_is_skipped(
    tmux_server: Server, tmp_path: Path
) -> None:
    path = tmp_path / "tasks.yaml"
    gate = f"while [ ! -e {tmp_path}/FLAG ]; do sleep 0.1; done"
    path.write_text(
        f"tasks:\n  - {{id: bad, command: 'exit 1'}}\n  - {{id: gate, command: '{gate}'}}\n"
    )
    file = str(path)
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("bad") == "failed", what="bad failed")
    path.write_text(path.read_text() + "  - {id: late, command: 'true', depends_on: [bad]}\n")
    eventually(lambda: states(file).get("late") == "skipped", what="late skipped")
    (tmp_path / "FLAG").touch()
    proc.wait(timeout=60)  # it ends: nothing waits for what can never run
    assert proc.returncode == 1
    assert states(file) == {"bad": "failed", "gate": "succeeded", "late": "skipped"}


def test_a_run_resumed_with_a_task_that_needs_a_failed_one_ends(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: a, command: 'exit 1'}
          - {id: b, command: 'true', depends_on: [a]}
        """,
    )
    assert run(tmux_server, file).returncode == 1
    reset = subprocess.run(
        tmuxorch_argv("retry", "b", "--file", file), capture_output=True, text=True
    )
    assert reset.returncode == 0, reset.stderr
    assert states(file)["b"] == "pending"  # no supervisor: retry only resets it
    again = run(tmux_server, file, timeout=60)
    assert again.returncode == 1, again.stdout
    assert states(file) == {"a": "failed", "b": "skipped"}
    assert "b: skipped (needs a, which failed)" in again.stdout


def test_retry_without_a_supervisor_resets_only_what_it_names(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        textwrap.dedent(
            """
            tasks:
              - {id: a, command: 'true'}
              - {id: api, command: 'exit 1'}
              - {id: x, command: 'true', depends_on: [api]}
            """
        ),
    )
    assert run(tmux_server, file).returncode == 1
    assert states(file) == {"a": "succeeded", "api": "failed", "x": "skipped"}
    reset = subprocess.run(
        tmuxorch_argv("retry", "a", "--file", file), capture_output=True, text=True
    )
    assert reset.returncode == 0, reset.stderr
    assert states(file) == {"a": "pending", "api": "failed", "x": "skipped"}  # not x
    reset = subprocess.run(
        tmuxorch_argv("retry", "api", "--file", file), capture_output=True, text=True
    )
    assert states(file) == {"a": "pending", "api": "pending", "x": "pending"}


def test_result_and_file_conditions_met_at_once_are_noticed(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: result
            command: |-
              echo '{{"ok": true}}' > "$TMUXORCH_RESULT"; sleep 300
            done_when: result
            timeout: 60
          - id: file
            command: touch {tmp_path}/made.txt; sleep 300
            done_when: {{file: {tmp_path}/made.txt}}
            timeout: 60
        """,
    )
    result = run(tmux_server, file, timeout=120)
    assert result.returncode == 0, result.stdout
    assert states(file) == {"result": "succeeded", "file": "succeeded"}
    assert "timed out" not in result.stdout


def test_a_result_written_while_no_supervisor_ran_is_noticed_on_adoption(
    tmux_server: Server, tmp_path: Path
) -> None:
    go = tmp_path / "GO"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: late
            command: touch {tmp_path}/began; while [ ! -e {go} ]; do sleep 0.05; done; echo 1 > "$TMUXORCH_RESULT"; sleep 300
            done_when: result
            timeout: 60
        """,
    )
    proc = start(tmux_server, file)
    eventually((tmp_path / "began").exists, what="late running")
    proc.kill()
    proc.wait()
    go.touch()
    results = tmp_path / ".tmuxorch" / "runs"
    eventually(lambda: list(results.glob("*/results/late.json")), what="the result written")
    again = run(tmux_server, file, timeout=120)
    assert again.returncode == 0, again.stdout
    assert "late: adopted" in again.stdout
    assert states(file) == {"late": "succeeded"}


def test_idle_for_a_plain_command_means_it_printed_nothing_for_that_long(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: server, command: 'echo listening; sleep 300', done_when: {idle: 1}, timeout: 60}
          - {id: chatty, command: 'for i in 1 2 3 4 5 6; do echo $i; sleep 0.4; done; sleep 300',
             done_when: {idle: 1}, timeout: 60}
        """,
    )
    result = run(tmux_server, file, timeout=120)
    assert result.returncode == 0, result.stdout
    assert states(file) == {"server": "succeeded", "chatty": "succeeded"}
    transcript = (tmp_path / ".tmuxorch" / "transcripts").glob("*/chatty.1.txt")
    assert "6" in next(transcript).read_text().split()  # quiet only after its last line


def test_a_prompt_never_typed_is_a_failure_not_a_success(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        """
        agents:
          shy: {preset: demo, prompt: type, ready: "NEVER-ON-SCREEN", ready_timeout: 2}
        tasks:
          - {id: t, agent: shy, prompt: "plan the login feature"}
        """,
    )
    result = run(tmux_server, file, timeout=120)
    assert result.returncode == 1, result.stdout
    assert states(file) == {"t": "failed"}
    assert "its prompt was never typed: /NEVER-ON-SCREEN/ did not show within 2s" in result.stdout


def test_two_projects_with_the_same_file_name_never_touch_each_others_panes(
    tmux_server: Server, tmp_path: Path
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    gate, flag = tmp_path / "GATE", tmp_path / "FLAG"
    first = tasks_file(
        tmp_path / "one",
        f"tasks: [{{id: quick, command: 'while [ ! -e {gate} ]; do sleep 0.05; done'}}]\n",
    )
    second = tasks_file(
        tmp_path / "two",
        f"tasks: [{{id: slow, command: 'while [ ! -e {flag} ]; do sleep 0.05; done'}}]\n",
    )
    one = start(tmux_server, first)  # makes its session
    eventually(lambda: states(first).get("quick") == "running", what="quick running")
    two = start(tmux_server, second)
    eventually(lambda: states(second).get("slow") == "running", what="slow running")
    gate.touch()
    one.wait(timeout=60)  # ends, and closes the session it made
    assert one.returncode == 0
    assert states(second) == {"slow": "running"}  # untouched
    flag.touch()
    two.wait(timeout=60)
    assert two.returncode == 0, two.stdout.read() if two.stdout else ""
    assert states(second) == {"slow": "succeeded"}


def test_a_session_named_by_another_runs_file_is_refused(
    tmux_server: Server, tmp_path: Path
) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    flag = tmp_path / "FLAG"
    wait = f"while [ ! -e {flag} ]; do sleep 0.05; done"
    mine = tasks_file(
        tmp_path / "one", f"session_name: shared\ntasks: [{{id: a, command: '{wait}'}}]\n"
    )
    theirs = tasks_file(
        tmp_path / "two", "session_name: shared\ntasks: [{id: b, command: 'true'}]\n"
    )
    proc = start(tmux_server, mine)
    eventually(lambda: states(mine).get("a") == "running", what="a running")
    refused = run(tmux_server, theirs)
    assert refused.returncode == 1
    assert f"session 'shared' belongs to the run of {mine}" in refused.stderr
    assert states(theirs) == {}  # nothing started, nothing recorded
    flag.touch()
    proc.wait(timeout=60)
    assert proc.returncode == 0 and states(mine) == {"a": "succeeded"}


def status_json(file: str) -> dict[str, object]:
    out = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_an_interrupted_or_dead_run_does_not_look_alive(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: bad, command: 'exit 3'}}
          - {{id: long, command: 'touch {tmp_path}/began; sleep 300'}}
        """,
    )
    proc = start(tmux_server, file)
    eventually((tmp_path / "began").exists, what="long running")
    eventually(lambda: states(file).get("bad") == "failed", what="bad failed")
    proc.kill()  # kill -9: its agents live on, and status says who looks after them
    proc.wait()
    report = status_json(file)
    assert report["state"] == "running" and report["supervised"] is False
    human = subprocess.run(
        tmuxorch_argv("status", "--file", file), capture_output=True, text=True
    ).stdout
    again = f"tmuxorch run -L {tmux_server.name} {file}"  # on its server, where its agents are
    assert f"its supervisor is not running: '{again}' adopts the agents" in human
    tasks = {t["task"]: t for t in report["tasks"]}  # type: ignore[attr-defined]
    assert tasks["bad"]["pane"] is None  # its pane is gone: none to show
    proc = start(tmux_server, file)  # adopts long; then SIGTERM stops it
    eventually(lambda: "adopted" in "".join(_events(file)), what="adopted")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    report = status_json(file)
    assert report["state"] == "interrupted" and report["supervised"] is False
    tasks = {t["task"]: t for t in report["tasks"]}  # type: ignore[attr-defined]
    assert tasks["long"]["state"] == "pending"
    assert tasks["long"]["pane"] is None and tasks["long"]["runtime"] is None


def _events(file: str) -> list[str]:
    from tmuxorch.run.store import Store, state_dir

    store = Store(state_dir(file))
    try:
        run_id = store.runs(file)[0].id
        return [kind for _, _, _, kind, _ in store.events(run_id)]
    finally:
        store.close()


def test_the_run_outlives_its_stdout(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: a, command: 'sleep 0.3'}
          - {id: b, command: 'sleep 0.3', depends_on: [a]}
          - {id: c, command: 'sleep 0.3', depends_on: [b]}
        """,
    )
    command = shlex.join(tmuxorch_argv("run", "-L", tmux_server.name, file))
    piped = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {command} | head -1"],
        env=tmux_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0, piped.stderr  # the supervisor's own status
    assert len(piped.stdout.splitlines()) == 1
    assert states(file) == dict.fromkeys("abc", "succeeded")
    assert tmux_panes.task_panes(tmux_server.client) == []  # nothing left behind


def _sessions_left(server: Server) -> list[str]:
    return [s for s in server.sessions() if s.startswith("tmuxorch-")]


def test_a_resumed_run_closes_the_session_its_crashed_supervisor_made(
    tmux_server: Server, tmp_path: Path
) -> None:
    flag = tmp_path / "FLAG"
    file = tasks_file(
        tmp_path,
        f"tasks: [{{id: t, command: 'touch {tmp_path}/began; while [ ! -e {flag} ]; do sleep 0.05; done'}}]\n",
    )
    proc = start(tmux_server, file)
    eventually((tmp_path / "began").exists, what="t running")
    proc.kill()
    proc.wait()
    assert _sessions_left(tmux_server)  # the crash left its session (and agents) behind
    flag.touch()
    again = run(tmux_server, file, timeout=120)
    assert again.returncode == 0, again.stdout
    assert _sessions_left(tmux_server) == []  # what the run owned is gone with it


def test_stop_all_without_a_supervisor_ends_the_run_and_its_session(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        f"tasks:\n  - {{id: t, command: 'touch {tmp_path}/began; sleep 300'}}\n"
        "  - {id: later, command: 'true', depends_on: [t]}\n",
    )
    proc = start(tmux_server, file)
    eventually((tmp_path / "began").exists, what="t running")
    proc.kill()
    proc.wait()
    stopped = subprocess.run(
        tmuxorch_argv("stop", "--all", "-L", tmux_server.name, "--file", file),
        capture_output=True,
        text=True,
        env=tmux_env(),
    )
    assert stopped.returncode == 0, stopped.stderr
    assert states(file) == {"t": "stopped", "later": "stopped"}
    assert status_json(file)["state"] == "stopped"
    assert _sessions_left(tmux_server) == []
    assert tmux_panes.task_panes(tmux_server.client) == []


def test_down_ends_a_live_run_its_agents_and_its_session(
    tmux_server: Server, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    file = tasks_file(tmp_path, f"tasks: [{{id: t, command: 'echo $$ > {pid_file}; sleep 300'}}]\n")
    proc = start(tmux_server, file)
    eventually(lambda: pid_file.exists() and pid_file.read_text().strip(), what="t running")
    agent = int(pid_file.read_text())
    down = subprocess.run(
        tmuxorch_argv("down", "-L", tmux_server.name, "--file", file),
        capture_output=True,
        text=True,
        env=tmux_env(),
        timeout=120,
    )
    assert down.returncode == 0, down.stderr
    assert proc.wait(timeout=30) == 1  # the supervisor was asked to stop, and did
    assert not proctree.alive(agent)
    assert _sessions_left(tmux_server) == []
    assert status_json(file)["state"] == "down"


def test_status_follow_ends_when_the_run_does(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(tmp_path, "tasks: [{id: t, command: 'sleep 1'}]\n")
    proc = start(tmux_server, file, "--keep")  # its session stays: so does a status window
    eventually(lambda: states(file).get("t") == "running", what="t running")
    follow = subprocess.Popen(
        tmuxorch_argv("status", "--follow", "-L", tmux_server.name, "--file", file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=tmux_env(),
    )
    assert proc.wait(timeout=60) == 0
    assert follow.wait(timeout=30) == 0


def test_zero_tasks_is_bad_input_not_a_success(idle_server: Server, tmp_path: Path) -> None:
    empty = tmp_path / "tasks"
    empty.mkdir()
    for command in ("validate", "run"):
        argv = [command, str(empty)] + (["-L", idle_server.name] if command == "run" else [])
        result = subprocess.run(
            tmuxorch_argv(*argv), capture_output=True, text=True, env=tmux_env()
        )
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"{empty}:1:1: tasks: {empty} holds no task files" in result.stderr
    assert not idle_server.running()  # nothing was started


def test_an_agent_that_is_not_installed_is_said_up_front_and_never_retried(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        """
        agents:
          coder: {preset: claude, program: /nowhere/claude}
        tasks:
          - {id: t, agent: coder, prompt: "do it", retries: 2, retry_delay: 0.1}
          - {id: ok, command: 'true'}
        """,
    )
    checked = subprocess.run(tmuxorch_argv("validate", file), capture_output=True, text=True)
    assert checked.returncode == 0
    install = "(install: npm install -g @anthropic-ai/claude-code)"
    assert f"warning: tasks[0]: /nowhere/claude: not found {install}" in checked.stderr
    result = run(tmux_server, file)
    assert result.returncode == 1
    assert f"t: failed [not_installed] (/nowhere/claude: not found {install})" in result.stdout
    assert "resuming" not in result.stdout and "retrying" not in result.stdout
    assert states(file) == {"t": "failed", "ok": "succeeded"}


def test_a_command_that_is_not_found_is_not_retried(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        "tasks: [{id: t, command: 'no-such-program-here', retries: 3, retry_delay: 0.1}]\n",
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    assert "t: failed [not_installed] (exit status 127 (a program it runs was not found))" in (
        result.stdout
    )
    assert "retrying" not in result.stdout


def test_without_a_file_the_live_run_near_you_wins_over_an_old_state_folder_above(
    tmux_server: Server, tmp_path: Path
) -> None:
    old = tasks_file(tmp_path, "tasks: [{id: old, command: 'true'}]\n", name="old.yaml")
    assert run(tmux_server, old).returncode == 0  # leaves tmp_path/.tmuxorch behind
    clone = tmp_path / "clone"
    (clone / "layouts").mkdir(parents=True)
    file = tasks_file(
        clone / "layouts", "tasks: [{id: plan, command: 'echo planned; sleep 300'}]\n", "demo.yaml"
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("plan") == "running", what="plan running")

    def here(*args: str) -> subprocess.CompletedProcess[str]:
        argv = tmuxorch_argv(*args, "-L", tmux_server.name)
        return subprocess.run(argv, cwd=clone, env=tmux_env(), capture_output=True, text=True)

    status = here("status", "--json")
    assert status.returncode == 0, status.stderr
    assert [t["task"] for t in json.loads(status.stdout)["tasks"]] == ["plan"]
    eventually(lambda: here("logs", "plan").stdout == "planned\n", what="its log")
    assert here("stop", "--all").returncode == 0
    proc.wait(timeout=60)


BYTES = r"""
import os, sys, tty
tty.setraw(0)
log = open(sys.argv[1], "ab", buffering=0)
open(sys.argv[1] + ".ready", "w").close()
while True:
    log.write(os.read(0, 4096))
"""


def _byte_logger(server: Server, tmp_path: Path) -> tuple[str, Path]:
    script, log = tmp_path / "bytes.py", tmp_path / "bytes.log"
    script.write_text(BYTES)
    log.write_bytes(b"")
    c = server.client
    c.cmd("new-session", "-d", "-s", "keys", "-x", "120", "-y", "30")
    pane = c.cmd(
        "new-window",
        "-d",
        "-t",
        "=keys:",
        "-P",
        "-F",
        "#{pane_id}",
        "--",
        sys.executable,
        str(script),
        str(log),
    )[0]
    eventually(Path(f"{log}.ready").exists, what="the logger in raw mode")
    return pane, log


def test_send_keys_alone_press_only_those_keys(tmux_server: Server, tmp_path: Path) -> None:
    pane, log = _byte_logger(tmux_server, tmp_path)
    send = tmuxorch_argv("send", "-L", tmux_server.name)
    done = subprocess.run([*send, "--key", "Up", pane], env=tmux_env(), capture_output=True)
    assert done.returncode == 0, done.stderr
    eventually(lambda: log.read_bytes(), what="Up arrived")
    time.sleep(0.3)  # what would follow (an Enter) has time to arrive
    assert log.read_bytes() == b"\x1b[A"  # Up, and no Enter: that would resubmit a prompt
    done = subprocess.run([*send, pane, "hi"], env=tmux_env(), capture_output=True)
    assert done.returncode == 0
    eventually(lambda: log.read_bytes().endswith(b"hi\r"), what="text, then Enter")


def test_send_refuses_an_unknown_key_and_option_looking_text(
    tmux_server: Server, tmp_path: Path
) -> None:
    pane, log = _byte_logger(tmux_server, tmp_path)
    send = tmuxorch_argv("send", "-L", tmux_server.name)
    unknown = subprocess.run(
        [*send, "--key", "Esc", pane], env=tmux_env(), capture_output=True, text=True
    )
    assert unknown.returncode == 2
    assert "unknown key 'Esc'" in unknown.stderr and "Escape" in unknown.stderr
    looks = subprocess.run([*send, pane, "--all"], env=tmux_env(), capture_output=True, text=True)
    assert looks.returncode == 2 and "options go before it" in looks.stderr
    time.sleep(0.3)
    assert log.read_bytes() == b""  # neither typed anything anywhere
    meant = subprocess.run([*send, pane, "--", "--all"], env=tmux_env(), capture_output=True)
    assert meant.returncode == 0
    eventually(lambda: log.read_bytes() == b"--all\r", what="the text, on purpose")


def test_people_are_told_of_failures_and_the_end_never_of_dialogs_tmuxorch_answers(
    tmux_server: Server, tmp_path: Path
) -> None:
    from tests.test_workflows import demo_agents

    told = tmp_path / "told.jsonl"
    (tmp_path / "a").mkdir()
    file = tasks_file(
        tmp_path,
        f'notify: \'line=$(cat); printf "%s\\n" "$line" >> {told}\'\n'
        + demo_agents(tmp_path)
        + textwrap.dedent(
            """
            tasks:
              - {id: trusting, agent: d, prompt: "@trust\\nwork", cwd: a}
              - {id: bad, command: 'echo broke; exit 4'}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 1, result.stdout
    assert "trusting: answered its trust dialog" in result.stdout

    def events() -> list[dict[str, object]]:
        return [json.loads(line) for line in told.read_text().splitlines() if line.strip()]

    eventually(lambda: told.exists() and len(events()) >= 2, what="two notifications")
    said = {(e["event"], e["task"]) for e in events()}
    assert said == {("failed", "bad"), ("run_finished", None)}  # no waiting_input: answered
    failed = next(e for e in events() if e["event"] == "failed")
    assert failed["reason"] == "exit status 4" and failed["exit_code"] == 4
    finished = next(e for e in events() if e["event"] == "run_finished")
    assert finished["ok"] is False and "1 failed" in str(finished["summary"])


def _validate(*paths: str) -> subprocess.CompletedProcess[str]:
    """``tmuxorch validate`` (a deadline so that a hang fails the test rather than CI)."""
    return subprocess.run(
        tmuxorch_argv("validate", *paths), capture_output=True, text=True, timeout=60
    )


def test_hostile_files_are_bad_input_quickly(tmp_path: Path) -> None:
    bomb = ["session_name: s", "windows:", "  - &a0 {window_name: w}"]
    bomb += [f"  - &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 40)]
    (tmp_path / "bomb.yaml").write_text("\n".join(bomb) + "\n")  # 2**39 merges if expanded
    assert _validate(str(tmp_path / "bomb.yaml")).returncode == 0  # read once each: fine
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path in (str(fifo), "/dev/zero"):
        result = _validate(path)
        assert result.returncode == 2, (path, result.stderr)
        assert f"{path}:1:1: (file): not a regular file" in result.stderr
        assert "Traceback" not in result.stderr


def test_durations_must_be_finite_and_not_negative(tmp_path: Path) -> None:
    lines = ["tasks:"] + [
        f"  - {{id: t{i}, command: x, timeout: {value}}}"
        for i, value in enumerate(("nan", "inf", "-3", "1e400", ".inf"))
    ]
    file = tasks_file(tmp_path, "\n".join(lines) + "\n")
    result = _validate(file)
    assert result.returncode == 2
    for i, value in enumerate(("nan", "inf", "-3", "1e400", ".inf")):
        assert f"{file}:{i + 2}:" in result.stderr and f"not a duration: '{value}'" in result.stderr
    layout = tmp_path / "layout.yaml"
    layout.write_text(
        "session_name: s\nwindows:\n  - panes: [{shell_command: x, sleep_before: .nan}]\n"
    )
    result = _validate(str(layout))
    assert result.returncode == 2 and "expected a finite number, got .nan" in result.stderr


def test_links_planted_in_the_state_folder_are_never_written_through(
    tmux_server: Server, tmp_path: Path
) -> None:
    from tmuxorch.run.opening import lock_path

    file = tasks_file(tmp_path, "tasks: [{id: t, command: 'true'}]\n")
    state = tmp_path / ".tmuxorch"
    state.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    os.symlink(precious, lock_path(file))
    os.symlink(tmp_path / "created-by-the-link", state / ".gitignore")  # dangling
    refused = run(tmux_server, file)
    assert refused.returncode == 1
    assert "is a symbolic link: refusing" in refused.stderr and "Traceback" not in refused.stderr
    assert precious.read_text() == "keep me\n"  # not truncated, not overwritten
    assert not (tmp_path / "created-by-the-link").exists()
    os.unlink(lock_path(file))
    os.symlink(precious, state / "events.jsonl")
    refused = run(tmux_server, file)
    assert refused.returncode == 1 and "events.jsonl is a symbolic link" in refused.stderr
    assert precious.read_text() == "keep me\n"
    assert states(file) == {}  # refused before anything started


def test_state_is_private(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(tmp_path, "tasks: [{id: t, command: 'echo secret'}]\n")
    os.umask(0o022)
    assert run(tmux_server, file).returncode == 0
    state = tmp_path / ".tmuxorch"
    folders = [state, *(p for p in state.rglob("*") if p.is_dir())]
    files = [p for p in state.rglob("*") if p.is_file()]
    assert {oct(p.stat().st_mode & 0o777) for p in folders} == {"0o700"}
    mine = [p for p in files if p.parent.name != "exits"]  # the wrapper's own, in 0700
    assert {p.name for p in mine} >= {"state.db", "events.jsonl", "t.1.txt", ".gitignore"}
    assert {oct(p.stat().st_mode & 0o777) for p in mine} == {"0o600"}, [
        (p, oct(p.stat().st_mode)) for p in mine
    ]


def test_send_refuses_a_lock_folder_someone_else_made_or_linked(
    tmux_server: Server, tmp_path: Path
) -> None:
    pane, log = _byte_logger(tmux_server, tmp_path)
    shared = tmp_path / "shared-tmp"
    shared.mkdir()
    theirs = shared / f"tmuxorch-{os.getuid()}"
    os.symlink(tmp_path, theirs)
    env = {**tmux_env(), "TMPDIR": str(shared)}
    send = tmuxorch_argv("send", "-L", tmux_server.name, "--key", "C-c", pane)
    linked = subprocess.run(send, env=env, capture_output=True, text=True)
    assert linked.returncode == 1 and "is a symbolic link" in linked.stderr
    os.unlink(theirs)
    theirs.mkdir()
    os.chown(theirs, 65534, 65534)  # another user's
    taken = subprocess.run(send, env=env, capture_output=True, text=True)
    assert taken.returncode == 1 and "belongs to another user" in taken.stderr
    assert log.read_bytes() == b""  # nothing was sent through either


ESCAPE = """#!/bin/sh
# a double fork with a cleared environment, deaf to TERM and HUP: neither a descendant of
# the pane any more, nor marked with the attempt's id
env -i /bin/sh -c '(trap "" TERM HUP; exec /bin/sh -c "echo \\$\\$ > '"$1"'; exec sleep 1000") &'
"""


def test_processes_that_escape_the_tree_are_stopped_with_their_attempt(
    tmux_server: Server, tmp_path: Path
) -> None:
    script = tmp_path / "escape.sh"
    script.write_text(ESCAPE)
    pids = {name: tmp_path / f"{name}.pid" for name in ("timed", "stopped", "signalled")}
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: timed, command: 'sh {script} {pids["timed"]}; sleep 300', timeout: 1}}
          - {{id: stopped, command: 'sh {script} {pids["stopped"]}; sleep 300'}}
          - {{id: signalled, command: 'sh {script} {pids["signalled"]}; sleep 300'}}
        """,
    )
    proc = start(tmux_server, file)

    def written(path: Path) -> str | None:
        return path.read_text().strip() if path.exists() else None

    for path in pids.values():
        eventually(partial(written, path), what=path.name)
    escaped = {name: int(path.read_text()) for name, path in pids.items()}
    try:
        assert all(proctree.alive(pid) for pid in escaped.values())
        eventually(lambda: states(file).get("timed") == "failed", what="timed out")
        eventually(lambda: not proctree.alive(escaped["timed"]), what="its escapee stopped")
        stopped = subprocess.run(
            tmuxorch_argv("stop", "stopped", "--file", file), capture_output=True, text=True
        )
        assert stopped.returncode == 0, stopped.stderr
        eventually(lambda: not proctree.alive(escaped["stopped"]), what="stop's escapee")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        assert not proctree.alive(escaped["signalled"])  # gone before the supervisor was
    finally:  # what this test started, by pid, whatever happened
        for pid in escaped.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def _control_clients_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        parent = int(stat[stat.rfind(")") + 2 :].split()[1])
        if parent == pid and b"-C" in argv and b"attach-session" in argv:
            found.append(int(entry.name))
    return found


def test_a_killed_supervisors_control_client_dies_with_it(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(tmp_path, "tasks: [{id: t, command: 'echo hi; sleep 300'}]\n")
    proc = start(tmux_server, file)
    clients = eventually(lambda: _control_clients_of(proc.pid), what="its control client")
    try:
        for pid in clients:  # a client that would not notice its reader is gone (for now)
            os.kill(pid, signal.SIGSTOP)
        proc.kill()
        proc.wait()
        eventually(lambda: not any(proctree.alive(p) for p in clients), what="it died too")
        assert "tmuxorch-tasks" in " ".join(tmux_server.sessions())  # the server answers
    finally:
        for pid in clients:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


SLOW_TMUX = """#!/bin/sh
# tmux, slow to make panes (a loaded machine): the supervisor may die meanwhile
case "$*" in *new-window*|*split-window*) sleep 1 ;; esac
exec {tmux} "$@"
"""


def test_a_supervisor_restarted_while_tmux_makes_a_pane_never_runs_the_task_twice(
    tmux_server: Server, tmp_path: Path
) -> None:
    import shutil

    slow = tmp_path / "bin"
    slow.mkdir()
    (slow / "tmux").write_text(SLOW_TMUX.format(tmux=shutil.which("tmux")))
    (slow / "tmux").chmod(0o755)
    log = tmp_path / "ran"
    file = tasks_file(tmp_path, f"tasks: [{{id: once, command: 'echo ran >> {log}; sleep 1'}}]\n")
    env = tmux_env(PATH=f"{slow}:{os.environ['PATH']}")
    argv = tmuxorch_argv("run", "-L", tmux_server.name, file)
    first = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = tmux_server.name.encode()

    def making() -> list[int]:  # its tmux command making the pane, still on its way
        found = []
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError):
                line = (entry / "cmdline").read_bytes()
                if b"tmuxorch-task:" in line and server in line and b"new-window" in line:
                    found.append(int(entry.name))
        return found

    eventually(making, what="the pane being made")
    first.kill()  # while its tmux is still making the pane
    first.wait()
    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 0, second.stdout + second.stderr
    time.sleep(1.5)  # a second attempt, had one been started, has logged by now
    assert log.read_text() == "ran\n"
    assert "once: adopted" in second.stdout


def test_transcripts_are_whole_under_load_and_end_with_the_last_line(
    tmux_server: Server, tmp_path: Path
) -> None:
    count = 30_000
    lines = ["tasks:"] + [
        f"  - {{id: t{i}, command: 'seq 1 {count}; printf \"the end of t{i}\"'}}" for i in range(6)
    ]
    file = tasks_file(tmp_path, "\n".join(lines) + "\n")
    result = run(tmux_server, file, timeout=300)
    assert result.returncode == 0, result.stdout
    expected = "".join(f"{n}\n" for n in range(1, count + 1))
    for i in range(6):
        path = next((tmp_path / ".tmuxorch" / "transcripts").glob(f"*/t{i}.1.txt"))
        assert path.read_text() == expected + f"the end of t{i}", f"t{i} is not whole"


def test_plain_text_from_a_terminal_byte_stream() -> None:
    from tmuxorch.bridge.plain import text

    assert text(b"one\r\ntwo\r\n") == "one\ntwo\n"
    assert text(b"\x1b[1;32mgreen\x1b[0m done\r\n") == "green done\n"  # colours dropped
    assert text(b"10%\r50%\r100%\r\n") == "100%\n"  # a progress line ends as its last state
    assert text(b"long progress\r\x1b[Kshort\r\n") == "short\n"  # erased, then rewritten
    assert text(b"ab\x08c\r\n") == "ac\n"
    assert text(b"\x1b]0;a title\x07tail") == "tail"
    assert text(b"\x1b[?1049hfull screen\x1b[?1049l") is None  # a screen: read off screens
    assert text(b"spinner\x1b[1Aup") is None


def test_watch_reads_a_plain_pane_that_prints_and_exits_at_once(
    tmux_server: Server, tmp_path: Path
) -> None:
    """A pane tmux closes as soon as its program exits (remain-on-exit off, tmux's default)
    is kept until the viewer has read it, then closed as tmux would have: watch printed
    only ``[pane closed]`` 14 times in 15."""
    c = tmux_server.client
    for i in range(3):
        gate = tmp_path / f"go{i}"
        program = f"while [ ! -e {gate} ]; do sleep 0.02; done; echo hello {i}; echo world {i}"
        (pane,) = c.cmd(
            "new-session", "-d", "-s", f"plain{i}", "-x", "220", "-y", "50",
            "-P", "-F", "#{pane_id}", "--", "sh", "-c", program,
        )  # fmt: skip
        viewer = subprocess.Popen(
            tmuxorch_argv("watch", "-L", tmux_server.name, pane),
            env=tmux_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        eventually(partial(_held, tmux_server, pane), what="the viewer holds the pane")
        gate.touch()  # it prints and exits at once
        out, err = viewer.communicate(timeout=60)
        assert viewer.returncode == 0, err
        # tmux 3.3a loses a share of exit statuses (FACTS): then the end has no status
        assert out.splitlines()[:2] == [f"hello {i}", f"world {i}"]
        assert out.splitlines()[2:] in (["[exited with status 0]"], ["[exited]"])
        assert f"plain{i}" not in tmux_server.sessions()  # closed, as tmux would have


def _held(server: Server, pane: str) -> bool:
    return server.client.cmd("display-message", "-p", "-t", pane, "#{remain-on-exit}") == ["on"]


def _attached(server: Server, pid: int) -> bool:
    """A tmux client of ``server`` is a child of ``pid`` (its poller's control client)."""
    try:
        clients = server.client.cmd("list-clients", "-F", "#{client_pid}")
    except Exception:
        return False
    for client in clients:
        try:
            stat = Path(f"/proc/{client}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == pid:
            return True
    return False


def test_watch_keeps_a_plain_pane_only_while_someone_watches(tmux_server: Server) -> None:
    """A viewer that goes away while the program runs gives the pane back as it was."""
    c = tmux_server.client
    (pane,) = c.cmd(
        "new-session", "-d", "-s", "plain", "-x", "220", "-y", "50",
        "-P", "-F", "#{pane_id}", "--", "sh", "-c", "read go; echo done",
    )  # fmt: skip
    viewer = subprocess.Popen(
        tmuxorch_argv("watch", "-L", tmux_server.name, pane), env=tmux_env(), text=True
    )
    eventually(
        lambda: c.cmd("display-message", "-p", "-t", pane, "#{remain-on-exit}") == ["on"],
        what="the pane held",
    )
    viewer.send_signal(signal.SIGINT)
    viewer.wait(timeout=30)
    assert c.cmd("display-message", "-p", "-t", pane, "#{remain-on-exit}") == ["off"]
    c.cmd("send-keys", "-t", pane, "go", "Enter")
    eventually(lambda: "plain" not in tmux_server.sessions(), what="closed by tmux")


def test_watch_a_task_from_the_instant_its_run_starts_through_its_retries(
    tmux_server: Server, tmp_path: Path
) -> None:
    """Started in the same instant as ``run``, ``watch TASK`` waits for it (it exited 2, "no
    pane") and prints every attempt's output (attempt 1's was never printed), never tmux's
    ``Pane is dead`` banner as if the program had written it. Attempt 1 waits until the
    viewer looks at its pane; the retries come and go at once."""
    gate = tmp_path / "go"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: flaky
            command: 'while [ ! -e {gate} ]; do sleep 0.02; done; echo "try $TMUXORCH_ATTEMPT"; echo second line; exit 1'
            retries: 2
            retry_delay: 0.2s
        """,
    )
    for n in range(2):
        gate.unlink(missing_ok=True)
        viewer = subprocess.Popen(
            tmuxorch_argv("watch", "-L", tmux_server.name, "flaky"),
            env=tmux_env(),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        proc = start(tmux_server, file, *(["--new"] if n else []))
        looking = partial(_attached, tmux_server, viewer.pid)
        eventually(looking, what="the viewer looks", timeout=60)
        gate.touch()
        out, err = viewer.communicate(timeout=120)
        proc.communicate(timeout=120)
        assert viewer.returncode == 0, err
        lines = out.splitlines()
        assert [ln for ln in lines if ln.startswith("try")] == ["try 1", "try 2", "try 3"], out
        assert lines.count("second line") == 3
        assert "Pane is dead" not in out


def test_a_run_is_resumed_only_on_the_tmux_server_its_agents_are_on(
    tmux_server: Server, idle_server: Server, tmp_path: Path
) -> None:
    """Its supervisor killed, a run's agents go on; resumed on another tmux server it would
    find none of them, call them lost and stop their processes. It says where to resume it
    (as ``status`` does), and nothing is touched."""
    log = tmp_path / "log"
    file = tasks_file(tmp_path, f"tasks: [{{id: w, command: 'echo ran >> {log}; sleep 300'}}]\n")
    first = start(tmux_server, file)
    eventually(lambda: log.exists() and states(file).get("w") == "running", what="running")
    first.kill()
    first.wait(timeout=30)
    again = f"'tmuxorch run -L {tmux_server.name} {file}'"
    status = subprocess.run(
        tmuxorch_argv("status", "-f", file), env=tmux_env(), capture_output=True, text=True
    )
    assert again in status.stdout, status.stdout  # the hint names the server
    elsewhere = run(idle_server, file)
    assert elsewhere.returncode == 2, elsewhere.stdout + elsewhere.stderr
    assert f"resume it there with {again}" in elsewhere.stderr, elsewhere.stderr
    panes = tmux_panes.task_panes(tmux_server.client)
    assert [(p.task, p.dead) for p in panes] == [("w", False)]  # it runs on, untouched
    assert log.read_text() == "ran\n"
    subprocess.run(tmuxorch_argv("down", "-f", file), env=tmux_env(), capture_output=True)
