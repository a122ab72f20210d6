"""Request files: how ``tmuxorch stop``/``retry``/``add`` (and ``serve``) in another process
reach a live run's control interface. A request is a small JSON file dropped (atomically,
0600) into the run's ``requests/`` folder, which the run watches; it reads it, removes it,
and acts::

    runs/RUN/requests/NS-PID.json    {"action": "stop"|"retry", "tasks": [...], "all": false}
                                     {"action": "add", "task": {...task keys...}, "reply": true}

An ``add`` is answered: the run writes ``NS-PID.reply`` next to the request (atomically,
0600; its name comes from the request's, never from what the request says), holding
:meth:`tmuxorch.run.adding.Added.as_json` — ``{"ok", "run", "task", "tasks", "errors":
[{"field", "message", "hint"}]}``. The asker (:func:`ask_add`) waits for it, and removes it.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass

from tmuxorch import private
from tmuxorch.run.store import Store, state_dir

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.adding import Added

REPLY = ".reply"
WAIT = 0.05
"""Seconds between looks for a reply."""


@dataclass(frozen=True)
class Request:
    action: str
    tasks: list[str] | None
    """``stop``/``retry``: the task ids (None: every task)."""
    task: object = None
    """``add``: the task, as data (a mapping of task keys)."""
    reply: bool = False
    """``add``: the asker waits for a reply file."""
    text: str = ""
    """``reject``/``unblock``: a person's words for the task's next attempt."""


class Unanswered(Exception):
    """An ``add`` got no answer: the supervisor ended, or did not answer in time.
    ``taken``: it read the request (it may have added the task); if not, the request was
    withdrawn and nothing was done."""

    def __init__(self, message: str, *, taken: bool) -> None:
        super().__init__(message)
        self.taken = taken


def request(
    file: str, action: str, tasks: list[str], *, everything: bool = False, text: str = ""
) -> str:
    """Ask the supervisor of ``file``'s latest run to ``stop``/``retry`` (or ``approve``,
    ``reject``, ``unblock`` with ``text``); its run id."""
    run_id, folder = _folder(file)
    asked = {"action": action, "tasks": tasks, "all": everything, "text": text}
    _drop(folder, json.dumps(asked))
    return run_id


def ask_add(file: str, data: object, *, timeout: float = 30.0) -> Added:
    """Ask the supervisor of ``file``'s latest run to add the task ``data``; its answer
    (the task added, or the errors). Raises :class:`LookupError` (no run of ``file``),
    :class:`Unanswered`."""
    from tmuxorch.run.adding import Added
    from tmuxorch.run.opening import supervisor_alive

    run_id, folder = _folder(file)
    try:
        body = json.dumps({"action": "add", "task": data, "reply": True}, allow_nan=False)
    except (TypeError, ValueError) as exc:
        from tmuxorch.spec.intake import FieldError

        return Added(run_id, None, (), (FieldError("task", f"not JSON data: {exc}"),))
    path = _drop(folder, body)
    reply = reply_path(path)
    deadline = time.monotonic() + timeout
    while True:
        gone = not supervisor_alive(file)  # before the look: a reply written, then gone
        try:
            with open(reply, encoding="utf-8") as handle:
                answer = json.load(handle)
        except FileNotFoundError:
            pass
        except ValueError as exc:
            raise Unanswered(f"the supervisor's reply is unreadable: {exc}", taken=True) from None
        else:
            os.unlink(reply)
            return Added.from_json(answer)
        if gone or time.monotonic() > deadline:
            try:
                os.unlink(path)  # withdrawn, unless taken
            except FileNotFoundError:
                why = "ended before it answered" if gone else f"did not answer in {timeout:g}s"
                raise Unanswered(f"the supervisor took the request but {why}", taken=True) from None
            why = "is not running" if gone else f"did not read the request in {timeout:g}s"
            raise Unanswered(f"the supervisor {why}", taken=False)
        time.sleep(WAIT)


def read(path: str) -> Request | None:
    """A request file, once (it is removed); None if it is not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            asked = json.load(handle)
        os.unlink(path)
    except (OSError, ValueError):
        return None
    if not isinstance(asked, dict) or not isinstance(asked.get("action"), str):
        return None
    if asked["action"] == "add":
        return Request("add", None, asked.get("task"), reply=asked.get("reply") is True)
    tasks = asked.get("tasks") or []
    if not isinstance(tasks, list):
        return None
    text = asked.get("text")
    chosen = None if asked.get("all") else [str(t) for t in tasks]
    return Request(asked["action"], chosen, text=text if isinstance(text, str) else "")


def reply_path(path: str) -> str:
    """Where the answer to the request at ``path`` goes."""
    return path.removesuffix(".json") + REPLY


def answer(path: str, data: object) -> None:
    """Answer the request that was at ``path``."""
    reply = reply_path(path)
    private.write(reply + ".tmp", json.dumps(data))
    os.replace(reply + ".tmp", reply)


def _folder(file: str) -> tuple[str, str]:
    """The id and requests folder of ``file``'s latest run."""
    store = Store(state_dir(file))
    try:
        runs = store.runs(file)
    finally:
        store.close()
    if not runs:
        raise LookupError(f"no run of {file} yet")
    return runs[0].id, private.folder(os.path.join(state_dir(file), "runs", runs[0].id, "requests"))


def _drop(folder: str, body: str) -> str:
    path = os.path.join(folder, f"{time.time_ns()}-{os.getpid()}.json")
    private.write(path + ".tmp", body)
    os.replace(path + ".tmp", path)
    return path
