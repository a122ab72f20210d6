"""One interface for every channel (in and out), and what crosses it.

A channel is one service (Telegram, Slack, Discord, ntfy, a webhook...) as ``serve`` uses
it. Out: :meth:`Channel.post` delivers one :class:`Message` (already within the channel's
:attr:`Channel.limit`), in the thread of its task when it has one, and says which thread
and which message ids now stand for that task. In: :meth:`Channel.receive` runs for as long
as ``serve`` does, handing each message or button press of a person to the router as an
:class:`Incoming`. The router (:mod:`tmuxorch.channels.router`) decides everything else:
what is said, to whom, what a person may do; the outbox (:mod:`tmuxorch.channels.outbox`)
retries and backs off, so a channel only says how a delivery failed (:class:`Throttled`,
:class:`Unreachable`, :class:`Rejected`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tmuxorch.spec.channels import ChannelSpec, Secret


@dataclass(frozen=True)
class Button:
    label: str
    """What the button says."""
    data: str
    """What comes back when it is pressed (:attr:`Incoming.button`): ASCII, at most 64
    bytes (Telegram's limit for callback data)."""


@dataclass(frozen=True)
class Message:
    """One message to post. ``key`` names its thread: ``RUN/TASK`` for a task's messages,
    ``RUN`` for the run's own; ``thread`` is that key's thread on this channel (what an
    earlier :meth:`Channel.post` returned), ``None`` for the first."""

    text: str
    key: str
    what: str
    """``waiting``, ``failed``, ``finished``, ``output``, ``answer`` (to a person), ``note``."""
    title: str = ""
    """A short line on its own (a push notification's title); the text does not repeat it."""
    buttons: tuple[Button, ...] = ()
    link: str | None = None
    """The task on the web mirror (a "more" link), when serve knows its own address."""
    thread: str | None = None
    urgent: bool = False
    """A person is needed (waiting for input): push channels raise its priority."""
    id: str = ""
    """The same on every try of one message (set by the outbox): for receivers that drop
    a repeat."""


@dataclass(frozen=True)
class Posted:
    thread: str | None
    """The thread later messages of the same key go in (None: the channel has none)."""
    ids: tuple[str, ...] = ()
    """The ids of the messages made: a person's reply to any of them belongs to the key."""


@dataclass(frozen=True)
class Incoming:
    """What a person did on a channel: wrote ``text``, or pressed ``button``."""

    channel: str
    user: str
    """Their id on the service (as ``allow:`` lists it)."""
    name: str = ""
    """How the service shows them (for the log)."""
    chat: str = ""
    """Where: a chat, a channel (as the config's ``chat:`` / ``channel:``)."""
    refs: tuple[str, ...] = ()
    """The thread or the message ids it answers (a reply's parent, a topic, a thread)."""
    text: str = ""
    button: str | None = None
    answer: Callable[[str], Awaitable[None]] | None = field(default=None, compare=False)
    """Say something back where it came from (the button's toast, a reply in its thread)."""


class ChannelError(Exception):
    """A delivery failed; the outbox decides what follows."""


class Throttled(ChannelError):
    """The service said: too many (HTTP 429); try again after ``after`` seconds."""

    def __init__(self, after: float, why: str = "rate limited") -> None:
        super().__init__(why)
        self.after = after


class Unreachable(ChannelError):
    """The network or the service is down: nothing was delivered; try again later."""


class Rejected(ChannelError):
    """The service refused it for good (a wrong token, no such chat, a bad message):
    trying the same again will not help."""


class Conflict(ChannelError):
    """Someone else receives for this bot (a second poller on one Telegram token gets
    HTTP 409, and each sees only part of the messages)."""


class Channel:
    """A channel: made from its :class:`~tmuxorch.spec.channels.ChannelSpec`."""

    limit = 4000
    """Characters one message may carry."""
    receives = True
    """People write on it (False: out only, like a webhook)."""
    reply_hint: str | None = "Reply here to type into it (Enter is pressed for you)."
    """How a person answers a waiting agent on it (None: they cannot)."""

    def __init__(self, spec: ChannelSpec) -> None:
        self.spec = spec
        self.name = spec.name

    async def post(self, message: Message) -> Posted:
        """Deliver ``message``; raise a :class:`ChannelError` subclass if it was not."""
        raise NotImplementedError

    async def receive(self, inbox: Callable[[Incoming], Awaitable[None]]) -> None:
        """Hand what people do to ``inbox`` until cancelled. A failure to reach the service
        raises :class:`ChannelError` (the router waits, then calls again)."""
        return None

    async def close(self) -> None:
        """Let go of connections (``serve`` is stopping)."""
        return None


def read_secret(spec: ChannelSpec, name: str) -> str:
    """The secret ``name`` of ``spec``: from its environment variable or its file (one
    line, spaces stripped). A missing one is a :class:`Rejected` naming where it was
    looked for, never its value."""
    secret = spec.secret(name)
    if secret is None:
        raise Rejected(f"channel {spec.name}: no {name} configured")
    return _read(spec.name, name, secret)


def _read(channel: str, name: str, secret: Secret) -> str:
    if secret.env is not None:
        value = os.environ.get(secret.env, "").strip()
        if not value:
            raise Rejected(f"channel {channel}: {name}: ${secret.env} is not set")
        return value
    assert secret.file is not None
    from tmuxorch import private

    try:
        fd = private.open_fd(secret.file, os.O_RDONLY)
        with os.fdopen(fd, encoding="utf-8") as handle:
            value = handle.read().strip()
    except (OSError, private.Unsafe) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise Rejected(f"channel {channel}: {name}: cannot read {secret.file}: {why}") from None
    if not value:
        raise Rejected(f"channel {channel}: {name}: {secret.file} is empty")
    return value
