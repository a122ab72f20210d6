"""Runs with tasks on other hosts: real OpenSSH (an sshd child per "host" on loopback, each
giving its sessions a tmux socket folder of their own: tests/sshd.py), real tmux on both
sides, a real ``tmuxorch run`` supervisor here."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from functools import partial
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.sshd import Sshd, missing
from tmuxorch.hosts.ssh import Connection
from tmuxorch.run.store import Store, state_dir

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tmuxorch.run.store_rows import TaskRow

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture
def hosts() -> Iterator[list[Sshd]]:
    made: list[Sshd] = []
    try:
        for _ in range(2):
            sshd = Sshd()
            made.append(sshd)
            sshd.start()
        yield made
    finally:
        for sshd in made:
            sshd.stop()  # its connections (our masters end with them) and its tmux server


def host_yaml(name: str, sshd: Sshd, folder: Path) -> str:
    folder.mkdir(exist_ok=True)
    options = json.dumps(list(sshd.ssh_options))
    return (
        f"  {name}: {{ssh: good, ssh_options: {options}, dir: {json.dumps(str(folder))}, "
        f"python: {json.dumps(sys.executable)}}}\n"
    )


def write_tasks(tmp_path: Path, hosts_part: str, tasks_part: str) -> str:
    path = tmp_path / "tasks.yaml"
    path.write_text("hosts:\n" + hosts_part + "tasks:\n" + textwrap.dedent(tasks_part))
    return str(path)


def start(server: Server, file: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        tmuxorch_argv("run", "-L", server.name, file),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError(f"the run did not end:\n{out}") from None
    return proc.returncode, out


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """A tmuxorch command, its output kept."""
    return subprocess.run(
        tmuxorch_argv(*args),
        env=tmux_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        check=False,
    )


def rows(file: str) -> dict[str, TaskRow]:
    store = Store(state_dir(file))
    try:
        run = store.runs(file)[0]
        return {t: r for t, r in store.tasks(run.id).items()}
    finally:
        store.close()


def pane_on_record(file: str, task: str) -> str | None:
    """The task's pane as the store has it (None before the run is on record)."""
    if not os.path.exists(os.path.join(state_dir(file), "state.db")):
        return None
    try:
        return rows(file)[task].pane
    except (IndexError, KeyError):
        return None


def transcript(file: str, task: str, attempt: int = 1) -> str:
    folder = os.path.join(state_dir(file), "transcripts")
    (run,) = os.listdir(folder)
    path = os.path.join(folder, run, f"{task}.{attempt}.txt")
    from pathlib import Path

    text = eventually(lambda: os.path.exists(path) and Path(path).read_text(), what=path)
    return str(text)


def events_of(file: str, kind: str) -> list[dict[str, object]]:
    path = os.path.join(state_dir(file), "events.jsonl")
    found = []
    with open(path) as handle:
        for line in handle:
            event = json.loads(line)
            if event.get("type") == kind:
                found.append(event)
    return found


def test_tasks_on_two_hosts_and_here_in_one_run(
    tmux_server: Server, hosts: list[Sshd], tmp_path: Path
) -> None:
    a, b = hosts
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, tmp_path / "on-a") + host_yaml("b", b, tmp_path / "on-b"),
        """\
        - id: here
          command: 'echo "here in [$TMUX]"'
        - id: first
          host: a
          command: 'echo "first in [$TMUX] at $(pwd)"; echo done > made-on-a'
        - id: second
          host: b
          depends_on: [first]
          command: 'echo "second in [$TMUX] at $(pwd)"'
        """,
    )
    code, out = finish(start(tmux_server, file))
    assert code == 0, out
    states = rows(file)
    assert {t: (r.state, r.attempts) for t, r in states.items()} == {
        "here": ("succeeded", 1),
        "first": ("succeeded", 1),
        "second": ("succeeded", 1),
    }
    # each ran in its own host's tmux server (its socket in that sshd's folder), in its dir
    assert str(a.tmux_dir) in transcript(file, "first")
    assert f"at {tmp_path / 'on-a'}" in transcript(file, "first")
    assert str(b.tmux_dir) in transcript(file, "second")
    assert f"at {tmp_path / 'on-b'}" in transcript(file, "second")
    here = transcript(file, "here")
    assert str(a.tmux_dir) not in here and str(b.tmux_dir) not in here
    assert (tmp_path / "on-a" / "made-on-a").read_text() == "done\n"
    ignore = (tmp_path / "on-a" / ".tmuxorch" / ".gitignore").read_text()
    assert ignore.splitlines()[-1] == "*"  # its state there is not the project's code
    # the panes were known as %ID@HOST; the remote sessions closed with the run
    panes = {e["task"]: str(e["pane"]) for e in events_of(file, "task-started")}
    assert panes["first"].endswith("@a") and panes["second"].endswith("@b"), panes
    assert "@" not in panes["here"]
    assert (
        subprocess.run(
            ["tmux", "-S", str(a.tmux_socket), "has-session", "-t", "=tasks"],
            capture_output=True,
            check=False,
        ).returncode
        != 0
    )


