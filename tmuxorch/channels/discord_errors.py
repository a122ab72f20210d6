"""How a Discord call failed, in the channel's terms (:class:`Throttled`,
:class:`Unreachable`, :class:`Rejected`), and a time limit on each call.

discord.py retries by itself: a 429 after sleeping its ``retry_after`` (up to five times;
one over 30 s raises ``RateLimited`` at once), a 500/502/504 after 1, 3, 5... seconds. A
:class:`Deadline` bounds all of that: a call that has not answered when it runs out is
:class:`Throttled` if a 429 was seen meanwhile (after what that 429 said), else
:class:`Unreachable`. 429s are seen through an aiohttp trace on discord.py's session.
"""

from __future__ import annotations

import asyncio
import math
import sys
from typing import TYPE_CHECKING, TypeVar

import aiohttp
import discord

from tmuxorch.channels.base import ChannelError, Rejected, Throttled, Unreachable

if TYPE_CHECKING:
    from collections.abc import Awaitable
    from types import SimpleNamespace

T = TypeVar("T")

GONE = frozenset({10003, 50083})
"""Discord's codes for a thread that cannot take messages: deleted, archived and locked."""
THREAD_EXISTS = 160004
"""Discord's code for "a thread has already been created for this message"."""


def mapped(exc: BaseException) -> ChannelError | None:
    """What ``exc`` (raised by discord.py or aiohttp) means, or None if it is not theirs."""
    if isinstance(exc, ChannelError):
        return exc
    if isinstance(exc, discord.LoginFailure):
        return Rejected("Discord refused the bot token")
    if isinstance(exc, discord.RateLimited):
        return Throttled(exc.retry_after)
    if isinstance(exc, discord.GatewayNotFound):
        cause = exc.__cause__
        found = mapped(cause) if cause is not None else None
        return found or Unreachable("Discord gave no gateway")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            return Throttled(retry_after(exc.response.headers))
        what = f"Discord answered {exc.status} {exc.text}".rstrip()
        if exc.status >= 500:
            return Unreachable(what)
        return Rejected(what + (f" (code {exc.code})" if exc.code else ""))
    if isinstance(exc, (aiohttp.ClientError, OSError, asyncio.TimeoutError)):
        why = str(exc) or type(exc).__name__
        return Unreachable(f"cannot reach Discord: {why}")
    return None


def code(exc: BaseException) -> int:
    """Discord's error code in ``exc`` (or in what it was made from), else 0."""
    cause = exc.__cause__ if isinstance(exc, ChannelError) else exc
    return cause.code if isinstance(cause, discord.HTTPException) else 0


def gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the thread is no more (a new one is started instead)."""
    cause = exc.__cause__ if isinstance(exc, ChannelError) else exc
    return isinstance(cause, discord.NotFound) or code(exc) in GONE


def retry_after(headers: object) -> float:
    """Seconds to wait, from a 429's headers (Discord's exact one, else the HTTP one)."""
    get = getattr(headers, "get", None)
    for name in ("X-RateLimit-Reset-After", "Retry-After"):
        value = get(name) if get is not None else None
        try:
            seconds = float(value) if value is not None else math.nan
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return 1.0


def warn(channel: str, what: str) -> None:
    """Say something went wrong on serve's output, as the router does."""
    print(f"tmuxorch serve: channel {channel}: {what}", file=sys.stderr, flush=True)


class Watch:
    """The 429s discord.py has met (and retried by itself) on one session."""

    def __init__(self) -> None:
        self.at = -math.inf
        self.after = 1.0

    def trace(self) -> aiohttp.TraceConfig:
        config = aiohttp.TraceConfig()
        config.on_request_end.append(self._ended)
        return config

    async def _ended(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.response.status == 429:
            self.at = asyncio.get_running_loop().time()
            self.after = retry_after(params.response.headers)


class Deadline:
    """One delivery's time: every call in it ends by then, or fails as a ChannelError."""

    def __init__(self, watch: Watch, seconds: float) -> None:
        self.watch = watch
        self.seconds = seconds
        self.start = asyncio.get_running_loop().time()
        self.end = self.start + seconds

    async def run(self, call: Awaitable[T]) -> T:
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(call, max(self.end - loop.time(), 0.0))
        except asyncio.TimeoutError:
            if loop.time() < self.end:
                raise Unreachable("Discord timed out") from None
            if self.watch.at >= self.start:
                left = self.watch.at + self.watch.after - loop.time()
                raise Throttled(max(left, 0.0)) from None
            raise Unreachable(f"no answer from Discord in {self.seconds:g}s") from None
        except Exception as exc:
            found = mapped(exc)
            if found is None or found is exc:
                raise
            raise found from exc
