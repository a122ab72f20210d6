"""Every known run's events as one resumable stream (``GET /api/events``, Server-Sent Events).

The source is each state folder's ``events.jsonl``: the run engine's domain events and the
poller's pane events (lines, state, exit, gone, gap — frames go to the pane streams),
written by the runs themselves, so nothing depends on ``serve`` being up while they happen.
One tailer reads what the files gain and hands it to every open stream. An event's id is a
cursor: the byte offset reached in each file (and the time of the event), so a client that
comes back with ``Last-Event-ID`` — to this ``serve`` or to one restarted since — gets
exactly what it has not seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import time

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

Event = dict[str, object]
Item = tuple[str, Event, int, bytes]
"""An event read: its file's key, the event, the offset after it, its line."""
TAIL_EVERY = 0.1
"""Seconds between looks at the files' sizes."""
SLACK = 1.0
"""Seconds between an event's time and its line in the file, at most (a generous bound)."""
QUEUE = 10_000
"""Events an open stream may fall behind by before it is told of a gap and resumed from
the files (nothing is lost: they are on disk)."""


def key_of(directory: str) -> str:
    return hashlib.sha1(directory.encode()).hexdigest()[:10]


def encode(offsets: dict[str, int], t: float) -> str:
    """``KEY.OFFSET-KEY.OFFSET~TIME`` (plain: it is made for every event a stream sends)."""
    return "-".join(f"{k}.{v}" for k, v in offsets.items()) + f"~{t!r}"


def decode(cursor: str) -> tuple[dict[str, int], float] | None:
    """A cursor's offsets and time; None if it is not one of ours."""
    try:
        places, t = cursor.split("~")
        offsets = {}
        for place in filter(None, places.split("-")):
            key, offset = place.split(".")
            offsets[key] = int(offset)
        return offsets, float(t)
    except ValueError:
        return None


def read_events(
    path: str, start: int, end: int | None = None
) -> Iterator[tuple[Event, int, bytes]]:
    """Events of ``path`` from byte ``start`` (up to ``end``), each with the offset after it
    and its line as written (sent as it is: serialised once for every stream); an
    unfinished last line waits for the next read."""
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            data = handle.read(-1 if end is None else max(0, end - start))
    except FileNotFoundError:
        return
    at = start
    for line in data.split(b"\n")[:-1]:
        at += len(line) + 1
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            yield event, at, line


class Stream:
    """One open ``/api/events``: its filters, its place in each file, its queue."""

    def __init__(self, runs: set[str], tasks: set[str]) -> None:
        self.runs = runs
        self.tasks = tasks
        self.offsets: dict[str, int] = {}
        self.t = 0.0
        self.since = time.time() - SLACK
        """Live events before this are not its (a file met later is read from its start)."""
        self.queue: asyncio.Queue[Item | None] = asyncio.Queue(QUEUE)
        self.behind = False

    def wants(self, event: Event) -> bool:
        if self.runs and event.get("run") not in self.runs:
            return False
        task = event.get("task", event.get("label"))
        return not self.tasks or task in self.tasks

    def take(self, key: str, event: Event, end: int) -> str | None:
        """The id to send ``event`` with, or None if this stream has it already."""
        if end <= self.offsets.get(key, -1):
            return None
        self.offsets[key] = end
        t = event.get("t")
        if isinstance(t, (int, float)):
            self.t = max(self.t, float(t))
        return encode(self.offsets, self.t)


class Feed:
    def __init__(self, directories: Callable[[], list[str]]) -> None:
        self.directories = directories
        self.sizes: dict[str, int] = {}
        """Bytes of each known file read by the tailer (key → offset)."""
        self.paths: dict[str, str] = {}
        self.streams: set[Stream] = set()
        self.started = False
        """Files met after the first look are read from their start (a run that began
        since); those met by it, from their end."""

    def _path(self, directory: str) -> str:
        return os.path.join(directory, "events.jsonl")

    def look(self) -> None:
        """Read what the files gained; give it to the open streams."""
        for directory in self.directories():
            key = key_of(directory)
            path = self.paths.setdefault(key, self._path(directory))
            try:
                size = os.stat(path).st_size
            except FileNotFoundError:
                size = 0
            if key not in self.sizes:
                self.sizes[key] = 0 if self.started else size
                if not self.started:
                    continue  # its past is read on request only (a cursor)
            if size < self.sizes[key]:
                self.sizes[key] = 0  # it was made again
            if size == self.sizes[key]:
                continue
            for event, end, line in read_events(path, self.sizes[key], size):
                self.sizes[key] = end
                when = event.get("t")
                for stream in list(self.streams):
                    if stream.behind or not stream.wants(event):
                        continue
                    if isinstance(when, (int, float)) and when < stream.since:
                        continue
                    try:
                        stream.queue.put_nowait((key, event, end, line))
                    except asyncio.QueueFull:
                        stream.behind = True

    def first_look(self) -> None:
        self.look()
        self.started = True

    async def tail(self) -> None:
        """Look every :data:`TAIL_EVERY` seconds, in the loop's thread (the streams'
        queues are the loop's; what a look reads is small)."""
        while True:
            with contextlib.suppress(OSError):
                self.look()
            await asyncio.sleep(TAIL_EVERY)

    def open(self, runs: set[str], tasks: set[str]) -> Stream:
        stream = Stream(runs, tasks)
        self.streams.add(stream)
        return stream

    def close(self, stream: Stream) -> None:
        self.streams.discard(stream)

    def backlog(self, stream: Stream, cursor: str | None) -> list[Item]:
        """What ``stream`` missed before now: with a cursor, everything after it (files it
        does not name: events after its time); without, nothing (it starts now)."""
        decoded = decode(cursor) if cursor else None
        missed: list[Item] = []
        for key, size in list(self.sizes.items()):
            if decoded is None:
                stream.offsets[key] = size
                continue
            offsets, t = decoded
            start = offsets.get(key, 0)
            if start > size:
                start = 0  # the file was made again
            for event, end, line in read_events(self.paths[key], start, size):
                when = event.get("t")
                newer = key in offsets or not isinstance(when, (int, float)) or when > t
                if newer and stream.wants(event):
                    missed.append((key, event, end, line))
            stream.offsets.setdefault(key, start)
        if decoded is not None:
            stream.t = stream.since = decoded[1]
        return missed

    def resume(self, stream: Stream) -> list[Item]:
        """A stream that fell behind: what it missed, from the files."""
        stream.behind = False
        while not stream.queue.empty():
            stream.queue.get_nowait()
        return self.backlog(stream, encode(dict(stream.offsets), stream.t))