def _master(sshd: Sshd) -> Connection:
    return Connection("good", sshd.ssh_options)


def test_a_cut_link_leaves_tasks_unknown_then_adopts_them_each_run_once(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    a = sshd
    folder = tmp_path / "on-a"
    go, mid = tmp_path / "go", tmp_path / "mid"
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, folder),
        f"""\
        - id: long
          host: a
          command: >-
            echo started >> log; while [ ! -e {mid} ]; do sleep 0.1; done; echo during-the-cut;
            touch said; while [ ! -e {go} ]; do sleep 0.1; done; echo ended
        - id: after
          host: a
          depends_on: [long]
          command: 'echo after >> log'
        """,
    )
    proc = start(tmux_server, file)
    try:
        eventually(lambda: (folder / "log").exists(), timeout=60, what="the task started there")
        keys = tmp_path / "authorized_keys.kept"
        authorized = a.dir / "authorized_keys"
        authorized.rename(keys)  # no login succeeds for now: the host stays out of reach
        pid = eventually(_master(a).master_pid, what="the run's ssh master")
        os.kill(pid, signal.SIGKILL)

        def unknown() -> bool:
            status = cli("status", "--json", "--file", file)
            if status.returncode != 0:
                return False
            tasks = json.loads(status.stdout)["tasks"]
            return any(t["task"] == "long" and t["state"] == "unknown" for t in tasks)

        eventually(unknown, timeout=60, what="status shows the task unknown")
        mid.write_text("")  # it prints there while no one here can see it
        eventually(lambda: (folder / "said").exists(), what="it printed during the cut")
        keys.rename(authorized)  # the host is reachable again
        eventually(lambda: not unknown(), timeout=60, what="the task known to run again")
        go.write_text("")
        code, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, out
    assert (folder / "log").read_text() == "started\nafter\n"  # each once
    states = rows(file)
    assert states["long"].attempts == 1 and states["long"].state == "succeeded"
    links = [e["link"] for e in events_of(file, "task-host")]
    assert links == ["cut", "back"], links
    seen = transcript(file, "long")  # whole: what it printed during the cut too
    assert "during-the-cut" in seen and "ended" in seen, seen
    assert "unreachable" in out and "is back" in out, out


def test_a_remote_tmux_that_dies_fails_its_tasks_saying_so(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    a = sshd
    folder = tmp_path / "on-a"
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, folder),
        """\
        - id: doomed
          host: a
          command: 'echo started > started; sleep 600'
        """,
    )
    proc = start(tmux_server, file)
    try:
        eventually(lambda: (folder / "started").exists(), timeout=60, what="the task started")
        a.kill_tmux()
        code, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 1, out
    row = rows(file)["doomed"]
    assert row.state == "failed", out
    assert "tmux server on a ended" in str(row.reason), row


