"""One ssh connection per host, against a real sshd on loopback (tests/sshd.py)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
from functools import partial
from typing import TYPE_CHECKING

import pytest

from tests.conftest import eventually
from tests.sshd import Sshd, missing
from tmuxorch.hosts.errors import (
    AuthFailed,
    CommandTimeout,
    HostKeyChanged,
    HostKeyUnknown,
    RemoteProgramMissing,
    Unreachable,
)
from tmuxorch.hosts.ssh import Connection, socket_folder

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")


@pytest.fixture
def connect(sshd: Sshd) -> Iterator[Callable[..., Connection]]:
    """Connections to the test sshd's aliases; their masters are ended afterwards."""
    folder = tempfile.mkdtemp(prefix="tsock")
    made: list[Connection] = []

    def make(alias: str, *options: str, **settings: object) -> Connection:
        conn = Connection(alias, (*sshd.ssh_options, *options), socket_dir=folder, **settings)  # type: ignore[arg-type]
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


def test_many_commands_go_over_one_connection(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    conn = connect("good")
    assert not conn.alive()
    outputs = [conn.run(["echo", f"command {i}"]) for i in range(4)]
    assert [r.out for r in outputs] == [f"command {i}\n".encode() for i in range(4)]
    assert all(r.code == 0 and r.err == b"" for r in outputs)
    assert conn.alive()
    assert sshd.accepted() == 1  # sshd logs every login: one, for the master


def test_a_second_connection_object_shares_the_master(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    first = connect("good")
    first.run(["true"])
    second = connect("good")  # e.g. another tmuxorch process for the same host
    assert second.alive()
    assert second.master_pid() == first.master_pid()
    assert second.run(["echo", "shared"]).out == b"shared\n"
    assert sshd.accepted() == 1


def test_connections_made_at_once_make_one_master_and_none_waits(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    """Threads of a run (its poller, its reconnection) and other tmuxorch processes may all
    find the master down at the same moment: one makes it, the others use it. (An ``ssh
    -N`` that found another's new master became a client of it with nothing to run, and
    waited there until its timeout: a stalled run.)"""
    connections = [connect("good", connect_timeout=10) for _ in range(4)]
    failures: list[BaseException] = []

    def make(conn: Connection) -> None:
        try:
            conn.connect()
        except BaseException as exc:  # said below, whatever it is
            failures.append(exc)

    threads = [threading.Thread(target=make, args=(c,)) for c in connections]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads) and failures == []
    assert len({c.master_pid() for c in connections}) == 1
    assert sshd.accepted() == 1


def test_stop_groups_ends_each_whole_process_group_there(
    connect: Callable[..., Connection],
) -> None:
    """A pane's program leads its own process group: stopping it there ends the group, a
    child that ignores TERM too (KILL follows). The host is this machine."""
    groups = [
        subprocess.Popen(
            ["sh", "-c", "trap '' TERM; sleep 300 & sleep 300"], start_new_session=True
        )
        for _ in range(2)
    ]
    try:
        connect("good").stop_groups([g.pid for g in groups])
        for group in groups:
            group.wait(timeout=30)
            eventually(partial(_group_ended, group.pid), what="its whole group ended")
    finally:
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group.pid, signal.SIGKILL)
            group.wait()


def _group_ended(pgid: int) -> bool:
    return not _group_alive(pgid)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` runs (zombies only wait to be read)."""
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                state, _, group = handle.read().rpartition(")")[2].split()[:3]
        except (OSError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            return True
    return False


def test_arguments_arrive_byte_exact(connect: Callable[..., Connection]) -> None:
    args = [
        "two words",
        "it's",
        '"double"',
        "$HOME",
        "${PATH}",
        "`id`",
        "$(id)",
        "x; echo injected",
        "a && b || c",
        "back\\slash",
        "*",
        "~",
        "",
        "new\nline",
        "tab\there",
        "ünïcødé",
        "-n",
        "#not a comment",
        "> /tmp/never",
    ]
    result = connect("good").run(["printf", "%s\\0", *args])
    assert result.code == 0
    assert result.out.split(b"\0")[:-1] == [a.encode() for a in args]
    assert not os.path.exists("/tmp/never")


def test_command_is_the_local_argv_of_a_remote_program(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    """For programs whose pipes the caller drives (a tmux control client): a new session
    over the master, every argument arriving as given."""
    conn = connect("good")
    hostile = ["it's", "$(touch /tmp/never)", "a; touch /tmp/never", "new\nline", "`id`", ""]
    argv = conn.command(["printf", "%s\\0", *hostile])
    assert conn.alive()  # started by command() itself
    for _ in range(2):
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=True)
        assert done.stdout.split(b"\0")[:-1] == [a.encode() for a in hostile]
    assert not os.path.exists("/tmp/never")
    assert sshd.accepted() == 1
    with pytest.raises(ValueError, match="no remote command"):
        conn.command([])


def test_exit_status_stdin_and_stderr_come_back(connect: Callable[..., Connection]) -> None:
    code, out, err = connect("good").run(
        ["sh", "-c", "cat; echo oops >&2; exit 3"], input=b"from stdin\x00\xff"
    )
    assert (code, out, err) == (3, b"from stdin\x00\xff", b"oops\n")


def test_changed_host_key_is_a_clear_error(sshd: Sshd, connect: Callable[..., Connection]) -> None:
    conn = connect("wrongkey")
    with pytest.raises(HostKeyChanged) as caught:
        conn.run(["true"])
    message = str(caught.value)
    assert "host key is not the one ssh knows" in message
    assert 'ssh-keygen -f "' in message  # ssh's own command to remove the stale key
    assert f"-F {sshd.client_config} wrongkey" in message  # how to connect by hand
    assert not conn.alive()
    assert sshd.accepted() == 0


def test_unknown_host_key_is_never_accepted_for_the_user(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    conn = connect("unknown")
    with pytest.raises(HostKeyUnknown, match="does not know unknown's host key"):
        conn.connect()
    assert (sshd.dir / "known_empty").read_text() == ""
    assert sshd.accepted() == 0


def test_refused_key_is_an_auth_error(sshd: Sshd, connect: Callable[..., Connection]) -> None:
    with pytest.raises(AuthFailed) as caught:
        connect("nokey").run(["true"])
    assert "Permission denied (publickey)" in str(caught.value)
    assert "ssh-add" in str(caught.value)
    assert sshd.accepted() == 0


def test_refused_connection_is_unreachable(connect: Callable[..., Connection]) -> None:
    with pytest.raises(Unreachable, match=r"cannot reach refused: .*Connection refused"):
        connect("refused").run(["true"])


def test_a_host_that_stalls_during_login_hits_the_deadline(
    connect: Callable[..., Connection],
) -> None:
    """A server that answers the TCP connection and its banner, then says nothing more: ssh's
    own ConnectTimeout is over by then, so only the wall-clock guard ends the wait."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    held: list[socket.socket] = []

    def answer() -> None:
        with contextlib.suppress(OSError):
            peer, _ = listener.accept()
            peer.sendall(b"SSH-2.0-stalled\r\n")
            held.append(peer)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    conn = connect("good", "-p", str(port), connect_timeout=1, keepalive_interval=60)
    try:
        with pytest.raises(Unreachable, match="did not finish logging in"):
            conn.connect()
    finally:
        listener.close()
        for peer in held:
            peer.close()
        thread.join()
    assert not conn.alive()


def test_killed_master_is_noticed_and_the_next_command_reconnects(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    conn = connect("good")
    assert conn.run(["echo", "before"]).out == b"before\n"
    pid = conn.master_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    eventually(lambda: not conn.alive(), what="the killed master is seen as down")
    assert conn.run(["echo", "after"]).out == b"after\n"
    assert conn.alive()
    assert conn.master_pid() not in (None, pid)
    assert sshd.accepted() == 2


def test_a_command_past_its_deadline_is_stopped_and_the_connection_stays(
    sshd: Sshd, connect: Callable[..., Connection]
) -> None:
    conn = connect("good")
    # a loop that prints, so it ends by SIGPIPE once its session is gone (no test leftovers)
    forever = ["sh", "-c", "while echo waiting; do sleep 1; done"]
    with pytest.raises(CommandTimeout, match="sh on good did not finish within 1s"):
        conn.run(forever, timeout=1)
    assert conn.run(["echo", "still here"]).out == b"still here\n"
    assert sshd.accepted() == 1


def test_close_ends_the_master(connect: Callable[..., Connection]) -> None:
    conn = connect("good")
    conn.connect()
    assert conn.alive()
    conn.close()
    assert not conn.alive()
    conn.close()  # nothing to end: no error


def test_missing_remote_programs_are_named(connect: Callable[..., Connection]) -> None:
    conn = connect("good")
    with pytest.raises(RemoteProgramMissing) as caught:
        conn.run(["tmuxorch-no-such-program", "--version"])
    assert caught.value.programs == ["tmuxorch-no-such-program"]
    assert "ssh -F" in str(caught.value) and "echo $PATH" in str(caught.value)
    conn.require("sh", "tmux", "python3")  # all there on this machine
    with pytest.raises(RemoteProgramMissing) as caught:
        conn.require("tmux", "tmuxorch-no-such-1", "python3", "tmuxorch-no-such-2")
    assert caught.value.programs == ["tmuxorch-no-such-1", "tmuxorch-no-such-2"]


def test_a_remote_exit_status_of_127_alone_is_not_a_missing_program(
    connect: Callable[..., Connection],
) -> None:
    assert connect("good").run(["sh", "-c", "exit 127"]).code == 127


def test_destination_cannot_smuggle_an_option() -> None:
    for bad in ("-oProxyCommand=touch /tmp/tmuxorch-pwned", "", " good"):
        with pytest.raises(ValueError, match="not an ssh destination"):
            Connection(bad, socket_dir="/tmp")


def test_socket_folder_is_private_and_short(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path_factory.mktemp("run")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = socket_folder()
    assert folder == str(runtime / "tmuxorch" / "ssh")
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    monkeypatch.delenv("XDG_RUNTIME_DIR")
    state = os.environ["XDG_STATE_HOME"]
    assert socket_folder() == os.path.join(state, "tmuxorch", "ssh")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("x" * 80)))
    assert socket_folder() == f"/tmp/tmuxorch-ssh-{os.getuid()}"  # too long for a socket
    conn = Connection("some-host")
    assert len(conn.control_path) + 17 <= 104
