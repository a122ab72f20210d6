"""Run a program with a deadline, without importing :mod:`subprocess`.

Every tmux call goes through here. It uses ``os.posix_spawnp`` and ``poll`` only, so the
short-lived commands (``tmuxorch send`` above all) pay no import cost for it.
"""

from __future__ import annotations

import os
import select
import time

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

_CHUNK = 65536


_SIGKILL = 9  # not via the signal module: it costs an enum import on the send path


class Finished:
    """A program that ran to its end (plain class: dataclasses are costly to import here)."""

    __slots__ = ("argv", "returncode", "stderr", "stdout")

    def __init__(self, argv: tuple[str, ...], returncode: int, stdout: bytes, stderr: bytes):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class Timeout(Exception):
    def __init__(self, argv: Sequence[str], seconds: float) -> None:
        self.argv = tuple(argv)
        self.seconds = seconds
        super().__init__(f"{argv[0]} did not finish within {seconds:g}s")


def run(
    argv: Sequence[str],
    *,
    input: bytes | None = None,
    timeout: float,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
) -> Finished:
    """Run ``argv``; feed ``input`` on stdin; collect stdout and stderr.

    Raises :class:`FileNotFoundError` if the program is missing and :class:`Timeout` (after
    killing it) if it outlives ``timeout`` seconds.
    """
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if input is not None else (os.open(os.devnull, os.O_RDONLY), -1)
    actions = [
        (os.POSIX_SPAWN_DUP2, in_r, 0),
        (os.POSIX_SPAWN_DUP2, out_w, 1),
        (os.POSIX_SPAWN_DUP2, err_w, 2),
    ]
    try:
        if cwd is not None:
            # posix_spawn has no chdir action before Python 3.13; a tiny sh wrapper does it.
            argv = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd, *argv]
        pid = os.posix_spawnp(
            argv[0],
            list(argv),
            dict(os.environ if env is None else env),
            file_actions=actions,
            # a group of its own: a terminal's Ctrl-C is for us to act on (a run then
            # stops its agents with tmux), not for a tmux command in flight to die of
            setpgroup=0,
        )
    except BaseException:
        for fd in (out_r, out_w, err_r, err_w, in_r, in_w):
            if fd >= 0:
                os.close(fd)
        raise
    for fd in (out_w, err_w, in_r):
        os.close(fd)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    pending = memoryview(input or b"")
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    if in_w >= 0:
        if pending:
            os.set_blocking(in_w, False)
            poller.register(in_w, select.POLLOUT)
        else:
            os.close(in_w)
            in_w = -1
    open_fds = 2
    deadline = time.monotonic() + timeout
    try:
        while open_fds or in_w >= 0:
            left = deadline - time.monotonic()
            if left <= 0:
                _kill(pid)
                raise Timeout(argv, timeout)
            for fd, events in poller.poll(left * 1000):
                if fd == in_w:
                    if events & (select.POLLERR | select.POLLHUP):
                        written = len(pending)
                    else:
                        try:
                            written = os.write(in_w, pending[:_CHUNK])
                        except BlockingIOError:
                            continue
                        except BrokenPipeError:
                            written = len(pending)
                    pending = pending[written:]
                    if not pending:
                        poller.unregister(in_w)
                        os.close(in_w)
                        in_w = -1
                    continue
                data = os.read(fd, _CHUNK)
                if data:
                    chunks[fd].append(data)
                else:
                    poller.unregister(fd)
                    open_fds -= 1
        status = _wait(pid, deadline, argv, timeout)
    finally:
        for fd in (out_r, err_r, in_w):
            if fd >= 0:
                os.close(fd)
    return Finished(tuple(argv), status, b"".join(chunks[out_r]), b"".join(chunks[err_r]))


def _wait(pid: int, deadline: float, argv: Sequence[str], timeout: float) -> int:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            _kill(pid)
            raise Timeout(argv, timeout)
        time.sleep(0.0005)


def _kill(pid: int) -> None:
    try:
        os.kill(pid, _SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass
