"""Telegram, through python-telegram-bot (``pip install 'tmuxorch[telegram]'``)::

    channels:
      telegram:
        token_env: TMUXORCH_TELEGRAM_TOKEN
        chat: -1001234567890     # a group, or a person's chat with the bot
        topics: true             # a forum topic per task (else: a reply chain)
        api_url: https://api.telegram.org   # the Bot API server (a local one, a stand-in)

Out: each message is plain text (nothing an agent printed is read as markup), its choices
as inline buttons. A task's first message opens its thread: later ones reply to it (a reply
chain), or, with ``topics: true``, all go in a forum topic made for the task.

In: long polling (``getUpdates``). A message hands in what it replies to and its topic
(``refs``), a pressed button the message it is on. One ``serve`` per bot token polls
(:mod:`.receiver_lock`); a second one, or another program polling the same bot (Telegram
answers it 409), is a :class:`~.base.Conflict`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import warnings
from functools import partial

import telegram
from telegram import error as tg
from telegram.request import HTTPXRequest

from tmuxorch.channels.base import (
    Channel,
    ChannelError,
    Conflict,
    Incoming,
    Message,
    Posted,
    Rejected,
    Throttled,
    Unreachable,
    read_secret,
)
from tmuxorch.channels.receiver_lock import ReceiverLock

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine, Sequence
    from typing import Any, TypeVar

    from tmuxorch.channels.base import Button
    from tmuxorch.spec.channels import ChannelSpec

    T = TypeVar("T")

API_URL = "https://api.telegram.org"
POLL = 25
"""Seconds one ``getUpdates`` waits on the service for something new."""
WITHIN = 25.0
"""Seconds a post (or an answer) may take before it counts as :class:`Unreachable`."""
MAX_TEXT = 4096
"""Telegram's limit for one message, in UTF-16 code units."""
MAX_TOAST = 200
"""Telegram's limit for a button's acknowledgement."""
UPDATES = ("message", "callback_query")

# httpx logs each request's URL at INFO, and a Bot API URL holds the token.
logging.getLogger("httpx").setLevel(logging.WARNING)
# PTB warns on every 429 that ``retry_after`` will be a timedelta one day (read either way).
warnings.filterwarnings("ignore", ".*In a future major version attribute `retry_after`")


def make(spec: ChannelSpec) -> Channel:
    return TelegramChannel(spec)


