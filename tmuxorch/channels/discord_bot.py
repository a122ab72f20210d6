"""The Discord channel (kind ``discord``), through discord.py.

Out: a task's first message goes to the configured channel (plain text: markdown
escaped, no one pinged, no link previews), its buttons a component row; a thread is
started from it, and the task's later messages go in that thread (``Posted.thread`` is
the thread's id). In: see :mod:`tmuxorch.channels.discord_gateway`. The module is not
called ``discord`` so that it never stands for the ``discord`` package.

Settings: ``channel`` (its id), ``token_env``/``token_file`` (the bot token), ``api_url``
(discord.py's API base, ``https://discord.com/api/v10`` by default; a class attribute of
discord.py, so one for every Discord channel of a ``serve``). The bot needs the Message
Content intent (Developer Portal), and in the channel: View, Send Messages, Create Public
Threads, Send Messages in Threads, Read Message History.
"""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any, Literal

import discord

from tmuxorch.channels import discord_gateway as gateway
from tmuxorch.channels import discord_text as text
from tmuxorch.channels.base import Channel, ChannelError, Posted, Rejected, read_secret
from tmuxorch.channels.discord_errors import THREAD_EXISTS, Deadline, Watch, code, gone, warn

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tmuxorch.channels.base import Incoming, Message
    from tmuxorch.spec.channels import ChannelSpec

ARCHIVE_AFTER: Literal[10080] = 10080
"""Minutes without messages before Discord hides a thread (a week, its longest)."""
NONCE = 25
"""Characters in a nonce, at most."""


def make(spec: ChannelSpec) -> Channel:
    return DiscordChannel(spec)


class DiscordChannel(Channel):
    limit = 1800
    """Under Discord's 2,000 characters: room for the title, the link, escapes."""
    deadline = 25.0
    """Seconds one post (log-in, message, thread) may take, discord.py's retries included."""

    def __init__(self, spec: ChannelSpec) -> None:
        super().__init__(spec)
        api = spec.text("api_url")
        if api and api.rstrip("/") != discord.http.Route.BASE:
            discord.http.Route.BASE = api.rstrip("/")
        self.where = spec.text("channel")
        self.watch = Watch()
        self.parents: dict[int, int] = {}
        self._bot: gateway.Bot | None = None
        self._lock: asyncio.Lock | None = None

    async def post(self, message: Message) -> Posted:
        return await self._post(message, nonce(message))

    async def _post(self, message: Message, nonce: str) -> Posted:
        deadline = Deadline(self.watch, self.deadline)
        bot = await deadline.run(self._logged_in())
        if message.thread:
            try:
                thread = bot.get_partial_messageable(_id(message.thread))
                sent = await deadline.run(self._send(thread, message, nonce))
                return Posted(message.thread, (str(sent.id),))
            except Rejected as exc:
                if not gone(exc):
                    raise
                warn(self.name, f"thread {message.thread} is gone ({exc}): starting another")
        channel = await deadline.run(self._channel(bot))
        sent = await deadline.run(self._send(channel, message, nonce))
        return Posted(await self._thread(sent, message, deadline), (str(sent.id),))

    async def receive(self, inbox: Callable[[Incoming], Awaitable[None]]) -> None:
        bot = await Deadline(self.watch, self.deadline).run(self._logged_in())
        self._channel_id()
        await gateway.listen(bot, inbox)

    async def close(self) -> None:
        bot, self._bot = self._bot, None
        if bot is not None:
            await bot.close()

    async def _logged_in(self) -> gateway.Bot:
        """The bot, logged in (once; again after a failed try)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._bot is not None:
                return self._bot
            token = read_secret(self.spec, "token")
            bot = gateway.Bot(self.name, self.parents, self.watch, self.deadline)
            try:
                await bot.login(token)
            except BaseException:
                await bot.close()
                raise
            self._bot = bot
            return bot

    def _channel_id(self) -> int:
        try:
            return _id(self.where)
        except Rejected:
            raise Rejected(f"{self.where!r} is not a Discord channel id") from None

    async def _channel(self, bot: gateway.Bot) -> discord.abc.Messageable:
        """The configured channel, as discord.py knows it (from its cache, else asked for
        once): a message sent there knows its guild, which starting a thread needs."""
        where = self._channel_id()
        found = bot.get_channel(where) or bot.target
        if found is None or found.id != where:
            found = await bot.fetch_channel(where)
        if not isinstance(found, discord.abc.Messageable):
            raise Rejected(f"Discord channel {where} takes no messages")
        bot.target = found
        return found

    async def _send(
        self, where: discord.abc.Messageable, message: Message, nonce: str
    ) -> discord.Message:
        options: dict[str, Any] = {}
        view = text.buttons(message.buttons)
        if view is not None:
            options["view"] = view
        return await where.send(
            text.content(message),
            allowed_mentions=discord.AllowedMentions.none(),
            suppress_embeds=True,
            silent=message.what == "output",  # live output: no push notification each time
            nonce=nonce,
            **options,
        )

    async def _thread(
        self, sent: discord.Message, message: Message, deadline: Deadline
    ) -> str | None:
        """A thread started from ``sent`` for the key's later messages (None if it could
        not be: the message is out, so this post stands, and the next starts afresh).
        A thread started from a message has the message's id: one made by an earlier try
        of this post is that one."""
        name = text.thread_name(message)
        try:
            await deadline.run(sent.create_thread(name=name, auto_archive_duration=ARCHIVE_AFTER))
        except ChannelError as exc:
            if code(exc) != THREAD_EXISTS:
                warn(self.name, f"no thread started from message {sent.id}: {exc}")
                return None
        self.parents[sent.id] = sent.channel.id
        return str(sent.id)


def nonce(message: Message) -> str:
    """The message's nonce, the same on each try of it (from its id). Discord makes no
    second message with a nonce it saw lately (``enforce_nonce``, which discord.py sets): a
    try whose answer was lost (timed out, cut) and then made again posts once."""
    return message.id[-NONCE:] if message.id else secrets.token_hex(12)


def _id(value: str) -> int:
    if not value.isdigit():
        raise Rejected(f"{value!r} is not a Discord id")
    return int(value)
