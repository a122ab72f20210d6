"""``tmuxorch layout`` as a tmuxp user reaches for it: a project folder, a named layout,
several files, a session that is there already, a name tmux refuses, --append of a layout
with tasks. Real processes on a private tmux server."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import textwrap
import time
from typing import TYPE_CHECKING

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv, wait_for_text
from tests.test_cli import _drain, _pty_run
from tmuxorch.run.opening import supervisor_alive
from tmuxorch.run.store import Store, state_dir
from tmuxorch.tmux.client import TmuxError

if TYPE_CHECKING:
    from pathlib import Path


def run(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args),
        capture_output=True,
        text=True,
        env=tmux_env(**(env or {})),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def windows(server: Server, session: str) -> list[str]:
    return server.client.cmd("list-windows", "-t", f"={session}", "-F", "#{window_name}")


def test_a_project_folder_is_its_tmuxp_file(idle_server: Server, tmp_path: Path) -> None:
    """``layout .`` builds the folder's .tmuxp.yaml (it read every YAML file there as a task
    file); a folder without one stays a folder of task files."""
    write(tmp_path / ".tmuxp.yaml", "session_name: proj\nwindows: [{window_name: ed}]\n")
    write(tmp_path / "notes.yaml", "just: notes\n")  # not a task file: never read now
    result = run("layout", "-d", "-L", idle_server.name, ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("built session 'proj': 1 window(s), 1 pane(s) in ")
    assert windows(idle_server, "proj") == ["ed"]
    tasks = tmp_path / "tasks"
    write(tasks / "a.yaml", "tasks: [{id: a, command: 'true'}]\n")
    write(tasks / "b.yaml", "tasks: [{id: b, command: 'true', depends_on: [a]}]\n")
    checked = run("validate", str(tasks), str(tmp_path))
    assert checked.returncode == 0, checked.stderr
    session = checked.stdout.splitlines()[0].rsplit(" ", 1)[1]
    assert checked.stdout == (
        f"{tasks}: ok: 2 task(s) from 2 file(s) in 2 level(s), run in session {session}\n"
        f"{tmp_path}/.tmuxp.yaml: ok: session 'proj', 1 window(s), 1 pane(s)\n"
    )


def test_named_layouts_are_found_like_tmuxps(idle_server: Server, tmp_path: Path) -> None:
    """A bare name is looked up in tmuxorch's layouts folder, then tmuxp's; several files
    build several sessions."""
    config = tmp_path / "config"
    write(config / "tmuxorch" / "layouts" / "web.yaml", "session_name: web\nwindows: [{}]\n")
    write(tmp_path / "tp" / "api.json", '{"session_name": "api", "windows": [{}, {}]}')
    write(tmp_path / "home" / ".tmuxp" / "db.yml", "session_name: db\nwindows: [{}]\n")
    env = {
        "XDG_CONFIG_HOME": str(config),
        "TMUXP_CONFIGDIR": str(tmp_path / "tp"),
        "HOME": str(tmp_path / "home"),
    }
    result = run("layout", "web", "api", "db", "-d", "-L", idle_server.name, env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(idle_server.sessions()) == ["api", "db", "web"]
    # unnamed windows take their program's name (for a moment it may be the tmux that forks it)
    eventually(lambda: windows(idle_server, "api") == ["sh", "sh"], what="two windows of sh")
    missing = run("layout", "-d", "-L", idle_server.name, "web", "nope", env=env)
    assert (missing.returncode, missing.stderr) == (
        2,
        "nope:1:1: (file): no such file, and no layout of that name\n"
        f"  hint: looked for nope{{.yaml,.yml,.json}} in {config}/tmuxorch/layouts, "
        f"{tmp_path}/tp, {config}/tmuxp, ~/.tmuxp\n",
    )


def test_an_existing_session_is_left_as_it_is(idle_server: Server, tmp_path: Path) -> None:
    """Built again, an existing session is not touched (its before_script does not run
    again) and the command succeeds, as ``tmux new-session -A`` would."""
    log = tmp_path / "before.log"
    path = write(
        tmp_path / "ws.yaml",
        f"""
        session_name: cli
        before_script: sh -c 'echo ran >> {log}'
        windows: [{{window_name: one}}]
        """,
    )
    assert run("layout", "-d", "-L", idle_server.name, path).returncode == 0
    again = run("layout", "-d", "-L", idle_server.name, path)
    assert again.returncode == 0, again.stderr
    assert again.stderr == (
        f"session 'cli' already exists on this tmux server: left as it is, not rebuilt from "
        f"{path} (--append adds the file's windows to it)\n"
        f"attach: tmux -L {idle_server.name} attach -t cli\n"
    )
    assert log.read_text() == "ran\n"
    assert windows(idle_server, "cli") == ["one"]


def test_with_a_terminal_the_last_session_is_attached(idle_server: Server, tmp_path: Path) -> None:
    """With a terminal: several files build every session and attach to the last; run
    again, the existing session is attached to, not refused."""

    def clients() -> list[str]:
        _drain(fd)
        try:
            return idle_server.client.cmd("list-clients", "-F", "#{client_session}")
        except TmuxError:
            return []

    first = write(tmp_path / "a.yaml", "session_name: a\nwindows: [{}]\n")
    second = write(tmp_path / "b.yaml", "session_name: b\nwindows: [{}]\n")
    assert run("layout", "-d", "-L", idle_server.name, second).returncode == 0
    env = tmux_env(TERM="xterm-256color")
    pid, fd = _pty_run(tmuxorch_argv("layout", "-L", idle_server.name, first, second), env)
    try:
        assert eventually(clients, what="a client attached") == ["b"]
        assert sorted(idle_server.sessions()) == ["a", "b"]
        assert idle_server.client.cmd("list-clients", "-F", "#{client_session}") == ["b"]
    finally:
        idle_server.kill()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.waitpid(pid, os.WNOHANG)[0]:
            _drain(fd)
            time.sleep(0.02)
        os.close(fd)


def test_fix_name_builds_the_name_tmux_allows(idle_server: Server, tmp_path: Path) -> None:
    path = write(tmp_path / "ws.yaml", "session_name: my.proj\nwindows: [{}]\n")
    refused = run("layout", "-d", "-L", idle_server.name, path)
    assert refused.returncode == 2
    assert "--fix-name" in refused.stderr and "'my_proj'" in refused.stderr
    fixed = run("layout", "-d", "--fix-name", "-L", idle_server.name, path)
    assert fixed.returncode == 0, fixed.stderr
    assert fixed.stderr.startswith(
        f"{path}:1:15: warning: session_name: 'my.proj' is built as 'my_proj' (--fix-name)\n"
        "built session 'my_proj'"
    )
    assert idle_server.sessions() == ["my_proj"]
    checked = run("validate", "--fix-name", path)
    assert checked.stdout == f"{path}: ok: session 'my_proj', 1 window(s), 1 pane(s)\n"


def test_fix_name_with_tasks_runs_them(idle_server: Server, tmp_path: Path) -> None:
    """The supervisor in the session reads the file too: it finds the session by its
    fixed name (it refused the file, and nothing ran)."""
    from tests.test_run import states

    path = write(
        tmp_path / "ws.yaml",
        """
        session_name: v1.2
        windows: [{window_name: ed}]
        tasks: [{id: t, command: 'true'}]
        """,
    )
    result = run("layout", "-d", "--fix-name", "-L", idle_server.name, path)
    assert result.returncode == 0, result.stderr
    eventually(lambda: states(path) == {"t": "succeeded"}, what="the task ran")


LONG = """
session_name: long
windows: [{window_name: ed}]
tasks: [{id: wait, command: 'sleep 60'}]
"""


def test_append_of_a_running_layout_adds_no_second_supervisor(
    idle_server: Server, tmp_path: Path
) -> None:
    path = write(tmp_path / "ws.yaml", LONG)
    assert run("layout", "-d", "-L", idle_server.name, path).returncode == 0
    eventually(lambda: supervisor_alive(path), what="its supervisor runs")
    added = run("layout", "-d", "--append", "-L", idle_server.name, path)
    assert added.returncode == 0, added.stderr
    assert added.stderr.startswith(
        f"a supervisor already runs the tasks of {path}: no second one is added\n"
        "added to session 'long': 1 window(s), 1 pane(s) in "
    )
    names = windows(idle_server, "long")
    assert names.count("tmuxorch") == 1 and names.count("ed") == 2
    # a second supervisor window (as --append made) says it did not run, not "the run is over"
    second = run("run", "--inside", "-L", idle_server.name, path)
    assert second.returncode == 1
    assert "a supervisor is already running" in second.stderr
    assert "No run was started here (see above)." in second.stdout
    assert "The run is over" not in second.stdout
    assert run("down", "--file", path, "-L", idle_server.name).returncode == 0


def test_a_dead_supervisor_is_said_with_how_to_resume(idle_server: Server, tmp_path: Path) -> None:
    path = write(tmp_path / "ws.yaml", LONG)
    assert run("layout", "-d", "-L", idle_server.name, path).returncode == 0
    eventually(lambda: supervisor_alive(path), what="its supervisor runs")

    def supervisor() -> int | None:
        store = Store(state_dir(path))
        try:
            runs = store.runs(path)
            return runs[0].supervisor_pid if runs else None
        finally:
            store.close()

    os.kill(eventually(supervisor, what="its run"), signal.SIGKILL)
    eventually(lambda: not supervisor_alive(path), what="its supervisor gone")
    again = run("layout", "-d", "-L", idle_server.name, path)
    assert again.returncode == 0, again.stderr
    lines = again.stderr.splitlines()
    assert lines[0].startswith("session 'long' already exists on this tmux server")
    assert lines[1].startswith("its run ")
    assert lines[1].endswith(
        f" lost its supervisor: 'tmuxorch run -L {idle_server.name} {path}' resumes it"
        " (adopting the agents still running)"
    )


def test_dry_run_shows_what_the_build_types(idle_server: Server, tmp_path: Path) -> None:
    """--dry-run showed 'echo two\\;' where the build types 'echo two;'."""
    path = write(
        tmp_path / "ws.yaml", "session_name: semi\nwindows: [{panes: ['echo one; echo two;']}]\n"
    )
    shown = run("layout", "--dry-run", "-L", idle_server.name, path).stdout.splitlines()
    typing = next(line for line in shown if line.startswith("send-keys") and " -l -- " in line)
    typed = shlex.split(typing)[-1].strip()
    assert typed == "echo one; echo two;"
    assert run("layout", "-d", "-L", idle_server.name, path).returncode == 0
    wait_for_text(idle_server, "=semi:", typed)
