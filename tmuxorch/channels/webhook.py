"""A generic outgoing webhook: each message POSTed as JSON to the configured URL, signed.

The body::

    {"event": "waiting", "key": "RUN/TASK", "run": "...", "task": "...", "title": "...",
     "text": "...", "buttons": [{"label": "Yes", "data": "q1a2b3c4.0"}], "link": "...",
     "urgent": true, "delivery": "<unique id>"}

With a ``secret``, the header ``X-Tmuxorch-Signature-256: sha256=HEX`` is the HMAC-SHA256
of the body (as GitHub signs its webhooks), so the receiver can tell it came from here;
``X-Tmuxorch-Delivery`` repeats the delivery id, the same on every try of one message, so
a receiver can drop a repeat. A 2xx is delivered; 429 waits (``Retry-After``); other 4xx
are refused for good; 5xx and network failures are tried again (see the outbox).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid

import aiohttp

from tmuxorch.channels.base import (
    Channel,
    Message,
    Posted,
    Rejected,
    Throttled,
    Unreachable,
    read_secret,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.spec.channels import ChannelSpec

TIMEOUT = 20.0


class Webhook(Channel):
    limit = 16_000
    receives = False
    reply_hint = None

    def __init__(self, spec: ChannelSpec) -> None:
        super().__init__(spec)
        self.url = spec.text("url")
        self.secret = read_secret(spec, "secret") if spec.secret("secret") else None
        self._session: aiohttp.ClientSession | None = None

    async def post(self, message: Message) -> Posted:
        run, _, task = message.key.partition("/")
        delivery = message.id or uuid.uuid4().hex
        body = json.dumps(
            {
                "event": message.what,
                "key": message.key,
                "run": run,
                "task": task or None,
                "title": message.title,
                "text": message.text,
                "buttons": [{"label": b.label, "data": b.data} for b in message.buttons],
                "link": message.link,
                "urgent": message.urgent,
                "delivery": delivery,
            }
        ).encode()
        headers = {"Content-Type": "application/json", "X-Tmuxorch-Delivery": delivery}
        headers["X-Tmuxorch-Event"] = message.what
        if self.secret is not None:
            digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            headers["X-Tmuxorch-Signature-256"] = f"sha256={digest}"
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        try:
            async with self._session.post(self.url, data=body, headers=headers) as response:
                status = response.status
                retry = response.headers.get("Retry-After", "")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise Unreachable(f"{self.url}: {type(exc).__name__}: {exc}") from None
        if 200 <= status < 300:
            return Posted(thread=None)
        if status == 429:
            raise Throttled(float(retry) if retry.replace(".", "", 1).isdigit() else 5.0)
        if status >= 500:
            raise Unreachable(f"{self.url}: HTTP {status}")
        raise Rejected(f"{self.url}: HTTP {status}")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def make(spec: ChannelSpec) -> Channel:
    return Webhook(spec)
