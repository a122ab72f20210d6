"""A run's beginning: one supervisor per file (a lock), and the run it supervises — the
file's unfinished run, resumed from the store (never redoing finished tasks), or a new one."""

from __future__ import annotations

import fcntl
import os
import time
import zlib

from tmuxorch import private
from tmuxorch.run import adding, events
from tmuxorch.run.context import UNKNOWN
from tmuxorch.run.scheduler import RUNNING, Scheduler, TaskState
from tmuxorch.run.store import state_dir

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import TextIO

    from tmuxorch.run.context import Run
    from tmuxorch.run.store import AttemptRow, Store


class SupervisorBusy(Exception):
    """Another supervisor already runs this file."""


class OtherServer(Exception):
    """The run to resume has agents running on another tmux server than this one's."""


def resumable_here(run: Run, store: Store, *, fresh: bool) -> None:
    """Raise :class:`OtherServer` when the run this one would resume has agents running
    on another tmux server (``-L``/``-S``): resumed here it would find none of them, call
    them lost, and stop their processes."""
    import shlex

    previous = [] if fresh else store.runs(run.ws.file)
    latest = previous[0] if previous else None
    if latest is None or tuple(latest.server) == tuple(run.client.server_args):
        return
    here = [
        t
        for t, r in store.tasks(latest.id).items()
        if r.state in (RUNNING, UNKNOWN) and "@" not in (r.pane or "")  # (not on a host)
    ]
    if here:
        server = shlex.join(latest.server) or "the default one"
        again = shlex.join(["tmuxorch", "run", *latest.server, run.ws.file])
        raise OtherServer(
            f"run {latest.id} has agents running on another tmux server ({server}: "
            f"{', '.join(here)}): resume it there with '{again}', or start anew with --new"
        )


def run_id_now() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + os.urandom(2).hex()


def lock_path(file: str) -> str:
    """One lock per file (a checksum of its path: hashlib and its OpenSSL cost 3 ms to load,
    on the way to the first agents)."""
    digest = f"{zlib.crc32(os.path.abspath(file).encode()):08x}"
    return os.path.join(state_dir(file), f"supervisor-{digest}.lock")


def supervisor_alive(file: str) -> bool:
    """Whether a supervisor holds the lock of ``file``."""
    path = lock_path(file)
    if not os.path.exists(path):
        return False
    fd = private.open_fd(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def supervises(file: str, run_id: str) -> bool:
    """Whether a supervisor runs the run ``run_id`` of ``file``: one is alive, and that run
    is the file's latest (the one a supervisor runs; an older one is nobody's)."""
    from tmuxorch.run.store import Store

    if not supervisor_alive(file):
        return False
    store = Store(state_dir(file))
    try:
        runs = store.runs(file)
    finally:
        store.close()
    return bool(runs) and runs[0].id == run_id


def lock(file: str) -> TextIO:
    """Hold the file's supervisor lock (released when the handle closes)."""
    private.folder(state_dir(file))
    fd = private.open_fd(lock_path(file), os.O_RDWR | os.O_CREAT)  # never through a link
    handle = os.fdopen(fd, "r+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise SupervisorBusy(
            f"a supervisor is already running {file}; see 'tmuxorch status'"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def open_run(run: Run, store: Store, *, fresh: bool) -> list[AttemptRow]:
    """Give ``run`` its id, folders and scheduler, and publish ``run-opened``. Returns the
    resumed run's recorded attempts (for adoption); none for a new run.

    The latest run of the file is resumed unless every task of it is over: its tasks are
    the file's, and those added to it (:mod:`tmuxorch.run.adding`) — one added to a run no
    supervisor runs makes it resume."""
    previous = store.runs(run.ws.file)
    latest = previous[0] if previous else None
    if latest and not fresh:
        folder = os.path.join(run.state_dir, "runs", latest.id)
        taskset, left_out = adding.with_recorded(run.taskset, folder)
        ids = {t.id for t in taskset.tasks}
        rows = store.tasks(latest.id)
        states = {
            t: TaskState(
                RUNNING if r.state == UNKNOWN else r.state,
                r.attempts,
                r.reason,
                r.exit_code,
                r.retry_at,
                r.failure,
                r.waits,
            )
            for t, r in rows.items()
            if t in ids
        }
        resumed = Scheduler(taskset, taskset.graph, states, policy=run.policy)
        if not resumed.finished():
            run.use_tasks(taskset)
            run.run_id, run.scheduler = latest.id, resumed
            run.sessions = {t: r.session for t, r in rows.items() if r.session}
            run.times = {t: (r.started, r.ended) for t, r in rows.items() if t in ids}
            run.pull_requests = {
                t: {"task": t, "url": r.pull_request} for t, r in rows.items() if r.pull_request
            }
            _paths(run)
            run.publish(events.RUN_OPENED, resumed=True, **run.facts())
            for note in left_out:
                run.note(note)
            return store.attempts(latest.id)
    run.run_id = run_id_now()
    run.scheduler = Scheduler(run.taskset, run.graph, policy=run.policy)
    _paths(run)
    run.publish(events.RUN_OPENED, resumed=False, **run.facts())
    return []


def _paths(run: Run) -> None:
    run.run_dir = os.path.join(run.state_dir, "runs", run.run_id)
    for folder in ("runs", os.path.join("runs", run.run_id)):
        private.folder(os.path.join(run.state_dir, folder))
    for sub in ("exits", "prompts", "requests", "results", "hooks"):
        private.folder(os.path.join(run.run_dir, sub))