def test_a_wrong_host_key_is_a_clear_error_not_a_hang(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    a = sshd
    options = json.dumps(list(a.ssh_options))
    file = write_tasks(
        tmp_path,
        f"  a: {{ssh: wrongkey, ssh_options: {options}, python: {json.dumps(sys.executable)}}}\n",
        """\
        - id: there
          host: a
          command: 'echo never'
        """,
    )
    code, out = finish(start(tmux_server, file))
    assert code == 1, out
    row = rows(file)["there"]
    assert row.attempts == 1
    assert "host key" in str(row.reason).lower(), row
    assert row.failure == "auth", row  # a person must act there (not "not installed")


def test_a_missing_dir_there_is_said_and_never_made(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    """A typo in a host's ``dir:`` fails its task, once, saying so: the folder is not made
    (the task would have run in an empty one)."""
    nowhere = tmp_path / "no-such-repo"
    spec = host_yaml("a", sshd, tmp_path / "made").replace(str(tmp_path / "made"), str(nowhere))
    file = write_tasks(tmp_path, spec, "- {id: there, host: a, command: 'echo never'}\n")
    code, out = finish(start(tmux_server, file))
    assert code == 1, out
    row = rows(file)["there"]
    assert row.attempts == 1
    assert f"a has no folder {nowhere}: make it there, or fix the host's dir:" in str(row.reason)
    assert not nowhere.exists()


def test_attach_to_a_task_there_is_ssh_to_its_tmux(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    a = sshd
    folder = tmp_path / "on-a"
    go = tmp_path / "go"
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, folder),
        f"""\
        - id: there
          host: a
          command: 'touch started; while [ ! -e {go} ]; do sleep 0.1; done'
        """,
    )
    proc = start(tmux_server, file)
    try:
        eventually(lambda: (folder / "started").exists(), timeout=60, what="the task started")
        pane = eventually(lambda: rows(file)["there"].pane, what="its pane")
        raw = str(pane).split("@")[0]
        attach = cli("attach", "there", "--file", file)
        assert attach.returncode == 1
        said = attach.stderr
        command = said.split("from a terminal run: ", 1)[1].strip()
        assert command.startswith(f"ssh -t -F {a.client_config} -- good "), said
        session = events_of(file, "run-opened")[0]["session"]
        assert f"select-pane -t {raw}" in command, command
        assert f"attach-session -t ={session}" in command, command
        # the command works: run without -t, with has-session in place of attach
        probe = command.replace("ssh -t", "ssh -T").replace("attach-session", "has-session")
        shown = subprocess.run(probe, shell=True, capture_output=True, text=True, check=False)
        assert shown.returncode == 0, shown
        go.write_text("")
        code, out = finish(proc)
        assert code == 0, out
    finally:
        if proc.poll() is None:
            proc.kill()


def asks(log: Path) -> bool:
    return "asking" in log.read_text()


def test_send_and_watch_reach_a_task_there_and_hosts_share_out_tasks(
    tmux_server: Server, hosts: list[Sshd], tmp_path: Path
) -> None:
    a, b = hosts
    folder_a, folder_b = tmp_path / "on-a", tmp_path / "on-b"
    spec_a = host_yaml("a", a, folder_a).rstrip().rstrip("}") + ", max_parallel: 1}\n"
    file = write_tasks(
        tmp_path,
        spec_a + host_yaml("b", b, folder_b),
        """\
        - id: talk
          host: [a, b]
          command: 'echo asking; touch ready; read line; echo "got:$line" > got'
        - id: other
          host: [a, b]
          command: 'echo asking; touch ready; read line; echo "got:$line" > got'
        """,
    )
    watching: list[subprocess.Popen[bytes]] = []
    proc = start(tmux_server, file)
    try:
        # a takes one task at a time: the other goes to b
        eventually(lambda: (folder_a / "ready").exists() and (folder_b / "ready").exists())

        def hosts_of_tasks() -> dict[str, str]:
            started = events_of(file, "task-started")
            return {str(e["task"]): str(e["pane"]).split("@")[1] for e in started}

        eventually(lambda: len(hosts_of_tasks()) == 2, what="both tasks started")
        where = hosts_of_tasks()
        assert sorted(where.values()) == ["a", "b"], where
        hostile = 'it\'s "quoted" $(touch pwned) ; `touch pwned`'
        panes = {str(e["task"]): str(e["pane"]) for e in events_of(file, "task-started")}
        said = [tmp_path / "watch-talk", tmp_path / "watch-other"]
        # by task name, and by the pane's name as the run says it (%ID@HOST: the run
        # here, in the current folder, knows it without -L)
        hows = (["-L", tmux_server.name, "talk"], [panes["other"]])
        for how, log in zip(hows, said, strict=True):
            with open(log, "w") as sink:
                watching.append(
                    subprocess.Popen(
                        tmuxorch_argv("watch", "--from-start", *how),
                        env=tmux_env(),
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                        cwd=tmp_path,
                    )
                )
        for log in said:  # each follows its pane there
            eventually(partial(asks, log), timeout=60, what=str(log))
        for how in hows:
            sent = cli("send", *how, hostile, cwd=tmp_path)
            assert sent.returncode == 0, sent.stderr
        code, out = finish(proc)
        assert code == 0, out
        for watched, log in zip(watching, said, strict=True):  # until its pane ended
            assert watched.wait(timeout=60) == 0, log.read_text()
            assert hostile in log.read_text(), (log.name, log.read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
        for running in watching:
            if running.poll() is None:
                running.kill()
    for folder in (folder_a, folder_b):
        assert (folder / "got").read_text() == f"got:{hostile}\n"
        assert not (folder / "pwned").exists()


def test_a_worktree_on_a_host_is_made_and_merged_there(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    a = sshd
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README").write_text("hello\n")
    subprocess.run([*git, "add", "README"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, repo),
        """\
        - id: change
          host: a
          worktree: true
          command: 'pwd > where; echo work > made-there.txt'
        - id: kept
          host: a
          worktree: keep
          depends_on: [change]
          command: 'echo more > kept.txt'
        """,
    )
    code, out = finish(start(tmux_server, file))
    assert code == 0, out
    (said,) = [line for line in out.splitlines() if "kept: kept; branch" in line]
    assert said.endswith(" on a"), said  # its worktree is there, not here
    assert f"({repo}/.tmuxorch/worktrees/" in out and "/kept on a)" in out, out
    # merged into main there; the worktree (under the host's .tmuxorch) is gone
    assert (repo / "made-there.txt").read_text() == "work\n"
    where = (repo / "where").read_text().strip()
    assert where.startswith(str(repo / ".tmuxorch" / "worktrees")), where
    assert not os.path.exists(where)
    log = subprocess.run([*git, "log", "--format=%s"], capture_output=True, text=True, check=True)
    assert "tmuxorch: change" in log.stdout


def test_serve_mirrors_a_pane_there_and_types_into_it(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    import asyncio

    import aiohttp

    from tests.serve_helpers import Served

    a = sshd
    folder = tmp_path / "on-a"
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, folder),
        """\
        - id: there
          host: a
          command: 'echo ready-there; read a; read b; echo "got:$a|$b" > got'
        """,
    )
    proc = start(tmux_server, file)
    served = Served(tmux_server, tmp_path / "home")
    try:
        eventually(lambda: rows(file)["there"].state == "running", timeout=60)

        async def talk() -> list[dict[str, object]]:
            got: list[dict[str, object]] = []
            sent: list[bool] = []
            headers = {"Authorization": f"Bearer {served.token}"}
            url = served.url + "api/panes/there/stream"
            async with (
                aiohttp.ClientSession(headers=headers) as session,
                session.ws_connect(url) as ws,
            ):
                async for message in ws:
                    event = json.loads(message.data)
                    got.append(event)
                    ready = "ready-there" in json.dumps(event.get("rows"))
                    if event["type"] == "screen" and ready and not sent:
                        await ws.send_json({"type": "send", "text": "from the web"})
                        body = {"target": "there", "text": "from the api"}
                        async with session.post(served.url + "api/send", json=body) as r:
                            assert r.status == 200, await r.text()
                            answer = await r.json()
                            assert str(answer["pane"]).endswith("@a"), answer  # as runs say
                        sent.append(True)
                    if event["type"] in ("exit", "gone"):
                        break
            return got

        got = asyncio.run(asyncio.wait_for(talk(), 120))
        assert got[0]["type"] == "hello" and got[0]["label"] == "there", got[0]
        assert str(got[0]["pane"]).endswith("@a"), got[0]  # the pane's name as its run says
        code, out = finish(proc)
        assert code == 0, out
    finally:
        served.stop()
        if proc.poll() is None:
            proc.kill()
    assert (folder / "got").read_text() == "got:from the web|from the api\n"


def test_a_pr_worktree_on_a_host_is_pushed_from_there_and_proposed_from_here(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    from tests.test_pull_requests import URL, fake_gh, gh_calls

    a = sshd
    repo, bare = tmp_path / "repo", tmp_path / "remote.git"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "README").write_text("hello\n")
    subprocess.run([*git, "-C", str(repo), "add", "README"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-q", "-m", "first"], check=True)
    subprocess.run([*git, "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    subprocess.run([*git, "-C", str(repo), "remote", "add", "origin", str(bare)], check=True)
    subprocess.run([*git, "-C", str(repo), "push", "-q", "origin", "main"], check=True)
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, repo),
        """\
        - id: feature
          host: a
          worktree: {merge: pr}
          command: 'echo feature > feature.txt'
        """,
    )
    path = f"{fake_gh(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    proc = subprocess.Popen(
        tmuxorch_argv("run", "-L", tmux_server.name, file),
        env=tmux_env(PATH=path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    code, out = finish(proc)
    assert code == 0, out
    run_id = events_of(file, "run-opened")[0]["run"]
    branch = f"tmuxorch/{run_id}/feature"
    shown = subprocess.run(
        ["git", "-C", str(bare), "show", f"{branch}:feature.txt"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.stdout == "feature\n", shown.stderr  # pushed from the host's repository
    calls = gh_calls(tmp_path)  # gh ran here, for the branch there
    assert [list(c["argv"])[:2] for c in calls] == [  # type: ignore[call-overload]
        ["auth", "status"],
        ["pr", "create"],
    ], calls
    assert f"feature: pull request {URL} (branch {branch} pushed to origin)" in out


def test_a_supervisor_killed_mid_run_is_followed_by_one_that_adopts_the_tasks_there(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    """``long`` was on record with its pane; ``late``'s supervisor died after tmux made its
    pane there but before it recorded or tagged it (the store and the pane are set so by
    hand): both are found there and followed again, neither runs twice."""
    a = sshd
    folder, go = tmp_path / "on-a", tmp_path / "go"
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, folder),
        f"""\
        - id: long
          host: a
          command: 'echo started >> log; while [ ! -e {go} ]; do sleep 0.1; done; echo ended'
        - id: late
          host: a
          command: 'echo late >> log; while [ ! -e {go} ]; do sleep 0.1; done'
        """,
    )
    first = start(tmux_server, file)
    second: subprocess.Popen[str] | None = None
    try:
        eventually(lambda: pane_on_record(file, "late"), timeout=60, what="both panes made")
        eventually(lambda: (folder / "log").read_text().count("\n") == 2, what="both started")
        first.kill()  # SIGKILL: no goodbye; the tasks go on there
        first.communicate()
        store = Store(state_dir(file))
        (pane,) = store.db.execute("SELECT pane FROM attempts WHERE task = 'late'").fetchone()
        store.db.execute("UPDATE attempts SET pane = '@a', pid = NULL WHERE task = 'late'")
        store.db.execute("UPDATE tasks SET pane = NULL WHERE id = 'late'")
        store.close()
        there, raw = ["tmux", "-S", str(a.tmux_socket)], pane.partition("@")[0]
        for option in ("@tmuxorch-run", "@tmuxorch-task", "@tmuxorch-attempt"):
            subprocess.run([*there, "set-option", "-pu", "-t", raw, option], check=True)
        second = start(tmux_server, file)
        adopted = eventually(
            lambda: len(events_of(file, "task-adopted")) == 2 or second.poll() is not None,
            timeout=60,
            what="adopted",
        )
        assert adopted and second.poll() is None, finish(second)[1]
        tagged = [*there, "display-message", "-p", "-t", raw, "#{@tmuxorch-task}"]
        assert subprocess.run(tagged, capture_output=True, text=True).stdout == "late\n"
        assert rows(file)["late"].pane == pane  # on record again
        go.write_text("")  # they end under the new supervisor's eye
        code, out = finish(second)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert code == 0, out
    assert "long: adopted" in out and "late: adopted" in out, out
    assert sorted((folder / "log").read_text().splitlines()) == ["late", "started"]  # once
    for task in ("long", "late"):
        row = rows(file)[task]
        assert (row.state, row.attempts) == ("succeeded", 1), row
    assert "ended" in transcript(file, "long")


def test_an_attempt_on_record_but_never_made_on_its_host_runs_once_when_resumed(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    """The supervisor died after recording the attempt (to be made on ``a``) but before tmux
    made its pane there: it never ran, so it runs now, as its first attempt."""
    a = sshd
    folder = tmp_path / "on-a"
    file = write_tasks(
        tmp_path, host_yaml("a", a, folder), "- {id: once, host: a, command: 'echo ran >> log'}\n"
    )
    store = Store(state_dir(file))
    store.new_run("r1", file, "tmuxorch-tasks", ("-L", tmux_server.name), ["once"])
    store.start_attempt("r1", "once", 1, None, None, time.time(), host="a")
    assert [r.pane for r in store.attempts("r1", "once")] == ["@a"]
    store.end_run("r1", "interrupted", "killed")
    store.close()
    code, out = finish(start(tmux_server, file))
    assert code == 0, out
    assert "resuming run r1" in out, out
    assert (folder / "log").read_text() == "ran\n"
    row = rows(file)["once"]
    assert (row.state, row.attempts) == ("succeeded", 1), row


def test_logs_and_stop_reach_a_task_there(tmux_server: Server, sshd: Sshd, tmp_path: Path) -> None:
    """``logs`` of a task running on a host shows its pane there (what is on its screen,
    not only what scrolled by), as ``status`` its last line; ``stop`` ends its processes
    there."""
    a = sshd
    folder = tmp_path / "on-a"
    file = write_tasks(
        tmp_path,
        host_yaml("a", a, folder),
        "- {id: slow, host: a, command: 'echo hello-there; echo $$ > pid; sleep 600'}\n",
    )
    proc = start(tmux_server, file)
    try:
        written = folder / "pid"
        pid = int(eventually(lambda: written.read_text() if written.exists() else None))
        logs = cli("logs", "slow", "--file", file)
        assert (logs.returncode, logs.stdout.splitlines()[:1]) == (0, ["hello-there"]), logs
        status = cli("status", "--json", "--file", file)
        assert status.returncode == 0, status.stderr
        (shown,) = json.loads(status.stdout)["tasks"]
        assert shown["last_line"] == "hello-there", shown  # its screen there, while it runs
        stop = cli("stop", "slow", "--file", file)
        assert stop.returncode == 0, stop.stderr
        finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rows(file)["slow"].state == "stopped"
    eventually(lambda: not running(pid), what="its shell there ended")


def running(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie only waits for its parent to read it)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_ctrl_c_stops_the_tasks_there_too(tmux_server: Server, sshd: Sshd, tmp_path: Path) -> None:
    """A terminal's Ctrl-C reaches the run's whole process group, its ssh clients too: the
    run still stops its tasks on the host before it ends (none is left running there to
    run a second time when the run is resumed)."""
    folder = tmp_path / "on-a"
    file = write_tasks(
        tmp_path,
        host_yaml("a", sshd, folder),
        "".join(
            f"- {{id: t{n}, host: a, command: 'echo $$ > pid{n}; sleep 600'}}\n" for n in range(3)
        ),
    )
    proc = subprocess.Popen(
        tmuxorch_argv("run", "-L", tmux_server.name, file),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    try:
        pids = []
        for n in range(3):
            written = folder / f"pid{n}"
            pids.append(int(eventually(partial(text_of, written), what=str(written))))
            eventually(partial(pane_on_record, file, f"t{n}"), what="its pane on record")
        os.killpg(proc.pid, signal.SIGINT)
        code, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 1 and "interrupted" in out, out
    for pid in pids:
        eventually(partial(ended, pid), what=f"its shell there ended: {out}")
    assert {row.state for row in rows(file).values()} <= {"pending", "stopped"}, rows(file)


def ended(pid: int) -> bool:
    return not running(pid)


def text_of(path: Path) -> str | None:
    return path.read_text() if path.exists() else None


def test_down_ends_what_a_run_kept_running_there(
    tmux_server: Server, sshd: Sshd, tmp_path: Path
) -> None:
    """A run interrupted with --keep leaves its tasks running on the host; ``down`` (no
    supervisor left) stops them there and closes the run's session there."""
    folder = tmp_path / "on-a"
    file = write_tasks(
        tmp_path,
        host_yaml("a", sshd, folder),
        "- {id: slow, host: a, command: 'echo $$ > pid; sleep 600'}\n",
    )
    proc = subprocess.Popen(
        tmuxorch_argv("run", "--keep", "-L", tmux_server.name, file),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        pid = int(eventually(partial(text_of, folder / "pid"), what="it runs there"))
        eventually(partial(pane_on_record, file, "slow"), what="its pane on record")
        proc.send_signal(signal.SIGINT)
        code, out = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 1 and "agents keep running" in out, out
    assert running(pid)
    down = cli("down", "-f", file)
    assert down.returncode == 0, down.stderr
    assert "on a" in down.stderr, down.stderr  # its session there closed
    eventually(partial(ended, pid), what="its shell there ended")
    sessions = subprocess.run(
        ["tmux", "-S", str(sshd.tmux_socket), "list-sessions", "-F", "#{session_name}"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    assert not [s for s in sessions if s.startswith("tmuxorch-tasks")], sessions
