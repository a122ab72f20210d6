"""A receiver of tmuxorch's outgoing webhooks: records each POST (headers, body), and can
answer the next ones with 429 (``Retry-After``) or 500."""

from __future__ import annotations

import json
import threading

from aiohttp import web

from tests.fakes.base import StandIn


class WebhookSink(StandIn):
    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.headers: list[dict[str, str]] = []
        self.raw: list[bytes] = []
        self.refuse: list[int] = []
        """Statuses to answer the next POSTs with, first first (then 200 again)."""
        self.tries = 0
        self._lock = threading.Lock()
        super().__init__()

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        with self._lock:
            self.tries += 1
            if self.refuse:
                status = self.refuse.pop(0)
                return web.Response(status=status, headers={"Retry-After": "1"})
            self.raw.append(body)
            self.headers.append(dict(request.headers))
            self.received.append(json.loads(body))
        return web.json_response({"ok": True})

    def events(self) -> list[str]:
        with self._lock:
            return [str(m["event"]) for m in self.received]
