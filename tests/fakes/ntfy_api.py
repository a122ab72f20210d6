"""A local stand-in for an ntfy server (its HTTP API as ntfy documents it), for tests: an
aiohttp server on 127.0.0.1 (a free port) in a thread of its own (:class:`StandIn`), so a
test — plain or ``asyncio.run`` — and a ``serve`` child process can both talk to it.

It takes publishes in ntfy's JSON form (``POST /``) and its plain form (``POST /TOPIC``,
with ``Title``/``Tags``/``Priority`` headers: what an ``http`` action sends), streams a
topic as ntfy does (``GET /TOPIC/json``: an ``open`` event, the cached messages after
``since=``, then each new one, with ``keepalive`` events), and records everything. A test
can inject a message, press an action button as the phone would, answer the next publishes
with 429, and cut the network (stop listening, close every connection, each stream too)
then bring it back (``up``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any

from aiohttp import web

from tests.fakes.base import StandIn

Record = dict[str, Any]


class NtfyApi(StandIn):
    def __init__(self, token: str | None = None, keepalive: float = 0.25) -> None:
        self.token = token
        """The access token publishes and subscribes need (None: an open server)."""
        self.keepalive = keepalive
        self.messages: list[Record] = []
        """Every message made, as ntfy streams it, plus ``form`` (json/plain) and ``auth``."""
        self.refused: list[tuple[int, str]] = []
        """Requests answered with an error: (status, path)."""
        self.subscriptions: list[Record] = []
        """Each ``GET /TOPIC/json`` taken: its topic and query."""
        self._throttle: list[float | None] = []
        self.down = False
        self._streams: dict[asyncio.Task[Any], tuple[str, asyncio.Queue[Record | None]]] = {}
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/", self._publish_json)
        app.router.add_get("/{topic}/json", self._subscribe)
        app.router.add_route("POST", "/{topic}", self._publish_plain)
        app.router.add_route("PUT", "/{topic}", self._publish_plain)

    # -- the test's side (any thread) --------------------------------------------------------

    def cut(self) -> None:
        """The network goes: nothing listens, every open connection (each stream) is closed."""

        async def end_streams() -> None:
            self.down = True  # a stream asked for meanwhile ends at once too
            for _, queue in list(self._streams.values()):
                queue.put_nowait(None)  # each stream ends, then its connection is closed

        self.call(end_streams())
        super().cut()

    def up(self) -> None:
        self.down = False
        super().up()

    def throttle(self, times: int = 1, retry_after: float | None = 3.0) -> None:
        """The next ``times`` publishes get 429 (with ``Retry-After`` unless None)."""
        self.loop.call_soon_threadsafe(self._throttle.extend, [retry_after] * times)

    def inject(self, topic: str, message: str, tags: tuple[str, ...] = ()) -> Record:
        """A message published on ``topic`` by someone else (works while cut, too)."""
        made: Record = {"message": message, "tags": list(tags), "form": "plain", "auth": None}
        return self.call(self._made(topic, made))  # type: ignore[no-any-return]

    def on(self, topic: str) -> list[Record]:
        return [m for m in list(self.messages) if m["topic"] == topic]

    def listening(self, topic: str) -> int:
        """Streams of ``topic`` open now."""
        return sum(1 for t, _ in list(self._streams.values()) if t == topic)

    def press(self, action: Record) -> int:
        """Do what the phone does when an ``http`` action button is tapped; the status."""
        request = urllib.request.Request(
            str(action["url"]),
            data=str(action.get("body", "")).encode(),
            method=str(action.get("method", "POST")),
            headers={str(k): str(v) for k, v in (action.get("headers") or {}).items()},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    # -- the server (its own loop) -----------------------------------------------------------

    def _refuse(self, request: web.Request, publish: bool) -> web.Response | None:
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            self.refused.append((401, request.path))
            return web.json_response(
                {"code": 40101, "http": 401, "error": "unauthorized"}, status=401
            )
        if publish and self._throttle:
            after = self._throttle.pop(0)
            self.refused.append((429, request.path))
            headers = {} if after is None else {"Retry-After": f"{after:g}"}
            body = {"code": 42901, "http": 429, "error": "limit reached: too many requests"}
            return web.json_response(body, status=429, headers=headers)
        return None

    async def _publish_json(self, request: web.Request) -> web.Response:
        refused = self._refuse(request, publish=True)
        if refused is not None:
            return refused
        try:
            body = await request.json()
        except ValueError:
            return self._bad(request, "invalid request: not JSON")
        if not isinstance(body, dict) or not body.get("topic"):
            return self._bad(request, "invalid request: no topic")
        if len(body.get("actions") or []) > 3:
            return self._bad(request, "invalid request: too many actions")
        if len(str(body.get("message", "")).encode()) > 4096:
            return self._bad(request, "invalid request: message too large")
        made = {
            k: body[k]
            for k in ("message", "title", "priority", "tags", "click", "actions")
            if k in body
        }
        made.update(form="json", auth=request.headers.get("Authorization"))
        return web.json_response(public(await self._made(str(body["topic"]), made)))

    async def _publish_plain(self, request: web.Request) -> web.Response:
        refused = self._refuse(request, publish=True)
        if refused is not None:
            return refused
        headers = request.headers
        made: Record = {"message": await request.text(), "form": "plain"}
        made["auth"] = headers.get("Authorization")
        title = headers.get("Title") or headers.get("X-Title")
        if title:
            made["title"] = title
        tags = headers.get("Tags") or headers.get("X-Tags")
        if tags:
            made["tags"] = [t.strip() for t in tags.split(",") if t.strip()]
        priority = headers.get("Priority") or headers.get("X-Priority")
        if priority:
            made["priority"] = int(priority)
        return web.json_response(public(await self._made(request.match_info["topic"], made)))

    def _bad(self, request: web.Request, why: str) -> web.Response:
        self.refused.append((400, request.path))
        return web.json_response({"code": 40000, "http": 400, "error": why}, status=400)

    async def _made(self, topic: str, fields: Record) -> Record:
        message: Record = {
            "id": "m" + secrets.token_hex(6),  # never all digits: a since= of ids, not times
            "time": int(time.time()),
            "event": "message",
            "topic": topic,
            **fields,
        }
        self.messages.append(message)
        for wanted, queue in list(self._streams.values()):
            if wanted == topic:
                queue.put_nowait(message)
        return message

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        refused = self._refuse(request, publish=False)
        if refused is not None:
            return refused
        topic = request.match_info["topic"]
        if self.down:
            raise web.HTTPServiceUnavailable()
        self.subscriptions.append({"topic": topic, "query": dict(request.query)})
        queue: asyncio.Queue[Record | None] = asyncio.Queue()
        task = asyncio.current_task()
        assert task is not None
        self._streams[task] = (topic, queue)
        backlog = self._since(topic, request.query.get("since"))  # no await since the line above
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        try:
            await response.prepare(request)
            await self._send(response, {"event": "open", "topic": topic})
            for message in backlog:
                await self._send(response, public(message))
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter}, timeout=self.keepalive)
                if not done:  # (not wait_for: on 3.10/3.11 it can swallow a cancel)
                    getter.cancel()
                    await self._send(response, {"event": "keepalive", "topic": topic})
                    continue
                new = getter.result()
                if new is None:
                    break  # the network is cut
                await self._send(response, public(new))
            return response
        finally:
            self._streams.pop(task, None)
            if request.transport is not None:
                request.transport.close()

    def _since(self, topic: str, since: str | None) -> list[Record]:
        cached = [m for m in self.messages if m["topic"] == topic]
        if since is None:
            return []
        if since == "all":
            return cached
        if since.isdigit():
            return [m for m in cached if m["time"] >= int(since)]
        ids = [m["id"] for m in cached]
        return cached[ids.index(since) + 1 :] if since in ids else cached

    @staticmethod
    async def _send(response: web.StreamResponse, event: Record) -> None:
        event = {"time": int(time.time()), **event}
        await response.write(json.dumps(event).encode() + b"\n")


def public(message: Record) -> Record:
    """A message as ntfy shows it (without what only the stand-in records)."""
    return {k: v for k, v in message.items() if k not in ("form", "auth")}
