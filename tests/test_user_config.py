"""The user config ($XDG_CONFIG_HOME/tmuxorch/config.yaml): read and checked with positions,
and merged under every tasks or layout file (the file wins, defaults fill the gaps)."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import Server, tmux_env, tmuxorch_argv
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.user_config import (
    Defaults,
    ServeSettings,
    config_path,
    load_user_config,
    state_dir,
)
from tmuxorch.spec.workspace import load_workspace


def write_config(text: str) -> Path:
    path = Path(config_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def problems(text: str) -> list[str]:
    path = write_config(text)
    with pytest.raises(SpecError) as info:
        load_user_config()
    return [str(p).replace(str(path), "config.yaml") for p in info.value.problems]


def tasks_file(tmp_path: Path, text: str, name: str = "tasks.yaml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args),
        env=tmux_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def test_where_the_config_and_state_are(monkeypatch: pytest.MonkeyPatch) -> None:
    env = {"HOME": "/home/u"}
    assert config_path(env) == "/home/u/.config/tmuxorch/config.yaml"
    assert state_dir(env) == "/home/u/.local/state/tmuxorch"
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "/x/c", "XDG_STATE_HOME": "/x/s"}
    assert config_path(env) == "/x/c/tmuxorch/config.yaml"
    assert state_dir(env) == "/x/s/tmuxorch"
    env = {"HOME": "/home/u", "XDG_CONFIG_HOME": "relative"}  # ignored, as XDG says
    assert config_path(env) == "/home/u/.config/tmuxorch/config.yaml"


def test_the_suite_never_reads_the_developers_config() -> None:
    home = os.path.expanduser("~")
    assert not config_path().startswith(os.path.join(home, ".config"))
    assert not state_dir().startswith(os.path.join(home, ".local"))


def test_no_config_is_the_builtin_defaults() -> None:
    config = load_user_config()
    assert config.file is None
    assert config.defaults == Defaults() and config.serve == ServeSettings()
    assert config.agents == () and config.jobs == ()
    write_config("# nothing yet\n")
    assert load_user_config().defaults == Defaults()


def test_a_full_config(tmp_path: Path) -> None:
    path = write_config(
        """
        agents:
          coder: {preset: demo, args: [--steps, "2"]}
          sh: shell
        defaults:
          timeout: 30m
          retries: 2
          retry_delay: 10s
          max_parallel: 3
          panes_per_window: 2
          worktree: keep
          notify: notify-send tmuxorch
        serve:
          host: ::1
          port: 7340
          token_file: secret/token
        """
    )
    config = load_user_config()
    assert config.file == str(path)
    assert [(a.name, a.preset, a.args) for a in config.agents] == [
        ("coder", "demo", ("--steps", "2")),
        ("sh", "shell", ()),
    ]
    d = config.defaults
    assert (d.timeout, d.retries, d.retry_delay, d.max_parallel, d.panes_per_window) == (
        1800.0,
        2,
        10.0,
        3,
        2,
    )
    assert d.worktree is not None and d.worktree.after == "keep"
    assert d.notify == "notify-send tmuxorch"
    assert config.serve == ServeSettings(
        host="::1", port=7340, token_file=str(path.parent / "secret" / "token")
    )


def test_bad_config_is_reported_where_it_is() -> None:
    assert problems(
        """
        agents:
          coder: {preset: claud}
        defaults:
          timeout: soon
          retries: -1
          paralel: 3
        serve:
          host: 0.0.0.0
          port: 70000
          allow_remote: maybe
        agnets: {}
        """
    ) == [
        "config.yaml:3:19: agents.coder.preset: unknown preset 'claud'\n"
        "  hint: did you mean 'claude'?",
        "config.yaml:5:12: defaults.timeout: not a duration: 'soon'\n"
        "  hint: like 90, 90s, 30m, 1h30m",
        "config.yaml:6:12: defaults.retries: must be at least 0, got -1",
        "config.yaml:7:3: defaults.paralel: unknown key\n  hint: did you mean 'max_parallel'?",
        "config.yaml:9:9: serve.host: '0.0.0.0' is not a loopback address: others could reach"
        " serve\n  hint: set allow_remote: true to mean it",
        "config.yaml:10:9: serve.port: must be at most 65535, got 70000",
        "config.yaml:11:17: serve.allow_remote: expected true or false, got text ('maybe')",
        "config.yaml:12:1: agnets: unknown key\n  hint: did you mean 'agents'?",
    ]
    assert problems("- a list\n") == ["config.yaml:1:1: (top): expected a mapping, got a list"]
    assert problems("defaults: {retries: 1\n")[0].startswith("config.yaml:2:1: (yaml): ")


def test_a_remote_host_needs_allow_remote() -> None:
    write_config("serve: {host: 0.0.0.0, allow_remote: true}\n")
    assert load_user_config().serve == ServeSettings(host="0.0.0.0", allow_remote=True)


def test_tasks_read_only_agents_and_defaults() -> None:
    """A bad serve setting or job does not stop a run (serve and `jobs` report them)."""
    write_config(
        """
        serve: {port: nope}
        jobs: [{id: x, cron: "every day", run: missing.yaml}]
        """
    )
    assert load_user_config(sections=("agents", "defaults")).serve == ServeSettings()
    with pytest.raises(SpecError):
        load_user_config()


MERGED = """
    agents:
      coder: shell                     # the config's coder takes a prompt; this one a command
    tasks:
      - {id: a, agent: coder, command: "true"}
      - {id: b, agent: helper, prompt: hello, depends_on: a}
      - {id: c, command: "true", retries: 0, timeout: 5s, depends_on: a}
    """


def test_the_file_wins_and_defaults_fill(tmp_path: Path) -> None:
    write_config(
        """
        agents:
          coder: {preset: demo}
          helper: {preset: demo, args: [--steps, "1"]}
        defaults: {timeout: 30m, retries: 2, max_parallel: 1, panes_per_window: 2}
        """
    )
    tasks = load_workspace(tasks_file(tmp_path, MERGED)).workspace.tasks
    assert tasks is not None
    assert tasks.agent("coder").preset == "shell"  # the file's profile replaced the config's
    assert tasks.agent("helper").args == ("--steps", "1")  # the config's, used by the file
    a, b, c = tasks.tasks
    assert (a.retries, a.timeout, b.retries, b.timeout) == (2, 1800.0, 2, 1800.0)
    assert (c.retries, c.timeout) == (0, 5.0)  # the task said
    assert (tasks.max_parallel, tasks.panes_per_window) == (1, 2)


def test_merged_through_validate_and_graph(tmp_path: Path) -> None:
    file = tasks_file(tmp_path, MERGED)
    bare = cli("validate", file)  # no config: helper is no agent
    assert bare.returncode == 2
    assert f"{file}:6:20: tasks[1].agent: unknown agent 'helper'" in bare.stderr
    write_config(
        """
        agents: {coder: {preset: demo}, helper: {preset: demo}}
        defaults: {timeout: 30m, retries: 2, max_parallel: 1}
        """
    )
    assert cli("validate", file).returncode == 0
    graph = cli("graph", file)
    assert graph.returncode == 0, graph.stderr
    assert graph.stdout.splitlines() == [
        "level 0:",
        "  a (coder)  [retries 2; timeout 30m]",
        "level 1:",
        "  b (helper)  ← a  [retries 2; timeout 30m]",
        "  c (shell)  ← a  [timeout 5s]",
        "3 task(s), at most 1 at once",
    ]


def test_a_bad_config_stops_validate_with_its_position(tmp_path: Path) -> None:
    path = write_config("defaults:\n  retries: many\n")
    result = cli("validate", tasks_file(tmp_path, "tasks: [{id: a, command: 'true'}]\n"))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"{path}:2:12: defaults.retries: expected a whole number, got text ('many')"
    ]


def test_a_layout_with_tasks_gets_them_too(tmp_path: Path) -> None:
    write_config("defaults: {retries: 3}\n")
    file = tasks_file(
        tmp_path,
        """
        session_name: s
        windows: [{window_name: w, panes: [""]}]
        tasks: [{id: a, command: "true"}]
        """,
        "layout.yaml",
    )
    tasks = load_workspace(file).workspace.tasks
    assert tasks is not None and tasks.tasks[0].retries == 3


FLAKY = """
    tasks:
      - id: flaky                # fails once, then succeeds
        command: test -e {marker} || {{ touch {marker}; exit 1; }}
        {retries}
    """


@pytest.mark.slow
@pytest.mark.parametrize("own", [False, True], ids=["config-retries", "file-says-no-retry"])
def test_run_retries_by_the_configs_default(tmux_server: Server, tmp_path: Path, own: bool) -> None:
    write_config("defaults: {retries: 1, retry_delay: 0}\n")
    file = tasks_file(
        tmp_path,
        FLAKY.format(marker=tmp_path / "marker", retries="retries: 0" if own else ""),
    )
    result = subprocess.run(
        tmuxorch_argv("run", "-L", tmux_server.name, file),
        env=tmux_env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )
    assert result.returncode == (1 if own else 0), result.stdout + result.stderr
