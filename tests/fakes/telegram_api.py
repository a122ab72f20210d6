"""A local stand-in of Telegram's Bot API (``POST /bot<TOKEN>/<method>``, JSON or form
bodies), enough for python-telegram-bot to run unchanged against it (``base_url``).

It answers ``getMe``, ``sendMessage``, ``getUpdates`` (long polling, with offsets),
``answerCallbackQuery``, ``createForumTopic``; records every call; and lets a test play the
people (:meth:`TelegramAPI.user_message`, :meth:`TelegramAPI.press`) and the trouble: a
wrong token (401), a 429 with ``retry_after`` (:meth:`TelegramAPI.throttle`), a 409 to
``getUpdates`` (:meth:`TelegramAPI.refuse_polls`), and a network cut (:meth:`TelegramAPI.cut`:
nothing listens, open connections are dropped; :meth:`TelegramAPI.up` again).

It serves from a thread of its own (:class:`~tests.fakes.base.StandIn`): a test, async or
not, calls its methods from anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from aiohttp import web

from tests.fakes.base import StandIn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

T = TypeVar("T")
JSON = dict[str, Any]
TOKEN = "123456:TEST-stand-in-token"
CHAT = -1001000000001
TEXTS = frozenset({"text", "name", "callback_query_id", "parse_mode", "chat_id", "caption"})
"""Fields Telegram reads as strings (the rest of a form body is JSON-encoded)."""


@dataclass
class Call:
    method: str
    params: JSON
    status: int = 0
    """Its HTTP status once answered (0 while a long poll waits)."""
    result: Any = None
    at: float = field(default_factory=time.time)
    answered: float = 0.0
    """When its answer was ready (``time.time()``)."""


class TelegramAPI(StandIn):
    def __init__(
        self, token: str = TOKEN, *, chats: Iterable[int] = (CHAT,), forums: Iterable[int] = (),
        names: dict[str, int] | None = None, poll_cap: float = 30.0,
    ) -> None:  # fmt: skip
        self.token = token
        self.forums = set(forums)
        self.names = names or {}
        """Public chats' @usernames (without the @) -> their ids."""
        self.chats = set(chats) | self.forums
        self.poll_cap = poll_cap
        self.bot: JSON = {"id": int(token.split(":")[0]), "is_bot": True, "first_name": "bot"}
        self.calls: list[Call] = []
        self.messages: dict[tuple[int, int], JSON] = {}
        self.topics: dict[tuple[int, int], str] = {}
        self.queries: dict[str, bool] = {}  # id -> answered
        self.updates: list[JSON] = []
        """Updates not yet confirmed by a poll's offset."""
        self.history: list[JSON] = []
        """Every update made."""
        self.handed: dict[int, float] = {}
        """update id -> when a poll first handed it over (``time.time()``)."""
        self._ids = 0
        self._update_ids = 0
        self._throttles: list[tuple[str | None, int, int]] = []  # method, times, after
        self._refusing_polls = False
        self._down = False
        self._news = asyncio.Event()  # used on the stand-in's loop only
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/bot{token}/{method}", self._handle)

    def cut(self) -> None:
        """The network goes: nothing listens, open connections (a long poll) are dropped."""

        async def drop() -> None:
            self._down = True
            self._news.set()
            if self._runner is not None:
                for site in list(self._runner.sites):
                    await site.stop()
                for handler in self._runner.server.connections if self._runner.server else []:
                    if handler.transport is not None:
                        handler.transport.abort()

        self.call(drop())
        super().cut()

    def up(self) -> None:
        self._down = False
        super().up()

    def _now(self, do: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``do(*args, **kwargs)`` on the stand-in's loop (its state is that loop's)."""

        async def now() -> T:
            return do(*args, **kwargs)

        result: T = self.call(now())
        return result

    # trouble

    def throttle(self, retry_after: int = 1, times: int = 1, method: str | None = None) -> None:
        """The next ``times`` calls (of ``method``, or any) answer 429, retry after so long."""
        self._now(self._throttles.append, (method, times, retry_after))

    def refuse_polls(self, on: bool = True) -> None:
        """``getUpdates`` answers 409 (as when another program polls with the token)."""

        def refuse() -> None:
            self._refusing_polls = on
            self._news.set()

        self._now(refuse)

    # the people

    def user_message(
        self, user: int, text: str, *, chat: int = CHAT, reply_to: int | None = None,
        thread: int | None = None, name: str = "",
    ) -> JSON:  # fmt: skip
        """A person writes ``text`` (replying to a message, in a topic)."""
        return self._now(self._written, user, text, chat, reply_to, thread, name)

    def _written(
        self, user: int, text: str, chat: int, reply_to: int | None, thread: int | None, name: str
    ) -> JSON:
        assert reply_to is None or (chat, reply_to) in self.messages, reply_to
        message = self._message(chat, _person(user, name), text, reply_to=reply_to, thread=thread)
        if thread is not None and reply_to is None and (chat, thread) in self.messages:
            message["reply_to_message"] = self.messages[(chat, thread)]  # what Telegram does
        self._update({"message": message})
        return message

    def press(self, user: int, message_id: int, data: str, *, chat: int = CHAT) -> str:
        """A person presses the button ``data`` on a message; the query's id."""
        return self._now(self._pressed, user, message_id, data, chat)

    def _pressed(self, user: int, message_id: int, data: str, chat: int) -> str:
        query_id = f"q{len(self.queries) + 1}"
        self.queries[query_id] = False
        on = self.messages[(chat, message_id)]
        query = {
            "id": query_id,
            "from": _person(user, ""),
            "message": on,
            "chat_instance": str(chat),
            "data": data,
        }
        self._update({"callback_query": query})
        return query_id

    def _update(self, body: JSON) -> None:
        self._update_ids += 1
        self.updates.append({"update_id": self._update_ids, **body})
        self.history.append(self.updates[-1])
        self._news.set()

    # what it got

    def sent(self, method: str = "sendMessage") -> list[JSON]:
        """The parameters of the accepted calls of ``method``, in order."""
        return [c.params for c in list(self.calls) if c.method == method and c.status == 200]

    def called(self, method: str) -> list[Call]:
        """Every call of ``method`` so far (answered or not)."""
        return [c for c in list(self.calls) if c.method == method]

    # the API

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        try:
            params = await _params(request)
        except ConnectionResetError:  # the client went while sending
            raise web.HTTPBadRequest() from None
        call = Call(method, params)
        self.calls.append(call)
        if request.match_info["token"] != self.token:
            return _fail(call, 401, "Unauthorized")
        for i, (only, times, after) in enumerate(self._throttles):
            if only in (None, method):
                left = times - 1
                self._throttles[i : i + 1] = [(only, left, after)] if left else []
                return _fail(call, 429, f"Too Many Requests: retry after {after}", after)
        answer = getattr(self, f"_{method.lower()}", None)
        if answer is None:
            return _fail(call, 404, "Not Found")
        outcome = await answer(params)
        if isinstance(outcome, _Refusal):
            return _fail(call, outcome.code, outcome.description)
        call.result, call.answered = outcome, time.time()
        call.status = 200
        return web.json_response({"ok": True, "result": outcome})

    async def _getme(self, params: JSON) -> JSON:
        return self.bot

    async def _sendmessage(self, params: JSON) -> JSON | _Refusal:
        chat = self._chat_id(params.get("chat_id"))
        if chat not in self.chats:
            return _Refusal(400, "Bad Request: chat not found")
        text = str(params.get("text") or "")
        if not text.strip():
            return _Refusal(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) > 2 * 4096:
            return _Refusal(400, "Bad Request: message is too long")
        thread = params.get("message_thread_id")
        if thread is not None and (chat, int(thread)) not in self.topics:
            return _Refusal(400, "Bad Request: message thread not found")
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id", params.get("reply_to_message_id"))
        lenient = reply.get(
            "allow_sending_without_reply", params.get("allow_sending_without_reply")
        )
        markup = params.get("reply_markup")
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return _Refusal(400, "Bad Request: BUTTON_DATA_INVALID")
        if reply_to is not None and (chat, int(reply_to)) not in self.messages and not lenient:
            return _Refusal(400, "Bad Request: message to be replied not found")
        return self._message(
            chat,
            self.bot,
            text,
            reply_to=None if reply_to is None else int(reply_to),
            thread=None if thread is None else int(thread),
            markup=markup,
        )

    async def _createforumtopic(self, params: JSON) -> JSON | _Refusal:
        chat = self._chat_id(params.get("chat_id"))
        if chat not in self.chats:
            return _Refusal(400, "Bad Request: chat not found")
        if chat not in self.forums:
            return _Refusal(400, "Bad Request: the chat is not a forum")
        name = str(params.get("name") or "")
        if not 1 <= len(name) <= 128:
            return _Refusal(400, "Bad Request: TOPIC_NAME_INVALID")
        opened = self._message(chat, self.bot, None)
        opened["forum_topic_created"] = {"name": name, "icon_color": 7322096}
        self.topics[(chat, opened["message_id"])] = name
        return {"message_thread_id": opened["message_id"], "name": name, "icon_color": 7322096}

    async def _answercallbackquery(self, params: JSON) -> bool | _Refusal:
        query = str(params.get("callback_query_id"))
        if self.queries.get(query, True):
            return _Refusal(400, "Bad Request: query is too old and response timeout expired")
        self.queries[query] = True
        return True

    async def _getupdates(self, params: JSON) -> list[JSON] | _Refusal:
        offset = params.get("offset")
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= int(offset)]
        allowed = params.get("allowed_updates") or ["message", "callback_query"]
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), self.poll_cap)
        while True:
            if self._down:
                return []  # nobody gets it: the connection is gone
            if self._refusing_polls:
                return _Refusal(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            ready = [u for u in self.updates if any(kind in u for kind in allowed)]
            left = deadline - time.monotonic()
            if ready or left <= 0:
                for update in ready:
                    self.handed.setdefault(update["update_id"], time.time())
                return ready
            self._news.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._news.wait(), left)

    def _message(
        self,
        chat: int,
        sender: JSON,
        text: str | None,
        *,
        reply_to: int | None = None,
        thread: int | None = None,
        markup: JSON | None = None,
    ) -> JSON:
        self._ids += 1
        message: JSON = {
            "message_id": self._ids,
            "date": int(time.time()),
            "chat": self._chat(chat),
            "from": sender,
        }
        if text is not None:
            message["text"] = text
        if markup:
            message["reply_markup"] = markup
        if thread is not None:
            message["message_thread_id"] = thread
            message["is_topic_message"] = True
        parent = self.messages.get((chat, reply_to)) if reply_to is not None else None
        if parent is not None:  # one level deep, as Telegram sends it
            message["reply_to_message"] = {
                k: v for k, v in parent.items() if k != "reply_to_message"
            }
        self.messages[(chat, self._ids)] = message
        return message

    def _chat_id(self, given: object) -> int | None:
        name = str(given)
        return self.names.get(name[1:]) if name.startswith("@") else _int(name)

    def _chat(self, chat: int) -> JSON:
        if chat > 0:
            return {"id": chat, "type": "private", "first_name": "someone"}
        found: JSON = {"id": chat, "type": "supergroup", "title": "tmuxorch"}
        found["is_forum"] = chat in self.forums
        for name in (n for n, i in self.names.items() if i == chat):
            found["username"] = name
        return found


@dataclass
class _Refusal:
    code: int
    description: str


def _fail(call: Call, code: int, description: str, retry_after: int | None = None) -> web.Response:
    call.answered = time.time()
    call.status = code
    body: JSON = {"ok": False, "error_code": code, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=code)


async def _params(request: web.Request) -> JSON:
    if request.content_type == "application/json":
        loaded = await request.json()
        return dict(loaded) if isinstance(loaded, dict) else {}
    form = await request.post()
    params: JSON = {**request.query}
    for name, value in form.items():
        if not isinstance(value, str) or name in TEXTS:
            params[name] = value
            continue
        try:
            params[name] = json.loads(value)
        except ValueError:
            params[name] = value
    return params


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except ValueError:
        return None


def _person(user: int, name: str) -> JSON:
    return {"id": user, "is_bot": False, "first_name": name or f"user{user}"}
