"""Telling people: a message on the tmux clients watching the session, and the ``notify:``
hook (a command of the user's, given the event as JSON on stdin and in ``$TMUXORCH_EVENT``)."""

from __future__ import annotations

import json
import os
import subprocess
import threading

from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.tmux.client import Client


def message(event: dict[str, object]) -> str:
    task = event.get("task")
    if event["event"] == "waiting_input":
        return f"tmuxorch: {task} is waiting for input (tmuxorch attach {task})"
    if event["event"] == "failed":
        return f"tmuxorch: {task} failed: {event.get('reason')}"
    if event["event"] in ("blocked", "needs_review"):
        why = f": {event.get('reason')}" if event.get("reason") else ""
        return f"tmuxorch: {task} is {str(event['event']).replace('_', ' ')}{why}"
    if event["event"] == "stalled":
        return f"tmuxorch: {task} {stalled_words(event)}"
    if event["event"] == "pull_request":
        if event.get("url"):
            return f"tmuxorch: {task} opened a pull request: {event['url']}"
        return f"tmuxorch: {task} pushed {event.get('branch')}; no pull request opened"
    if event["event"] == "run_finished":
        summary = f": {event['summary']}" if event.get("summary") else ""
        return f"tmuxorch: run {event.get('run')} finished{summary}"
    return f"tmuxorch: {event['event']}"


def stalled_words(event: dict[str, object]) -> str:
    """What a ``task-stalled`` event says (after the task's name)."""
    from tmuxorch.run.stalls import span

    quiet = span(float(event.get("quiet") or 0))  # type: ignore[arg-type]
    if event.get("waiting"):
        return f"is still waiting for input ({quiet} now)"
    fails_in = event.get("fails_in")
    then = f"; it fails in {span(float(fails_in))}" if fails_in is not None else ""  # type: ignore[arg-type]
    return f"has shown nothing new for {quiet}{then}"


class Notifier:
    """Notifications as a subscriber of a run's bus: an agent waiting for a person, a
    failure, a pull request opened (or a branch pushed without one: ``merge: pr``) and the
    run's end are told to the session's tmux clients and to the ``notify:`` hook
    (``command()``: the task file's now, as reloads may change it)."""

    def __init__(self, client: Client, command: Callable[[], str | None]) -> None:
        self.client = client
        self.command = command
        self.file = ""
        self.session = ""

    def __call__(self, event: dict[str, object]) -> None:
        kind = event["type"]
        if kind == "run-opened":
            self.file, self.session = str(event["file"]), str(event["session"])
        elif kind == "task-waiting":
            fields = {"pane": event["pane"], "last_lines": event["last_lines"]}
            self._tell("waiting_input", event, **fields)
        elif kind == "task-stalled":
            fields = {k: event[k] for k in ("pane", "quiet", "waiting", "fails_in", "last_lines")}
            self._tell("stalled", event, **fields)
        elif kind == "task-ended" and event["outcome"] in ("blocked", "needs_review"):
            fields = {"reason": event.get("reason"), "summary": event.get("summary")}
            self._tell(str(event["outcome"]), event, **fields)
        elif kind == "task-ended" and event["outcome"] == "failed":
            fields = {"pane": event.get("attempt_pane"), "reason": event["reason"]}
            self._tell("failed", event, exit_code=event["exit_code"], **fields)
        elif kind == "note" and "pull_request" in event:
            fields = {k: event.get(k) for k in ("branch", "base", "remote", "text")}
            self._tell("pull_request", event, url=event["pull_request"], **fields)
        elif kind == "run-finished":
            fields = {"summary": event["summary"], "ok": event["ok"]}
            self._tell("run_finished", event, pull_requests=event.get("pull_requests"), **fields)

    def _tell(self, what: str, event: dict[str, object], **fields: object) -> None:
        payload = {"event": what, "run": event["run"], "task": event.get("task"), **fields}
        payload.update(session=self.session, file=self.file)
        notify(self.client, self.session, self.command(), payload)


def notify(client: Client, session: str, command: str | None, event: dict[str, object]) -> None:
    text = message(event)
    try:
        rows = client.cmd(
            "list-clients", "-t", f"={session}", "-F", "#{client_control_mode} #{client_name}"
        )
        people = [row.split(" ", 1)[1] for row in rows if row.startswith("0 ")]  # not tmuxorch's
        client.run_each([("display-message", "-c", name, "-d", "5000", text) for name in people])
    except TmuxError:
        pass  # no client, or no server: the hook still runs
    if command:
        _run_hook(command, event)


def _run_hook(command: str, event: dict[str, object]) -> None:
    payload = json.dumps(event)
    env = dict(os.environ, TMUXORCH_EVENT=payload)
    try:
        proc = subprocess.Popen(
            ["sh", "-c", command], stdin=subprocess.PIPE, env=env, start_new_session=True
        )
    except OSError:
        return
    try:  # the event is far smaller than a pipe holds: written at once, never blocks
        assert proc.stdin is not None
        proc.stdin.write(payload.encode())
        proc.stdin.close()
    except OSError:
        pass
    threading.Thread(target=proc.wait, daemon=True).start()  # never leave a zombie
