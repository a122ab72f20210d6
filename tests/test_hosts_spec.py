"""``hosts:`` (user config and task files) and a task's ``host:``: read, and every bad
input said at its place. Runs do not use hosts yet (issue 15)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.test_run import run, tasks_file
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.hosts import HostSpec
from tmuxorch.spec.tasks import load_tasks
from tmuxorch.spec.user_config import config_path, load_user_config
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Server


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return str(path)


def user_config(text: str) -> str:
    from pathlib import Path

    return write(Path(config_path()), text)


def errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path / "tasks.yaml", text)
    with pytest.raises(SpecError) as info:
        load_tasks(path)
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


def test_hosts_of_a_tasks_file_and_the_user_config(tmp_path: Path) -> None:
    user_config(
        """
        hosts:
          gpu1: {ssh: me@gpu1, dir: ~/work/repo}
          box: {ssh: box}
        """
    )
    path = write(
        tmp_path / "tasks.yaml",
        """
        hosts:
          gpu1:
            ssh: user@gpu1
            dir: ~/work/repo
            max_parallel: 2
            ssh_options: [-p, 2222, -o, "ServerAliveInterval=5"]
        tasks:
          - {id: train, command: make train, host: gpu1}
          - {id: lint, command: make lint, host: box}
          - {id: here, command: "true"}
        """,
    )
    tasks = load_tasks(path).tasks
    assert [t.host for t in tasks.tasks] == ["gpu1", "box", None]
    by_name = {h.name: h for h in tasks.hosts}
    gpu1 = by_name["gpu1"]  # the file's own wins over the user config's
    assert gpu1 == HostSpec(
        "gpu1",
        "user@gpu1",
        gpu1.origin,
        "~/work/repo",  # kept as written: ~ is the remote home
        2,
        ("-p", "2222", "-o", "ServerAliveInterval=5"),
    )
    assert (gpu1.origin.file, gpu1.origin.line, gpu1.origin.col) == (path, 2, 3)
    assert by_name["box"].ssh == "box" and by_name["box"].max_parallel is None
    assert by_name["box"].dir is None and by_name["box"].ssh_options == ()


def test_the_user_configs_hosts_alone(tmp_path: Path) -> None:
    user_config("hosts:\n  gpu1: {ssh: 'ssh://me@gpu1:2222', max_parallel: 1}\n")
    (host,) = load_user_config().hosts
    assert (host.name, host.ssh, host.max_parallel) == ("gpu1", "ssh://me@gpu1:2222", 1)


def test_bad_hosts_are_each_said_at_their_place(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        hosts:
          a: {ssh: -oProxyCommand=sh}
          b: {ssh: "user@gpu1 -p 1"}
          c: {ssh: user@c, dir: [x], max_parallel: 0}
          d: {dir: /w}
          e: {ssh: user@e, ssh_options: -p, sh: x}
          f: {ssh: user@f, ssh_options: [-p, [2]], dir: ""}
          -x: {ssh: x}
          g: nope
        tasks:
          - {id: t, command: "true"}
        """,
    ) == [
        "tasks.yaml:2:12: hosts.a.ssh: '-oProxyCommand=sh' starts with '-': ssh would read it "
        "as an option\n  hint: put options in ssh_options, and the host here",
        "tasks.yaml:3:12: hosts.b.ssh: 'user@gpu1 -p 1' has a space or a control character",
        "tasks.yaml:4:25: hosts.c.dir: expected text, got a list",
        "tasks.yaml:4:44: hosts.c.max_parallel: must be at least 1, got 0",
        "tasks.yaml:5:6: hosts.d.ssh: required key is missing\n  hint: e.g. ssh: user@host",
        "tasks.yaml:6:33: hosts.e.ssh_options: expected a list, got text ('-p')",
        "tasks.yaml:6:37: hosts.e.sh: unknown key\n  hint: did you mean 'ssh'?",
        "tasks.yaml:7:38: hosts.f.ssh_options[1]: expected text, got a list",
        "tasks.yaml:7:49: hosts.f.dir: must not be empty",
        "tasks.yaml:8:3: hosts.-x: '-x' is not a valid host name\n  hint: letters, digits, "
        "'.', '_' and '-', starting with a letter or digit",
        "tasks.yaml:9:6: hosts.g: expected a mapping, got text ('nope')",
    ]


def test_the_python_that_runs_tmuxorch_there(tmp_path: Path) -> None:
    path = write(
        tmp_path / "tasks.yaml",
        """
        hosts:
          a: {ssh: a}
          b: {ssh: b, python: ~/.local/share/tmuxorch/venv/bin/python}
          c: {ssh: c, python: "/opt/my tools/python3.12"}
        tasks:
          - {id: t, command: "true"}
        """,
    )
    hosts = {h.name: h.python for h in load_tasks(path).tasks.hosts}
    assert hosts == {
        "a": "python3",
        "b": "~/.local/share/tmuxorch/venv/bin/python",
        "c": "/opt/my tools/python3.12",
    }
    assert errors(
        tmp_path,
        """
        hosts:
          a: {ssh: a, python: -c}
          b: {ssh: b, python: ""}
          c: {ssh: c, python: [python3]}
          d: {ssh: d, python: "python3\\n"}
          e: {ssh: e, python: " python3"}
          f: {ssh: f, pyton: python3}
        tasks:
          - {id: t, command: "true"}
        """,
    ) == [
        "tasks.yaml:2:23: hosts.a.python: '-c' starts with '-'\n  hint: a name or path, "
        "e.g. python3",
        "tasks.yaml:3:23: hosts.b.python: must not be empty",
        "tasks.yaml:4:23: hosts.c.python: expected text, got a list",
        "tasks.yaml:5:23: hosts.d.python: 'python3\\n' has a line break or a NUL character",
        "tasks.yaml:6:23: hosts.e.python: ' python3' has a control character or a space at an end",
        "tasks.yaml:7:15: hosts.f.pyton: unknown key\n  hint: did you mean 'python'?",
    ]


