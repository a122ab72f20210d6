"""Local copies of files a remote worker sees change: an attempt's exit status, result,
hook events and transcript record, so the local engine (which watches its own run folder)
reacts to a task on another host as to a local one.

Each followed file has a kind:

``whole``
    a small file (exit status, result JSON): copied whole each time it changes, and
    replaced locally at once (a reader never sees half of it).
``append``
    a growing file (hook events, JSONL): the bytes past the last copied offset are added.
``record``
    a pane's transcript record: remote ``X.part`` grows while the pane lives and becomes
    ``X`` when tmux closes it; the local ``X.part`` grows the same way, and once the remote
    ``X`` is there, what is left is copied from the same offset and the local ``X.part``
    renamed to ``X``.

One background thread asks the worker to ``wait`` (a long poll, :attr:`Mirror.poll`
seconds) for any followed file to change, copies what changed, and asks again: no polling
from this side. Following or flushing cancels the pending wait so it takes effect at once.

When the worker is gone (the link was cut, or it exited) the thread stops quietly and
calls ``on_lost``; :meth:`Mirror.reconnect` with a new worker carries on from the offsets
it had (the remote files went on being written meanwhile, so nothing is lost) and says, for
each transcript record, how many bytes came during the cut (:class:`Gap`). A local file
that exists when it is first followed is carried on from its size (a mirror started again
does not copy twice).

Limits: a change is seen as a new size or modification time, so a ``whole`` file rewritten
with the same size within the file system's timestamp granularity may be missed until it
changes again; a growing file that shrinks is not copied again from its start.
"""

from __future__ import annotations

import concurrent.futures
import threading
from dataclasses import dataclass, field

from tmuxorch import private
from tmuxorch.hosts import local_copies
from tmuxorch.hosts.worker_client import WorkerError, WorkerGone

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.hosts.worker_client import Changes, State, WorkerClient

KINDS = ("whole", "append", "record")
ANSWER_TIMEOUT = 60.0
"""Seconds the worker has to answer a cancelled or zero-timeout wait before it is taken
as lost."""
_UNSEEN = (-1, -1)
"""A state no file has: the worker reports the file at once."""


@dataclass(frozen=True)
class Gap:
    """Bytes of a transcript record written while the link was cut (copied on reconnect):
    the live stream showed none of them."""

    local: str
    """The local record (its final name, without ``.part``)."""
    offset: int
    """Where in it those bytes begin."""
    missed: int
    """How many there are."""


@dataclass
class _Entry:
    remote: str
    local: str
    kind: str
    offset: int = 0
    """Bytes copied so far (``append``, ``record``)."""
    done: bool = False
    """A record whose remote ``X`` is copied and local part renamed."""
    seen: dict[str, State] = field(default_factory=dict)
    """The remote state each path had when last copied."""

    def paths(self) -> list[str]:
        if self.kind == "record":
            return [] if self.done else [self.remote + ".part", self.remote]
        return [self.remote]


