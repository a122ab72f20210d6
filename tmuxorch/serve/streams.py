"""The live half of ``serve``: every run's events as Server-Sent Events, and one pane's
screen over a WebSocket (frames and lines out, keystrokes and sends in)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import WSMsgType, web

from tmuxorch.serve.state import SERVE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.bridge.send import Target
    from tmuxorch.tmux.client import Client

KEEPALIVE = 15.0
"""Seconds of quiet after which an event stream gets a comment (proxies close idle ones)."""


def _set(query: str) -> set[str]:
    return {part for part in query.split(",") if part}


async def events(request: web.Request) -> web.StreamResponse:
    """``GET /api/events[?run=ID,...&task=ID,...]``; resumable with ``Last-Event-ID``."""
    serve = request.app[SERVE]
    feed = serve.feed
    stream = feed.open(_set(request.query.get("run", "")), _set(request.query.get("task", "")))
    cursor = request.headers.get("Last-Event-ID") or request.query.get("since")
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    try:
        await response.write(b"retry: 1000\n\n")
        pending = feed.backlog(stream, cursor)
        while True:
            out = []
            for key, event, end, line in pending:
                ident = stream.take(key, event, end)
                if ident is not None:
                    out.append(b"id: %s\ndata: %s\n\n" % (ident.encode(), line))
            if out:
                await response.write(b"".join(out))
            if stream.behind:
                pending = feed.resume(stream)
                continue
            try:
                item = await asyncio.wait_for(stream.queue.get(), KEEPALIVE)
            except asyncio.TimeoutError:
                await response.write(b": keepalive\n\n")
                pending = []
                continue
            if item is None:
                break
            pending = [item]
            while not stream.queue.empty() and len(pending) < 500:
                more = stream.queue.get_nowait()
                if more is not None:
                    pending.append(more)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        feed.close(stream)
    return response


def _pane_target(raw: str) -> str:
    """``12`` or ``%12`` (a pane), else a task (``task`` or ``session:task``)."""
    return f"%{raw}" if raw.isdigit() else raw


async def pane(request: web.Request) -> web.WebSocketResponse:
    """``GET /api/panes/{pane}/stream[?run=ID]`` (a WebSocket). Out: ``screen`` (``rows``:
    all of them when ``key``, else those that changed, by row number; ``cursor``,
    ``size``), ``choices`` (the answers the screen offers, each with what to ``send``),
    ``lines``, ``state``, ``exit``, ``gone``, ``gap``. In: ``{"type": "input",
    "data": "..."}`` (keystrokes as a terminal sends them, byte for byte) or ``{"type":
    "send", "text": ..., "keys": [...], "enter": true}`` (as ``POST /api/send``)."""
    from tmuxorch.agents.patterns import of_pane
    from tmuxorch.bridge.send import UnknownTarget
    from tmuxorch.tmux.client import TmuxError

    serve = request.app[SERVE]
    assert serve.hub is not None
    clients = list(serve.clients)
    if "run" in request.query:
        from tmuxorch.cli.runs import client_of

        ref = await asyncio.to_thread(serve.runs.find, request.query["run"])
        if ref is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no such run"}))
        clients = [client_of(ref.row)]
    target = _pane_target(request.match_info["pane"])
    found = None
    for client in clients:
        with contextlib.suppress(UnknownTarget, TmuxError):
            found = (client, await asyncio.to_thread(_match, client, target))
            break
    if found is None:  # a task on one of its run's hosts: its pane there
        found = await asyncio.to_thread(_on_host, clients, target)
    if found is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no pane {target!r}"}), content_type="application/json"
        )
    client, where = found
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1024 * 1024)
    await ws.prepare(request)
    serve.sockets.add(ws)
    viewer = serve.hub.open(client, where.pane, where.label, of_pane(where.agent, where.patterns))
    from tmuxorch.serve.sending import named

    hello = {"type": "hello", "pane": named(client, where.pane), "label": where.label}
    await ws.send_json(hello)

    async def out() -> None:
        while True:
            message = await viewer.queue.get()
            await ws.send_str(json.dumps(message, ensure_ascii=False))
            if message.get("type") in ("exit", "gone"):
                await ws.close()
                return

    writer = asyncio.create_task(out())
    try:
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            reply = await _input(client, where.pane, message.data)
            if reply is not None:
                await ws.send_json(reply)
    finally:
        writer.cancel()
        serve.hub.close(viewer)
        serve.sockets.discard(ws)
    return ws


def _on_host(clients: list[Client], target: str) -> tuple[Client, Target] | None:
    from tmuxorch.serve.sending import Refused, on_host

    try:
        there = on_host(clients, target)
    except Refused:
        return None
    if there is None:
        return None
    client, pane = there
    try:
        return client, _match(client, pane)
    except Exception:  # gone meanwhile, or the host out of reach: no such pane now
        return None


def _match(client: Client, target: str) -> Target:
    from tmuxorch.bridge.send import match, panes

    return match(panes(client), target)


async def _input(client: object, pane: str, raw: str) -> dict[str, object] | None:
    """One message from a viewer: keystrokes, or a send; an error message if refused."""
    from tmuxorch.bridge.send import type_bytes
    from tmuxorch.serve.sending import Refused, send_input

    try:
        message = json.loads(raw)
    except ValueError:
        return {"type": "error", "error": "messages must be JSON"}
    if not isinstance(message, dict):
        return {"type": "error", "error": "messages must be JSON objects"}
    if message.get("type") == "input" and isinstance(message.get("data"), str):
        data = message["data"].encode("utf-8", "surrogateescape")
        why = await asyncio.to_thread(type_bytes, client, pane, data)  # type: ignore[arg-type]
        return None if why is None else {"type": "error", "error": why}
    if message.get("type") == "send":
        try:
            body = {**message, "target": pane}
            await asyncio.to_thread(send_input, [client], body)  # type: ignore[list-item]
        except Refused as exc:
            return {"type": "error", "error": exc.why}
        return {"type": "sent"}
    return {"type": "error", "error": "unknown message (input, send)"}
