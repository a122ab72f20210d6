"""tmuxorch's worker started on a host over ssh, and the mirror over it: against a real
sshd on loopback (tests/sshd.py), this machine playing the remote host."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import eventually
from tests.sshd import Sshd, missing
from tmuxorch.hosts import remote_worker
from tmuxorch.hosts.errors import (
    HostKeyChanged,
    ProtocolMismatch,
    PythonMissing,
    TmuxorchMissing,
    WorkerFailed,
)
from tmuxorch.hosts.mirror import Gap, Mirror
from tmuxorch.hosts.ssh import Connection
from tmuxorch.hosts.worker_client import WorkerError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")
PYTHON = sys.executable  # the remote Python: this venv's, which has tmuxorch


@pytest.fixture
def connect(sshd: Sshd) -> Iterator[Callable[..., Connection]]:
    """Connections to the test sshd's aliases; their masters are ended afterwards."""
    folder = tempfile.mkdtemp(prefix="tsock")
    made: list[Connection] = []

    def make(alias: str = "good") -> Connection:
        conn = Connection(alias, sshd.ssh_options, socket_dir=folder)
        made.append(conn)
        return conn

    yield make
    for conn in made:
        pid = conn.master_pid()
        conn.close()
        if pid is not None and conn.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def script(tmp_path: Path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o700)
    return str(path)


