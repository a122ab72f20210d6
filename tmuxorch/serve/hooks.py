"""Requests from elsewhere that add tasks: ``POST /hooks/NAME``, for the user config's
channel NAME of kind ``github`` (GitHub's webhooks) or ``incoming`` (any script)::

    channels:
      github:                           # GitHub → Settings → Webhooks:
        secret_env: GITHUB_WEBHOOK_SECRET   #   payload URL https://HOST/hooks/github
        run: ~/src/app/tasks.yaml           #   the same secret; JSON; issues + comments
        handle: "@tmuxorch"             # a comment that mentions it asks for a task
        agent: coder                    # the task's agent (default: claude)
        labels: [agent]                 # an issue opened or labelled so asks too
        allow: [octocat]                # GitHub logins who may ask ("*": anyone)
      deploy-hook:
        kind: incoming                  # POST a task (as in a tasks file), as JSON
        secret_file: ~/.config/tmuxorch/deploy-secret
        run: ~/src/app/tasks.yaml

The signature is the door here, not serve's token (GitHub cannot send that): the body's
HMAC-SHA256 with the channel's secret, ``X-Hub-Signature-256: sha256=HEX`` (GitHub) or
``X-Tmuxorch-Signature-256: sha256=HEX`` (incoming; what tmuxorch's own outgoing webhook
sends). A request without it, or with a wrong one, is refused (401) and said on serve's
log — never the secret, never the body. Bodies are capped as all of serve's are.

A task joins the latest run of the channel's ``run`` file as ``tmuxorch add`` would: at once
when a supervisor runs it, else recorded for its next ``tmuxorch run FILE``. A delivery is
acted on once: its id (``X-GitHub-Delivery``, or ``X-Tmuxorch-Delivery``) is remembered
once answered, and a repeat is refused (409) — while ``serve`` runs; after a restart, a task
id that exists already (a comment is ``gh-ISSUE-cCOMMENT``, an issue ``gh-ISSUE``) keeps
one event from making two tasks.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import urllib.parse
from collections import OrderedDict

from aiohttp import web

from tmuxorch.serve.state import SERVE

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.serve.github import Asked
    from tmuxorch.spec.channels import ChannelSpec

KINDS = ("github", "incoming")
SIGNATURE = {"github": "X-Hub-Signature-256", "incoming": "X-Tmuxorch-Signature-256"}
DELIVERY = {"github": "X-GitHub-Delivery", "incoming": "X-Tmuxorch-Delivery"}
REMEMBERED = 5000
"""Delivery ids kept, per serve."""


class Deliveries:
    """The deliveries acted on (and those being acted on now), so a repeat is refused."""

    def __init__(self) -> None:
        self.done: OrderedDict[tuple[str, str], None] = OrderedDict()
        self.busy: set[tuple[str, str]] = set()

    def begin(self, hook: str, ident: str) -> bool:
        key = (hook, ident)
        if key in self.done or key in self.busy:
            return False
        self.busy.add(key)
        return True

    def end(self, hook: str, ident: str, *, answered: bool) -> None:
        """Done with it; ``answered``: it was acted on (a failure may be delivered again)."""
        key = (hook, ident)
        self.busy.discard(key)
        if answered:
            self.done[key] = None
            while len(self.done) > REMEMBERED:
                self.done.popitem(last=False)


DELIVERIES = web.AppKey("deliveries", Deliveries)


async def hook(request: web.Request) -> web.Response:
    """``POST /hooks/{name}``."""
    from tmuxorch.channels.base import Rejected, read_secret

    name = request.match_info["name"]
    spec = next(
        (c for c in request.app[SERVE].channels if c.name == name and c.kind in KINDS), None
    )
    if spec is None:
        return _answer(404, f"no hook {name!r}")
    body = await request.read()  # past serve's cap: 413
    try:
        secret = read_secret(spec, "secret")
    except Rejected as exc:
        _log(name, f"cannot check a request: {exc}")
        return _answer(503, "this hook cannot check requests now (see serve's log)")
    header = SIGNATURE[spec.kind]
    given = request.headers.get(header)
    if not signed(body, secret, given):
        what = "no" if given is None else "a wrong"
        _log(name, f"refused a request from {request.remote}: {what} {header}")
        return _answer(401, f"{header} is needed: sha256= the body's HMAC with the secret")
    ident = request.headers.get(DELIVERY[spec.kind])
    deliveries = request.app[DELIVERIES]
    if ident is not None and not deliveries.begin(name, ident):
        _log(name, f"refused delivery {ident}: it was delivered already")
        return _answer(409, f"delivery {ident} was taken already")
    response = _answer(500, "not answered")
    try:
        if spec.kind == "github":
            response = await _github(request, spec, body)
        else:
            response = await _incoming(spec, body)
        return response
    finally:
        if ident is not None:
            deliveries.end(name, ident, answered=response.status < 300)


def check(specs: tuple[ChannelSpec, ...]) -> list[str]:
    """Why each hook cannot check requests (its secret cannot be read), before serve starts."""
    from tmuxorch.channels.base import Rejected, read_secret

    said = []
    for spec in specs:
        if spec.kind in KINDS:
            try:
                read_secret(spec, "secret")
            except Rejected as exc:
                said.append(str(exc))
    return said


def signed(body: bytes, secret: str, given: str | None) -> bool:
    """Whether ``given`` is ``sha256=`` the HMAC-SHA256 of ``body`` with ``secret``."""
    if not given or not given.startswith("sha256="):
        return False
    mac = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, given[len("sha256=") :].strip().lower())


async def _github(request: web.Request, spec: ChannelSpec, body: bytes) -> web.Response:
    from tmuxorch.serve.github import asked

    event = request.headers.get("X-GitHub-Event", "")
    try:
        payload = _payload(request.content_type, body)
    except ValueError:
        return _answer(400, "the body is not a GitHub event (JSON, or a form with payload=)")
    said = asked(event, payload, spec)
    if said.status == 403:
        _log(spec.name, f"refused {event}: {said.why}")
    if said.task is None:
        key = "ok" if said.status == 200 else "ignored" if said.status == 202 else "error"
        return web.json_response({key: said.why}, status=said.status)
    return await _add(spec, said.task, said)


async def _incoming(spec: ChannelSpec, body: bytes) -> web.Response:
    try:
        data = json.loads(body)
    except ValueError:
        return _answer(400, "the body must be JSON: one task, as in a tasks file")
    return await _add(spec, data, None)


async def _add(spec: ChannelSpec, data: object, github: Asked | None) -> web.Response:
    from tmuxorch.serve.control import add_to_file
    from tmuxorch.serve.sending import Refused

    run = spec.text("run")
    try:
        added = await asyncio.to_thread(add_to_file, run, data)
    except Refused as exc:
        if github is not None and _duplicate(exc.more):
            task = data.get("id") if isinstance(data, dict) else None
            _log(spec.name, f"task {task} exists already in {run}: nothing added")
            return _answer(409, f"task {task} exists already: one event, one task")
        if exc.status >= 500 or exc.status == 404:
            _log(spec.name, f"nothing added to {run}: {exc.why}")
        return web.json_response({"error": exc.why, **exc.more}, status=exc.status)
    by = f" (asked by {github.sender})" if github is not None and github.sender else ""
    _log(spec.name, f"task {added.get('task')} added to {run}{by}")
    return web.json_response(added)


def _duplicate(more: dict[str, object]) -> bool:
    errors = more.get("errors")
    errors = errors if isinstance(errors, list) else []
    return any(
        isinstance(e, dict) and e.get("field") == "task.id" and "duplicate" in str(e.get("message"))
        for e in errors
    )


def _payload(content_type: str, body: bytes) -> object:
    if content_type == "application/x-www-form-urlencoded":
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        if "payload" not in form:
            raise ValueError("no payload")
        return json.loads(form["payload"][0])
    return json.loads(body)


def _answer(status: int, why: str) -> web.Response:
    return web.json_response({"error" if status >= 400 else "ok": why}, status=status)


def _log(hook: str, what: str) -> None:
    print(f"tmuxorch serve: hook {hook}: {what}", file=sys.stderr, flush=True)
