"""The OpenAPI description of ``serve``'s HTTP API (``GET /api/openapi.json``)."""

from __future__ import annotations

_JSON = "application/json"


def _ok(description: str, kind: str = _JSON) -> object:
    return {"description": description, "content": {kind: {}}}


def _errors(*codes: int) -> dict[str, object]:
    words = {
        401: "no or wrong token",
        403: "cross-origin request",
        404: "no such run, task or pane",
        409: "not possible now (the run is not live, the input was not delivered)",
        422: "bad input: {error, field}",
    }
    errors: dict[str, object] = {str(c): {"description": words[c]} for c in codes}
    return errors


def _responses(code: str, ok: object, *errors: int) -> dict[str, object]:
    responses: dict[str, object] = {code: ok}
    responses.update(_errors(*errors))
    return responses


def _run_param() -> dict[str, object]:
    return {"name": "run", "in": "path", "required": True, "schema": {"type": "string"}}


_ASK = {
    "type": "object",
    "properties": {
        "tasks": {"type": "array", "items": {"type": "string"}},
        "all": {"type": "boolean"},
    },
}
_SEND = {
    "type": "object",
    "required": ["target"],
    "properties": {
        "target": {"type": "string", "description": "a task, session:task or %pane"},
        "text": {"type": "string"},
        "keys": {"type": "array", "items": {"type": "string"}},
        "enter": {"type": "boolean", "default": True},
        "when_idle": {"type": "boolean", "default": False},
        "timeout": {"type": "number", "default": 120},
        "delay": {"type": "number"},
        "run": {"type": "string", "description": "look for the target in this run"},
    },
}

DOCUMENT: dict[str, object] = {
    "openapi": "3.1.0",
    "info": {
        "title": "tmuxorch serve",
        "version": "1",
        "description": "Runs, tasks, live events and panes of tmuxorch. Every request needs "
        "the token (Authorization: Bearer TOKEN, or the page's cookie).",
    },
    "components": {
        "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
    },
    "security": [{"token": []}],
    "paths": {
        "/api/runs": {
            "get": {"summary": "The runs serve knows", "responses": {"200": _ok("runs")}}
        },
        "/api/runs/{run}": {
            "get": {
                "summary": "A run as `tmuxorch status --json` prints it",
                "parameters": [_run_param()],
                "responses": _responses("200", _ok("the run"), 401, 404),
            }
        },
        "/api/runs/{run}/tasks/{task}/log": {
            "get": {
                "summary": "A task's transcript (latest attempt, or ?attempt=N)",
                "parameters": [
                    _run_param(),
                    {"name": "task", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "attempt", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": _responses("200", _ok("text", "text/plain"), 401, 404, 422),
            }
        },
        "/api/runs/{run}/stop": {
            "post": {
                "summary": "Stop tasks of a live run (tasks, or all: true)",
                "parameters": [_run_param()],
                "requestBody": {"content": {_JSON: {"schema": _ASK}}},
                "responses": _responses("202", _ok("asked"), 401, 403, 404, 409, 422),
            }
        },
        "/api/runs/{run}/retry": {
            "post": {
                "summary": "Run finished tasks of a live run again",
                "parameters": [_run_param()],
                "requestBody": {"content": {_JSON: {"schema": _ASK}}},
                "responses": _responses("202", _ok("asked"), 401, 403, 404, 409, 422),
            }
        },
        "/api/runs/{run}/tasks": {
            "post": {
                "summary": "Add a task to a live run (checked like a file's task)",
                "parameters": [_run_param()],
                "requestBody": {"content": {_JSON: {"schema": {"type": "object"}}}},
                "responses": _responses("201", _ok("added"), 401, 403, 404, 409, 422),
            }
        },
        "/api/send": {
            "post": {
                "summary": "Input into a pane, as `tmuxorch send`",
                "requestBody": {"content": {_JSON: {"schema": _SEND}}},
                "responses": _responses("200", _ok("delivered"), 401, 403, 404, 409, 422),
            }
        },
        "/api/channels": {
            "get": {
                "summary": "Each chat/push/webhook channel's deliveries: queued, delivered, "
                "dropped, failures (tries that failed)",
                "responses": _responses("200", _ok("channels"), 401),
            }
        },
        "/hooks/{name}": {
            "post": {
                "summary": "A webhook for the channel NAME (github or incoming), signed with "
                "its secret (X-Hub-Signature-256 / X-Tmuxorch-Signature-256) instead of the "
                "token: a task added to its run",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "security": [],
                "responses": _responses("200", _ok("the task added"), 401, 403, 404, 409, 422),
            }
        },
        "/api/events": {
            "get": {
                "summary": "Server-Sent Events: every run's domain and pane events "
                "(frames: see the pane stream); resumable with Last-Event-ID",
                "parameters": [
                    {"name": "run", "in": "query", "schema": {"type": "string"}},
                    {"name": "task", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": _responses("200", _ok("events", "text/event-stream"), 401),
            }
        },
        "/api/panes/{pane}/stream": {
            "get": {
                "summary": "WebSocket: a pane's screen (rows, cursor, size), the answers it "
                "offers (choices: [{label, send}]), lines, state, exit out; input "
                "{type: input, data} or {type: send, ...} (a choice's send) in",
                "parameters": [
                    {"name": "pane", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "run", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": _responses("101", {"description": "switching protocols"}, 401, 403),
            }
        },
    },
}
