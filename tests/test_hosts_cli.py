"""``tmuxorch hosts``: list, check and install, against a real sshd on loopback."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.sshd import Sshd, missing
from tmuxorch.cli import hosts as hosts_cmd
from tmuxorch.hosts import remote_worker
from tmuxorch.hosts.ssh import Connection
from tmuxorch.spec.user_config import config_path

if TYPE_CHECKING:
    from pathlib import Path

needs_sshd = pytest.mark.skipif(missing() is not None, reason=missing() or "")
SYSTEM_PYTHON = "/usr/bin/python3"


def configure(text: str) -> None:
    os.makedirs(os.path.dirname(config_path()), exist_ok=True)
    with open(config_path(), "w") as f:
        f.write(textwrap.dedent(text).lstrip("\n"))


def hosts_of(sshd: Sshd, python: str = sys.executable, extra: str = "") -> None:
    configure(
        f"""
        hosts:
          box: {{ssh: good, ssh_options: [-F, "{sshd.client_config}"], python: "{python}"{extra}}}
          stranger: {{ssh: wrongkey, ssh_options: [-F, "{sshd.client_config}"]}}
        """
    )


def test_hosts_lists_the_user_configs_and_a_files_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configure("hosts:\n  gpu1: {ssh: me@gpu1, dir: ~/repo, max_parallel: 2}\n")
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(
        "hosts:\n  box: {ssh: box, ssh_options: [-p, '2222']}\n"
        "tasks:\n  - {id: t, command: 'true'}\n"
    )
    assert hosts_cmd.list_hosts(None) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["NAME", "SSH", "DIR", "MAX", "PYTHON", "DEFINED", "AT"]
    assert out[1].split()[:5] == ["gpu1", "me@gpu1", "~/repo", "2", "python3"]
    assert len(out) == 2
    assert hosts_cmd.list_hosts(str(tasks)) == 0
    rows = [line.split()[:5] for line in capsys.readouterr().out.splitlines()[1:]]
    assert rows == [
        ["gpu1", "me@gpu1", "~/repo", "2", "python3"],
        ["box", "-p", "2222", "box", "~"],
    ]
    tasks.write_text("hosts:\n  box: {ssh: -x}\ntasks: []\n")
    assert hosts_cmd.list_hosts(str(tasks)) == 2
    assert "hosts.box.ssh: '-x' starts with '-'" in capsys.readouterr().err


@needs_sshd
def test_check_says_what_runs_there(
    sshd: Sshd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hosts_of(sshd, extra=f', dir: "{tmp_path}"')
    assert hosts_cmd.check("box", None) == 0
    out = capsys.readouterr().out
    assert "ssh:      ok (ssh -F" in out
    assert f"python:   {'.'.join(map(str, sys.version_info[:3]))}" in out
    assert "tmuxorch: 0.1.0\n" in out
    assert "tmux:     3." in out and f"dir:      {tmp_path}\n" in out
    hosts_of(sshd, extra=f', dir: "{tmp_path}/nothing"')
    assert hosts_cmd.check("box", None) == 1
    assert "nothing: MISSING" in capsys.readouterr().out
    assert hosts_cmd.check("stranger", None) == 1
    assert "host key is not the one ssh knows" in capsys.readouterr().err
    assert hosts_cmd.check("bx", None) == 2
    assert "unknown host 'bx'" in capsys.readouterr().err
    running = Connection("good", ("-F", str(sshd.client_config)))  # as a run's, say
    running.connect()
    pid = running.master_pid()
    try:
        hosts_of(sshd, extra=f', dir: "{tmp_path}"')
        assert hosts_cmd.check("box", None) == 0
        assert running.master_pid() == pid  # the run's master goes on
    finally:
        running.close()


@needs_sshd
def test_check_says_how_to_install_tmuxorch_there(
    sshd: Sshd, capsys: pytest.CaptureFixture[str]
) -> None:
    if (
        subprocess.run([SYSTEM_PYTHON, "-c", "import tmuxorch"], cwd="/", check=False).returncode
        == 0
    ):
        pytest.skip(f"needs a {SYSTEM_PYTHON} without tmuxorch")
    hosts_of(sshd, python=SYSTEM_PYTHON)
    assert hosts_cmd.check("box", None) == 1
    assert "tmuxorch hosts install box" in capsys.readouterr().err


def venv_can_be_made() -> bool:
    return (
        subprocess.run(
            [SYSTEM_PYTHON, "-c", "import ensurepip, venv"], capture_output=True, check=False
        ).returncode
        == 0
    )


@needs_sshd
@pytest.mark.slow
@pytest.mark.skipif(not venv_can_be_made(), reason=f"{SYSTEM_PYTHON} cannot make a venv")
def test_install_sends_this_tmuxorch_and_prints_the_python_to_use(
    sshd: Sshd, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--no-deps: no package index is needed (the worker needs no dependency)."""
    hosts_of(sshd, python=SYSTEM_PYTHON)
    venv = str(tmp_path / "venv")
    code = hosts_cmd.install("box", None, venv=venv, python=SYSTEM_PYTHON, deps=False)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert captured.out.splitlines()[-1] == f"python: {venv}/bin/python"
    # (a short folder: pytest's own paths grow past what a socket path may hold)
    conn = Connection("good", sshd.ssh_options, socket_dir=str(sshd.dir))
    try:
        with remote_worker.start(conn, str(tmp_path), python=f"{venv}/bin/python") as worker:
            assert worker.hello["version"] == "0.1.0"
    finally:
        conn.close()
    installed = subprocess.run(
        [f"{venv}/bin/python", "-c", "import tmuxorch; print(tmuxorch.__file__)"],
        capture_output=True,
        text=True,
        cwd="/",
        check=True,
    )
    assert installed.stdout.startswith(venv)  # its own copy, not this checkout
