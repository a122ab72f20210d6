"""A subscriber's bounded queue of poller events (see :meth:`Poller.subscribe`)."""

from __future__ import annotations

import threading
from collections import deque

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from tmuxorch.bridge.poller import Event, Poller


class Subscription:
    """A bounded queue of events. Never blocks the poller: when full, what is queued is
    dropped and the subscriber gets a ``gap`` and a keyframe per pane instead."""

    def __init__(self, poller: Poller, maxsize: int, frames: bool) -> None:
        self.poller = poller
        self.maxsize = maxsize
        self.frames = frames
        self._events: deque[Event] = deque()
        self._cond = threading.Condition()
        self.lagging = False
        self.dropped = 0
        self.closed = False

    def put(self, event: Event) -> None:
        if not self.frames and event["type"] == "frame":
            return
        with self._cond:
            if self.lagging:
                self.dropped += 1
                return
            if len(self._events) >= self.maxsize:
                self.dropped += len(self._events) + 1
                self._events.clear()
                self.lagging = True
                self.poller.resync_later(self)
                return
            self._events.append(event)
            self._cond.notify()

    def resync(self, events: list[Event]) -> None:
        """Back in step: a gap marker, then the poller's fresh keyframes."""
        with self._cond:
            gap: Event = {"type": "gap", "reason": "subscriber too slow", "dropped": self.dropped}
            self._events.extend([gap, *events])
            self.lagging, self.dropped = False, 0
            self._cond.notify()

    def get(self, timeout: float | None = None) -> Event | None:
        with self._cond:
            if not self._events and not self.closed:
                self._cond.wait(timeout)
            return self._events.popleft() if self._events else None

    def __iter__(self) -> Iterator[Event]:
        while not self.closed or self._events:
            event = self.get(0.5)
            if event is not None:
                yield event

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
        self.poller.unsubscribe(self)
