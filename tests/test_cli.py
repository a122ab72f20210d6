"""The command line as a user runs it: real processes, exit codes, what is printed."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
import time
from typing import TYPE_CHECKING

import pytest
import typer.main

from tests.conftest import ROOT, Server, eventually, tmux_env, tmuxorch_argv
from tmuxorch import __version__
from tmuxorch.cli import fast
from tmuxorch.cli.app import app
from tmuxorch.tmux.client import TmuxError

if TYPE_CHECKING:
    from pathlib import Path

GOOD = """
session_name: cli
windows:
  - window_name: one
    panes: [echo hi, echo there]
  - window_name: two
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args),
        capture_output=True,
        text=True,
        env=tmux_env(),
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def write(tmp_path: Path, text: str, name: str = "ws.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_version() -> None:
    assert run("--version").stdout == f"tmuxorch {__version__}\n"
    script = os.path.join(os.path.dirname(sys.executable), "tmuxorch")
    if os.path.exists(script):  # the installed console script
        out = subprocess.run([script, "--version"], capture_output=True, text=True, check=True)
        assert out.stdout == f"tmuxorch {__version__}\n"


def test_layout_builds_detached(idle_server: Server, tmp_path: Path) -> None:
    result = run("layout", "-d", "-L", idle_server.name, write(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    assert "built session 'cli': 2 window(s), 3 pane(s)" in result.stderr
    assert f"attach: tmux -L {idle_server.name} attach -t cli" in result.stderr
    assert idle_server.sessions() == ["cli"]


def test_without_a_terminal_it_does_not_attach(idle_server: Server, tmp_path: Path) -> None:
    result = run("layout", "--socket-name", idle_server.name, write(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    assert idle_server.client.cmd("list-clients") == []


def test_existing_session_then_append(idle_server: Server, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    assert run("layout", "-d", f"-L{idle_server.name}", path).returncode == 0
    again = run("layout", "-d", "-L", idle_server.name, path)
    assert again.returncode == 0  # there already: left as it is (tmux new-session -A)
    assert again.stderr == (
        f"session 'cli' already exists on this tmux server: left as it is, not rebuilt from "
        f"{path} (--append adds the file's windows to it)\n"
        f"attach: tmux -L {idle_server.name} attach -t cli\n"
    )
    added = run("layout", "-d", "--append", "-L", idle_server.name, path)
    assert added.returncode == 0, added.stderr
    assert "added to session 'cli'" in added.stderr
    names = idle_server.client.cmd("list-windows", "-t", "=cli", "-F", "#{window_name}")
    assert names == ["one", "two", "one", "two"]


def test_append_without_the_session_creates_it(idle_server: Server, tmp_path: Path) -> None:
    result = run("layout", "-d", "--append", "-L", idle_server.name, write(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    assert idle_server.sessions() == ["cli"]


def test_bad_input_starts_nothing(idle_server: Server, tmp_path: Path) -> None:
    path = write(tmp_path, "session_name: bad\nwindows:\n  - panes:\n      - shel: x\n")
    result = run("layout", "-d", "-L", idle_server.name, path)
    assert result.returncode == 2
    assert result.stderr == (
        f"{path}:4:9: windows[0].panes[0].shel: unknown key\n  hint: did you mean 'shell'?\n"
    )
    assert not idle_server.running()  # not even a tmux server was started


def test_bad_input_changes_no_existing_server(tmux_server: Server, tmp_path: Path) -> None:
    tmux_server.client.cmd("new-session", "-d", "-s", "keep")
    for text in ("session_name: keep\nwindows: []\n", "session_name: [x]\nwindows: [{}]\n", ":"):
        path = write(tmp_path, text)
        result = run("layout", "-d", "-L", tmux_server.name, path)
        assert result.returncode == 2
        assert result.stderr.startswith(path + ":")
    missing = run("layout", "-d", "-L", tmux_server.name, str(tmp_path / "missing.yaml"))
    assert (missing.returncode, missing.stderr) == (
        2,
        f"{tmp_path}/missing.yaml:1:1: (file): no such file\n",
    )
    assert tmux_server.sessions() == ["keep"]
    assert tmux_server.client.cmd("list-windows", "-t", "=keep", "-F", "#{window_index}") == ["0"]


def test_validate(tmp_path: Path) -> None:
    good = run("validate", write(tmp_path, GOOD))
    assert (good.returncode, good.stdout) == (
        0,
        f"{tmp_path}/ws.yaml: ok: session 'cli', 2 window(s), 3 pane(s)\n",
    )
    bad = run("validate", write(tmp_path, "session_name: s\nwindows: [{layout: tiles}]\n"))
    assert bad.returncode == 2
    assert bad.stderr == (
        f"{tmp_path}/ws.yaml:2:20: windows[0].layout: unknown layout 'tiles'\n"
        "  hint: did you mean 'tiled'?\n"
    )
    tasks = (
        "tasks: [{id: a, command: x}, {id: b, command: y, depends_on: [a]}, {id: c, command: z}]"
    )
    found = run("validate", write(tmp_path, tasks, "tasks.yaml")).stdout
    assert found.startswith(
        f"{tmp_path}/tasks.yaml: ok: 3 task(s) in 2 level(s), run in session 'tmuxorch-tasks-"
    )
    comma = run("validate", write(tmp_path, '{"session_name": "s", "windows": [{}],}', "ws.json"))
    assert (comma.returncode, comma.stderr) == (
        2,
        f"{tmp_path}/ws.json:1:38: (json): a trailing comma before '}}': JSON allows none\n"
        "  hint: remove the comma\n",
    )


def test_warnings_are_located(tmp_path: Path) -> None:
    result = run("validate", write(tmp_path, "session_name: s\nplugins: [x.Y]\nwindows: [{}]\n"))
    assert result.returncode == 0
    assert result.stderr.startswith(f"{tmp_path}/ws.yaml:2:1: warning: plugins: ignoring 1 tmuxp")


def test_dry_run_prints_the_plan_and_runs_nothing(idle_server: Server, tmp_path: Path) -> None:
    result = run("layout", "--dry-run", "-L", idle_server.name, write(tmp_path, GOOD))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "# session 'cli': 2 window(s), 3 pane(s)"
    assert f"one invocation of tmux -L {idle_server.name}" in lines[1]
    assert lines[2].startswith("new-session -d -s cli -x 220 -y 50 -P -F '#{pane_id}' -n one")
    assert "send-keys -t {w0.p1} -l -- ' echo there'" in lines
    assert not idle_server.running()
    semicolons = "session_name: s\nwindows: [{panes: ['find . -exec ls {} \\\\;', 'echo a;']}]\n"
    shown = run("layout", "--dry-run", write(tmp_path, semicolons)).stdout.splitlines()
    assert "send-keys -t {w0.p0} -l -- ' find . -exec ls {} \\;'" in shown  # as typed
    assert "send-keys -t {w0.p1} -l -- ' echo a;'" in shown
    assert shown[2].startswith("# shown as typed: an argument ending in ';' goes to tmux")


def test_socket_path(tmp_path: Path) -> None:
    socket = str(tmp_path / "sock")
    server = Server(tmux_env())
    server.client = type(server.client)(socket_path=socket, env=tmux_env())
    try:
        result = run("layout", "-d", "-S", socket, write(tmp_path, GOOD))
        assert result.returncode == 0, result.stderr
        assert server.sessions() == ["cli"]
    finally:
        server.kill()


def test_usage_errors_and_help_come_from_typer(tmp_path: Path) -> None:
    both = run("layout", "-L", "a", "-S", "b", write(tmp_path, GOOD))
    assert (both.returncode, both.stderr) == (2, "tmuxorch: give -L or -S, not both\n")
    bogus = run("layout", "--bogus", "x.yaml")
    assert bogus.returncode == 2 and "No such option" in bogus.stderr
    helped = run("layout", "--help")
    assert helped.returncode == 0 and "--dry-run" in helped.stdout and "--append" in helped.stdout
    bare = run()
    assert "layout" in bare.stdout + bare.stderr


def test_fast_path_knows_exactly_typers_options() -> None:
    """Every option the typer-free parser reads is the same option of the typer command."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    for name, (grammar, _) in fast.COMMANDS.items():
        command = group.get_command(ctx, name)  # type: ignore[attr-defined]
        typer_flags = {o for p in command.params if getattr(p, "is_flag", False) for o in p.opts}
        typer_values = {
            o
            for p in command.params
            if p.param_type_name == "option" and not getattr(p, "is_flag", False)
            for o in p.opts
        }
        typer_args = tuple(p.name for p in command.params if p.param_type_name == "argument")
        assert set(grammar.flags) == typer_flags - {"--help", "-h"}
        assert set(grammar.values) == typer_values
        assert (grammar.positionals or (grammar.rest,)) == typer_args


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["f"], {"files": ["f"]}),
        (["-d", "f", "-L", "s"], {"files": ["f"], "detach": True, "socket_name": "s"}),
        (
            ["-Ls", "--socket-path=/x", "--", "-f"],
            {"files": ["-f"], "socket_name": "s", "socket_path": "/x"},
        ),
        (["--dry-run", "--append", "f"], {"files": ["f"], "dry_run": True, "append": True}),
        (["-h", "f"], None),
        (["-dL", "s", "f"], None),
        (["f", "g", "--fix-name"], {"files": ["f", "g"], "fix_name": True}),
        ([], None),
        (["-L"], None),
        (["--detach=yes", "f"], None),
    ],
)
def test_fast_parse(argv: list[str], expected: dict[str, object] | None) -> None:
    grammar, _ = fast.COMMANDS["layout"]
    assert fast.parse(grammar, argv) == expected


def _pty_run(argv: list[str], env: dict[str, str]) -> tuple[int, int]:
    pid, fd = pty.fork()
    if pid == 0:  # child: a terminal on stdin/stdout, as a person running it
        os.chdir(ROOT)
        os.execvpe(argv[0], argv, env)
    return pid, fd


def _drain(fd: int) -> None:
    while select.select([fd], [], [], 0)[0]:
        try:
            if not os.read(fd, 65536):
                return
        except OSError:
            return


def test_attaches_with_a_terminal_and_switches_inside_tmux(
    idle_server: Server, tmp_path: Path
) -> None:
    """With a terminal it attaches; run again from inside tmux, it switches that client."""

    def clients() -> list[str]:
        _drain(fd)
        try:
            return idle_server.client.cmd("list-clients", "-F", "#{client_session}")
        except TmuxError:  # not started yet
            return []

    env = tmux_env(TERM="xterm-256color")
    pid, fd = _pty_run(tmuxorch_argv("layout", "-L", idle_server.name, write(tmp_path, GOOD)), env)
    try:
        assert eventually(clients, what="a client attached") == ["cli"]
        pane = idle_server.client.cmd("display-message", "-p", "-t", "=cli:", "#{pane_id}")[0]
        socket = idle_server.client.cmd("display-message", "-p", "#{socket_path}")[0]
        inside = tmux_env(TERM="tmux-256color", TMUX=f"{socket},1,0", TMUX_PANE=pane)
        second = write(tmp_path, "session_name: second\nwindows: [{}]\n", "second.yaml")
        proc = subprocess.Popen(
            tmuxorch_argv("layout", "-L", idle_server.name, second),
            env=inside,
            stdin=fd,
            stdout=fd,
            stderr=subprocess.PIPE,
        )
        assert proc.wait(timeout=60) == 0
        eventually(lambda: clients() == ["second"], what="the client switched")
    finally:
        idle_server.kill()  # the attached tmux client exits with its server
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not os.waitpid(pid, os.WNOHANG)[0]:
            _drain(fd)
            time.sleep(0.02)
        os.close(fd)


def test_the_fast_path_reads_exactly_the_typer_commands_options() -> None:
    """``send`` and ``layout`` are read without typer (it costs ~40 ms): every option the
    fast grammar knows is the typer command's, of the same kind, and none is missing."""
    import typer
    from typer.core import TyperArgument, TyperGroup, TyperOption

    from tmuxorch.cli.app import app
    from tmuxorch.cli.fast import COMMANDS

    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    for name, (grammar, _) in COMMANDS.items():
        command = group.commands[name]
        options = {o: p for p in command.params if isinstance(p, TyperOption) for o in p.opts}
        arguments = [p.name for p in command.params if isinstance(p, TyperArgument)]
        assert set(grammar.flags) | set(grammar.values) == set(options) - {"--help"}, name
        for option, keyword in grammar.flags.items():
            param = options[option]
            assert param.is_flag, option
            assert param.name == ("no_" if option.startswith("--no-") else "") + keyword
        for option, keyword in grammar.values.items():
            param = options[option]
            assert not param.is_flag and param.name == keyword, option
            assert param.multiple == (keyword in grammar.lists), option
        assert arguments == ([grammar.rest] if grammar.rest else list(grammar.positionals))
