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
    return f"tmuxorch: {event['event']}"


class Notifier:
    """Notifications as a subscriber of a run's bus: an agent waiting for a person is told
    to the session's tmux clients and to the ``notify:`` hook (``command()``: the task
    file's now, as reloads may change it)."""

    def __init__(self, client: Client, command: Callable[[], str | None]) -> None:
        self.client = client
        self.command = command
        self.file = ""
        self.session = ""

    def __call__(self, event: dict[str, object]) -> None:
        if event["type"] == "run-opened":
            self.file, self.session = str(event["file"]), str(event["session"])
        elif event["type"] == "task-waiting":
            payload = {
                "event": "waiting_input",
                "run": event["run"],
                "task": event["task"],
                "pane": event["pane"],
                "session": self.session,
                "file": self.file,
                "last_lines": event["last_lines"],
            }
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

    def feed_and_reap() -> None:  # never block the supervisor; never leave a zombie
        try:
            assert proc.stdin is not None
            proc.stdin.write(payload.encode())
            proc.stdin.close()
        except OSError:
            pass
        proc.wait()

    threading.Thread(target=feed_and_reap, daemon=True).start()
