"""Real runs: agents in real tmux panes, a real supervisor process, its SQLite store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import textwrap
import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tmuxorch.run import proctree
from tmuxorch.run.store import Store, state_dir

if TYPE_CHECKING:
    from pathlib import Path

STAMP = 'echo "$TMUXORCH_TASK {what} $(date +%s.%N)" >> {log}'


def tasks_file(tmp_path: Path, text: str, name: str = "tasks.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def timed(tmp_path: Path, seconds: float, extra: str = "") -> str:
    """A command that logs its start and end times around a sleep."""
    log = tmp_path / "log"
    start = STAMP.format(what="start", log=log)
    end = STAMP.format(what="end", log=log)
    return f"{start}; sleep {seconds}; {extra}{end}"


def intervals(tmp_path: Path) -> dict[str, tuple[float, float]]:
    spans: dict[str, list[float]] = {}
    for line in (tmp_path / "log").read_text().splitlines():
        task, what, stamp = line.split()
        spans.setdefault(task, [0.0, 0.0])[0 if what == "start" else 1] = float(stamp)
    return {t: (a, b) for t, (a, b) in spans.items()}


def most_at_once(spans: dict[str, tuple[float, float]]) -> int:
    points = sorted([(a, 1) for a, _ in spans.values()] + [(b, -1) for _, b in spans.values()])
    current = peak = 0
    for _, step in points:
        current += step
        peak = max(peak, current)
    return peak


def run(
    server: Server, file: str, *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv("run", "-L", server.name, file, *args),
        env=tmux_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def start(server: Server, file: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        tmuxorch_argv("run", "-L", server.name, file, *args),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def states(file: str) -> dict[str, str]:
    store = Store(state_dir(file))
    try:
        runs = store.runs(file)
        return {t: row.state for t, row in store.tasks(runs[0].id).items()} if runs else {}
    finally:
        store.close()


def attempts(file: str) -> dict[str, int]:
    store = Store(state_dir(file))
    try:
        run_id = store.runs(file)[0].id
        counts: dict[str, int] = {}
        for a in store.attempts(run_id):
            counts[a.task] = counts.get(a.task, 0) + 1
        return counts
    finally:
        store.close()


def test_diamond_order(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: a, command: '{timed(tmp_path, 0.2)}'}}
          - {{id: b, command: '{timed(tmp_path, 0.3)}', depends_on: [a]}}
          - {{id: c, command: '{timed(tmp_path, 0.1)}', depends_on: [a]}}
          - {{id: d, command: '{timed(tmp_path, 0.1)}', depends_on: [b, c]}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout + result.stderr
    spans = intervals(tmp_path)
    assert spans["a"][1] <= spans["b"][0] and spans["a"][1] <= spans["c"][0]
    assert max(spans["b"][1], spans["c"][1]) <= spans["d"][0]
    assert states(file) == dict.fromkeys("abcd", "succeeded")


def test_concurrency_bound_is_never_exceeded(tmux_server: Server, tmp_path: Path) -> None:
    tasks = "\n".join(f"  - {{id: t{i}, command: '{timed(tmp_path, 0.6)}'}}" for i in range(6))
    file = tasks_file(tmp_path, f"max_parallel: 2\ntasks:\n{tasks}\n")
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout + result.stderr
    spans = intervals(tmp_path)
    assert len(spans) == 6
    assert most_at_once(spans) == 2


def test_tasks_sharing_a_lock_never_overlap(tmux_server: Server, tmp_path: Path) -> None:
    locked = "\n".join(
        f"  - {{id: l{i}, command: '{timed(tmp_path, 0.3)}', locks: [db]}}" for i in range(3)
    )
    file = tasks_file(tmp_path, f"tasks:\n{locked}\n  - {{id: free, command: 'sleep 0.5'}}\n")
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert most_at_once(intervals(tmp_path)) == 1


def test_failure_skips_dependents_and_siblings_finish(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: a, command: 'true'}
          - {id: b, command: 'echo broken; exit 7', depends_on: [a]}
          - {id: c, command: 'sleep 0.5', depends_on: [a]}
          - {id: d, command: 'true', depends_on: [b, c]}
          - {id: e, command: 'true', depends_on: [d]}
          - {id: other, command: 'sleep 0.3'}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    assert states(file) == {
        "a": "succeeded",
        "b": "failed",
        "c": "succeeded",
        "d": "skipped",
        "e": "skipped",
        "other": "succeeded",
    }
    status = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file),
        capture_output=True,
        text=True,
        check=True,
    )
    report = {t["task"]: t for t in json.loads(status.stdout)["tasks"]}
    assert report["b"]["exit_code"] == 7 and report["b"]["reason"] == "exit status 7"
    assert report["d"]["reason"] == "needs b, which failed"
    run_id = json.loads(status.stdout)["run"]
    with open(os.path.join(state_dir(file), "transcripts", run_id, "b.1.txt")) as handle:
        assert "broken" in handle.read()


def test_timeout_kills_the_whole_tree(tmux_server: Server, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    stubborn = 'trap "" TERM; sleep 300'
    command = (
        f"echo $$ >> {pids}; "
        f"sh -c '{stubborn}' & echo $! >> {pids}; "
        f"setsid sh -c '{stubborn}' & echo $! >> {pids}; "
        f"{stubborn}"
    )
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: slow
            command: {json.dumps(command)}
            timeout: 1s
          - {{id: after, command: 'true', depends_on: [slow]}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    recorded = [int(p) for p in pids.read_text().split()]
    assert len(recorded) == 3
    assert [p for p in recorded if proctree.alive(p)] == []
    assert states(file) == {"slow": "failed", "after": "skipped"}
    status = json.loads(
        subprocess.run(
            tmuxorch_argv("status", "--json", "--file", file), capture_output=True, text=True
        ).stdout
    )
    assert status["tasks"][0]["reason"] == "timed out after 1s"


def test_retries_make_the_right_number_of_attempts(tmux_server: Server, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    flaky = (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {counter}; [ $n -ge 3 ]"
    )
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: flaky, command: '{flaky}', retries: 2, retry_delay: 50ms}}
          - {{id: broken, command: 'exit 1', retries: 1, retry_delay: 50ms}}
          - {{id: fine, command: 'true', retries: 3}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    assert states(file) == {"flaky": "succeeded", "broken": "failed", "fine": "succeeded"}
    assert attempts(file) == {"flaky": 3, "broken": 2, "fine": 1}


def test_kill_9_then_resume_runs_every_task_exactly_once(
    tmux_server: Server, tmp_path: Path
) -> None:
    log = tmp_path / "log"
    release = tmp_path / "release"
    wait = f"while [ ! -e {release} ]; do sleep 0.05; done; "
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: long, command: '{timed(tmp_path, 0, wait)}'}}
          - {{id: short, command: '{timed(tmp_path, 0.2)}'}}
          - {{id: after-long, command: '{timed(tmp_path, 0.1)}', depends_on: [long]}}
          - {{id: after-short, command: '{timed(tmp_path, 0.5)}', depends_on: [short]}}
          - {{id: last, command: '{timed(tmp_path, 0.1)}', depends_on: [after-long, after-short]}}
        """,
    )
    first = start(tmux_server, file)
    eventually(
        lambda: log.exists() and "after-short start" in log.read_text(), what="after-short running"
    )
    first.kill()  # SIGKILL: no cleanup at all
    first.wait(timeout=30)
    assert states(file)["long"] == "running"
    # while no supervisor runs, "after-short" ends; its result waits in its exit file
    eventually(lambda: "after-short end" in log.read_text(), what="after-short finished")
    second = start(tmux_server, file)
    eventually(lambda: states(file).get("after-short") == "succeeded", what="recorded on return")
    release.touch()  # now "long" may end: under the second supervisor, which adopted it
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    assert "long: adopted" in out
    starts = [line.split()[0] for line in log.read_text().splitlines() if " start " in line]
    names = ["long", "short", "after-long", "after-short", "last"]
    assert sorted(starts) == sorted(names), (log.read_text(), out)
    assert states(file) == dict.fromkeys(names, "succeeded")
    assert attempts(file) == dict.fromkeys(names, 1)


