"""A stand-in of Slack for slack-sdk: the Web API methods tmuxorch calls (``POST
/api/<method>``: ``auth.test``, ``chat.postMessage``, ``apps.connections.open``) and the
Socket Mode WebSocket those hand out (``ws://127.0.0.1:PORT/link/?ticket=…``: ``hello``
first, then the envelopes a test pushes; the acks that come back are recorded).

Like Slack: a wrong token is ``{"ok": false, "error": "invalid_auth"}`` (HTTP 200), an
unknown channel ``channel_not_found``, a 429 comes with ``Retry-After``; an envelope
pushed while no app is connected waits for the next connection (Slack delivers it then).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.base import StandIn

BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
TEAM = "T0TEAM"
APP = "A0APP"


class SlackAPI(StandIn):
    """``url`` + ``/api/`` is the ``api_url`` to give the channel."""

    def __init__(
        self,
        bot_token: str = "xoxb-test-bot",
        app_token: str = "xapp-test-app",
        channels: tuple[str, ...] = ("C0TEST",),
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.channels = channels
        self.posts: list[dict[str, Any]] = []
        """Each ``chat.postMessage`` taken, as sent, with the ``ts`` it got."""
        self.calls: list[str] = []
        """Every Web API method called, refused ones too."""
        self.acks: list[str] = []
        self.connections = 0
        """WebSockets opened so far."""
        self.refuse: list[tuple[int, float]] = []
        """(status, Retry-After) to answer the next ``chat.postMessage`` calls with, first
        first (then they are taken again)."""
        self.sockets_refused = False
        """The WebSocket URLs handed out do not open (HTTP 503)."""
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._sockets: list[tuple[web.WebSocketResponse, web.Request]] = []
        self._pending: list[dict[str, Any]] = []
        self._count = 0
        super().__init__()

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self._method)
        app.router.add_get("/link/", self._link)

    # -- the Web API ---------------------------------------------------------------
    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(await request.post())
        with self._lock:
            self.calls.append(method)
            if self.refuse and method == "chat.postMessage":
                status, after = self.refuse.pop(0)
                body = {"ok": False, "error": "ratelimited" if status == 429 else "fatal"}
                return web.json_response(body, status=status, headers={"Retry-After": f"{after:g}"})
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else str(args.pop("token", ""))
        if not token:
            return _error("not_authed")
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != wanted:
            return _error("invalid_auth")
        if method == "auth.test":
            return web.json_response(
                {"ok": True, "user": "tmuxorch", "user_id": BOT_USER, "bot_id": BOT_ID}
                | {"team_id": TEAM, "url": "https://fake.slack.com/"}
            )
        if method == "apps.connections.open":
            ticket = uuid.uuid4().hex
            with self._lock:
                self._tickets.add(ticket)
            return web.json_response(
                {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}"}
            )
        if method == "chat.postMessage":
            return self._post(args)
        return _error("unknown_method")

    def _post(self, args: dict[str, Any]) -> web.Response:
        if args.get("channel") not in self.channels:
            return _error("channel_not_found")
        if not args.get("text") and not args.get("blocks"):
            return _error("no_text")
        with self._lock:
            ts = self._ts()
            self.posts.append({**args, "ts": ts})
        message = {"type": "message", "user": BOT_USER, "bot_id": BOT_ID, "ts": ts}
        return web.json_response(
            {"ok": True, "channel": args["channel"], "ts": ts, "message": message}
        )

    def _ts(self) -> str:
        self._count += 1
        return f"{int(time.time())}.{self._count:06d}"

    # -- Socket Mode -------------------------------------------------------------
    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if self.sockets_refused:
            return web.Response(status=503, text="try again later")
        with self._lock:
            if ticket not in self._tickets:
                return web.Response(status=401, text="invalid ticket")
            self._tickets.discard(ticket)  # each URL opens once, as on Slack
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        hello = {"type": "hello", "num_connections": 1, "connection_info": {"app_id": APP}}
        await ws.send_json(hello | {"debug_info": {"host": "stand-in"}})
        with self._lock:
            self.connections += 1
            self._sockets.append((ws, request))
            pending, self._pending = self._pending, []
        for envelope in pending:
            await ws.send_json(envelope)
        try:
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    acked = json.loads(frame.data).get("envelope_id")
                    if acked:
                        with self._lock:
                            self.acks.append(str(acked))
        finally:
            with self._lock:
                if (ws, request) in self._sockets:
                    self._sockets.remove((ws, request))
        return ws

    def connected(self) -> bool:
        with self._lock:
            return bool(self._sockets)

    def push(self, kind: str, payload: dict[str, Any]) -> str:
        """Send one envelope to the app (to its newest connection, or to the next one);
        its envelope id."""
        envelope = {
            "envelope_id": uuid.uuid4().hex,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
        }
        if kind == "events_api":
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        self.call(self._send(envelope))
        return str(envelope["envelope_id"])

    def refresh(self) -> None:
        """Ask the app to connect anew, as Slack does every few hours (``disconnect``,
        ``refresh_requested``); the old connection is closed a little later."""
        self.call(self._send({"type": "disconnect", "reason": "refresh_requested"}))

    async def _send(self, envelope: dict[str, Any]) -> None:
        with self._lock:
            ws = self._sockets[-1][0] if self._sockets else None
            if ws is None:
                self._pending.append(envelope)
        if ws is not None:
            await ws.send_json(envelope)

    def say(
        self,
        user: str,
        text: str,
        *,
        thread: str | None = None,
        channel: str | None = None,
        event_id: str | None = None,
        **extra: Any,
    ) -> str:
        """A message event: ``user`` wrote ``text`` (in ``thread``); its envelope id."""
        with self._lock:
            ts = self._ts()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel or self.channels[0],
            "user": user,
            "text": text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"),
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
        }
        if thread:
            event["thread_ts"] = thread
        event.update(extra)
        return self.push(
            "events_api",
            {
                "type": "event_callback",
                "team_id": TEAM,
                "api_app_id": APP,
                "event": event,
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
                "event_time": int(time.time()),
            },
        )

    def press(self, user: str, value: str, ts: str, *, username: str = "") -> str:
        """``user`` presses the button with ``value`` on the posted message ``ts``."""
        with self._lock:
            posted = next(p for p in self.posts if p["ts"] == ts)
        button = next(
            (
                element
                for block in posted.get("blocks") or []
                if block.get("type") == "actions"
                for element in block["elements"]
                if element.get("value") == value
            ),
            {"action_id": value, "text": {"type": "plain_text", "text": value}},
        )
        container: dict[str, Any] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": posted["channel"],
            "is_ephemeral": False,
        }
        message = {"type": "message", "ts": ts, "text": posted.get("text", "")}
        if posted.get("thread_ts"):
            container["thread_ts"] = message["thread_ts"] = posted["thread_ts"]
        return self.push(
            "interactive",
            {
                "type": "block_actions",
                "user": {"id": user, "username": username or user, "team_id": TEAM},
                "api_app_id": APP,
                "container": container,
                "channel": {"id": posted["channel"], "name": "ops"},
                "message": message,
                "trigger_id": uuid.uuid4().hex,
                "response_url": f"{self.url}/actions/{uuid.uuid4().hex}",
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "block_id": "b1",
                        "text": button["text"],
                        "value": value,
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            },
        )

    def cut(self) -> None:
        """The network goes: every WebSocket drops (no close frame), nothing listens."""

        async def drop() -> None:
            with self._lock:
                sockets, self._sockets = self._sockets, []
            for _, request in sockets:
                if request.transport is not None:
                    request.transport.abort()

        self.call(drop())
        super().cut()

    # -- reading what came -----------------------------------------------------------
    def taken(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.posts)

    def titled(self, title: str) -> list[dict[str, Any]]:
        """The posts whose header is ``title``."""
        return [
            post
            for post in self.taken()
            for block in post.get("blocks") or []
            if block.get("type") == "header" and block["text"]["text"] == title
        ]


def _error(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})
