"""Test fixtures: real tmux servers on private sockets, never a mock of tmux.

Each test gets its own server (``-L tmuxorch-test-<random>``, no config file, ``SHELL=/bin/sh``)
and only that server is killed afterwards, by its socket.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import libtmux
import pytest

from tmuxorch.tmux.client import Client, TmuxError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "tmuxp-examples"
"""tmuxp's example workspaces (MIT, see LICENSE there), which must build unchanged."""


def test_env(**extra: str) -> dict[str, str]:
    """The environment tmux servers and CLI runs get in tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
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
        self.client.run([("start-server",), ("set-option", "-g", "exit-empty", "off")])

    @property
    def libtmux(self) -> libtmux.Server:
        return libtmux.Server(socket_name=self.name)

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
        socket = None
        try:
            socket = self.client.cmd("display-message", "-p", "#{socket_path}")[0]
            self.client.cmd("kill-server")
        except TmuxError:
            pass
        if socket:
            Path(socket).unlink(missing_ok=True)


@pytest.fixture
def tmux_server() -> Iterator[Server]:
    """A running private tmux server."""
    server = Server(test_env())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def idle_server() -> Iterator[Server]:
    """A private socket with no server started (commands may start one)."""
    server = Server(test_env())
    yield server
    server.kill()


def eventually(check: Callable[[], T], *, timeout: float = 15.0, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy (waiting on tmux and shells, not
    asserting a speed: the deadline is only there so a broken test ends)."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value:
        if time.monotonic() > deadline:
            raise AssertionError(f"never became true: {what or check}: last value {value!r}")
        time.sleep(0.02)
        value = check()
    return value


def tmuxorch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "tmuxorch", *args]
