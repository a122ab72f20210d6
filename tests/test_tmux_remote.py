"""A remote tmux server driven like a local one, over one ssh connection carrying tmux
control mode: a real sshd on loopback (tests/sshd.py) whose sessions get a tmux socket
folder of their own, so the "remote default server" is private to each test."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import TYPE_CHECKING

import pytest

from tests.conftest import eventually
from tests.sshd import Sshd, missing
from tests.test_bridge import READER
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.send import deliver
from tmuxorch.hosts.errors import HostKeyChanged
from tmuxorch.hosts.ssh import Connection
from tmuxorch.tmux.client import TmuxError
from tmuxorch.tmux.panes import PaneRequest, capture, open_panes, task_panes
from tmuxorch.tmux.remote import LINK_SESSION, LinkDown, RemoteClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

pytestmark = pytest.mark.skipif(missing() is not None, reason=missing() or "")

TMUX = ("tmux", "-f", "/dev/null")  # the default server there, without anyone's config
HOSTILE = (
    'it\'s "quoted" $(touch {marker}) `touch {marker}`; touch {marker} \\ #{{pane_id}}\nline two;'
)


@pytest.fixture
def remote(sshd: Sshd) -> Iterator[Callable[..., tuple[RemoteClient, Connection]]]:
    """Remote clients of the test sshd's aliases; their links and masters end afterwards."""
    folder = tempfile.mkdtemp(prefix="tsock")
    made: list[tuple[RemoteClient, Connection]] = []

    def make(alias: str = "good") -> tuple[RemoteClient, Connection]:
        conn = Connection(
            alias, sshd.ssh_options, socket_dir=folder, keepalive_interval=1, keepalive_count=2
        )
        client = RemoteClient(conn.command, host=alias, tmux=TMUX, timeout=10)
        made.append((client, conn))
        return client, conn

    yield make
    for client, conn in made:
        client.close()
        pid = conn.master_pid()
        conn.close()
        if pid is not None and conn.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(folder, ignore_errors=True)


def _session(client: RemoteClient, name: str = "work") -> None:
    client.run(
        [
            ("new-session", "-d", "-s", name, "-x", "220", "-y", "50"),
            ("set-option", "-g", "remain-on-exit", "on"),
        ]
    )


def _pane(client: RemoteClient, *argv: str, session: str = "work") -> str:
    return client.cmd(
        "new-window", "-d", "-t", f"={session}:", "-P", "-F", "#{pane_id}", "--", *argv
    )[0]


