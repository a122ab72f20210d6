"""Slack, through slack-sdk: out with ``chat.postMessage`` (a task's messages in the thread
of its first), in over Socket Mode (a WebSocket ``serve`` opens: no public URL needed).

The Slack app this needs (api.slack.com/apps): Socket Mode on, with an app-level token
(``xapp-…``, scope ``connections:write``) as ``app_token``; a bot token (``xoxb-…``, scopes
``chat:write`` and ``channels:history`` / ``groups:history`` for a private channel) as
``bot_token``; Event Subscriptions with the bot events ``message.channels`` (or
``message.groups``); Interactivity on (for the buttons). Invite the bot to the channel and
give its id (``C…``, from the channel's details) as ``channel:``. Slack keeps messages
that start with ``/`` for its own commands: write ``@bot /status`` in the channel, or
add a slash command (say ``/tmuxorch``) to the app: ``/tmuxorch status`` is ``/status``.

The SDK never retries on its own here (the outbox does), every call has a deadline, and
when the Socket Mode connection is lost :meth:`SlackChannel.receive` says so
(:class:`~tmuxorch.channels.base.Unreachable`) instead of letting the SDK reconnect for
ever behind the router's back: the router waits, then calls it again, which asks Slack
for a new connection (and so notices a revoked token, as
:class:`~tmuxorch.channels.base.Rejected`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tmuxorch.channels import slack_format
from tmuxorch.channels.base import (
    Channel,
    ChannelError,
    Incoming,
    Posted,
    Rejected,
    Throttled,
    Unreachable,
    read_secret,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
    from slack_sdk.socket_mode.request import SocketModeRequest
    from slack_sdk.web.async_slack_response import AsyncSlackResponse

    from tmuxorch.channels.base import Message
    from tmuxorch.spec.channels import ChannelSpec

log = logging.getLogger(__name__)

API_URL = "https://slack.com/api/"
CALL_SECONDS = 10
"""Deadline of one Web API call (the SDK's own, per request; it does not retry here)."""
CONNECT_SECONDS = 15.0
"""Deadline for the Socket Mode WebSocket to open (the SDK would retry for ever)."""
CHECK_SECONDS = 1.0
"""How often :meth:`SlackChannel.receive` looks whether its connection is still up."""
DOWN_SECONDS = 3.0
"""How long a connection may look down (the SDK replacing it when Slack asks)."""
PING_SECONDS = 5.0
"""The SDK's WebSocket ping interval (a silent connection is noticed from it)."""
REMEMBERED = 512
"""Event ids kept to drop Slack's redeliveries of an event already handed in."""
FOR_GOOD = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "restricted_action",
        "invalid_blocks",
        "invalid_arguments",
        "msg_too_long",
        "no_text",
        "too_many_attachments",
    }
)
"""Slack errors that the same call will get again."""
PASSING = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
"""Slack errors of a moment (Slack's side is down)."""