class TelegramChannel(Channel):
    def __init__(self, spec: ChannelSpec) -> None:
        super().__init__(spec)
        chat = spec.text("chat")
        self.chat: int | str = int(chat) if chat.lstrip("-").isdigit() else chat
        self.topics = spec.get("topics") is True
        self.api_url = spec.text("api_url", API_URL).rstrip("/") or API_URL
        self._token = read_secret(spec, "token")  # a missing one stops serve from starting
        self._bot: telegram.Bot | None = None
        self._me: int | None = None
        self._starting = asyncio.Lock()
        self._lock = ReceiverLock("telegram", self._token)
        self._offset: int | None = None
        self._unconfirmed = False
        """Updates were handed in that Telegram still keeps (confirmed by the next poll)."""
        self._made_topics: dict[str, str] = {}
        """Topics made per key, so a post retried after its topic was made reuses it."""

    # out

    async def post(self, message: Message) -> Posted:
        bot = await self._ready()
        return await self._guard(self._post(bot, message))

    async def _post(self, bot: telegram.Bot, message: Message) -> Posted:
        send = partial(
            bot.send_message,
            self.chat,
            _text(message),
            reply_markup=_keyboard(message.buttons),
            disable_notification=message.what == "output",
        )
        thread = _number(message.thread)
        if not self.topics:
            reply = None
            if thread is not None:
                reply = telegram.ReplyParameters(thread, allow_sending_without_reply=True)
            sent = await send(reply_parameters=reply)
            root = sent.message_id if thread is None else thread
            return Posted(str(root), (str(sent.message_id),))
        topic = thread or _number(self._made_topics.get(message.key))
        if topic is None:
            topic = await self._topic(bot, message.key)
        try:
            sent = await send(message_thread_id=topic)
        except tg.BadRequest as exc:
            if not _gone(exc):
                raise
            topic = await self._topic(bot, message.key)  # someone deleted it: a new one
            sent = await send(message_thread_id=topic)
        return Posted(str(topic), (str(sent.message_id),))

    async def _topic(self, bot: telegram.Bot, key: str) -> int:
        made = await bot.create_forum_topic(self.chat, _topic_name(key))
        self._made_topics[key] = str(made.message_thread_id)
        return made.message_thread_id

    # in

    async def receive(self, inbox: Callable[[Incoming], Awaitable[None]]) -> None:
        bot = await self._ready()
        self._lock.take()  # or Conflict: another serve receives for this bot
        while True:
            updates = await self._guard(
                bot.get_updates(offset=self._offset, timeout=POLL, allowed_updates=UPDATES),
                within=POLL + WITHIN,
            )
            self._unconfirmed = False
            for update in updates:
                self._offset = update.update_id + 1  # at most once: never typed in twice
                self._unconfirmed = True
                incoming = self._incoming(update)
                if incoming is not None:
                    await inbox(incoming)

    def _incoming(self, update: telegram.Update) -> Incoming | None:
        query = update.callback_query
        if query is not None:
            return self._pressed(query)
        message = update.message
        if message is None or message.from_user is None or message.from_user.id == self._me:
            return None
        text = message.text if message.text is not None else message.caption
        if text is None:
            return None  # a sticker, a photo without words, someone joining...
        topic = message.message_thread_id if message.is_topic_message else None
        refs = []
        if message.reply_to_message is not None:
            refs.append(str(message.reply_to_message.message_id))
        if message.message_thread_id is not None:
            refs.append(str(message.message_thread_id))
        return Incoming(
            channel=self.name,
            user=str(message.from_user.id),
            name=_name(message.from_user),
            chat=self._chat_of(message.chat),
            refs=tuple(dict.fromkeys(refs)),
            text=text,
            answer=partial(self._say, message.chat.id, message.message_id, topic, None),
        )

    def _pressed(self, query: telegram.CallbackQuery) -> Incoming:
        on = query.message
        refs: list[str] = []
        chat: int | None = None
        where = ""
        topic = None
        message_id = None
        if on is not None:
            chat, message_id, where = on.chat.id, on.message_id, self._chat_of(on.chat)
            refs.append(str(message_id))
            if isinstance(on, telegram.Message) and on.is_topic_message:
                topic = on.message_thread_id
                refs.append(str(topic))
        said = partial(self._say, chat, message_id, topic, query.id)
        return Incoming(
            channel=self.name,
            user=str(query.from_user.id),
            name=_name(query.from_user),
            chat=where,
            refs=tuple(dict.fromkeys(refs)),
            button=query.data,
            answer=said,
        )

    def _chat_of(self, chat: telegram.Chat) -> str:
        """The chat as the config names it (an ``@name`` when given so), else its id."""
        named = isinstance(self.chat, str) and self.chat.startswith("@")
        if named and chat.username and f"@{chat.username}".lower() == str(self.chat).lower():
            return str(self.chat)
        return str(chat.id)

    async def _say(
        self,
        chat: int | None,
        reply_to: int | None,
        topic: int | None,
        query: str | None,
        text: str,
    ) -> None:
        """Answer a person: a button's acknowledgement, then a reply where they were."""
        bot = await self._ready()

        async def say() -> None:
            if query is not None:
                # answered already, or too late for it: the reply still goes
                with contextlib.suppress(tg.BadRequest):
                    await bot.answer_callback_query(query, text=_cut(text, MAX_TOAST))
            if chat is None:
                return
            reply = None
            if reply_to is not None:
                reply = telegram.ReplyParameters(reply_to, allow_sending_without_reply=True)
            await bot.send_message(
                chat, _cut(text or "…"), reply_parameters=reply, message_thread_id=topic
            )

        await self._guard(say())

    async def close(self) -> None:
        bot = self._bot
        if bot is not None and self._unconfirmed:
            try:  # else the next serve gets the last updates again, and types them twice
                await self._guard(bot.get_updates(offset=self._offset, timeout=0), within=5)
                self._unconfirmed = False
            except ChannelError:
                pass
        self._lock.release()
        self._bot = None
        if bot is not None:
            await bot.shutdown()

    # the SDK

    async def _ready(self) -> telegram.Bot:
        """The bot, made and checked (``getMe``) on first use."""
        async with self._starting:
            if self._bot is not None:
                return self._bot
            bot = telegram.Bot(
                self._token,
                base_url=f"{self.api_url}/bot",
                base_file_url=f"{self.api_url}/file/bot",
                request=HTTPXRequest(connection_pool_size=8, pool_timeout=5.0),
                get_updates_request=HTTPXRequest(connection_pool_size=2),
            )
            try:
                await self._guard(bot.initialize())
            except BaseException:
                await bot.shutdown()
                raise
            self._bot, self._me = bot, bot.id
            return bot

    async def _guard(self, work: Coroutine[Any, Any, T], within: float = WITHIN) -> T:
        """``work``, its failures said as the outbox knows them (and never the token)."""
        try:
            return await asyncio.wait_for(work, within)
        except asyncio.TimeoutError:
            raise Unreachable(f"no answer within {within:g} s") from None
        except tg.RetryAfter as exc:
            raise Throttled(_seconds(exc), f"{self._said(exc)}") from None
        except tg.Conflict as exc:
            raise Conflict(
                f"another program polls this bot's updates "
                f"(Telegram: {self._said(exc)}); each would get only part of the messages: "
                "stop the other one, or give this channel a bot of its own"
            ) from None
        except tg.InvalidToken:
            raise Rejected("the bot token was refused") from None
        except tg.ChatMigrated as exc:
            raise Rejected(f"the group moved: set chat: {exc.new_chat_id}") from None
        except (tg.Forbidden, tg.BadRequest) as exc:
            raise Rejected(f"{self._said(exc)}") from None
        except tg.TelegramError as exc:  # NetworkError, TimedOut, an unreadable answer
            raise Unreachable(f"{self._said(exc)}") from None

    def _said(self, exc: tg.TelegramError) -> str:
        text = exc.message or type(exc).__name__
        return text.replace(self._token, "<token>")