def test_many_commands_go_over_one_login(
    sshd: Sshd, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    client, _ = remote()
    assert not client.alive()
    for i in range(30):
        assert client.cmd("display-message", "-p", f"n{i}") == [f"n{i}"]
    sessions = client.cmd("list-sessions", "-F", "#{session_name}")
    socket = client.cmd("display-message", "-p", "#{socket_path}")[0]
    assert client.alive()
    assert sessions == [LINK_SESSION]
    assert socket == str(sshd.tmux_socket)  # its default server, in its own folder
    assert client.version() >= (3, 2)
    assert sshd.accepted() == 1  # one login, for the master


def test_a_failing_command_stops_the_rest_and_is_named(
    remote: Callable[..., tuple[RemoteClient, Connection]],
) -> None:
    client, _ = remote()
    with pytest.raises(TmuxError) as caught:
        client.run(
            [
                ("display-message", "-p", "first"),
                ("set-option", "-g", "@before", "1"),
                ("kill-pane", "-t", "%999"),
                ("set-option", "-g", "@after", "1"),
            ]
        )
    assert not isinstance(caught.value, LinkDown)
    assert caught.value.command == ("kill-pane", "-t", "%999")
    assert "can't find pane" in caught.value.message
    assert caught.value.outputs == [["first"], []]
    shown = client.cmd("show-options", "-g", "-v", "@before")
    assert shown == ["1"]
    assert client.run_each(
        [
            ("show-options", "-g", "-q", "-v", "@after"),
            ("kill-pane", "-t", "%999"),
            ("display-message", "-p", "x"),
        ]
    ) == [[], None, ["x"]]


def test_a_long_command_line_and_stdin(
    remote: Callable[..., tuple[RemoteClient, Connection]],
) -> None:
    client, _ = remote()
    long = (
        "y" * 100_000
    )  # past the 16 KB of one tmux CLI message: a control client has no such limit
    assert client.cmd("display-message", "-p", long) == [long]
    data = HOSTILE.format(marker="/nonexistent/x")
    client.run([("load-buffer", "-b", "t;$(x)", "-")], input=data.encode())  # one ssh, stdin
    assert client.cmd("show-buffer", "-b", "t;$(x)") == data.split("\n")  # one ssh, exact


def test_panes_opened_remotely_are_read_back(
    tmp_path: Path, remote: Callable[..., tuple[RemoteClient, Connection]], sshd: Sshd
) -> None:
    client, _ = remote()
    _session(client, "run1")
    requests = [
        PaneRequest(
            task=f"t{i}",
            attempt=1,
            argv=("sh", "-c", 'echo "hello from $NAME"; exec sleep 600'),
            env=(("NAME", f"t{i}"),),
            cwd=str(tmp_path),
            window="tasks",
            new_window=i == 0,
        )
        for i in range(4)
    ]
    opened = open_panes(client, "run1", "r1", requests)
    panes = [o.pane for o in opened if not isinstance(o, TmuxError)]
    assert len(panes) == 4
    found = task_panes(client, "r1")
    assert sorted((f.task, f.pane, f.attempt) for f in found) == sorted(
        (f"t{i}", panes[i], 1) for i in range(4)
    )

    def printed() -> bool:
        screens = capture(client, panes)
        return all(f"hello from t{i}" in screens.get(p, "") for i, p in enumerate(panes))

    eventually(printed, what="each pane printed its own line")
    assert sshd.accepted() == 1


def test_hostile_text_arrives_byte_exact(
    tmp_path: Path, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    client, _ = remote()
    _session(client)
    (tmp_path / "reader.py").write_text(READER)
    pane = _pane(client, sys.executable, str(tmp_path / "reader.py"), str(tmp_path))
    eventually((tmp_path / "ready").exists, what="the reader in raw mode")
    marker = tmp_path / "pwned"
    text = HOSTILE.format(marker=marker)
    for n in range(2):
        (tmp_path / "len.tmp").write_text(str(len(text.encode())))
        (tmp_path / "len.tmp").rename(tmp_path / f"{n}.len")  # whole, for the reader
        if n == 0:
            client.cmd("send-keys", "-t", pane, "-l", "--", text)  # over the link
        else:
            assert deliver(client, pane, text, enter=False) is None  # load-buffer: one ssh
        out = tmp_path / f"{n}.out"
        eventually(out.exists, what=f"payload {n} read back")
        assert out.read_bytes() == text.encode()
    assert not marker.exists()


def test_a_poller_watches_a_remote_pane(
    sshd: Sshd, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    client, _ = remote()
    _session(client)
    pane = _pane(client, "cat")
    poller = Poller(client)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe()
    seen: list[str] = []
    with poller:
        eventually(lambda: poller.idle.is_set(), what="the first look")
        client.cmd("send-keys", "-t", pane, "-l", "remote line 42")
        client.cmd("send-keys", "-t", pane, "Enter")
        for event in sub:
            if event["type"] == "frame" and event.get("key"):
                seen.append(str(event["text"]))
            elif event["type"] == "frame":
                seen.append(str(event["patch"]))
            if any("remote line 42" in s for s in seen):
                break
        control = poller._controls["work"]  # woken by %output, from over the master
        assert not control.closed.is_set()
        assert str(list(control.proc.args)[-1]).endswith("-t =work")  # type: ignore[arg-type]
    assert sshd.accepted() == 1  # the poller's own control client came over the master too


class Pending:
    """A command the remote tmux answers only after a minute (``run-shell`` holds the
    link's queue for the command after it), started on a thread; what it raised."""

    def __init__(self, client: RemoteClient, folder: Path) -> None:
        started = folder / "started"
        self.raised: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(client, str(started)))
        self.thread.start()
        eventually(started.exists, what="the pending command runs")

    def _run(self, client: RemoteClient, started: str) -> None:
        try:
            client.run(
                [("run-shell", f"touch {started}; exec sleep 60"), ("display-message", "-p", "")],
                timeout=60,
            )
        except TmuxError as exc:
            self.raised.append(exc)

    def error(self) -> BaseException:
        self.thread.join(30)
        assert not self.thread.is_alive(), "the pending command still waits"
        (error,) = self.raised
        return error


def test_a_killed_master_is_noticed_and_the_link_comes_back(
    tmp_path: Path, sshd: Sshd, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    client, conn = remote()
    _session(client)
    pane = _pane(client, "sleep", "600")
    told = threading.Event()
    client.on_close = told.set
    pending = Pending(client, tmp_path)
    pid = conn.master_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert told.wait(10) and client.closed.is_set() and not client.alive()
    error = pending.error()
    assert isinstance(error, LinkDown) and "the link to good is down" in str(error)
    assert client.cmd("display-message", "-p", "-t", pane, "#{pane_id}") == [pane]  # reconnected
    assert client.alive() and not client.closed.is_set()
    assert sshd.accepted() == 2


def test_a_silent_cut_is_noticed_by_the_keepalives(
    tmp_path: Path, sshd: Sshd, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    """The sshd serving the connection stops answering (SIGSTOP): no EOF, only silence,
    until the master's keepalives (every second here) give up."""
    client, _ = remote()
    _session(client)
    pane = _pane(client, "sleep", "600")
    pending = Pending(client, tmp_path)
    stopped = sshd.sessions()
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        assert client.closed.wait(30)
        assert isinstance(pending.error(), LinkDown)
    finally:
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    assert client.cmd("display-message", "-p", "-t", pane, "#{pane_id}") == [pane]  # reconnected


def test_a_dead_remote_server_is_told_from_a_cut(
    sshd: Sshd, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    client, _ = remote()
    _session(client)
    assert client.server_running() is True
    sshd.kill_tmux()
    assert client.closed.wait(10)
    with pytest.raises(TmuxError, match="no server running on good"):
        client.cmd("list-sessions")  # the link starts no new server before it is asked
    assert client.server_running() is False
    assert client.cmd("display-message", "-p", "#{session_name}") == [LINK_SESSION]  # now it may


def test_a_wrong_host_key_is_a_clear_error(
    sshd: Sshd, remote: Callable[..., tuple[RemoteClient, Connection]]
) -> None:
    client, _ = remote("wrongkey")
    with pytest.raises(LinkDown) as caught:
        client.cmd("list-sessions")
    assert isinstance(caught.value.__cause__, HostKeyChanged)
    assert "host key is not the one ssh knows" in str(caught.value)
    assert client.server_running() is None
    poller = Poller(client)  # a poller on it gets no control client, and does not crash
    assert poller._control_for("work") is None
    assert sshd.accepted() == 0
