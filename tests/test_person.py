"""The command line as a person meets it: one meaning per flag, every command finding the
run the same way, and messages in plain words (issue 11)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from typing import TYPE_CHECKING

import pytest
import typer.main

from tests.conftest import ROOT, Server, eventually, tmux_env, tmuxorch_argv
from tests.test_run import run, start, states, tasks_file
from tmuxorch.cli.app import app
from tmuxorch.run.store import Store, state_dir
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path


def cli(*args: str, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args),
        cwd=cwd,
        env=tmux_env(**env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def test_logs_shows_any_attempt_of_any_run(tmux_server: Server, tmp_path: Path) -> None:
    """``--attempt N`` and ``--run ID`` (an unknown one is exit 2 with those there are);
    ``-f`` is ``--file`` as in every other command (``--follow`` has no short flag)."""
    (tmp_path / "mark").write_text("one\n")
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - id: flaky
            command: 'echo "try $TMUXORCH_ATTEMPT of $(cat mark)"; [ $TMUXORCH_ATTEMPT -ge 2 ]'
            retries: 1
            retry_delay: 50ms
        """,
    )
    assert run(tmux_server, file).returncode == 0
    (tmp_path / "mark").write_text("two\n")
    assert run(tmux_server, file, "--new").returncode == 0
    store = Store(state_dir(file))
    newer, older = [r.id for r in store.runs(file)]
    store.close()

    def logs(*args: str) -> tuple[int, str, str]:
        done = cli("logs", "flaky", "-f", file, *args, cwd=tmp_path)
        return done.returncode, done.stdout, done.stderr

    assert logs() == (0, "try 2 of two\n", "")
    assert logs("--attempt", "1") == (0, "try 1 of two\n", "")
    assert logs("--run", older, "--attempt", "1") == (0, "try 1 of one\n", "")
    assert logs("--run", older[:-2]) == (0, "try 2 of one\n", "")  # the start of an id will do
    assert logs("--attempt", "3") == (
        2,
        "",
        f"tmuxorch: flaky has no attempt 3 in run {newer} (its attempts: 1, 2)\n",
    )
    assert logs("--run", "nope") == (
        2,
        "",
        f"tmuxorch: no run 'nope' of {file} (its runs, newest first: {newer}, {older})\n",
    )
    assert logs("--follow") == (0, "try 2 of two\n", "")  # over: printed, not followed


