"""The files a run watches (watchfiles threads that only report into its inputs): its own
folders (exit files, requests, results), and folders that change during the run — those of
``done_when: {file: ...}`` paths and of the task files (hot reload), watched again whenever
that set changes. A file condition whose folder does not exist yet is polled instead."""

from __future__ import annotations

import os
import threading
import time

from tmuxorch.run import conditions

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.run.context import Run

WATCH_STEP_MS = 2


class Watches:
    def __init__(self, run: Run, sources: Callable[[], set[str]]) -> None:
        self.run = run
        self.sources = sources
        """The task files (their folders are watched)."""
        self.watched: frozenset[str] = frozenset()
        self.stop = threading.Event()
        self._rewatch = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target in (self._watch_run, self._watch_more):
            thread = threading.Thread(target=target, daemon=True, name="tmuxorch-watch")
            thread.start()
            self._threads.append(thread)
        self.update()

    def close(self) -> None:
        self.stop.set()

    def update(self) -> None:
        """Watch the folders the run needs now."""
        folders = {os.path.dirname(f) for f in self.sources()}
        for attempt in self.run.attempts.values():
            path = conditions.of(attempt).path(self.run, attempt)
            if path and os.path.isdir(os.path.dirname(path)):
                folders.add(os.path.dirname(path))
        watched = frozenset(f for f in folders if os.path.isdir(f))
        if watched != self.watched:
            self.watched = watched
            self._rewatch.set()

    def unwatched(self) -> bool:
        """A file condition whose folder does not exist yet (so is not watched)."""
        for attempt in self.run.attempts.values():
            path = conditions.of(attempt).path(self.run, attempt)
            if path and os.path.dirname(path) not in self.watched:
                return True
        return False

    def _watch_run(self) -> None:
        """The run's own folders: exit files, requests, results, agents' hook events."""
        import watchfiles

        subs = ("exits", "requests", "results", "hooks")
        folders = [os.path.join(self.run.run_dir, sub) for sub in subs]
        for changes in watchfiles.watch(
            *folders,
            watch_filter=None,
            debounce=50,
            step=WATCH_STEP_MS,
            stop_event=self.stop,
            rust_timeout=500,
            yield_on_timeout=False,
            raise_interrupt=False,
        ):
            paths = {path for change, path in changes if change != watchfiles.Change.deleted}
            if paths:
                self.run.put("files", paths)

    def _watch_more(self) -> None:
        import watchfiles

        stop = _Either(self.stop, self._rewatch)
        while not self.stop.is_set():
            self._rewatch.clear()
            folders = sorted(self.watched)
            if not folders:
                stop.wait(0.5)
                continue
            for changes in watchfiles.watch(
                *folders,
                watch_filter=None,
                debounce=50,
                step=WATCH_STEP_MS,
                stop_event=stop,
                rust_timeout=200,
                yield_on_timeout=False,
                raise_interrupt=False,
                recursive=False,
            ):
                self.run.put("watched", {path for _, path in changes})
            self.run.put("recheck")  # what changed while no watch was on


class _Either:
    """Set when either event is (a stop event for watchfiles)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
