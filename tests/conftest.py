"""Test fixtures: real tmux servers on private sockets, never a mock of tmux.

Each test gets its own server (``-L tmuxorch-test-<random>``, no config file, ``SHELL=/bin/sh``)
and only that server is killed afterwards, by its socket.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import libtmux
import pytest

from tmuxorch.run.proctree import alive
from tmuxorch.spec.workspace import load_workspace
from tmuxorch.tmux.build import build
from tmuxorch.tmux.client import Client, TmuxError
from tmuxorch.tmux.plan import plan

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from tests.sshd import Sshd
    from tmuxorch.spec.model import Workspace
    from tmuxorch.tmux.build import Built

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "tmuxp-examples"
"""tmuxp's example workspaces (MIT, see LICENSE there), which must build unchanged."""


def tmux_env(**extra: str) -> dict[str, str]:
    """The environment tmux servers and CLI runs get in tests: outside any tmux (no
    ``$TMUX``/``$TMUX_PANE``), keeping ``$TMUX_TMPDIR`` so every process and libtmux in this
    one agree on where the sockets are."""
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    env.update(SHELL="/bin/sh", PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


class Server:
    """A private tmux server: our :class:`Client` to drive it, libtmux to read it back."""

    def __init__(self, env: dict[str, str]) -> None:
        self.name = f"tmuxorch-test-{uuid.uuid4().hex[:12]}"
        self.env = env
        self.client = Client(self.name, config_file="/dev/null", env=env)

    def start(self) -> None:
        self.client.run(
            [
                ("start-server",),
                ("set-option", "-g", "exit-empty", "off"),
                ("set-option", "-g", "default-size", "220x50"),  # sessions made bare, too
            ]
        )

    @property
    def socket(self) -> Path:
        tmpdir = self.env.get("TMUX_TMPDIR") or "/tmp"
        return Path(tmpdir) / f"tmux-{os.getuid()}" / self.name

    @property
    def libtmux(self) -> libtmux.Server:
        return libtmux.Server(socket_path=self.socket)

    def running(self) -> bool:
        try:
            self.client.cmd("list-sessions")
        except TmuxError:
            return False
        return True

    def sessions(self) -> list[str]:
        try:
            return self.client.cmd("list-sessions", "-F", "#{session_name}")
        except TmuxError:
            return []

    def kill(self) -> None:
        socket = self.socket
        pids = _listening_on(socket)
        with contextlib.suppress(TmuxError):  # unless the test stopped it already
            self.client.cmd("kill-server")
        # tmux 3.3a may hang on its way out (a control client whose reader died) and then
        # answers every client "server exited unexpectedly": the process that listens on
        # our socket goes, whatever it says
        deadline = time.monotonic() + 3
        while any(alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.02)
        for pid in pids:
            if alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
        socket.unlink(missing_ok=True)  # tmux leaves it behind; ours only, alive or not


def _listening_on(socket: Path) -> list[int]:
    """The pids holding the listening unix socket at ``socket`` (our server), from /proc."""
    try:
        table = Path("/proc/net/unix").read_text().splitlines()[1:]
    except OSError:
        return []
    inodes = {f"socket:[{row.split()[6]}]" for row in table if row.endswith(" " + str(socket))}
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) in inodes for fd in (proc / "fd").iterdir()):
                pids.append(int(proc.name))
    return pids


@pytest.fixture(autouse=True)
def _scratch_cwd(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test from a scratch directory: panes with no start_directory open in the
    tmux client's directory, and what runs there (vim's swap files, .tmuxorch/) must not
    land in the checkout."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _own_xdg(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never the developer's ~/.config/tmuxorch or ~/.local/state/tmuxorch: each test has
    empty XDG folders of its own (every tmuxorch it starts inherits them)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def sshd() -> Iterator[Sshd]:
    """A real sshd on a free loopback port (tests/sshd.py: throwaway keys, a client config
    with its aliases, a tmux socket folder of its own); it and all its sessions started
    are stopped afterwards."""
    from tests.sshd import Sshd

    server = Sshd()
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def tmux_server() -> Iterator[Server]:
    """A running private tmux server."""
    server = Server(tmux_env())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def idle_server() -> Iterator[Server]:
    """A private socket with no server started (commands may start one)."""
    server = Server(tmux_env())
    yield server
    server.kill()


def eventually(check: Callable[[], T | None], *, timeout: float = 15.0, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy (waiting on tmux and shells, not
    asserting a speed: the deadline is only there so a broken test ends)."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"never became true: {what or check}: last value {value!r}")
        time.sleep(0.02)
        value = check()
    assert value is not None
    return value


def tmuxorch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "tmuxorch", *args]


def build_file(
    server: Server, path: Path | str, env: dict[str, str] | None = None, *, append: bool = False
) -> tuple[Workspace, Built]:
    """Build a layout file in-process, the way ``tmuxorch layout -d`` does."""
    ws = load_workspace(str(path), env=env).workspace
    return ws, build(server.client, plan(ws, append=append))


def screen(server: Server, pane: str) -> str:
    """What a person sees in ``pane`` (trailing blank lines dropped)."""
    return "\n".join(server.client.cmd("capture-pane", "-p", "-J", "-t", pane)).rstrip()


def wait_for_text(server: Server, pane: str, text: str) -> str:
    """Wait until ``text`` is on the screen of ``pane``; return the screen."""

    def check() -> str | None:
        shown = screen(server, pane)
        return shown if text in shown else None

    return eventually(check, what=text)


def printed_lines(text: str) -> list[str]:
    """Screen lines with a leading sh prompt (``# ``/``$ ``) removed: typed-ahead commands
    make output share a line with the prompt that follows it."""
    return [line[2:] if line[:2] in ("# ", "$ ") else line for line in text.splitlines()]


def wait_for_output(server: Server, pane: str, line: str) -> str:
    """Wait until ``line`` was printed in ``pane`` as a line of its own (not as typed text)."""

    def check() -> str | None:
        shown = screen(server, pane)
        return shown if line in printed_lines(shown) else None

    return eventually(check, what=line)