def test_the_worker_answers_over_ssh_and_refuses_what_is_outside(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("s3cret")
    root = tmp_path / "host" / "state"
    with pytest.raises(WorkerFailed, match=r"has no folder .*host: make it there"):
        remote_worker.start(connect(), str(root), python=PYTHON)  # its dir: is missing
    root.parent.mkdir()
    with remote_worker.start(connect(), str(root), python=PYTHON) as worker:
        assert worker.hello["protocol"] == 1
        assert worker.root == str(root)
        assert stat.S_IMODE(root.stat().st_mode) == 0o700  # made, private
        assert worker.alive()
        client = worker.client
        client.mkdir("runs/r1")
        client.write("runs/r1/p.md", b"prompt \x00\xff")
        assert (root / "runs/r1/p.md").read_bytes() == b"prompt \x00\xff"
        for path in ("../../secret", str(tmp_path / "secret"), "/etc/passwd"):
            with pytest.raises(WorkerError) as refused:
                client.read(path)
            assert refused.value.kind == "outside"
    assert not worker.alive()


def test_mirror_over_ssh_survives_a_cut_link(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    root = tmp_path / "host"
    (root / "runs/r1/hooks").mkdir(parents=True)
    (root / "transcripts/r1").mkdir(parents=True)
    local = tmp_path / "local"
    conn = connect()
    worker = remote_worker.start(conn, str(root), python=PYTHON)
    lost = threading.Event()
    mirror = Mirror(worker.client, on_lost=lambda _: lost.set())
    mirror.follow("runs/r1/exits/t.1", str(local / "runs/r1/exits/t.1"), "whole")
    mirror.follow("runs/r1/hooks/t.1.jsonl", str(local / "runs/r1/hooks/t.1.jsonl"), "append")
    mirror.follow("transcripts/r1/t.1.log", str(local / "transcripts/r1/t.1.log"), "record")
    mirror.start()
    part = root / "transcripts/r1/t.1.log.part"
    hooks = root / "runs/r1/hooks/t.1.jsonl"
    written = b""
    try:
        for i in range(200):
            line = b"line %d \x1b[32m\xe2\x9c\x93\x1b[0m\r\n" % i
            with open(part, "ab") as f:
                f.write(line)
            written += line
            if i == 100:
                mirror.flush()
                at_cut = len(written)
                worker.kill()  # the link is cut (its ssh session ends)
                assert lost.wait(60)
        with open(hooks, "ab") as f:
            f.write(b'{"event": "stop"}\n')
        (root / "runs/r1/exits").mkdir()
        (root / "runs/r1/exits/t.1").write_bytes(b"0\n")
        part.rename(root / "transcripts/r1/t.1.log")
        worker = remote_worker.start(conn, str(root), python=PYTHON)
        gaps = mirror.reconnect(worker.client)
        assert gaps == [Gap(str(local / "transcripts/r1/t.1.log"), at_cut, len(written) - at_cut)]
        mirror.flush()
    finally:
        mirror.stop()
        worker.close()
    assert (local / "transcripts/r1/t.1.log").read_bytes() == written  # no byte twice
    assert not (local / "transcripts/r1/t.1.log.part").exists()
    assert (local / "runs/r1/hooks/t.1.jsonl").read_bytes() == b'{"event": "stop"}\n'
    assert (local / "runs/r1/exits/t.1").read_bytes() == b"0\n"


def test_a_killed_master_is_a_lost_worker_and_a_new_one_carries_on(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    root = tmp_path / "host"
    root.mkdir()
    conn = connect()
    worker = remote_worker.start(conn, str(root), python=PYTHON)
    reasons: list[str] = []
    mirror = Mirror(worker.client, on_lost=reasons.append)
    mirror.follow("events.jsonl", str(tmp_path / "events.jsonl"), "append")
    mirror.start()
    try:
        (root / "events.jsonl").write_bytes(b"1\n")
        mirror.flush()
        pid = conn.master_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        eventually(lambda: reasons, what="the mirror says the worker is lost")
        with open(root / "events.jsonl", "ab") as f:
            f.write(b"2\n")
        worker.close()
        worker = remote_worker.start(conn, str(root), python=PYTHON)  # a new master
        assert mirror.reconnect(worker.client) == []
        mirror.flush()
    finally:
        mirror.stop()
        worker.close()
    assert (tmp_path / "events.jsonl").read_bytes() == b"1\n2\n"


def test_a_missing_python_is_said(connect: Callable[..., Connection], tmp_path: Path) -> None:
    nowhere = str(tmp_path / "no-python3")
    with pytest.raises(PythonMissing) as caught:
        remote_worker.start(connect(), str(tmp_path), python=nowhere, name="gpu1")
    assert caught.value.programs == [nowhere]
    said = f"gpu1 has no {nowhere}: fix the host's python: setting (the path of a Python 3.10"
    assert str(caught.value).startswith(said), caught.value  # a path: no PATH to speak of
    with pytest.raises(PythonMissing) as caught:
        remote_worker.start(connect(), str(tmp_path), python="no-python3", name="gpu1")
    assert "python: /path/to/python3" in str(caught.value)  # a name: looked for on the PATH


def test_a_python_that_fails_at_once_is_said(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    with pytest.raises(WorkerFailed, match=r"ended before answering \(exit status 1\)") as caught:
        remote_worker.start(connect(), str(tmp_path), python="/bin/false", name="gpu1")
    assert "Try it by hand: ssh -F" in str(caught.value)


def test_a_python_without_tmuxorch_says_how_to_install_it(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    system = "/usr/bin/python3"
    found = subprocess.run(
        [system, "-c", "import tmuxorch"], cwd=tmp_path, capture_output=True, check=False
    )
    if not os.path.exists(system) or found.returncode == 0:
        pytest.skip(f"needs a {system} without tmuxorch")
    with pytest.raises(TmuxorchMissing) as caught:
        remote_worker.start(connect(), str(tmp_path), python=system, name="gpu1")
    message = str(caught.value)
    assert "has no tmuxorch (No module named 'tmuxorch')" in message
    assert "tmuxorch hosts install gpu1" in message


def test_another_protocol_is_refused(connect: Callable[..., Connection], tmp_path: Path) -> None:
    fake = script(
        tmp_path,
        "old-python",
        'read line; echo \'{"id": 1, "result": {"protocol": 0, "version": "0.0.1"}}\'; cat\n',
    )
    with pytest.raises(ProtocolMismatch) as caught:
        remote_worker.start(connect(), str(tmp_path), python=fake, name="gpu1")
    assert "tmuxorch 0.0.1 on gpu1 speaks worker protocol 0" in str(caught.value)
    assert "tmuxorch hosts install gpu1" in str(caught.value)


def test_a_login_that_hangs_is_an_error_not_a_stall(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    hung = script(tmp_path, "hung", f"echo $$ > {pid_file}; exec sleep 600\n")
    try:
        with pytest.raises(WorkerFailed, match="did not answer within 1s"):
            remote_worker.start(connect(), str(tmp_path), python=hung, hello_timeout=1)
    finally:
        with contextlib.suppress(FileNotFoundError, ValueError, ProcessLookupError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_host_key_problem_is_the_ssh_error(
    connect: Callable[..., Connection], tmp_path: Path
) -> None:
    with pytest.raises(HostKeyChanged):
        remote_worker.start(connect("wrongkey"), str(tmp_path), python=PYTHON)


def test_a_python_under_the_remote_home(connect: Callable[..., Connection], tmp_path: Path) -> None:
    home = os.path.expanduser("~")  # sshd gives the session the user's real home
    link = tempfile.mkdtemp(prefix=".tmuxorch-test-", dir=home)
    try:
        script(Path(link), "python", f'exec {PYTHON} "$@"\n')
        python = "~/" + os.path.relpath(os.path.join(link, "python"), home)
        with remote_worker.start(connect(), str(tmp_path), python=python) as worker:
            assert worker.hello["protocol"] == 1
        os.unlink(os.path.join(link, "python"))
        with pytest.raises(PythonMissing):
            remote_worker.start(connect(), str(tmp_path), python=python)
    finally:
        shutil.rmtree(link, ignore_errors=True)
