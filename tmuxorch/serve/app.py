"""The ``serve`` web application: its routes, and the doors it keeps shut.

Every request needs the token: ``Authorization: Bearer TOKEN``, or the cookie the page gets
when it is opened with ``/?token=TOKEN`` (HttpOnly, SameSite=Strict). A WebSocket or a POST
whose ``Origin`` is not this server's own is refused, whatever it carries. Bodies are
capped. Runs stay their own processes: ``serve`` reads their stores and files, and asks
them to act the way the command line does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from aiohttp import WSCloseCode, web

from tmuxorch.serve import api, streams
from tmuxorch.serve.feed import Feed
from tmuxorch.serve.hub import Hub
from tmuxorch.serve.runs import Runs
from tmuxorch.serve.state import SERVE, Serve
from tmuxorch.serve.token import same

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from tmuxorch.spec.channels import ChannelSpec
    from tmuxorch.spec.jobs import Job
    from tmuxorch.tmux.client import Client

COOKIE = "tmuxorch_token"
BODY_LIMIT = 1024 * 1024
STATIC = os.path.join(os.path.dirname(__file__), "static")
JOBS_EVERY = 5.0
"""Seconds between looks at the jobs' times."""
SCAN_EVERY = 1.0
"""Seconds between looks at the tmux servers for runs."""


def _authorized(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and same(header[len("Bearer ") :].strip(), token):
        return True
    return same(request.cookies.get(COOKIE), token)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser (curl, an SDK): the token alone decides
    return origin == f"{request.scheme}://{request.host}"


@web.middleware
async def doors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.startswith("/static/"):
        return await handler(request)
    serve = request.app[SERVE]
    if request.path == "/" and "token" in request.query:
        if not same(request.query["token"], serve.token):
            return _denied(request, 401, "wrong token")
        found = web.HTTPSeeOther("/")
        found.set_cookie(COOKIE, serve.token, httponly=True, samesite="Strict", path="/")
        raise found
    if not _authorized(request, serve.token):
        return _denied(request, 401, "a token is needed: open the URL tmuxorch serve printed")
    websocket = request.headers.get("Upgrade", "").lower() == "websocket"
    if (request.method not in ("GET", "HEAD") or websocket) and not _same_origin(request):
        return _denied(request, 403, "cross-origin requests are refused")
    return await handler(request)


def _denied(request: web.Request, status: int, why: str) -> web.Response:
    if request.path.startswith("/api/"):
        return web.json_response({"error": why}, status=status)
    return web.Response(status=status, text=f"tmuxorch serve: {why}\n")


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(os.path.join(STATIC, "index.html"))


async def _scan(serve: Serve) -> None:
    while True:
        with contextlib.suppress(Exception):
            await asyncio.to_thread(serve.runs.scan)
        await asyncio.sleep(SCAN_EVERY)


async def _jobs(serve: Serve) -> None:
    """Scheduled jobs: each one due starts its ``tmuxorch run`` (see
    :mod:`tmuxorch.serve.jobs`); a failure is said and the next tick tries again."""
    assert serve.jobs is not None
    while True:
        try:
            for started in await asyncio.to_thread(serve.jobs.tick):
                what = started.note or f"started (pid {started.pid}, log {started.log})"
                print(f"tmuxorch serve: job {started.job}: {what}", file=sys.stderr, flush=True)
        except Exception as exc:
            print(f"tmuxorch serve: jobs: {exc}", file=sys.stderr, flush=True)
        await asyncio.sleep(JOBS_EVERY)


async def _start(app: web.Application) -> None:
    serve = app[SERVE]
    serve.hub = Hub(asyncio.get_running_loop())
    await asyncio.to_thread(serve.runs.scan)
    serve.feed.first_look()  # where each file ends now: a stream with no cursor starts here
    serve.tasks += [asyncio.create_task(_scan(serve)), asyncio.create_task(serve.feed.tail())]
    if serve.jobs is not None:
        serve.tasks.append(asyncio.create_task(_jobs(serve)))
    if serve.channels:
        from tmuxorch.channels.router import start_router

        serve.router = start_router(serve)


async def _closing(app: web.Application) -> None:
    """Before the server waits for its requests to end: end the ones that never would (each
    open page's event stream and pane streams), or stopping would wait on every browser."""
    serve = app[SERVE]
    for stream in list(serve.feed.streams):
        while True:
            try:
                stream.queue.put_nowait(None)
                break
            except asyncio.QueueFull:
                stream.queue.get_nowait()
    for ws in list(serve.sockets):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"tmuxorch serve is stopping")


async def _stop(app: web.Application) -> None:
    serve = app[SERVE]
    for task in serve.tasks:
        task.cancel()
    if serve.hub is not None:
        serve.hub.stop()
    if serve.router is not None:
        await serve.router.close()


def make_app(
    token: str,
    clients: list[Client],
    runs: Runs | None = None,
    *,
    jobs: Sequence[Job] = (),
    channels: Sequence[ChannelSpec] = (),
) -> web.Application:
    runs = runs or Runs(clients)
    app = web.Application(middlewares=[doors], client_max_size=BODY_LIMIT)
    app[SERVE] = Serve(token, clients, runs, Feed(runs.directories), channels=tuple(channels))
    if jobs:
        from tmuxorch.serve.jobs import Jobs

        app[SERVE].jobs = Jobs(jobs, run_args=clients[0].server_args)
    app.on_startup.append(_start)
    app.on_shutdown.append(_closing)
    app.on_cleanup.append(_stop)
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
    app.router.add_get("/api/openapi.json", api.openapi)
    app.router.add_get("/api/runs", api.list_runs)
    app.router.add_get("/api/runs/{run}", api.one_run)
    app.router.add_get("/api/runs/{run}/tasks/{task}/log", api.task_log)
    app.router.add_post("/api/runs/{run}/stop", api.stop)
    app.router.add_post("/api/runs/{run}/retry", api.retry)
    app.router.add_post("/api/runs/{run}/tasks", api.add_task)
    app.router.add_post("/api/send", api.send)
    app.router.add_get("/api/channels", api.channels)
    app.router.add_get("/api/events", streams.events)
    app.router.add_get("/api/panes/{pane}/stream", streams.pane)
    return app