def _marked(run_id: str) -> list[int]:
    """Processes carrying this run's marker in their environment."""
    token = f"TMUXORCH_RUN={run_id}".encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as handle:
                if token in handle.read().split(b"\0"):
                    found.append(int(name))
        except OSError:
            continue
    return found


def _children(pid: int) -> list[tuple[int, str]]:
    kids = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as handle:
                    rest = handle.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if int(rest[1]) == pid:
                kids.append((int(name), rest[0].decode()))
    return kids


def test_100_sequential_tasks_leave_nothing_behind(tmux_server: Server, tmp_path: Path) -> None:
    lines = ["tasks:", "  - {id: t0, command: 'true'}"]
    lines += [f"  - {{id: t{i}, command: 'true', depends_on: [t{i - 1}]}}" for i in range(1, 100)]
    file = tasks_file(tmp_path, "\n".join(lines) + "\n")
    server_pid = int(tmux_server.client.cmd("display-message", "-p", "#{pid}")[0])
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout[-2000:]
    assert set(states(file).values()) == {"succeeded"}
    assert tmux_server.sessions() == []  # the session run made is gone, with every pane
    run_id = Store(state_dir(file)).runs(file)[0].id
    assert _marked(run_id) == []
    assert _children(server_pid) == []  # no pane processes, no zombies


