"""Discord in: the bot's gateway session (discord.py's WebSocket) and what people do on it,
as :class:`~tmuxorch.channels.base.Incoming`.

discord.py's own ``Client.connect`` reconnects forever, quietly. Here one connection is
made at a time (:func:`listen`): when the gateway cannot be reached it raises
:class:`~tmuxorch.channels.base.Unreachable`, so the router's back-off applies and says so,
while the session is kept (:class:`Session`): the next connection RESUMEs it, and Discord
replays what happened meanwhile (nothing a person wrote is lost to a short cut). Discord's
own "reconnect" (op 7) on a live connection is followed at once, without raising.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket, ReconnectWebSocket

from tmuxorch.channels import discord_text as text
from tmuxorch.channels.base import ChannelError, Incoming, Rejected, Unreachable
from tmuxorch.channels.discord_errors import Deadline, mapped, warn

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tmuxorch.channels.discord_errors import Watch

    Inbox = Callable[[Incoming], Awaitable[None]]
    Answer = Callable[[str], Awaitable[None]]

ACK_TIME = 2.5
"""Seconds to acknowledge a button press in (Discord allows 3)."""
CONNECT_TIME = 60.0
FATAL = {
    4004: "Discord refused the bot token",
    4010: "Discord refused the shard",
    4011: "the bot needs sharding",
    4012: "Discord refused the gateway version",
    4013: "Discord refused the intents asked for",
    4014: "the bot may not read messages: turn on its Message Content Intent"
    " (Discord Developer Portal, Bot, Privileged Gateway Intents)",
}
"""Gateway close codes that will not go away by connecting again."""
PERSONS = frozenset({discord.MessageType.default, discord.MessageType.reply})
"""Messages a person wrote (others are Discord's own: pins, thread starts, joins...)."""


def intents() -> discord.Intents:
    """Guilds (channels and threads, to know a thread's channel), guild messages, and their
    text (the privileged Message Content intent)."""
    found = discord.Intents.none()
    found.guilds = True
    found.guild_messages = True
    found.message_content = True
    return found


class Session:
    """Where the bot's gateway session stands, kept across connections to RESUME it."""

    def __init__(self) -> None:
        self.id: str | None = None
        self.sequence: int | None = None
        self.url: yarl.URL | None = None
        self.identified = False
        """An IDENTIFY was sent already (discord.py waits 5 s before the next one)."""

    def keep(self, ws: DiscordWebSocket, resume: bool) -> None:
        if resume and ws.session_id is not None:
            self.id, self.sequence, self.url = ws.session_id, ws.sequence, ws.gateway
        else:
            self.id = self.sequence = self.url = None


class Bot(discord.Client):
    """A discord.py client that hands messages and button presses to :attr:`inbox`."""

    def __init__(self, channel: str, parents: dict[int, int], watch: Watch, time: float) -> None:
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False  # no voice here
        super().__init__(
            intents=intents(),
            max_messages=None,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_ratelimit_timeout=30.0,
            http_trace=watch.trace(),
        )
        self.channel = channel
        self.parents = parents
        """Thread id → its channel's id, for threads not in discord.py's cache."""
        self.watch = watch
        self.time = time
        self.session = Session()
        self.inbox: Inbox | None = None
        self.target: discord.abc.GuildChannel | discord.abc.PrivateChannel | discord.Thread | None
        self.target = None
        """The configured channel, once looked up."""

    def deadline(self, seconds: float | None = None) -> Deadline:
        return Deadline(self.watch, self.time if seconds is None else seconds)

    async def on_message(self, message: discord.Message) -> None:
        inbox = self.inbox
        if inbox is None or message.type not in PERSONS:
            return
        if message.author.bot or message.webhook_id is not None:
            return  # itself (Discord echoes its messages), other bots: never a loop of refusals
        refs: tuple[str, ...] = (str(message.channel.id),)
        if message.reference is not None and message.reference.message_id is not None:
            refs += (str(message.reference.message_id),)
        incoming = Incoming(
            channel=self.channel,
            user=str(message.author.id),
            name=message.author.display_name,
            chat=await self._chat(message.channel.id, message.channel),
            refs=refs,
            text=message.content,
            answer=self._reply(message),
        )
        await inbox(incoming)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        inbox = self.inbox
        if inbox is None or interaction.type is not discord.InteractionType.component:
            return
        pressed = interaction.data.get("custom_id") if interaction.data else None
        if not isinstance(pressed, str):
            return
        try:  # at once: Discord shows "interaction failed" after 3 s
            await self.deadline(ACK_TIME).run(interaction.response.defer())
        except ChannelError as exc:
            warn(self.channel, f"a button press was not acknowledged: {exc}")
        where = interaction.channel_id
        message = interaction.message
        refs = tuple(str(i) for i in (message and message.id, where) if i is not None)
        incoming = Incoming(
            channel=self.channel,
            user=str(interaction.user.id),
            name=interaction.user.display_name,
            chat=await self._chat(where, interaction.channel) if where is not None else "",
            refs=refs,
            button=pressed,
            answer=self._followup(interaction),
        )
        await inbox(incoming)

    async def _chat(self, where: int, channel: object) -> str:
        """The channel a message is in: a thread's parent, else the channel itself."""
        if isinstance(channel, discord.Thread) and channel.parent_id:
            return str(channel.parent_id)
        if where in self.parents:
            return str(self.parents[where])
        if isinstance(channel, (discord.abc.GuildChannel, discord.abc.PrivateChannel)):
            return str(where)
        try:  # not in discord.py's cache: ask once
            found = await self.deadline().run(self.fetch_channel(where))
        except ChannelError as exc:
            warn(self.channel, f"cannot look up Discord channel {where}: {exc}")
            return str(where)
        parent = found.parent_id if isinstance(found, discord.Thread) else None
        self.parents[where] = parent or where
        return str(self.parents[where])

    def _reply(self, message: discord.Message) -> Answer:
        async def answer(said: str) -> None:
            reply = message.reply(
                text.fitted(said, text.LIMIT),
                mention_author=False,
                allowed_mentions=discord.AllowedMentions.none(),
                suppress_embeds=True,
            )
            await self.deadline().run(reply)

        return answer

    def _followup(self, interaction: discord.Interaction) -> Answer:
        async def answer(said: str) -> None:
            followup = interaction.followup.send(
                text.fitted(said, text.LIMIT),
                ephemeral=True,
                allowed_mentions=discord.AllowedMentions.none(),
                suppress_embeds=True,
                wait=True,
            )
            await self.deadline().run(followup)

        return answer


async def listen(bot: Bot, inbox: Inbox) -> None:
    """Keep ``bot`` on the gateway, handing what comes to ``inbox``, until cancelled; a
    :class:`ChannelError` when the gateway cannot be reached or refuses the bot."""
    bot.inbox = inbox
    try:
        while not bot.is_closed():
            await _connection(bot)
    finally:
        bot.inbox = None


async def _connection(bot: Bot) -> None:
    """One gateway connection, until Discord asks for another (it returns then) or it
    fails (a ChannelError; the session is kept to resume)."""
    session = bot.session
    resume = session.id is not None
    start = session.sequence
    gateway = session.url if resume else None
    if gateway is None:  # where Discord says the gateway is (the stand-in's, in tests)
        _, url, _ = await bot.deadline().run(bot.http.get_bot_gateway())
        gateway, resume = yarl.URL(url), False
    ws: DiscordWebSocket | None = None
    try:
        connecting = DiscordWebSocket.from_client(
            bot,
            initial=not session.identified,
            gateway=gateway,
            session=session.id if resume else None,
            sequence=start if resume else None,
            resume=resume,
        )
        ws = await asyncio.wait_for(connecting, CONNECT_TIME)
        bot.ws = ws
        session.identified = True
        while True:
            await ws.poll_event()
    except ReconnectWebSocket as exc:
        if ws is None:
            raise Unreachable("the Discord gateway hung up") from None
        session.keep(ws, exc.resume)
        if ws.sequence == start or ws.sequence is None:  # nothing came: not a live one
            raise Unreachable("the Discord gateway hung up") from None
    except discord.ConnectionClosed as exc:
        if ws is not None:
            session.keep(ws, resume=False)
        if exc.code in FATAL:
            raise Rejected(FATAL[exc.code]) from None
        raise Unreachable(f"the Discord gateway closed ({exc.code})") from None
    except (
        OSError,
        discord.HTTPException,
        discord.GatewayNotFound,
        aiohttp.ClientError,
        asyncio.TimeoutError,
    ) as exc:
        if ws is not None:
            session.keep(ws, resume=True)
        raise (mapped(exc) or Unreachable(str(exc))) from exc
    except asyncio.CancelledError:
        if ws is not None:
            session.keep(ws, resume=True)
        raise
    finally:
        if ws is not None and ws.open:
            await ws.close(code=4000)  # not 1000: that would end the session
