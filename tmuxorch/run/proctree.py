"""Stop a whole process tree, including children that left its process group.

Killing a pane does not kill grandchildren that called ``setsid`` or double-forked. A tree is
every descendant of the pane's process (by parent pid, from ``/proc``); every process of the
pane's session (tmux makes each pane's process a session leader: a double fork reparented to
init stays in it, even with its environment cleared — and while any process is in it, the
kernel gives its number to no other process, so it names only ours); and every process
still carrying the attempt's own marker in its environment (``TMUXORCH_ATTEMPT_ID=run/task/n``,
unique to one attempt: a ``setsid`` daemon keeps it). Never a name pattern.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time

GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL."""


def _stat(pid: int) -> tuple[int, str, int] | None:
    """(parent pid, state letter, session id) of ``pid``, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    rest = data[data.rfind(b")") + 2 :].split()
    return int(rest[1]), rest[0].decode(), int(rest[3])


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _has_marker(pid: int, marker: bytes) -> bool:
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return marker in handle.read().split(b"\0")
    except OSError:
        return False


def with_argument(token: bytes) -> list[int]:
    """Live processes with ``token`` in an argument of their command line."""
    found = []
    for pid in _pids():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if any(token in arg for arg in handle.read().split(b"\0")):
                    found.append(pid)
        except OSError:
            continue
    return [p for p in found if alive(p)]


def tree(root: int | None, marker: str | None = None, session: int | None = None) -> list[int]:
    """``root`` and its descendants, the processes of ``session`` (a pane's pid), and
    processes marked with ``marker``; live ones only."""
    if not os.path.isdir("/proc"):
        return _tree_ps(root)
    parents: dict[int, int] = {}
    found: set[int] = set()
    me = os.getpid()
    for pid in _pids():
        info = _stat(pid)
        if info and info[1] != "Z":
            parents[pid] = info[0]
            if session and info[2] == session and pid != me:
                found.add(pid)
    if root is not None and root in parents:
        found.add(root)
        changed = True
        while changed:
            changed = False
            for pid, parent in parents.items():
                if parent in found and pid not in found:
                    found.add(pid)
                    changed = True
    if marker:
        token = f"TMUXORCH_ATTEMPT_ID={marker}".encode()
        found.update(p for p in parents if p != me and p not in found and _has_marker(p, token))
    return sorted(found)


def _tree_ps(root: int | None) -> list[int]:  # pragma: no cover - systems without /proc
    import subprocess

    if root is None:
        return []
    out = subprocess.run(["ps", "-axo", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        pid, ppid = (int(x) for x in line.split())
        children.setdefault(ppid, []).append(pid)
    found, stack = [root], [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie is not alive: it is only waiting for its parent to read it)."""
    if os.path.isdir("/proc"):
        info = _stat(pid)
        return info is not None and info[1] != "Z"
    try:  # pragma: no cover - systems without /proc
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def kill_tree(
    root: int | None, marker: str | None = None, grace: float = GRACE, session: int | None = None
) -> list[int]:
    """SIGTERM the tree, SIGKILL what is left after ``grace`` seconds; returns the pids.
    ``session``: the pane's pid, whose session the tree's orphans stay in."""
    pids = tree(root, marker, session)
    _signal(pids, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        # a process may have forked since: look again, so new children are not missed
        pids = sorted(set(pids) | set(tree(root, marker, session)))
        if not any(alive(p) for p in pids):
            return pids
        time.sleep(0.02)
    survivors = [p for p in sorted(set(pids) | set(tree(root, marker, session))) if alive(p)]
    _signal(survivors, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while any(alive(p) for p in survivors) and time.monotonic() < deadline:
        time.sleep(0.01)
    return sorted(set(pids) | set(survivors))


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
