"""Writing the local copies of remote files (for :mod:`tmuxorch.hosts.mirror`): private
(folders 0700, files 0600), never through a symbolic link.

A whole file is replaced at once (a temp file in the same folder, then ``os.replace``), so a
reader never sees half of it; a growing file is appended to.
"""

from __future__ import annotations

import os
import stat
import tempfile

from tmuxorch import private


def folders(path: str) -> None:
    """The folder ``path`` and the missing ones above it, each made 0700 (existing ones
    are left as they are)."""
    if os.path.isdir(path):
        return
    parent = os.path.dirname(os.path.abspath(path))
    if parent != path:
        folders(parent)
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        if not os.path.isdir(path):
            raise


def replace(path: str, data: bytes) -> None:
    """``path`` holding ``data``, all at once; a link at ``path`` is replaced, not followed."""
    folder = os.path.dirname(os.path.abspath(path))
    folders(folder)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.")  # 0600
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.close(fd)
        fd = -1
        os.replace(temp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        os.unlink(temp)
        raise


def append(path: str, data: bytes) -> int:
    """``data`` added at the end of ``path`` (made 0600 if missing); its size after."""
    folders(os.path.dirname(os.path.abspath(path)))
    fd = private.open_fd(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        return os.fstat(fd).st_size
    finally:
        os.close(fd)


def size(path: str) -> int | None:
    """The size of the file at ``path``, or ``None`` if no file is there (a symbolic
    link is not one: it is never written through)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def finish(part: str, path: str) -> None:
    """``part`` renamed to ``path`` (an empty ``path`` when there is no ``part``)."""
    append(part, b"")
    os.replace(part, path)