def test_sigterm_stops_agents_and_records_why(tmux_server: Server, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    file = tasks_file(tmp_path, f"tasks: [{{id: long, command: 'echo $$ > {pids}; sleep 300'}}]\n")
    proc = start(tmux_server, file)
    eventually(lambda: pids.exists() and pids.read_text().strip(), what="agent started")
    agent = int(pids.read_text())
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert "interrupted by SIGTERM" in out
    assert not proctree.alive(agent)
    store = Store(state_dir(file))
    run_row = store.runs(file)[0]
    assert (run_row.state, run_row.reason) == ("interrupted", "interrupted by SIGTERM")
    assert store.tasks(run_row.id)["long"].state == "pending"  # a later run does it again
    assert tmux_server.sessions() == []


def test_keep_leaves_agents_running_and_a_later_run_adopts_them(
    tmux_server: Server, tmp_path: Path
) -> None:
    flag = tmp_path / "go"
    file = tasks_file(
        tmp_path,
        f"tasks: [{{id: waits, command: 'while [ ! -e {flag} ]; do sleep 0.1; done; echo done'}}]\n",
    )
    proc = start(tmux_server, file, "--keep")
    eventually(lambda: states(file).get("waits") == "running", what="running")
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert len(tmux_server.client.cmd("list-panes", "-a", "-F", "#{@tmuxorch-task}")) >= 1
    flag.touch()
    again = run(tmux_server, file)
    assert again.returncode == 0, again.stdout + again.stderr
    assert attempts(file) == {"waits": 1}


@pytest.mark.parametrize(
    ("done_when", "command"),
    [
        ("{output: 'ready to serve'}", "echo booting; sleep 0.3; echo ready to serve; sleep 300"),
        ("{file: out/flag}", "sleep 0.3; mkdir -p out; touch out/flag; sleep 300"),
    ],
)
def test_done_when_without_exit(
    tmux_server: Server, tmp_path: Path, done_when: str, command: str
) -> None:
    pids = tmp_path / "pids"
    file = tasks_file(
        tmp_path,
        f"tasks: [{{id: svc, command: 'echo $$ > {pids}; {command}', done_when: {done_when}}}]\n",
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert states(file) == {"svc": "succeeded"}
    assert not proctree.alive(int(pids.read_text()))  # done: the process tree was stopped


def test_done_when_idle_needs_the_agent_to_show_it(tmux_server: Server, tmp_path: Path) -> None:
    """An interactive agent that finished its turn sits at its prompt: idle, so done. A plain
    command that only goes quiet is not idle (its screen says nothing): it would time out."""
    file = tasks_file(
        tmp_path,
        """
        agents:
          chat: {preset: demo, args: [--fast, --steps, "1"]}
        tasks:
          - {id: turn, agent: chat, prompt: "@interactive", done_when: {idle: 0.5}}
          - {id: quiet, command: 'echo working; sleep 300', done_when: idle, timeout: 3s}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    assert states(file) == {"turn": "succeeded", "quiet": "failed"}
    store = Store(state_dir(file))
    assert store.tasks(store.runs(file)[0].id)["quiet"].reason == "timed out after 3s"


def test_output_condition_never_met(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path, "tasks: [{id: t, command: 'echo nope', done_when: {output: yes}}]\n"
    )
    assert run(tmux_server, file).returncode == 1
    store = Store(state_dir(file))
    row = store.tasks(store.runs(file)[0].id)["t"]
    assert (row.state, row.reason) == ("failed", "exited (status 0) before printing /yes/")


def test_stop_and_retry_from_another_process(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: long, command: 'sleep 300'}
          - {id: after, command: 'true', depends_on: [long]}
          - {id: other, command: 'sleep 0.2'}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("long") == "running", what="running")
    stop = subprocess.run(
        tmuxorch_argv("stop", "long", "--file", file), capture_output=True, text=True
    )
    assert stop.returncode == 0, stop.stderr
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert states(file) == {"long": "stopped", "after": "skipped", "other": "succeeded"}
    # no supervisor now: retry resets the run, and running it again finishes only those
    retry = subprocess.run(
        tmuxorch_argv("retry", "after", "--file", file), capture_output=True, text=True
    )
    assert retry.returncode == 0 and "run them with" in retry.stderr
    unknown = subprocess.run(
        tmuxorch_argv("stop", "nope", "--file", file), capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "no task nope" in unknown.stderr
    del out


def test_layout_with_tasks_runs_the_scheduler_in_its_window(
    idle_server: Server, tmp_path: Path
) -> None:
    layout = tasks_file(
        tmp_path,
        """
        session_name: withtasks
        agents:
          quick: {preset: demo, args: [--fast, --steps, "1"]}
        tasks:
          - {id: write, agent: quick, prompt: "@write made/by-agent.md"}
          - {id: check, command: 'test -s made/by-agent.md', depends_on: [write]}
        """,
        "layout.yaml",
    )
    result = subprocess.run(
        tmuxorch_argv("layout", "-d", "-L", idle_server.name, layout),
        env=tmux_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert (
        idle_server.client.cmd("list-windows", "-t", "=withtasks", "-F", "#{window_name}")[0]
        == "tmuxorch"
    )
    eventually(lambda: states(layout) == {"write": "succeeded", "check": "succeeded"}, what="done")
    assert (tmp_path / "made" / "by-agent.md").read_text().startswith("# made/by-agent.md")
    screen = eventually(
        lambda: "\n".join(
            idle_server.client.cmd("capture-pane", "-p", "-t", "=withtasks:=tmuxorch")
        ),
    )
    eventually(
        lambda: (
            "finished: 2 succeeded"
            in "\n".join(idle_server.client.cmd("capture-pane", "-p", "-t", "=withtasks:=tmuxorch"))
        )
    )
    del screen


def test_an_agent_waits_for_an_answer(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        agents:
          quick: {preset: demo, args: [--fast]}
        tasks:
          - {id: ask, agent: quick, prompt: "@ask Ship it?\\n@exit 0"}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("ask") == "running", what="running")
    pane = eventually(
        lambda: next(
            iter(
                tmux_server.client.cmd(
                    "list-panes", "-a", "-f", "#{==:#{@tmuxorch-task},ask}", "-F", "#{pane_id}"
                )
            ),
            None,
        )
    )
    eventually(
        lambda: (
            "Ship it? (y/n)" in "\n".join(tmux_server.client.cmd("capture-pane", "-p", "-t", pane))
        )
    )
    tmux_server.client.run(
        [("send-keys", "-t", pane, "-l", "y"), ("send-keys", "-t", pane, "Enter")]
    )
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert states(file) == {"ask": "succeeded"}


def test_graph_command(tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: a, command: x, retries: 2}
          - {id: b, command: x, depends_on: [a], locks: [db], timeout: 45m}
        """,
    )
    out = subprocess.run(
        tmuxorch_argv("graph", file), capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [
        "level 0:",
        "  a (shell)  [retries 2]",
        "level 1:",
        "  b (shell)  ← a  [locks db; timeout 45m]",  # as written, not 2700s
        "2 task(s), at most 2 at once",
    ]


def test_bad_task_file_starts_nothing(idle_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        "tasks:\n  - {id: a, command: x, depends_on: [b]}\n  - {id: b, command: x, depends_on: [a]}\n",
    )
    result = run(idle_server, file)
    assert result.returncode == 2
    assert result.stderr == (
        f"{file}:2:10: tasks[0].depends_on: dependency cycle: a → b → a\n"
        "  hint: → reads 'depends on'; remove one of these dependencies\n"
    )
    assert not idle_server.running()
    assert not os.path.exists(state_dir(file))


def test_a_wide_round_and_a_directory_gone_missing(tmux_server: Server, tmp_path: Path) -> None:
    """30 tasks open in one round (several tmux messages); a task whose directory vanished
    after validation fails alone (tmux would have started it somewhere else)."""
    (tmp_path / "gone").mkdir()
    tasks = "\n".join(f"  - {{id: w{i}, command: 'sleep 0.5'}}" for i in range(30))
    lost = "  - {id: remover, command: 'rmdir gone'}\n"
    lost += "  - {id: lost, command: 'true', cwd: gone, depends_on: [remover]}\n"
    file = tasks_file(tmp_path, f"panes_per_window: 6\ntasks:\n{tasks}\n{lost}")
    result = run(tmux_server, file)
    assert result.returncode == 1
    final = states(file)
    assert final.pop("lost") == "failed"
    assert set(final.values()) == {"succeeded"} and len(final) == 31
    store = Store(state_dir(file))
    row = store.tasks(store.runs(file)[0].id)["lost"]
    assert row.reason == f"its working directory {tmp_path}/gone does not exist"


def test_stop_all(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: one, command: 'sleep 300'}
          - {id: two, command: 'sleep 300'}
          - {id: later, command: 'true', depends_on: [one]}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: list(states(file).values()).count("running") == 2, what="both running")
    stop = subprocess.run(
        tmuxorch_argv("stop", "--all", "-f", file), capture_output=True, text=True
    )
    assert stop.returncode == 0, stop.stderr
    proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert states(file) == {"one": "stopped", "two": "stopped", "later": "skipped"}


def test_attach_to_a_task(tmux_server: Server, tmp_path: Path) -> None:
    import pty
    import select

    file = tasks_file(
        tmp_path,
        "tasks: [{id: watched, command: 'sleep 300'}, {id: other, command: 'sleep 300'}]\n",
    )
    proc = start(tmux_server, file)
    eventually(lambda: set(states(file).values()) == {"running"}, what="running")
    store = Store(state_dir(file))
    pane = eventually(lambda: store.tasks(store.runs(file)[0].id)["watched"].pane, what="pane")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(
            tmuxorch_argv()[0],
            tmuxorch_argv("attach", "watched", "-f", file),
            tmux_env(TERM="xterm"),
        )

    def client_pane() -> str | None:
        while select.select([fd], [], [], 0)[0]:
            try:
                os.read(fd, 65536)
            except OSError:
                break
        rows = tmux_server.client.cmd("list-clients", "-F", "#{client_control_mode} #{pane_id}")
        people = [row.split()[1] for row in rows if row.startswith("0 ")]  # not control clients
        return people[0] if people else None

    try:
        assert eventually(client_pane, what="attached") == pane
    finally:
        subprocess.run(tmuxorch_argv("stop", "--all", "-f", file), capture_output=True)
        proc.communicate(timeout=60)
        tmux_server.client.run_each([("detach-client", "-a"), ("kill-server",)])
        os.waitpid(pid, 0)
        os.close(fd)


def test_resume_finds_a_pane_made_but_never_recorded(tmux_server: Server, tmp_path: Path) -> None:
    """The supervisor died after tmux made the pane but before it recorded or tagged it:
    the pane is found by the marker in its command and adopted, not run again."""
    release = tmp_path / "release"
    log = tmp_path / "log"
    file = tasks_file(
        tmp_path,
        f"tasks: [{{id: w, command: 'echo ran >> {log}; while [ ! -e {release} ]; do sleep 0.05; done'}}]\n",
    )
    first = start(tmux_server, file)
    eventually(lambda: log.exists(), what="running")
    first.kill()
    first.wait(timeout=30)
    store = Store(state_dir(file))
    store.db.execute("UPDATE attempts SET pane = NULL, pid = NULL")  # as if never recorded
    store.close()
    rows = tmux_server.client.cmd("list-panes", "-a", "-F", "#{pane_id} #{pane_start_command}")
    (pane,) = [row.split()[0] for row in rows if "tmuxorch-task:" in row]
    for option in ("@tmuxorch-run", "@tmuxorch-task", "@tmuxorch-attempt"):
        tmux_server.client.cmd("set-option", "-pu", "-t", pane, option)  # and never tagged
    second = start(tmux_server, file)
    eventually(
        lambda: states(file).get("w") == "running" and _tagged(tmux_server, pane), what="adopted"
    )
    release.touch()
    out, _ = second.communicate(timeout=60)
    assert second.returncode == 0, out
    assert log.read_text() == "ran\n"
    assert attempts(file) == {"w": 1}


def _tagged(server: Server, pane: str) -> bool:
    return server.client.cmd("display-message", "-p", "-t", pane, "#{@tmuxorch-task}") == ["w"]


def test_resume_undoes_an_attempt_whose_pane_was_never_made(
    tmux_server: Server, tmp_path: Path
) -> None:
    """Recorded, but the supervisor died before tmux made the pane: it never ran, so it runs
    now, as its first attempt (no retry was spent on our crash)."""
    log = tmp_path / "log"
    file = tasks_file(tmp_path, f"tasks: [{{id: once, command: 'echo ran >> {log}'}}]\n")
    store = Store(state_dir(file))
    store.new_run("r1", file, "tmuxorch-tasks", ("-L", tmux_server.name), ["once"])
    store.start_attempt("r1", "once", 1, None, None, time.time())  # the intent, no pane
    store.end_run("r1", "interrupted", "killed")
    store.close()
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "resuming run r1" in result.stdout
    assert log.read_text() == "ran\n"
    assert attempts(file) == {"once": 1}


def test_commands_find_the_run_from_its_session(tmux_server: Server, tmp_path: Path) -> None:
    """Away from the task file and its .tmuxorch, status/logs/stop find the run through the
    session the supervisor marked on the tmux server given with -L."""
    project = tmp_path / "project"
    project.mkdir()
    file = tasks_file(
        project,
        """
        tasks:
          - {id: talk, command: 'echo said-this; sleep 300'}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("talk") == "running", what="running")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def here(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            tmuxorch_argv(*args, "-L", tmux_server.name),
            cwd=elsewhere,
            env=tmux_env(),
            capture_output=True,
            text=True,
        )

    status = here("status", "--json")
    assert status.returncode == 0, status.stderr
    assert [t["task"] for t in json.loads(status.stdout)["tasks"]] == ["talk"]
    # still running: the log is the pane's output so far (nothing has scrolled to disk yet)
    eventually(lambda: here("logs", "talk").stdout == "said-this\n", what="log so far")
    assert here("stop", "talk").returncode == 0
    proc.communicate(timeout=60)
    assert states(file) == {"talk": "stopped"}
    tmux_server.client.cmd("kill-server")
    lost = here("status")
    assert lost.returncode != 0 and "give --file FILE" in lost.stderr


def test_a_finished_pane_closes_with_its_whole_transcript_while_the_run_goes_on(
    tmux_server: Server, tmp_path: Path
) -> None:
    flag = tmp_path / "flag"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: a, command: 'seq 1 300; echo last-of-a'}}
          - {{id: b, command: 'while [ ! -e {flag} ]; do sleep 0.1; done', depends_on: [a]}}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("b") == "running", what="b running")

    def a_pane_closed() -> bool:
        rows = tmux_server.client.cmd("list-panes", "-a", "-F", "#{@tmuxorch-task}")
        return "a" not in rows and "b" in rows

    eventually(a_pane_closed, what="a's pane closed, b's open")
    run_id = Store(state_dir(file)).runs(file)[0].id
    transcript = (tmp_path / ".tmuxorch" / "transcripts" / run_id / "a.1.txt").read_text()
    assert transcript.splitlines()[-301:] == [*map(str, range(1, 301)), "last-of-a"]
    flag.touch()
    proc.communicate(timeout=60)
    assert proc.returncode == 0


def test_a_session_closed_under_the_run(tmux_server: Server, tmp_path: Path) -> None:
    """Closing the session (even the server's last one) fails the attempts that ran in it;
    a retry makes the session again and the run goes on."""
    mark = tmp_path / "mark"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: long
            command: '[ -e {mark} ] || {{ touch {mark}; sleep 300; }}'
            retries: 1
            retry_delay: 50ms
          - {{id: after, depends_on: [long], command: 'true'}}
        """,
    )
    proc = start(tmux_server, file)
    eventually(mark.exists, what="the first attempt started")
    (session,) = eventually(tmux_server.sessions, what="the run's session")
    # once the run's control client is attached (the bridge follows the pane), as a person
    # closing the session would find it
    clients = ("list-clients", "-F", "#{client_control_mode} #{session_name}")
    eventually(lambda: f"1 {session}" in tmux_server.client.cmd(*clients), what="the run's watcher")
    tmux_server.client.cmd("kill-session", "-t", f"={session}")
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "long: its pane was closed [crashed]; retrying" in out
    assert f"session {session!r} is gone: making it again" in out
    assert states(file) == {"long": "succeeded", "after": "succeeded"}
    assert attempts(file) == {"long": 2, "after": 1}


def test_what_a_finished_task_left_running_is_stopped(tmux_server: Server, tmp_path: Path) -> None:
    """A task that ends leaving a detached child (``setsid``, SIGHUP ignored) behind: the
    child is stopped when the task ends, not left to outlive the run."""
    pidfile = tmp_path / "leftover.pid"
    (tmp_path / "leave.sh").write_text(
        f"setsid sh -c 'echo $$ > {pidfile}; trap \"\" HUP; exec sleep 300' &\n"
        f"while [ ! -s {pidfile} ]; do sleep 0.05; done\n"
    )
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: leaves, command: 'sh {tmp_path}/leave.sh'}}
          - id: after
            depends_on: [leaves]
            command: 'while kill -0 $(cat {pidfile}) 2>/dev/null; do sleep 0.1; done'
            timeout: 60s
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout[-2000:]
    assert not proctree.alive(int(pidfile.read_text()))
