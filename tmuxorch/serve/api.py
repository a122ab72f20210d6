"""The JSON half of ``serve``: runs and tasks as ``status --json`` shows them, a task's
log, and asking: send input (``tmuxorch send``'s exact semantics), stop, retry, add."""

from __future__ import annotations

import asyncio
import json
import os

from aiohttp import web

from tmuxorch.serve import openapi as description
from tmuxorch.serve.runs import RunRef, report, summary
from tmuxorch.serve.state import SERVE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client


def _error(status: int, why: str, **more: object) -> web.HTTPException:
    body = json.dumps({"error": why, **more})
    return _ERRORS[status](text=body, content_type="application/json")


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest,
    404: web.HTTPNotFound,
    409: web.HTTPConflict,
    422: web.HTTPUnprocessableEntity,
    504: web.HTTPGatewayTimeout,
}


async def _run(request: web.Request) -> RunRef:
    serve = request.app[SERVE]
    ref = await asyncio.to_thread(serve.runs.find, request.match_info["run"])
    if ref is None:
        raise _error(404, f"no run {request.match_info['run']!r}")
    return ref


async def _body(request: web.Request) -> dict[str, object]:
    try:
        body = await request.json()
    except ValueError:
        raise _error(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise _error(422, "the body must be a JSON object")
    return body


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(description.DOCUMENT)


async def list_runs(request: web.Request) -> web.Response:
    serve = request.app[SERVE]
    refs = await asyncio.to_thread(serve.runs.all)
    return web.json_response({"runs": [await asyncio.to_thread(summary, r) for r in refs]})


async def one_run(request: web.Request) -> web.Response:
    ref = await _run(request)
    return web.json_response(await asyncio.to_thread(report, ref))


async def task_log(request: web.Request) -> web.Response:
    """A task's transcript (its latest attempt, or ``?attempt=N``)."""
    from tmuxorch.agents.launch import AttemptFiles
    from tmuxorch.run.store import Store

    ref = await _run(request)
    task = request.match_info["task"]
    store = Store(ref.directory)
    try:
        row = store.tasks(ref.id).get(task)
    finally:
        store.close()
    if row is None:
        raise _error(404, f"no task {task!r} in run {ref.id}")
    try:
        attempt = int(request.query.get("attempt", row.attempts))
    except ValueError:
        raise _error(422, "attempt must be a number", field="attempt") from None
    if not 1 <= attempt <= row.attempts:
        raise _error(404, f"{task} has no attempt {attempt} (it has {row.attempts})")
    path = AttemptFiles.of(os.path.join(ref.directory, "runs", ref.id), task, attempt).transcript
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except FileNotFoundError:
        text = ""
    return web.Response(text=text, content_type="text/plain")


def _names(body: dict[str, object]) -> list[str] | None:
    if body.get("all") is True:
        return None
    tasks = body.get("tasks")
    if not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) for t in tasks):
        raise _error(422, "give tasks: a list of task ids (or all: true)", field="tasks")
    return [str(t) for t in tasks]


async def _ask(request: web.Request, action: str) -> web.Response:
    """Stop or retry tasks of a live run: the request reaches its supervisor the way
    ``tmuxorch stop``/``retry`` do (a request file it watches)."""
    from tmuxorch.serve.control import ask
    from tmuxorch.serve.sending import Refused

    ref = await _run(request)
    names = _names(await _body(request))
    try:
        asked = await asyncio.to_thread(ask, ref, action, names)
    except Refused as exc:
        raise _error(exc.status, exc.why, **exc.more) from None
    return web.json_response(asked, status=202)


async def stop(request: web.Request) -> web.Response:
    return await _ask(request, "stop")


async def retry(request: web.Request) -> web.Response:
    return await _ask(request, "retry")


async def add_task(request: web.Request) -> web.Response:
    """A task added to the run, checked like a task of its file (``tmuxorch add``): 201
    when its supervisor took it, 202 when recorded for ``tmuxorch run FILE`` to go on
    with (no supervisor runs), 422 with each field's problem."""
    from tmuxorch.serve import control
    from tmuxorch.serve.sending import Refused

    ref = await _run(request)
    body = await _body(request)
    try:
        added = await asyncio.to_thread(control.add, ref, body)
    except Refused as exc:
        raise _error(exc.status, exc.why, **exc.more) from None
    return web.json_response(added, status=201 if added.get("live") else 202)


async def send(request: web.Request) -> web.Response:
    """``tmuxorch send``'s semantics: text typed or pasted byte for byte, named keys,
    Enter after text (never after keys alone), ``when_idle`` waits for the agent."""
    from tmuxorch.serve.sending import Refused, send_input

    serve = request.app[SERVE]
    body = await _body(request)
    clients: list[Client] = list(serve.clients)
    run = body.get("run")
    if isinstance(run, str):
        from tmuxorch.cli.runs import client_of

        ref = await _run_named(request, run)
        clients = [client_of(ref.row)]
    try:
        pane = await asyncio.to_thread(send_input, clients, body)
    except Refused as exc:
        raise _error(exc.status, exc.why, **exc.more) from None
    return web.json_response({"delivered": True, "pane": pane})


async def _run_named(request: web.Request, run: str) -> RunRef:
    ref = await asyncio.to_thread(request.app[SERVE].runs.find, run)
    if ref is None:
        raise _error(404, f"no run {run!r}", field="run")
    return ref


async def channels(request: web.Request) -> web.Response:
    """Each channel's deliveries: queued, delivered, dropped, failed tries."""
    router = request.app[SERVE].router
    return web.json_response({"channels": router.status() if router else []})
