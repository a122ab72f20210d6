"""One bus per run: what the run decides goes out, as domain events, to its subscribers.

Domain events are plain dicts ready for JSON: ``type`` (see :mod:`tmuxorch.run.events`),
``run``, ``t`` (wall clock), ``seq`` (1, 2, ... per bus), and the fields ``status --json``
uses (``task``, ``state``, ``attempt``, ``pane``, ``exit_code``, ``reason``...).

Two kinds of subscriber:

- **inline** ones are called in the publishing thread, in order, before ``publish``
  returns: for fast local work that must happen before the run acts on (the store records
  an attempt before its pane exists; a transcript file is assigned before the pane's first
  line is read);
- the others each get a bounded queue and a thread of their own. A slow one never stalls
  the run: when its queue is full, what it has not read is dropped and it gets a ``gap``
  event (how many were dropped), then a ``run-snapshot`` of every task (when the bus has a
  snapshot), and a log line says so. Such a subscriber may also ask for a ``tick`` event
  every few seconds (a live display redraws its last lines on it).

A subscriber that raises is logged (once per kind of failure) and goes on getting events.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

Event = dict[str, object]


_CATCH_UP = ("gap", "run-snapshot")
"""What a subscriber that fell behind is sent (not events of the run)."""


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class Bus:
    def __init__(
        self,
        *,
        snapshot: Callable[[], Event] | None = None,
        log: Callable[[str], None] = _stderr,
    ) -> None:
        self.snapshot = snapshot
        """The whole run as one event, for a subscriber that fell behind."""
        self.log = log
        self._inline: list[tuple[str, Callable[[Event], None]]] = []
        self._queued: list[Subscription] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._failures: set[tuple[str, str]] = set()

    def subscribe(
        self,
        handler: Callable[[Event], None],
        *,
        name: str | None = None,
        inline: bool = False,
        maxsize: int = 1000,
        every: float | None = None,
    ) -> Subscription | None:
        """Give ``handler`` every event from now on (see the module's text); the queued
        kind returns its :class:`Subscription` (``close()`` ends it)."""
        label = name or str(getattr(handler, "__qualname__", None) or repr(handler))
        if inline:
            with self._lock:
                self._inline.append((label, handler))
            return None
        sub = Subscription(self, handler, label, maxsize, every)
        with self._lock:
            self._queued.append(sub)
        return sub

    def publish(self, event: Event) -> Event:
        with self._lock:
            self._seq += 1
            event["seq"] = self._seq
            inline, queued = list(self._inline), list(self._queued)
        for label, handler in inline:
            self.call(label, handler, event)
        for sub in queued:
            sub.put(event)
        return event

    def call(self, label: str, handler: Callable[[Event], None], event: Event) -> None:
        """``handler(event)``; a failure is logged, never raised."""
        try:
            handler(event)
        except Exception as exc:
            key = (label, type(exc).__name__)
            if key not in self._failures:
                self._failures.add(key)
                self.log(
                    f"tmuxorch: subscriber {label} failed on a {event.get('type')} event: {exc!r}"
                )

    def discard(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._queued:
                self._queued.remove(sub)

    def close(self, timeout: float = 10.0) -> None:
        """No more events: each queued subscriber gets what is waiting for it (for at most
        ``timeout`` seconds in all), then its thread ends."""
        with self._lock:
            queued, self._queued = self._queued, []
        deadline = time.monotonic() + timeout
        for sub in queued:
            sub.close(max(0.0, deadline - time.monotonic()))


class Subscription:
    """A subscriber's bounded queue and the thread that feeds it."""

    def __init__(
        self,
        bus: Bus,
        handler: Callable[[Event], None],
        name: str,
        maxsize: int,
        every: float | None,
    ) -> None:
        self.bus = bus
        self.handler = handler
        self.name = name
        self.maxsize = maxsize
        self.every = every
        self.dropped = 0
        """Events this subscriber never got (over its whole life)."""
        self._lost = 0
        """Dropped since the last gap it read."""
        self._events: deque[Event] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._feed, daemon=True, name=f"tmuxorch-{name}")
        self._thread.start()

    def put(self, event: Event) -> None:
        with self._cond:
            if self._closed:
                return
            if len(self._events) < self.maxsize:
                self._events.append(event)
                self._cond.notify()
                return
            # what it has not read goes (a gap not yet read says how much went before)
            newly = 1 + sum(e["type"] not in _CATCH_UP for e in self._events)
            self._events.clear()
            self._lost += newly
            self.dropped += newly
            lost = self._lost
        gap: Event = {"type": "gap", "reason": "subscriber too slow", "dropped": lost}
        gap.update(run=event.get("run"), t=time.time(), seq=event.get("seq"))
        catch_up = [gap]
        if self.bus.snapshot is not None:
            catch_up.append(self.bus.snapshot())
        with self._cond:
            self._events.extend(catch_up)
            self._cond.notify()
        self.bus.log(f"tmuxorch: subscriber {self.name} is too slow: {lost} event(s) dropped")

    @property
    def backlog(self) -> int:
        """Events queued for it now."""
        with self._cond:
            return len(self._events)

    def close(self, timeout: float = 10.0) -> None:
        """Deliver what is queued (within ``timeout``), then stop."""
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout)
        self.bus.discard(self)

    def _feed(self) -> None:
        next_tick = time.monotonic() + self.every if self.every else None
        while True:
            with self._cond:
                while not self._events and not self._closed:
                    if next_tick is not None and time.monotonic() >= next_tick:
                        break
                    wait = None if next_tick is None else max(0.0, next_tick - time.monotonic())
                    self._cond.wait(wait)
                if not self._events and self._closed:
                    return
                event = self._events.popleft() if self._events else None
                if event is not None and event["type"] == "gap":
                    self._lost = 0
            if event is None:  # a tick is due
                assert self.every is not None
                next_tick = time.monotonic() + self.every
                event = {"type": "tick", "t": time.time()}
            self.bus.call(self.name, self.handler, event)