def test_a_task_on_an_unknown_host_is_said_with_a_guess(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        hosts:
          gpu1: {ssh: user@gpu1}
        tasks:
          - {id: a, command: "true", host: gpu2}
          - {id: b, command: "true", host: [gpu1, gpu3]}
          - {id: c, command: "true", host: []}
          - {id: d, command: "true", host: [gpu1, gpu1]}
          - {id: e, command: "true", host: {gpu1: 1}}
        """,
    ) == [
        "tasks.yaml:4:36: tasks[0].host: unknown host 'gpu2'\n  hint: did you mean 'gpu1'?",
        "tasks.yaml:5:36: tasks[1].host: unknown host 'gpu3'\n  hint: did you mean 'gpu1'?",
        "tasks.yaml:6:36: tasks[2].host: an empty list\n  hint: name one host or more",
        "tasks.yaml:7:43: tasks[3].host[1]: host 'gpu1' is listed twice",
        "tasks.yaml:8:36: tasks[4].host: expected text, got a mapping",
    ]
    assert errors(tmp_path, "tasks:\n  - {id: a, command: 'true', host: gpu1}\n") == [
        "tasks.yaml:2:36: tasks[0].host: unknown host 'gpu1'\n  hint: define it under hosts:"
    ]


def test_a_host_defined_in_two_files_of_a_folder(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "hosts: {gpu1: {ssh: x}}\ntasks: [{id: a, command: 'true'}]\n")
    write(tmp_path / "b.yaml", "hosts:\n  gpu1: {ssh: y}\ntasks: [{id: b, command: 'true'}]\n")
    with pytest.raises(SpecError) as info:
        load_tasks(str(tmp_path))
    assert [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems] == [
        "b.yaml:2:3: hosts.gpu1: host defined twice (first at a.yaml:1:9: hosts.gpu1)"
    ]


def test_a_host_defined_in_a_later_file_of_a_folder_is_known(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "tasks: [{id: a, command: 'true', host: gpu1}]\n")
    write(tmp_path / "b.yaml", "hosts: {gpu1: {ssh: x}}\ntasks: [{id: b, command: 'true'}]\n")
    assert load_tasks(str(tmp_path)).tasks.task("a").host == "gpu1"


def test_bad_hosts_in_the_user_config(tmp_path: Path) -> None:
    path = user_config("hosts:\n  gpu1: {ssh: '-F/tmp/x'}\n")
    with pytest.raises(SpecError) as info:
        load_user_config()
    assert [str(p).replace(path, "config.yaml") for p in info.value.problems] == [
        "config.yaml:2:15: hosts.gpu1.ssh: '-F/tmp/x' starts with '-': ssh would read it as an "
        "option\n  hint: put options in ssh_options, and the host here"
    ]


def test_a_layout_with_tasks_takes_hosts(tmp_path: Path) -> None:
    path = write(
        tmp_path / "layout.yaml",
        """
        session_name: s
        hosts: {gpu1: {ssh: user@gpu1}}
        windows: [{window_name: w, panes: [echo]}]
        tasks: [{id: a, command: "true", host: gpu1}]
        """,
    )
    tasks = load_workspace(path).workspace.tasks
    assert tasks is not None
    assert [h.name for h in tasks.hosts] == ["gpu1"]
    assert tasks.task("a").host == "gpu1"


def test_a_list_of_hosts_is_kept_in_its_order(tmp_path: Path) -> None:
    path = write(
        tmp_path / "tasks.yaml",
        """
        hosts:
          a: {ssh: a}
          b: {ssh: b}
        tasks:
          - {id: x, command: "true", host: [b, a]}
          - {id: y, command: "true", host: [a]}
        """,
    )
    taskset = load_tasks(path).tasks
    assert taskset.task("x").host_choices == ("b", "a") and taskset.task("x").host is None
    assert taskset.task("y").host == "a" and taskset.task("y").host_choices == ()


def test_a_task_on_a_host_out_of_reach_fails_and_never_runs_here(
    tmux_server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "ran-here"
    file = tasks_file(
        tmp_path,
        f"""
        hosts:
          gpu1: {{ssh: user@gpu1.invalid}}
        tasks:
          - {{id: far, host: gpu1, command: "touch {marker}"}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1, result.stdout
    assert "host gpu1: " in result.stdout, result.stdout
    assert not marker.exists()  # never run here instead
