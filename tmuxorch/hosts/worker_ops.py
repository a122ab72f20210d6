"""What the remote worker does for each request (see :mod:`tmuxorch.hosts.worker`):
``hello``, ``read``, ``stat``, ``write``, ``mkdir``, ``remove``; ``wait`` is in
:mod:`tmuxorch.hosts.worker_wait`. Each takes the request's fields and returns the
answer's ``result``, or raises :class:`~tmuxorch.hosts.confined.Refused` / ``OSError``."""

from __future__ import annotations

import base64
import binascii
import os
import stat

from tmuxorch import private
from tmuxorch.hosts.confined import Refused, Root

PROTOCOL = 1
READ_MAX = 4 * 1024 * 1024
"""Bytes one ``read`` answers at most (a client reads on from where it stopped)."""

Request = dict[str, object]
Result = dict[str, object]


def hello(root: Root, request: Request) -> Result:
    import platform

    from tmuxorch import __version__
    from tmuxorch.hosts.worker_wait import watcher

    return {
        "protocol": PROTOCOL,
        "version": __version__,
        "python": platform.python_version(),
        "tmux": _tmux_version(),
        "root": root.path,
        "home": os.path.expanduser("~"),
        "pid": os.getpid(),
        "watch": watcher(),
    }


def _tmux_version() -> str | None:
    from tmuxorch.tmux.client import Client, TmuxError

    try:
        return ".".join(map(str, Client().version()))
    except (TmuxError, OSError):
        return None


def read(root: Root, request: Request) -> Result:
    """``length`` bytes (at most :data:`READ_MAX`) from ``offset``, base64, with the
    file's size then."""
    offset = _whole(request, "offset", 0, minimum=0)
    length = min(_whole(request, "length", READ_MAX, minimum=0), READ_MAX)
    path = root.real(request.get("path"))
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Refused("not_a_file", f"{request.get('path')} is not a file")
        data = os.pread(fd, length, offset) if length else b""
    finally:
        os.close(fd)
    end = offset + len(data)
    return {
        "data": base64.b64encode(data).decode("ascii"),
        "offset": offset,
        "size": max(info.st_size, end),
        "eof": end >= info.st_size,
    }


def stat_file(root: Root, request: Request) -> Result:
    """What is at ``path`` (``exists`` false if nothing)."""
    path = root.real(request.get("path"))
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return {"exists": False}
    return {"exists": True, **describe(info)}


def describe(info: os.stat_result) -> Result:
    kind = (
        "file"
        if stat.S_ISREG(info.st_mode)
        else "folder"
        if stat.S_ISDIR(info.st_mode)
        else "other"
    )
    return {
        "kind": kind,
        "size": info.st_size,
        "mtime_ns": info.st_mtime_ns,
        "mode": stat.S_IMODE(info.st_mode),
    }


def write(root: Root, request: Request) -> Result:
    """``data`` (base64) into ``path``: made 0600, emptied first unless ``append``;
    never through a symbolic link. Its folder must exist."""
    raw = request.get("data", "")
    if not isinstance(raw, str):
        raise Refused("bad_request", "data: expected base64 text")
    try:
        data = memoryview(base64.b64decode(raw.encode("ascii"), validate=True))
    except (binascii.Error, UnicodeEncodeError):
        raise Refused("bad_request", "data: not valid base64") from None
    append = request.get("append", False)
    if not isinstance(append, bool):
        raise Refused("bad_request", "append: expected true or false")
    path = root.leaf(request.get("path"))
    how = os.O_APPEND if append else os.O_TRUNC
    try:
        fd = private.open_fd(path, os.O_WRONLY | os.O_CREAT | how)
    except private.Unsafe as exc:
        raise Refused("symlink", str(exc)) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise Refused("not_a_file", f"{request.get('path')} is not a file")
        while data:
            data = data[os.write(fd, data) :]
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    return {"size": size}


def mkdir(root: Root, request: Request) -> Result:
    """``path`` as a folder (missing ones made 0700)."""
    root.make_folders(request.get("path"))
    return {}


def remove(root: Root, request: Request) -> Result:
    """The file (or empty folder, or link itself) at ``path``; ``removed`` false if
    there was nothing."""
    path = root.leaf(request.get("path"))
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return {"removed": False}
    if stat.S_ISDIR(info.st_mode):
        os.rmdir(path)
    else:
        os.unlink(path)
    return {"removed": True}


def _whole(request: Request, key: str, default: int, *, minimum: int) -> int:
    value = request.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise Refused("bad_request", f"{key}: expected a whole number >= {minimum}")
    return value