def _text(message: Message) -> str:
    """The router's text says it all (the title repeats it, the text ends with the link)."""
    return _cut(message.text if message.text.strip() else message.title or message.key)


def _cut(text: str, limit: int = MAX_TEXT) -> str:
    """``text`` within ``limit`` UTF-16 code units (how Telegram counts)."""
    units = text.encode("utf-16-le")
    if len(units) <= 2 * limit:
        return text
    return units[: 2 * (limit - 1)].decode("utf-16-le", "ignore") + "…"


def _keyboard(buttons: Sequence[Button]) -> telegram.InlineKeyboardMarkup | None:
    if not buttons:
        return None
    across = 1 if any(len(b.label) > 20 for b in buttons) else 4
    rows = [buttons[i : i + across] for i in range(0, len(buttons), across)]
    return telegram.InlineKeyboardMarkup(
        [
            [telegram.InlineKeyboardButton(b.label[:64], callback_data=b.data) for b in row]
            for row in rows
        ]
    )


def _topic_name(key: str) -> str:
    return key[:128] or "tmuxorch"


def _number(value: str | None) -> int | None:
    return int(value) if value and value.lstrip("-").isdigit() else None


def _gone(exc: tg.BadRequest) -> bool:
    """The topic is no more (deleted by someone)."""
    said = exc.message.lower()
    return "thread not found" in said or "topic_deleted" in said


def _name(user: telegram.User) -> str:
    return f"@{user.username}" if user.username else user.full_name


def _seconds(exc: tg.RetryAfter) -> float:
    after = exc.retry_after
    return after.total_seconds() if isinstance(after, datetime.timedelta) else float(after)
