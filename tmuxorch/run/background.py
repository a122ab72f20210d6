"""A run started in the background: ``tmuxorch run FILE`` as a process of its own session
(it outlives whoever started it, and their Ctrl-C), its output in a private log beside
the run's state. For ``tmuxorch add`` with no live run, and for those that start runs
for others (a lead agent over MCP)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tmuxorch import private
from tmuxorch.run.store import Store, state_dir


def start(file: str, server_args: tuple[str, ...] = ()) -> tuple[int, str]:
    """Start ``tmuxorch run FILE`` (on the tmux server ``server_args`` name); its pid and
    its log."""
    folder = private.folder(os.path.join(state_dir(file), "background"))
    log = os.path.join(folder, f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    fd = private.open_fd(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "tmuxorch", "run", *server_args, os.path.abspath(file)],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    finally:
        os.close(fd)
    return child.pid, log


def wait_until_running(file: str, pid: int, timeout: float = 30.0) -> str | None:
    """The id of the run the background process ``pid`` supervises, once it has one and
    its supervisor is up; None if the process ended first or ``timeout`` passed."""
    from tmuxorch.run.opening import supervisor_alive

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = 0  # not our child (started elsewhere): go by the store alone
        if done == pid:
            return None
        if supervisor_alive(file) and os.path.exists(os.path.join(state_dir(file), "state.db")):
            store = Store(state_dir(file))
            try:
                runs = store.runs(file)
            finally:
                store.close()
            if runs and runs[0].state == "running" and runs[0].supervisor_pid == pid:
                return runs[0].id
        time.sleep(0.05)
    return None