class Mirror:
    """Copies of remote files, kept up to date by one thread (see the module)."""

    def __init__(
        self,
        worker: WorkerClient,
        *,
        on_lost: Callable[[str], None] | None = None,
        on_error: Callable[[str, str], None] | None = None,
        poll: float = 20.0,
    ) -> None:
        self.worker = worker
        self.on_lost = on_lost
        """Called (from the mirror's thread) with why, when the worker is gone."""
        self.on_error = on_error
        """Called with (remote path, why) when a file can no longer be followed."""
        self.poll = poll
        self.errors: dict[str, str] = {}
        """Remote path → why it is no longer followed (refused there, or not writable here)."""
        self.gaps: list[Gap] = []
        """Every gap a reconnection found, in order."""
        self._entries: dict[str, _Entry] = {}
        self._cond = threading.Condition()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._lost: str | None = None
        self._flush_asked = 0
        self._flush_done = 0

    # -- what the caller does ---------------------------------------------------------
    def follow(self, remote_path: str, local_path: str, kind: str) -> None:
        """Keep ``local_path`` a copy of ``remote_path`` (relative to the worker's root,
        or absolute inside it), of ``kind`` ``whole``, ``append`` or ``record`` (for a
        record, both paths are the final names, without ``.part``)."""
        if kind not in KINDS:
            raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        entry = _Entry(remote_path, local_path, kind)
        if kind == "append":
            entry.offset = local_copies.size(local_path) or 0
        elif kind == "record":
            entry.done = local_copies.size(local_path) is not None
            entry.offset = local_copies.size(local_path + ".part") or 0
        with self._cond:
            old = self._entries.get(remote_path)
            if old is not None and (old.local, old.kind) == (local_path, kind):
                return
            self._entries[remote_path] = entry
            self.errors.pop(remote_path, None)
            self._cond.notify_all()
        self._wake.set()

    def drop(self, remote_path: str) -> None:
        """Stop following ``remote_path`` (its local copy stays as it is)."""
        with self._cond:
            self._entries.pop(remote_path, None)
            self.errors.pop(remote_path, None)

    def start(self) -> None:
        """Start the thread (again, after :meth:`stop`)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping = False
            self._lost = None
            self._thread = threading.Thread(
                target=self._run, args=(self.worker,), name="tmuxorch-mirror", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = ANSWER_TIMEOUT) -> None:
        """Stop the thread (what it is copying is finished first)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout)

    @property
    def lost(self) -> str | None:
        """Why the worker was lost (``None`` while the mirror runs or was stopped)."""
        return self._lost

    def flush(self, timeout: float = ANSWER_TIMEOUT) -> None:
        """Return once every change the remote files had when called is copied; raise
        :class:`WorkerGone` if the worker is lost, ``TimeoutError`` after ``timeout``."""
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                raise WorkerGone(self._lost or "the mirror is not running")
            self._flush_asked += 1
            wanted = self._flush_asked
            self._cond.notify_all()
        self._wake.set()
        with self._cond:
            finished = self._cond.wait_for(
                lambda: self._flush_done >= wanted or self._lost is not None or self._stopping,
                timeout,
            )
            if self._lost is not None:
                raise WorkerGone(self._lost)
            if not finished:
                raise TimeoutError(f"the mirror did not catch up within {timeout:g}s")

    wait_idle = flush

    def reconnect(self, worker: WorkerClient) -> list[Gap]:
        """Carry on with ``worker`` (the link is back) from where the copies are; the
        transcript records' bytes written during the cut (also added to :attr:`gaps`)."""
        self.stop()
        self.worker = worker
        with self._cond:
            entries = list(self._entries.values())
        for entry in entries:
            entry.seen.clear()  # each is looked at again
        records = [e for e in entries if e.kind == "record" and not e.done]
        found: list[Gap] = []
        if records:
            paths = [path for entry in records for path in entry.paths()]
            states = worker.wait(paths, 0).states
            for entry in records:
                now = states.get(entry.remote) or states.get(entry.remote + ".part")
                if now is not None and now[0] > entry.offset:
                    found.append(Gap(entry.local, entry.offset, now[0] - entry.offset))
        self.gaps.extend(found)
        self.start()
        return found

    # -- the thread -------------------------------------------------------------------
    def _run(self, worker: WorkerClient) -> None:
        try:
            while self._round(worker):
                pass
        except (WorkerGone, concurrent.futures.TimeoutError) as exc:
            reason = str(exc) if isinstance(exc, WorkerGone) else "the worker stopped answering"
            with self._cond:
                if self._stopping:
                    return
                self._lost = reason
                self._cond.notify_all()
            if self.on_lost is not None:
                self.on_lost(reason)

    def _round(self, worker: WorkerClient) -> bool:
        """One wait and the copies it calls for; false when stopping."""
        self._wake.clear()
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopping or self._active() or self._flush_asked > self._flush_done
            )
            if self._stopping:
                return False
            flushing = self._flush_asked
            entries = self._active()
        timeout = 0.0 if flushing > self._flush_done else self.poll
        known = {p: e.seen.get(p, _UNSEEN) for e in entries for p in e.paths()}
        if known:
            try:
                changes = self._wait(worker, known, timeout)
            except WorkerGone:
                raise
            except WorkerError as exc:
                self._find_refused(worker, entries, exc)
                return True
            for entry in entries:
                self._copy(worker, entry, changes)
        if timeout == 0.0:
            with self._cond:
                self._flush_done = max(self._flush_done, flushing)
                self._cond.notify_all()
        return True

    def _active(self) -> list[_Entry]:
        """The entries with files to wait for (the caller holds the lock)."""
        return [e for e in self._entries.values() if e.remote not in self.errors and e.paths()]

    def _wait(self, worker: WorkerClient, known: dict[str, State], timeout: float) -> Changes:
        """The worker's answer to a wait on ``known``'s paths; cancelled (so answered at
        once) when :meth:`follow`, :meth:`flush` or :meth:`stop` wake the thread."""
        pending = worker.start_wait(list(known), timeout, known)
        if timeout > 0:
            pending.future.add_done_callback(lambda _: self._wake.set())
            self._wake.wait()
            if not pending.future.done():
                worker.cancel(pending.request_id)
        return pending.changes(ANSWER_TIMEOUT)

    def _copy(self, worker: WorkerClient, entry: _Entry, changes: Changes) -> None:
        states = {p: changes.states.get(p) for p in entry.paths()}
        with self._cond:
            if self._entries.get(entry.remote) is not entry:  # dropped meanwhile
                return
        if not states or all(entry.seen.get(p, _UNSEEN) == s for p, s in states.items()):
            return
        try:
            if entry.kind == "whole":
                if states[entry.remote] is not None:
                    local_copies.replace(entry.local, worker.read_all(entry.remote))
            elif entry.kind == "append":
                if states[entry.remote] is not None:
                    self._append(worker, entry, entry.remote, entry.local)
            elif states[entry.remote] is not None:  # a record: the pane is closed
                self._append(worker, entry, entry.remote, entry.local + ".part")
                local_copies.finish(entry.local + ".part", entry.local)
                entry.done = True
            elif states[entry.remote + ".part"] is not None:
                self._append(worker, entry, entry.remote + ".part", entry.local + ".part")
        except WorkerGone:
            raise
        except WorkerError as exc:
            if exc.kind == "missing":  # renamed or removed since the wait: seen next time
                return
            self._give_up(entry, exc.message)
            return
        except (OSError, private.Unsafe) as exc:
            self._give_up(entry, f"cannot write {entry.local}: {exc}")
            return
        entry.seen.update(states)

    @staticmethod
    def _append(worker: WorkerClient, entry: _Entry, remote: str, local: str) -> None:
        """The bytes of ``remote`` past the entry's offset, added to ``local``."""
        while True:
            chunk = worker.read(remote, entry.offset)
            if chunk.data:
                local_copies.append(local, chunk.data)
                entry.offset += len(chunk.data)
            if chunk.eof or not chunk.data:
                return

    def _find_refused(self, worker: WorkerClient, entries: list[_Entry], exc: WorkerError) -> None:
        """A wait was refused: the paths the worker refuses are given up; if none is, the
        worker is taken as lost (rather than asked the same again and again)."""
        culprits = 0
        for entry in entries:
            for path in entry.paths():
                try:
                    worker.stat(path)
                except WorkerGone:
                    raise
                except WorkerError as refused:
                    self._give_up(entry, refused.message)
                    culprits += 1
                    break
        if not culprits:
            raise WorkerGone(f"the worker refused to wait: {exc.message}")

    def _give_up(self, entry: _Entry, why: str) -> None:
        with self._cond:
            if self._entries.get(entry.remote) is entry:
                self.errors[entry.remote] = why
        if self.on_error is not None:
            self.on_error(entry.remote, why)
