"""ntfy (https://ntfy.sh, or a server of your own): push notifications on a phone, with
buttons that answer — plain HTTP (aiohttp), no SDK::

    channels:
      ntfy:
        url: https://ntfy.example.com/tmuxorch-7f3a   # the topic: server, then topic
        token_env: NTFY_TOKEN                         # optional: Authorization: Bearer
        reply_topic: tmuxorch-7f3a-answers            # optional: answers come back here
        allow: ["*"]                                  # see "Who acts" below

**Out.** Each message is one notification, published in ntfy's JSON form (``POST`` to the
server, ``{topic, message, title, priority, tags, click, actions}``), so a title or a text
in any script needs no header escaping. A task waiting for a person (``urgent``) has
priority 5 ("max/urgent"); the rest ntfy's default. ``link`` opens when the notification
is tapped. ntfy has no threads (:class:`Posted` ``thread`` is ``None``).

**Buttons.** With a ``reply_topic``, a message's buttons become ntfy ``http`` actions: a tap
makes the phone ``POST`` the button's data to ``{server}/{reply_topic}`` (with the same
``Authorization`` when a token is set), so the answer comes back through the ntfy server
and ``serve`` needs no public address. ntfy shows at most :data:`ACTIONS` actions: further
buttons are named at the end of the text, to be answered by publishing the answer to the
reply topic. Without a ``reply_topic`` nothing comes back: buttons are left out.

**In** (only with a ``reply_topic``): ``serve`` follows ``{server}/{reply_topic}/json``
(ntfy's stream of JSON lines), and each message on it is an :class:`Incoming`: a button's
data when it came from one of our actions (they tag what they publish, with the post they
were on), else text typed as an answer. ntfy has no threads nor replies: typed text answers
the latest question asked on this channel (the latest post of a task waiting for a person,
since ``serve`` started). A cut stream is picked up where it stopped (``since=`` the last message seen),
so nothing published meanwhile is lost.

**Who acts.** ntfy has no user identity: everything on the reply topic comes from the user
``ntfy``. Whoever can publish to the reply topic types into your agents' panes, so protect
it: a server with access control (``auth-default-access: deny-all``) and a token that may
write it, never a guessable public topic. The router lets only listed people act; for
ntfy that list must be ``allow: ["*"]`` (the router reads ``*`` as everyone: here,
everyone who can publish to the reply topic). The token also rides in the actions (the
phone needs it to publish), so anyone who can read the topic can read the token: give
ntfy a token that may only read the topic and write the reply topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections import OrderedDict

import aiohttp

from tmuxorch.channels.base import (
    Channel,
    Incoming,
    Message,
    Posted,
    Rejected,
    Throttled,
    Unreachable,
    read_secret,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tmuxorch.channels.base import Button
    from tmuxorch.spec.channels import ChannelSpec

ACTIONS = 3
"""Action buttons ntfy shows on one notification."""
MESSAGE_BYTES = 4096
"""ntfy's limit for a message (its default ``message-size-limit``)."""
POST_TIMEOUT = 20.0
"""Seconds one publish may take, all told."""
READ_TIMEOUT = 120.0
"""Seconds the stream may stay silent (ntfy sends a keepalive every 45 s by default)."""
THROTTLED_FOR = 10.0
"""Seconds to wait after a 429 that says no ``Retry-After``."""
URGENT, QUIET = 5, 2
"""Priorities: a person is needed; an answer to what a person did."""
BUTTON_TAG = "tmuxorch-button"
"""The tag our actions put on what they publish: this message is a button's data."""
REF_TAG = "tmuxorch-ref-"
"""Then the post the button was on (one of the ids :meth:`Ntfy.post` returned)."""
REMEMBERED = 1000
"""Message ids kept to drop one seen twice."""
TAGS = {
    "waiting": "raising_hand",
    "failed": "x",
    "finished": "checkered_flag",
    "output": "scroll",
    "answer": "speech_balloon",
    "note": "information_source",
}
"""The emoji ntfy shows for each kind of message (its tag names)."""


