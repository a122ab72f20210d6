"""A local stand-in for Discord: its REST API (``/api/v10``) and gateway (a WebSocket) on
127.0.0.1 (a :class:`~tests.fakes.base.StandIn`: its own thread, cut and up again).

It keeps what it was sent (``posts``, ``callbacks``, ``followups``, ``requests``,
``identifies``) and does on demand what Discord would: a person's message or button press
(:meth:`~FakeDiscord.say`, ``press``, on the gateway), a 429 (``throttle``), a 5xx
(``fail``), a slow answer (``stall``), a network cut (``cut``, then ``up``). Routes it
does not know are printed loudly and kept in ``unknown`` (tests check it stays empty).

Only what discord.py calls is here: log-in (``/users/@me``, ``/oauth2/applications/@me``),
``/gateway/bot``, ``GET /channels/{id}``, messages (with ``enforce_nonce``), threads from a
message, interaction callbacks and follow-ups; on the gateway HELLO, IDENTIFY / READY /
GUILD_CREATE, heartbeats, RESUME (replaying what was missed), dispatches (as text frames,
uncompressed: discord.py reads both)."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from tests.fakes import discord_payloads as p
from tests.fakes.base import StandIn

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.fakes.discord_payloads import Json

    Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

API = "/api/v10"
TOKEN = "fake-discord-bot-token"


@dataclass
class _Session:
    """One gateway session: what was dispatched on it (to replay on RESUME)."""

    id: str
    seq: int = 0
    log: list[tuple[int, str, Json]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None

    async def dispatch(self, event: str, data: Json) -> None:
        self.seq += 1
        self.log.append((self.seq, event, data))
        await self._send(self.seq, event, data)

    async def _send(self, seq: int, event: str, data: Json) -> None:
        if self.ws is not None and not self.ws.closed:
            try:
                await self.ws.send_json({"op": 0, "s": seq, "t": event, "d": data})
            except ConnectionError:
                self.ws = None  # cut: it waits in the log for a RESUME


class FakeDiscord(StandIn):
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.bot = p.user(p.snowflake(), bot=True)
        self.app_id = p.snowflake()
        self.guild = p.snowflake()
        self.channel = p.snowflake()
        self.other = p.snowflake()
        """Another channel of the guild (a chat the bot was not configured for)."""
        self.channels: dict[str, Json] = {
            cid: p.text_channel(cid, self.guild) for cid in (self.channel, self.other)
        }
        self.messages: dict[str, Json] = {}
        self.posts: list[Json] = []
        """Each message the bot made: the body it sent, with its ``id`` and ``channel_id``."""
        self.threads: list[Json] = []
        self.callbacks: list[tuple[str, Json]] = []
        self.followups: list[Json] = []
        self.requests: list[str] = []
        self.unknown: list[str] = []
        self.identifies: list[Json] = []
        self.resumes = 0
        self._sessions: dict[str, _Session] = {}
        self._interactions: dict[str, tuple[str, Json]] = {}
        self._acked: set[str] = set()
        self._throttle: list[Any] = [0, 0.0, ""]
        self._failures: list[int] = [0, 500]
        self._stall: list[float] = [0, 0.0]
        self._nonces: dict[str, str] = {}
        self._sockets: list[tuple[web.WebSocketResponse, asyncio.Transport | None]] = []
        self.down = False
        self.content_intent = True
        """The bot may read messages' text (its Message Content intent is on)."""
        super().__init__()

    # -- the test's side (any thread) ------------------------------------------------

    @property
    def api_url(self) -> str:
        """What a channel's ``api_url`` is set to (discord.py's ``Route.BASE``)."""
        return f"{self.url}{API}"

    def throttle(self, times: int, retry_after: float, method: str = "") -> None:
        """Answer the next ``times`` API requests (of ``method``, if given) with 429 and
        this ``retry_after``."""
        self._throttle[:] = [times, retry_after, method]

    def fail(self, status: int, times: int) -> None:
        """Answer the next ``times`` API requests with ``status`` (a 5xx)."""
        self._failures[:] = [times, status]

    def stall(self, times: int, seconds: float) -> None:
        """Make the next ``times`` messages, but answer each only after ``seconds`` (the
        bot may give up first, not knowing the message is out)."""
        self._stall[:] = [times, seconds]

    def cut(self) -> None:
        """The network goes: every WebSocket drops (no close frame), nothing listens.
        Whoever connects before the port is closed is dropped at once, too."""
        self.down = True
        self.call(self._drop())
        super().cut()

    def up(self) -> None:
        self.down = False
        super().up()

    @property
    def connected(self) -> bool:
        """A bot is on the gateway (identified or resumed, its socket open)."""
        return any(s.ws is not None and not s.ws.closed for s in self._sessions.values())

    def say(
        self, who: str, text: str, *, where: str = "", reply_to: str = "", bot: bool = False
    ) -> str:
        """Person (or ``bot``) ``who`` writes ``text`` in the channel (or in the thread
        ``where``), maybe as a reply to a message; the message's id."""
        place, author = where or self.channel, p.user(who, bot=bot)
        mid = p.snowflake()
        found = p.message(mid, place, self.guild, author, text, reference=reply_to or None)
        self.messages[mid] = found
        self.call(self._dispatch("MESSAGE_CREATE", found))
        return mid

    def press(self, who: str, message_id: str, custom_id: str) -> str:
        """Person ``who`` presses the button ``custom_id`` of a message; the interaction's id."""
        message = self.messages[message_id]
        iid = p.snowflake()
        token = f"interaction-token-{iid}"
        channel = self.channels[message["channel_id"]]
        pressed = {"custom_id": custom_id, "message": message}
        data = p.interaction(iid, token, self.app_id, self.guild, channel, who, pressed)
        self._interactions[iid] = (token, channel)
        self.call(self._dispatch("INTERACTION_CREATE", data))
        return iid

    # -- the fake's loop -------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(self._gate)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get(f"{API}/users/@me", self._me)
        app.router.add_get(f"{API}/oauth2/applications/@me", self._application)
        app.router.add_get(f"{API}/gateway/bot", self._gateway_bot)
        app.router.add_get(f"{API}/channels/{{cid}}", self._get_channel)
        app.router.add_post(f"{API}/channels/{{cid}}/messages", self._create_message)
        app.router.add_post(f"{API}/channels/{{cid}}/messages/{{mid}}/threads", self._thread_from)
        app.router.add_post(f"{API}/interactions/{{iid}}/{{token}}/callback", self._callback)
        app.router.add_post(f"{API}/webhooks/{{app}}/{{token}}", self._followup)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)

    async def _drop(self) -> None:
        sockets, self._sockets = self._sockets, []
        for ws, transport in sockets:
            if transport is not None:
                transport.abort()  # a cut, not a goodbye: no close frame
            await ws.close()

    async def _dispatch(self, event: str, data: Json) -> None:
        for session in self._sessions.values():
            await session.dispatch(event, data)

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if self.down and request.transport is not None:
            request.transport.abort()  # cut: this one came in before the port closed
            return _error(503, 0, "cut")
        if not request.path.startswith(API):
            return await handler(request)
        if self._throttle[0] > 0 and self._throttle[2] in ("", request.method):
            self._throttle[0] -= 1
            return _rate_limited(float(self._throttle[1]))
        if self._failures[0] > 0:
            self._failures[0] -= 1
            return _error(self._failures[1], 0, "Server error")
        bot_routes = not request.path.startswith((f"{API}/interactions/", f"{API}/webhooks/"))
        if bot_routes and request.headers.get("Authorization") != f"Bot {self.token}":
            return _error(401, 0, "401: Unauthorized")
        return await handler(request)

    async def _unknown_route(self, request: web.Request) -> web.StreamResponse:
        what = f"{request.method} {request.path_qs}"
        self.unknown.append(what)
        print(f"\n*** FAKE DISCORD: UNKNOWN ROUTE {what} ***\n", file=sys.stderr, flush=True)
        return _error(404, 0, "404: Not Found")

    async def _me(self, request: web.Request) -> web.StreamResponse:
        return _json(self.bot)

    async def _application(self, request: web.Request) -> web.StreamResponse:
        return _json(p.application(self.app_id, p.user(p.snowflake())))

    async def _gateway_bot(self, request: web.Request) -> web.StreamResponse:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        url = f"{self.url.replace('http:', 'ws:')}/gateway"
        return _json({"url": url, "shards": 1, "session_start_limit": limit})

    async def _get_channel(self, request: web.Request) -> web.StreamResponse:
        found = self.channels.get(request.match_info["cid"])
        return _json(found) if found else _error(404, 10003, "Unknown Channel")

    async def _create_message(self, request: web.Request) -> web.StreamResponse:
        cid = request.match_info["cid"]
        if cid not in self.channels:
            return _error(404, 10003, "Unknown Channel")
        body = await request.json()
        if not body.get("content") and not body.get("components"):
            return _error(400, 50006, "Cannot send an empty message")
        nonce = str(body.get("nonce", ""))
        if body.get("enforce_nonce") and nonce in self._nonces:  # made already: that one
            return _json(self.messages[self._nonces[nonce]])
        mid = p.snowflake()
        if nonce:
            self._nonces[nonce] = mid
        ref = (body.get("message_reference") or {}).get("message_id")
        text, parts, ref = body.get("content", ""), body.get("components"), ref and str(ref)
        found = p.message(mid, cid, self.guild, self.bot, text, components=parts, reference=ref)
        self.messages[mid] = found
        self.posts.append({**body, "id": mid, "channel_id": cid})
        await self._dispatch("MESSAGE_CREATE", found)  # Discord echoes the bot's own, too
        if self._stall[0] > 0:
            self._stall[0] -= 1
            await asyncio.sleep(self._stall[1])
        return _json(found)

    async def _thread_from(self, request: web.Request) -> web.StreamResponse:
        cid, mid = request.match_info["cid"], request.match_info["mid"]
        if mid not in self.messages or self.messages[mid]["channel_id"] != cid:
            return _error(404, 10008, "Unknown Message")
        if mid in self.channels:
            return _error(400, 160004, "A thread has already been created for this message")
        body = await request.json()
        archive = int(body.get("auto_archive_duration", 4320))
        found = p.thread(mid, cid, self.guild, self.bot["id"], body["name"], archive)
        self.channels[mid] = found  # a thread from a message has the message's id
        self.threads.append(found)
        await self._dispatch("THREAD_CREATE", {**found, "newly_created": True})
        return _json(found, status=201)

    async def _callback(self, request: web.Request) -> web.StreamResponse:
        iid, token = request.match_info["iid"], request.match_info["token"]
        known = self._interactions.get(iid)
        if known is None or known[0] != token:
            return _error(404, 10062, "Unknown interaction")
        if iid in self._acked:
            return _error(400, 40060, "Interaction has already been acknowledged.")
        body = await request.json()
        self._acked.add(iid)
        self.callbacks.append((iid, body))
        if request.query.get("with_response") not in ("1", "true"):
            return web.Response(status=204)
        return _json({"interaction": {"id": iid, "type": 3}})

    async def _followup(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        found = [(i, c) for i, (t, c) in self._interactions.items() if t == token]
        if request.match_info["app"] != self.app_id or not found or found[0][0] not in self._acked:
            return _error(404, 10015, "Unknown Webhook")
        body = await request.json()
        self.followups.append(body)
        channel = found[0][1]["id"]
        made = p.message(p.snowflake(), channel, self.guild, self.bot, body.get("content", ""))
        made.update(flags=int(body.get("flags", 0)), webhook_id=self.app_id)
        return _json(made)

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        transport = request.transport
        assert transport is None or isinstance(transport, asyncio.Transport)
        self._sockets.append((ws, transport))
        await ws.send_json({"op": 10, "s": None, "t": None, "d": {"heartbeat_interval": 41250}})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    break
                data = json.loads(frame.data)
                await self._gateway_op(ws, int(data["op"]), data.get("d"))
        finally:
            for session in self._sessions.values():
                if session.ws is ws:
                    session.ws = None
        return ws

    async def _gateway_op(self, ws: web.WebSocketResponse, op: int, data: Any) -> None:
        if op == 1:  # heartbeat
            await ws.send_json({"op": 11, "s": None, "t": None, "d": None})
        elif op == 2:  # identify
            if data.get("token") != self.token:
                await ws.close(code=4004, message=b"Authentication failed.")
                return
            if int(data.get("intents", 0)) & 1 << 15 and not self.content_intent:
                await ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            self.identifies.append(data)
            session = _Session(p.snowflake())
            self._sessions = {session.id: session}  # one bot: a new session replaces the old
            session.ws = ws
            await session.dispatch("READY", self._ready(session))
            channels = [c for c in self.channels.values() if c["type"] == 0]
            threads = [c for c in self.channels.values() if c["type"] == 11]
            await session.dispatch("GUILD_CREATE", p.guild(self.guild, "1", channels, threads))
        elif op == 6:  # resume
            old = self._sessions.get(data.get("session_id", ""))
            if old is None or data.get("token") != self.token:
                await ws.send_json({"op": 9, "s": None, "t": None, "d": False})
                return
            self.resumes += 1
            old.ws = ws
            for seq, event, payload in list(old.log):
                if seq > int(data.get("seq") or 0):
                    await old._send(seq, event, payload)
            await old.dispatch("RESUMED", {})
        else:
            print(f"\n*** FAKE DISCORD: UNKNOWN GATEWAY OP {op} ***\n", file=sys.stderr)
            self.unknown.append(f"gateway op {op}")

    def _ready(self, session: _Session) -> Json:
        return {
            "v": 10,
            "user": self.bot,
            "guilds": [{"id": self.guild, "unavailable": True}],
            "session_id": session.id,
            "resume_gateway_url": f"{self.url.replace('http:', 'ws:')}/gateway",
            "application": {"id": self.app_id, "flags": 1 << 19},
            "private_channels": [],
            "relationships": [],
        }


def _json(data: object, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """JSON as Discord sends it: discord.py reads a body as JSON only if its Content-Type
    is exactly ``application/json`` (aiohttp's own adds a charset)."""
    found = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=found)


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _rate_limited(retry_after: float) -> web.Response:
    headers = {
        "Retry-After": str(math.ceil(retry_after)),
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": f"{time.time() + retry_after:.3f}",
        "X-RateLimit-Reset-After": f"{retry_after:.3f}",
        "X-RateLimit-Bucket": "fake-bucket",
        "X-RateLimit-Scope": "user",
        "Via": "1.1 google",  # without it discord.py takes a 429 for a Cloudflare ban
    }
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": False}
    return _json(body, status=429, headers=headers)
