"""One receiver per bot on this machine: a lock file per bot token.

Two programs polling one Telegram bot each get only part of the messages (the service
answers the loser with HTTP 409, but only now and then). So before a channel polls, it takes
``$XDG_STATE_HOME/tmuxorch/serve/KIND-SHA256.lock`` (the hash of the token, never the token
itself) with ``flock``; a second ``serve`` finds it held and says which process holds it.
The lock goes with the process (a crashed ``serve`` leaves nothing to clean up).
"""

from __future__ import annotations

import fcntl
import hashlib
import os

from tmuxorch import private
from tmuxorch.channels.base import Conflict
from tmuxorch.spec.user_config import state_dir


def lock_path(kind: str, token: str) -> str:
    """The lock file of the bot ``token`` of channel kind ``kind`` (a private folder is
    made for it)."""
    folder = private.folder(os.path.join(private.folder(state_dir()), "serve"))
    digest = hashlib.sha256(token.encode("utf-8")).hexdigest()
    return os.path.join(folder, f"{kind}-{digest}.lock")


class ReceiverLock:
    """Held while this process receives for one bot."""

    def __init__(self, kind: str, token: str) -> None:
        self.kind = kind
        self._token = token
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def take(self) -> None:
        """Hold the lock (again: nothing), or raise :class:`Conflict` naming the process
        that holds it."""
        if self._fd is not None:
            return
        try:
            path = lock_path(self.kind, self._token)
            fd = private.open_fd(path, os.O_RDWR | os.O_CREAT)
        except OSError as exc:
            raise Conflict(f"cannot make the {self.kind} receiver's lock file: {exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise Conflict(
                f"another tmuxorch serve ({holder}) receives for this {self.kind} bot: "
                "messages and buttons go to it; this one only posts"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file lets go of the flock
            self._fd = None


def _holder(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        text = ""
    return f"pid {text}" if text.isdigit() else "its pid not written yet"
