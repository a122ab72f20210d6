"""Files and folders only their owner may read: run state, transcripts, prompts, locks.

Folders are made 0700 (and an existing one of ours is narrowed to it); one that is a
symbolic link, or belongs to someone else, is refused. Files are opened 0600 without
following a symbolic link at their name, so a link planted in ``.tmuxorch/`` (or in a
shared ``/tmp``) can never make tmuxorch write somewhere else.
"""

from __future__ import annotations

import errno
import os
import stat


class Unsafe(OSError):
    """A state path that is a symbolic link, or not ours."""


def folder(path: str) -> str:
    """``path`` as a private folder (made with its parents if missing); returns it."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return folder(path)
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise Unsafe(f"{path} is a symbolic link: refusing to keep state through it")
    if not stat.S_ISDIR(info.st_mode):
        raise Unsafe(f"{path} is not a folder")
    if info.st_uid != os.getuid():
        raise Unsafe(f"{path} belongs to another user (uid {info.st_uid}): refusing to use it")
    if stat.S_IMODE(info.st_mode) & 0o077:
        os.chmod(path, 0o700, follow_symlinks=False)
    return path


def open_fd(path: str, flags: int) -> int:
    """``os.open`` of a private file: 0600 when made, never through a symbolic link."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # what O_NOFOLLOW says of a link
            raise Unsafe(f"{path} is a symbolic link: refusing to write through it") from exc
        raise


def append(path: str, text: str) -> None:
    """Add ``text`` at the end of a private file."""
    _put(path, os.O_APPEND, text)


def write(path: str, text: str) -> None:
    """A private file holding ``text`` (emptied first)."""
    _put(path, os.O_TRUNC, text)


def _put(path: str, how: int, text: str) -> None:
    data = memoryview(text.encode("utf-8", "surrogateescape"))
    fd = open_fd(path, os.O_WRONLY | os.O_CREAT | how)
    try:
        while data:
            data = data[os.write(fd, data) :]
    finally:
        os.close(fd)
