"""Each channel's queue of messages, delivered in order by a worker of its own, so a slow
or failing service never holds up a run or another channel.

The rule for a service that cannot be reached, stated once:

- A message the service did not take is tried again, the same message, never a copy:
  after the wait a 429 names (``Throttled``), or after a back-off for a network failure or
  a 5xx (``Unreachable``: 1 s, doubling, at most 60 s, with jitter).
- A message refused for good (``Rejected``: a wrong token, no such chat) is dropped and
  said on serve's log; the channel then waits :data:`AFTER_REJECTED` before the next one.
- While it waits, at most :data:`KEEP` messages are kept, none older than :data:`MAX_AGE`:
  beyond that the oldest live output goes first, then the oldest of the rest. The next
  message delivered says how many were dropped.
- A post that took longer than :data:`POST_TIMEOUT` counts as not delivered and is tried
  again; if the service did take it meanwhile, that one message may arrive twice.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import sys
import time
import uuid
from dataclasses import dataclass, replace

from tmuxorch.channels.base import Channel, ChannelError, Message, Rejected, Throttled
from tmuxorch.channels.messages import cut

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.channels.threads import Threads

KEEP = 200
MAX_AGE = 3600.0
POST_TIMEOUT = 45.0
FIRST_WAIT = 1.0
LONGEST_WAIT = 60.0
AFTER_REJECTED = 30.0


@dataclass(eq=False)  # removed by identity
class Queued:
    message: Message
    since: float


class Outbox:
    def __init__(self, channel: Channel, threads: Threads) -> None:
        self.channel = channel
        self.threads = threads
        self.queue: collections.deque[Queued] = collections.deque()
        self.dropped = 0
        """Messages dropped since the last one delivered."""
        self.delivered = 0
        self.failures = 0
        """Deliveries that failed (each one tried again or dropped)."""
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        """Set while no post is in flight (its ids, once it is taken, are noted first)."""
        self._idle.set()
        self._said: set[str] = set()

    def put(self, message: Message) -> None:
        if not message.id:
            message = replace(message, id=uuid.uuid4().hex)
        self.queue.append(Queued(message, time.monotonic()))
        while len(self.queue) > KEEP:
            self._drop_one()
        self._wake.set()

    def _drop_one(self) -> None:
        for item in self.queue:
            if item.message.what == "output":
                self.queue.remove(item)
                break
        else:
            self.queue.popleft()
        self.dropped += 1

    async def run(self) -> None:
        wait = FIRST_WAIT
        while True:
            if not self.queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            while self.queue and time.monotonic() - self.queue[0].since > MAX_AGE:
                self.queue.popleft()
                self.dropped += 1
            if not self.queue:
                continue
            head = self.queue[0]
            message = self._ready(head.message)
            self._idle.clear()
            try:
                posted = await asyncio.wait_for(self.channel.post(message), POST_TIMEOUT)
            except Throttled as exc:
                self._idle.set()
                self.failures += 1
                self._log(f"rate limited: trying again in {exc.after:.0f}s")
                await asyncio.sleep(max(0.0, exc.after))
                continue
            except Rejected as exc:
                self._idle.set()
                self.failures += 1
                self._log(f"refused ({exc}): the message was dropped")
                self._take(head)
                self.dropped += 1
                await asyncio.sleep(AFTER_REJECTED)
                continue
            except (ChannelError, asyncio.TimeoutError, OSError) as exc:
                self._idle.set()
                self.failures += 1
                self._log(f"unreachable ({exc or type(exc).__name__}): trying again")
                await asyncio.sleep(wait * (0.5 + random.random()))
                wait = min(wait * 2, LONGEST_WAIT)
                continue
            wait = FIRST_WAIT
            self._said.clear()
            self._take(head)
            self.dropped = 0
            self.delivered += 1
            self.threads.note(message.key, posted.thread, posted.ids)
            self._idle.set()

    async def settled(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until no post is in flight: a person may answer a
        message the service took before its ids are noted here."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    def _take(self, head: Queued) -> None:
        """Done with ``head`` (unless a full queue dropped it meanwhile)."""
        with contextlib.suppress(ValueError):
            self.queue.remove(head)

    def _ready(self, message: Message) -> Message:
        """The message with its thread (known now) and the count of those dropped."""
        thread = self.threads.thread(message.key)
        text = message.text
        if self.dropped:
            note = (
                f"({self.dropped} earlier message(s) dropped while "
                f"{self.channel.name} could not be reached)\n"
            )
            text = note + cut(text, self.channel.limit - len(note))
        return replace(message, thread=thread, text=text)

    def _log(self, what: str) -> None:
        if what in self._said:  # once per spell of trouble, not once per try
            return
        self._said.add(what)
        print(f"tmuxorch serve: channel {self.channel.name}: {what}", file=sys.stderr, flush=True)