class SlackChannel(Channel):
    limit = slack_format.SECTION_LIMIT
    connect_seconds = CONNECT_SECONDS

    def __init__(self, spec: ChannelSpec) -> None:
        super().__init__(spec)
        self.channel = spec.text("channel")
        self.api_url = spec.text("api_url", API_URL) or API_URL
        self.bot_token = read_secret(spec, "bot_token")  # missing: serve says so at start
        self.app_token = read_secret(spec, "app_token")
        self._socket: SocketModeClient | None = None
        self._seen: collections.deque[str] = collections.deque(maxlen=REMEMBERED)

    def _web(self) -> AsyncWebClient:
        """A Web API client with the bot token."""
        return AsyncWebClient(
            token=self.bot_token,
            base_url=self.api_url,
            timeout=CALL_SECONDS,
            retry_handlers=[],
        )

    async def post(self, message: Message) -> Posted:
        sent = await self._say(
            self.channel,
            message.thread,
            slack_format.fallback(message),
            slack_format.blocks(message),
        )
        return Posted(thread=message.thread or sent, ids=(sent,))

    async def _say(
        self,
        chat: str,
        thread: str | None,
        text: str,
        blocks: list[dict[str, object]] | None = None,
    ) -> str:
        """Post ``text`` (already escaped) to ``chat``, in ``thread``; the new message's ts."""
        web = self._web()
        response = await _call(
            web.chat_postMessage(
                channel=chat,
                text=text,
                blocks=blocks,
                thread_ts=thread or None,
                mrkdwn=False,
                unfurl_links=False,
                unfurl_media=False,
            )
        )
        ts = response.get("ts")
        if not isinstance(ts, str) or not ts:
            raise Unreachable("Slack answered without a message ts")
        return ts

    async def receive(self, inbox: Callable[[Incoming], Awaitable[None]]) -> None:
        web, app_token = self._web(), self.app_token
        who = await _call(web.auth_test())
        me = tuple(str(who.get(key) or "") for key in ("user_id", "bot_id"))
        opened = await _call(web.apps_connections_open(app_token=app_token))
        url = opened.get("url")
        if not isinstance(url, str) or not url:
            raise Unreachable("Slack gave no Socket Mode URL")
        socket = SocketModeClient(
            app_token=app_token,
            web_client=web,
            auto_reconnect_enabled=False,  # when it is lost, the router decides (see above)
            ping_interval=PING_SECONDS,
        )
        self._socket = socket
        socket.wss_uri = url
        said: asyncio.Queue[slack_format.Said] = asyncio.Queue()
        down = asyncio.Event()

        async def envelope(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
            # Queued before the first await: envelopes reach the inbox in their order.
            for one in slack_format.said(request.type, request.payload, me):
                if one.once and one.once in self._seen:
                    continue  # Slack sent it again (it missed our acknowledgement)
                said.put_nowait(one)
                if one.once:
                    self._seen.append(one.once)
            await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

        async def lost(message: aiohttp.WSMessage) -> None:
            down.set()

        socket.socket_mode_request_listeners.append(envelope)
        socket.on_close_listeners.append(lost)
        socket.on_error_listeners.append(lost)
        try:
            try:
                await asyncio.wait_for(socket.connect(), self.connect_seconds)  # type: ignore[no-untyped-call]
            except asyncio.TimeoutError:
                raise Unreachable("Slack: cannot open the Socket Mode WebSocket") from None
            await self._hand_in(socket, said, down, inbox)
        finally:
            self._socket = None
            await _shut(socket)

    async def _hand_in(
        self,
        socket: SocketModeClient,
        said: asyncio.Queue[slack_format.Said],
        down: asyncio.Event,
        inbox: Callable[[Incoming], Awaitable[None]],
    ) -> None:
        """Hand what people do to ``inbox`` until the connection is lost (and then what
        came before it was lost: it was acknowledged, so Slack will not send it again)."""
        down_since: float | None = None
        while True:
            got = asyncio.ensure_future(said.get())
            lost = asyncio.ensure_future(down.wait())
            try:
                await asyncio.wait(
                    (got, lost), timeout=CHECK_SECONDS, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                for waiter in (got, lost):
                    waiter.cancel()
            if got.done() and not got.cancelled():
                await self._give(inbox, got.result())
            if await socket.is_connected() and not down.is_set():
                down_since = None
                continue
            down_since = down_since or time.monotonic()
            if down.is_set() or time.monotonic() - down_since >= DOWN_SECONDS:
                while not said.empty():
                    await self._give(inbox, said.get_nowait())
                raise Unreachable("Slack: lost the Socket Mode connection")

    async def _give(
        self, inbox: Callable[[Incoming], Awaitable[None]], one: slack_format.Said
    ) -> None:
        try:
            await inbox(self._incoming(one))
        except Exception:  # the router's trouble: the next update still comes in
            log.exception("channel %s: handing in a Slack update failed", self.name)

    def _incoming(self, one: slack_format.Said) -> Incoming:
        async def answer(text: str) -> None:
            await self._say(one.chat, one.thread or None, slack_format.escape(text))

        return Incoming(
            channel=self.name,
            user=one.user,
            name=one.name,
            chat=one.chat,
            refs=one.refs,
            text=one.text,
            button=one.button,
            answer=answer,
        )

    async def close(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            await _shut(socket)


async def _shut(socket: SocketModeClient) -> None:
    """Close the SDK's client (its WebSocket, its tasks, its HTTP session), briefly."""
    if socket.closed:
        return
    with contextlib.suppress(Exception, asyncio.TimeoutError):
        await asyncio.wait_for(socket.close(), CALL_SECONDS)  # type: ignore[no-untyped-call]


async def _call(call: Coroutine[Any, Any, AsyncSlackResponse]) -> AsyncSlackResponse:
    """Await one Web API call; its failure as the :class:`ChannelError` it means."""
    try:
        return await asyncio.wait_for(call, CALL_SECONDS + 5)
    except SlackApiError as exc:
        raise _api_error(exc) from None
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise Unreachable(f"Slack: {type(exc).__name__}: {exc}") from None
    except SlackClientError as exc:
        raise Rejected(f"Slack: {exc}") from None


def _api_error(exc: SlackApiError) -> ChannelError:
    response = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", 0)
    headers = getattr(response, "headers", None) or {}
    data = getattr(response, "data", None)
    error = str(data.get("error", "")) if isinstance(data, dict) else ""
    if status == 429 or error == "ratelimited":
        return Throttled(_seconds(headers.get("Retry-After")), f"Slack: rate limited ({error})")
    if error in FOR_GOOD:
        return Rejected(f"Slack: {error}")
    if (isinstance(status, int) and status >= 500) or not error or error in PASSING:
        return Unreachable(f"Slack: HTTP {status} {error}".rstrip())
    return Rejected(f"Slack: {error}")


def _seconds(value: object) -> float:
    try:
        return max(0.0, float(str(value)))
    except ValueError:
        return 1.0


def make(spec: ChannelSpec) -> Channel:
    return SlackChannel(spec)
