"""Processes that outlive whoever starts them: an argv (no shell) in a session of its own —
so a Ctrl-C or hang-up of its starter never reaches it — reading nothing, its output in a
private log. ``tmuxorch run FILE`` so started, for ``tmuxorch add`` with no live run;
``serve``'s jobs and ``tmuxorch mcp``'s runs start theirs the same way."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tmuxorch import private
from tmuxorch.run.store import Store, state_dir

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


def start(file: str, server_args: tuple[str, ...] = ()) -> tuple[int, str]:
    """Start ``tmuxorch run FILE`` (on the tmux server ``server_args`` name); its pid and
    its log."""
    folder = private.folder(os.path.join(state_dir(file), "background"))
    log = os.path.join(folder, f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log")
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE")}
    argv = [sys.executable, "-m", "tmuxorch", "run", *server_args, os.path.abspath(file)]
    child = start_detached(argv, log, cwd=os.path.dirname(os.path.abspath(file)), env=env)
    return child.pid, log


def start_detached(
    argv: Sequence[str],
    log: str,
    *,
    cwd: str,
    env: Mapping[str, str] | None = None,
    header: str = "",
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in ``cwd``, its output (after ``header``) in ``log`` (made 0600).
    Raises :class:`OSError`. Its starter should reap it (``wait``/``poll``) once it ends."""
    fd = private.open_fd(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        if header:
            os.write(fd, header.encode())
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
    finally:
        os.close(fd)


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
