"""Starting a process that outlives whoever starts it (``serve``'s jobs, ``tmuxorch mcp``'s
runs): an argv (no shell) in a session of its own — so a Ctrl-C or hang-up of its starter
never reaches it — reading nothing, its output appended to a private log file."""

from __future__ import annotations

import os
import subprocess

from tmuxorch import private

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence


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