class Ntfy(Channel):
    limit = MESSAGE_BYTES // 4
    """Characters: any text that long fits ntfy's 4,096 bytes, whatever its script."""

    def __init__(self, spec: ChannelSpec) -> None:
        super().__init__(spec)
        url = spec.text("url").rstrip("/")
        self.server, _, self.topic = url.rpartition("/")
        self.reply_topic = spec.text("reply_topic").strip("/") or None
        self.receives = self.reply_topic is not None
        self.reply_hint = (
            f"Answer with a button, or publish your answer to {self.reply_topic}."
            if self.reply_topic
            else None
        )
        if not self.topic or "://" not in self.server:
            raise Rejected(f"{spec.origin}: url must be the topic's: https://SERVER/TOPIC")
        self._auth()  # a token named but not there: said when serve starts
        self._session: aiohttp.ClientSession | None = None
        self._since = str(int(time.time()))  # the first look: what is published from now
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._question: str | None = None

    # -- out ---------------------------------------------------------------------------------

    async def post(self, message: Message) -> Posted:
        ref = REF_TAG + (message.id or secrets.token_hex(8))  # the same on each try
        body = self.publication(message, ref)
        data = await self._publish(body)
        ident = str(data.get("id") or "")
        if ident:
            self._remember(ident)  # a reply topic that is the topic itself: not an answer
        if message.urgent or message.buttons:
            self._question = ref  # what text typed on the reply topic answers
        return Posted(None, tuple(i for i in (ident, ref) if i))

    def publication(self, message: Message, ref: str) -> dict[str, object]:
        """The JSON ntfy publishes ``message`` from (``ref``: what its buttons send back
        as the post they were on)."""
        shown, more = self._split(message.buttons)
        text = message.text
        if more:
            labels = ", ".join(b.label for b in more)
            text += f"\n\nAlso: {labels} (publish the answer to {self.reply_topic})"
        body: dict[str, object] = {"topic": self.topic, "message": _cut(text, MESSAGE_BYTES)}
        if message.title:
            body["title"] = message.title
        if message.urgent:
            body["priority"] = URGENT
        elif message.what == "answer":
            body["priority"] = QUIET
        if message.what in TAGS:
            body["tags"] = [TAGS[message.what]]
        if message.link:
            body["click"] = message.link
        if shown:
            body["actions"] = [self._action(b, ref) for b in shown]
        return body

    def _split(self, buttons: tuple[Button, ...]) -> tuple[tuple[Button, ...], tuple[Button, ...]]:
        if self.reply_topic is None:
            return (), ()
        return buttons[:ACTIONS], buttons[ACTIONS:]

    def _action(self, button: Button, ref: str) -> dict[str, object]:
        headers = {"Tags": f"{BUTTON_TAG},{ref}", **self._auth()}
        return {
            "action": "http",
            "label": button.label,
            "url": f"{self.server}/{self.reply_topic}",
            "method": "POST",
            "headers": headers,
            "body": button.data,
            "clear": True,  # the notification goes once answered
        }

    # -- in ----------------------------------------------------------------------------------

    async def receive(self, inbox: Callable[[Incoming], Awaitable[None]]) -> None:
        if self.reply_topic is None:
            return
        url = f"{self.server}/{self.reply_topic}/json"
        timeout = aiohttp.ClientTimeout(
            total=None, sock_connect=POST_TIMEOUT, sock_read=READ_TIMEOUT
        )
        where = f"ntfy {self.server}: the stream of {self.reply_topic}"
        session = self._open()
        try:
            async with session.get(
                url, params={"since": self._since}, headers=self._auth(), timeout=timeout
            ) as response:
                await _check(response)
                while True:
                    try:
                        line = await response.content.readline()
                    except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as exc:
                        raise Unreachable(f"{where}: {_why(exc)}") from None
                    if not line:
                        break
                    await self._line(line, inbox)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise Unreachable(f"{where}: {_why(exc)}") from None
        raise Unreachable(f"{where} ended")

    async def _line(self, line: bytes, inbox: Callable[[Incoming], Awaitable[None]]) -> None:
        try:
            event = json.loads(line)
        except ValueError:
            return  # not a line of ntfy's: nothing to hand in
        if not isinstance(event, dict) or event.get("event") != "message":
            return  # open, keepalive, poll_request
        ident = str(event.get("id") or "")
        if ident in self._seen:
            return
        await inbox(self._incoming(event))
        if ident:
            self._remember(ident)
            self._since = ident

    def _incoming(self, event: dict[str, object]) -> Incoming:
        body = str(event.get("message") or "")
        tags = event.get("tags")
        tags = [str(t) for t in tags] if isinstance(tags, list) else []
        pressed = BUTTON_TAG in tags and _button_data(body)
        return Incoming(
            channel=self.name,
            user="ntfy",
            name="ntfy",
            chat=str(self.reply_topic),
            refs=tuple(t for t in tags if t.startswith(REF_TAG))
            or ((self._question,) if self._question else ()),
            text="" if pressed else body,
            button=body if pressed else None,
            answer=self._answer,
        )

    async def _answer(self, text: str) -> None:
        """A short, quiet notification on the topic (ntfy has no replies nor toasts; the
        tapped notification has gone already)."""
        await self.post(Message(text=text, key="", what="answer"))

    # -- HTTP --------------------------------------------------------------------------------

    def _auth(self) -> dict[str, str]:
        if self.spec.secret("token") is None:
            return {}
        return {"Authorization": f"Bearer {read_secret(self.spec, 'token')}"}

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        return self._session

    async def _publish(self, body: dict[str, object]) -> dict[str, object]:
        """Publish in ntfy's JSON form; what ntfy said it made (its id...)."""
        session = self._open()
        timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT)
        try:
            async with session.post(
                self.server + "/", json=body, headers=self._auth(), timeout=timeout
            ) as response:
                await _check(response)
                raw = await response.read()
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise Unreachable(f"ntfy {self.server}: {_why(exc)}") from None
        try:
            data = json.loads(raw)
        except ValueError:
            return {}  # taken (2xx), whatever it said
        return data if isinstance(data, dict) else {}

    def _remember(self, ident: str) -> None:
        self._seen[ident] = None
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)

    async def close(self) -> None:
        if self._session is not None:
            with contextlib.suppress(Exception):
                await self._session.close()
            self._session = None


async def _check(response: aiohttp.ClientResponse) -> None:
    """Raise what a status other than 2xx means."""
    status = response.status
    if status < 300:
        return
    said = (await response.text(errors="replace"))[:200].strip()
    what = f"ntfy answered {status}" + (f": {said}" if said else "")
    if status == 429:
        raise Throttled(_retry_after(response.headers.get("Retry-After")), what)
    if status == 408 or status >= 500:
        raise Unreachable(what)
    raise Rejected(what)  # 401/403: the token; 404: no such server/topic; 400/413: the message


def _retry_after(value: str | None) -> float:
    try:
        return max(0.0, float(value)) if value else THROTTLED_FOR
    except ValueError:
        return THROTTLED_FOR  # an HTTP date: not worth parsing for a few seconds


def _button_data(body: str) -> bool:
    return bool(body) and body.isascii() and len(body) <= 64


def _cut(text: str, limit: int) -> str:
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[: limit - 3].decode(errors="ignore") + "…"


def _why(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def make(spec: ChannelSpec) -> Channel:
    return Ntfy(spec)