def test_send_and_watch_find_the_server_the_run_here_ran_on(
    tmux_server: Server, tmp_path: Path
) -> None:
    """Without -L/-S, like status/stop/retry/attach: a task not on the default server is
    looked for on the server of the run here; once that run and its server are gone, its
    store says what became of the task."""
    got = tmp_path / "got"
    file = tasks_file(
        tmp_path,
        f"tasks: [{{id: talk, command: 'echo ready; read line; echo \"$line\" > {got}'}}]\n",
    )
    proc = subprocess.Popen(  # on a socket path: the default server below is a fresh one
        tmuxorch_argv("run", "-S", str(tmux_server.socket), file),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    nowhere = tmp_path / "no-default-server"
    nowhere.mkdir()

    def here(*args: str) -> subprocess.CompletedProcess[str]:  # no default server there
        return cli(*args, cwd=tmp_path, TMUX_TMPDIR=str(nowhere))

    try:
        eventually(lambda: states(file).get("talk") == "running", what="talk running")
        watch = subprocess.Popen(
            tmuxorch_argv("watch", "--from-start", "talk"),
            cwd=tmp_path,
            env=tmux_env(TMUX_TMPDIR=str(nowhere)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert watch.stdout is not None
        assert watch.stdout.readline() == "ready\n"  # it follows the task's pane
        sent = here("send", "talk", "hello")
        assert sent.returncode == 0, sent.stderr
        out, err = watch.communicate(timeout=60)
        assert watch.returncode == 0, err
        assert "hello" in out
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert got.read_text() == "hello\n"
    tmux_server.client.cmd("kill-server")  # the run's server is gone: its store still says
    ended = here("watch", "talk")
    assert (ended.returncode, ended.stderr) == (
        1,
        "talk has succeeded (exit 0); its output: tmuxorch logs talk\n",
    )
    late = here("send", "talk", "again")
    assert (late.returncode, late.stderr) == (
        1,
        "tmuxorch: not delivered: talk has succeeded (exit 0)\n",
    )


def test_attach_without_a_terminal_says_what_to_run(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(tmp_path, "tasks: [{id: busy, command: 'sleep 300'}]\n")
    proc = start(tmux_server, file)
    try:
        eventually(lambda: states(file).get("busy") == "running", what="running")
        store = Store(state_dir(file))
        pane = eventually(lambda: store.tasks(store.runs(file)[0].id)["busy"].pane, what="pane")
        store.close()
        tried = cli("attach", "busy", "-f", file)
        assert (tried.returncode, tried.stderr) == (
            1,
            "tmuxorch: no terminal here to attach in; from a terminal run:"
            f" tmux -L {tmux_server.name} attach -t {pane}\n",
        )
    finally:
        cli("stop", "--all", "-f", file)
        proc.communicate(timeout=60)


def test_send_when_idle_to_a_plain_command_that_shows_no_prompt(
    tmux_server: Server, tmp_path: Path
) -> None:
    """A shell task is ready once it shows a prompt or a question, or prints nothing for a
    moment: a bare ``read`` shows nothing at all (it waited the whole --timeout, then
    failed)."""
    got = tmp_path / "got"
    file = tasks_file(
        tmp_path, f"tasks: [{{id: asks, command: 'read line; echo \"$line\" > {got}'}}]\n"
    )
    proc = start(tmux_server, file)
    try:
        eventually(lambda: states(file).get("asks") == "running", what="running")
        sent = cli("send", "-L", tmux_server.name, "--when-idle", "--timeout", "30", "asks", "hi")
        assert sent.returncode == 0, sent.stderr
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert got.read_text() == "hi\n"


def test_an_unknown_target_says_which_server_and_what_it_has(
    tmux_server: Server, idle_server: Server
) -> None:
    commands = (["send", "nosuch", "x"], ["watch", "nosuch"])
    asked = {  # at once: watch looks for a task that may be about to start for a while
        (command[0], server.name): subprocess.Popen(
            tmuxorch_argv(command[0], "-L", server.name, *command[1:]),
            env=tmux_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for command in commands
        for server in (tmux_server, idle_server)
    }
    said = {}
    for key, proc in asked.items():
        _, errors = proc.communicate(timeout=60)
        said[key] = (proc.returncode, errors)
    for command in commands:
        assert said[(command[0], tmux_server.name)] == (
            2,
            f"tmuxorch: no task or pane 'nosuch' on tmux server -L {tmux_server.name}:"
            " it has no tmuxorch task panes\n",
        )
        assert said[(command[0], idle_server.name)] == (
            2,
            f"tmuxorch: no task or pane 'nosuch': tmux server -L {idle_server.name} is not running\n",
        )


def test_what_became_of_a_task_is_said_in_words(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: fine, command: 'true'}
          - {id: bad, command: 'exit 3'}
          - {id: after, depends_on: [bad], command: 'true'}
        """,
    )
    assert run(tmux_server, file).returncode == 1
    said = {
        (task, command): cli(command, task, "-f", file).stderr
        for task in ("fine", "after")
        for command in ("attach", "logs")
    }
    assert said == {
        ("fine", "attach"): "tmuxorch: fine has succeeded: no pane to attach to;"
        " its output: tmuxorch logs fine\n",
        ("fine", "logs"): "",
        ("after", "attach"): "tmuxorch: after was skipped: no pane to attach to\n",
        ("after", "logs"): "tmuxorch: after was skipped (needs bad, which failed):"
        " it never started, so it has no output\n",
    }


def problems(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as info:
        load_workspace(str(path))
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


def test_a_misspelled_preset_is_said_once_and_hints_name_what_they_list(tmp_path: Path) -> None:
    assert problems(
        tmp_path,
        "tasks.yaml",
        """
        agents:
          coder: {preset: claud}
        tasks:
          - {id: a, agent: coder, prompt: hi}
          - {id: b, agent: codr, prompt: hi}
          - {id: c, agent: zzzzzz, prompt: hi}
        """,
    ) == [
        "tasks.yaml:3:19: agents.coder.preset: unknown preset 'claud'\n"
        "  hint: did you mean 'claude'?",
        "tasks.yaml:6:20: tasks[1].agent: unknown agent 'codr'\n  hint: did you mean 'coder'?",
        "tasks.yaml:7:20: tasks[2].agent: unknown agent 'zzzzzz'\n  hint: known agents: "
        "aider, claude, coder, codex, demo, gemini, goose, opencode, shell",
    ]
    layout = problems(
        tmp_path,
        "ws.yaml",
        """
        session_name: s
        windows:
          - {layout: zzzzzz, panes: [echo]}
        """,
    )
    assert layout == [
        "ws.yaml:4:14: windows[0].layout: unknown layout 'zzzzzz'\n  hint: known layouts: "
        "even-horizontal, even-vertical, main-horizontal, main-horizontal-mirrored,"
        " main-vertical, main-vertical-mirrored, tiled"
    ]


def test_help_names_what_to_type() -> None:
    """Usage lines and option tables show FILE, TASK, NAME..., not typer's ``{file}`` and
    ``<str>``."""
    from typer.testing import CliRunner

    group = typer.main.get_command(app)
    runner = CliRunner()
    usage = {}
    for name in group.list_commands(typer.Context(group)):  # type: ignore[attr-defined]
        shown = runner.invoke(app, [name, "--help"], terminal_width=200).output
        assert "{" not in shown and "<str>" not in shown, shown
        usage[name] = re.search(r"Usage: \S+ (.*?)\s*$", shown, re.MULTILINE).group(1)  # type: ignore[union-attr]
    assert usage["logs"].endswith("logs [OPTIONS] TASK")
    assert usage["send"].endswith("[OPTIONS] TARGET [TEXT...]")
    assert usage["watch"].endswith("[OPTIONS] TARGET...")
    assert usage["stop"].endswith("[OPTIONS] [TASK...]")
    assert usage["layout"].endswith("[OPTIONS] FILE...")  # one or more
    logs = runner.invoke(app, ["logs", "--help"], terminal_width=200).output
    for option in ("--file  -f  FILE", "-L  NAME", "-S  PATH", "--attempt  N", "--run  ID"):
        assert re.search(r"\s+".join(map(re.escape, option.split())), logs), option


def test_dev_help_and_its_first_set_up(tmp_path: Path) -> None:
    """``./dev`` prints its help and nothing of its code; its first ``demo`` says what it
    installs before the wait (a stand-in python here: nothing is installed for real)."""
    shutil.copy(ROOT / "dev", tmp_path / "dev")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    helped = subprocess.run([tmp_path / "dev"], capture_output=True, text=True)
    assert helped.returncode == 0 and helped.stderr == ""
    assert helped.stdout.splitlines()[1:] == [
        "  ./dev demo    build the demo session and attach to it",
        "  ./dev test    lint (ruff), type-check (mypy --strict) and run the tests",
        "  ./dev bench   run the benchmarks (in .venv-bench, which also gets tmuxp to compare with)",
    ]
    log = tmp_path / "log"
    fake = tmp_path / "python"
    fake.write_text(
        textwrap.dedent(
            f"""\
            #!/bin/sh
            # a stand-in python: '-m venv DIR' makes DIR/bin with this script as python and a
            # tmuxorch that logs its arguments; '-m pip ...' is logged
            case "$1 $2" in
                "-m venv") mkdir -p "$3/bin"; cp "$0" "$3/bin/python"
                    printf '#!/bin/sh\\necho "tmuxorch $*" >> {log}\\n' > "$3/bin/tmuxorch"
                    chmod +x "$3/bin/tmuxorch" ;;
                "-m pip") echo "pip $*" >> {log} ;;
            esac
            """
        )
    )
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake)}
    first = subprocess.run(
        [tmp_path / "dev", "demo", "-d"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    assert first.stderr == (
        "Setting up .venv: pip install -e . (the first time only; it may take a minute)...\n"
    )
    again = subprocess.run(
        [tmp_path / "dev", "demo", "-d"], env=env, capture_output=True, text=True
    )
    assert (again.returncode, again.stderr) == (0, "")
    assert log.read_text().splitlines() == [
        "pip -m pip install -q --disable-pip-version-check -e .",
        "tmuxorch layout layouts/demo.yaml -d",
        "tmuxorch layout layouts/demo.yaml -d",
    ]
