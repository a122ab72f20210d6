"""The worker's ``wait``: until one of some files changes, or a timeout.

A request gives ``paths``, ``timeout`` (seconds) and, optionally, ``known``: for each
path the ``[size, mtime_ns]`` the client last saw, or ``null`` for "did not exist" (so
a change between the client's last look and this request is not missed). A path not in
``known`` is compared with what it is when the request comes. The answer is
``{"changed": [...], "states": {path: [size, mtime_ns] | null}}``; ``changed`` is empty
when the timeout passed.

Changes are noticed through watchfiles (inotify) on the files' folders when it is
installed and every folder exists; else by looking every :data:`POLL` seconds. Each
wake-up looks at the files themselves, and so does a wake-up at least every
:data:`RECHECK` seconds (a change made just before the watch began is not lost).
"""

from __future__ import annotations

import os
import time

from tmuxorch.hosts.confined import Refused, Root

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading

    from tmuxorch.hosts.worker_ops import Request, Result

POLL = 0.1
RECHECK = 0.5
MAX_PATHS = 256
MAX_TIMEOUT = 3600.0

State = tuple[int, int] | None


def watcher() -> str:
    """``watchfiles`` when it can be used, else ``polling``."""
    try:
        import watchfiles  # noqa: F401
    except ImportError:
        return "polling"
    return "watchfiles"


def wait(root: Root, request: Request, stop: threading.Event) -> Result:
    paths, timeout, known = _arguments(request)
    real = {path: root.real(path) for path in paths}  # refused now, before waiting
    baseline = {p: known[p] if p in known else _state(real[p]) for p in paths}
    deadline = time.monotonic() + timeout
    folders = sorted({os.path.dirname(p) for p in real.values()})
    use_watch = watcher() == "watchfiles" and all(os.path.isdir(f) for f in folders)
    while True:
        states = {path: _state(real[path]) for path in paths}
        changed = [path for path in paths if states[path] != baseline[path]]
        left = deadline - time.monotonic()
        if changed or left <= 0 or stop.is_set():
            return {"changed": changed, "states": {p: _show(s) for p, s in states.items()}}
        if use_watch:
            _watch_once(folders, min(left, RECHECK), stop)
        else:
            stop.wait(min(left, POLL))


def _watch_once(folders: list[str], seconds: float, stop: threading.Event) -> None:
    """Until something happens in ``folders`` or ``seconds`` pass."""
    import watchfiles

    for _ in watchfiles.watch(
        *folders,
        watch_filter=None,
        debounce=0,
        step=10,
        stop_event=stop,
        rust_timeout=max(1, int(seconds * 1000)),
        yield_on_timeout=True,
        raise_interrupt=False,
        recursive=False,
    ):
        return


def _arguments(request: Request) -> tuple[list[str], float, dict[str, State]]:
    paths = request.get("paths")
    if (
        not isinstance(paths, list)
        or not paths
        or len(paths) > MAX_PATHS
        or not all(isinstance(p, str) for p in paths)
    ):
        raise Refused("bad_request", f"paths: expected a list of 1 to {MAX_PATHS} paths")
    timeout = request.get("timeout", 0)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise Refused("bad_request", "timeout: expected seconds")
    if not 0 <= timeout <= MAX_TIMEOUT:
        raise Refused("bad_request", f"timeout: expected 0 to {MAX_TIMEOUT:g} seconds")
    raw = request.get("known", {})
    if not isinstance(raw, dict):
        raise Refused("bad_request", "known: expected a mapping of path to [size, mtime_ns]")
    known: dict[str, State] = {}
    for path, value in raw.items():
        if value is None:
            known[path] = None
        elif (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            known[path] = (value[0], value[1])
        else:
            raise Refused("bad_request", f"known.{path}: expected [size, mtime_ns] or null")
    return list(paths), float(timeout), known


def _state(path: str) -> State:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (info.st_size, info.st_mtime_ns)


def _show(state: State) -> list[int] | None:
    return None if state is None else list(state)
