"""``tmuxorch logs``: a task's transcript, or its live pane while it runs."""

from __future__ import annotations

import os
import sys
import time

from tmuxorch.agents.patterns import of_pane
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.send import UnknownTarget, resolve
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail
from tmuxorch.cli.printers import LogPrinter
from tmuxorch.tmux.client import Client, TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import TextIO


def logs(
    file: str | None,
    task: str,
    *,
    follow: bool = False,
    out: TextIO | None = None,
    chosen: Client | None = None,
) -> int:
    """Print the transcript of ``task``'s latest attempt; ``follow`` it while it runs."""
    from tmuxorch.cli.runs import find_run

    out = out or sys.stdout
    found = find_run(file, chosen)
    if isinstance(found, str):
        return fail(found)
    store, run_row = found
    try:
        rows = store.tasks(run_row.id)
        if task not in rows:
            return fail(
                f"no task {task} in run {run_row.id} (tasks: {', '.join(sorted(rows))})",
                EXIT_BAD_INPUT,
            )
        attempt = rows[task].attempts
        if not attempt:
            return fail(f"{task} has not started yet ({rows[task].state})", EXIT_FAILED)
        pane = rows[task].pane
        if rows[task].state == "running" and pane:
            from tmuxorch.cli.runs import client_of

            live = _live(client_of(run_row, chosen), pane, follow=follow, out=out)
            if live is not None:
                return live
        path = os.path.join(store.directory, "transcripts", run_row.id, f"{task}.{attempt}.txt")
        position = 0
        while True:
            running = follow and store.tasks(run_row.id)[task].state == "running"
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    handle.seek(position)
                    chunk = handle.read()
                    position = handle.tell()
            except FileNotFoundError:
                chunk = ""
            if chunk:
                out.write(chunk)
                out.flush()
            if not running:  # read after the state said it ended: nothing more will come
                return EXIT_OK
            time.sleep(0.2)
    except KeyboardInterrupt:
        return EXIT_OK
    finally:
        store.close()


def _live(client: Client, pane: str, *, follow: bool, out: TextIO) -> int | None:
    """A running task's log from its pane: its whole history and screen (the transcript on
    disk holds only what scrolled by); ``follow`` it until it ends. None: no such pane."""
    try:
        (target,) = resolve(client, [pane])
    except (UnknownTarget, TmuxError):
        return None
    if target.dead:
        return None
    printer = LogPrinter(out, prefix=False, from_start=True)
    poller = Poller(client)
    poller.watch(
        pane, label=target.label, patterns=of_pane(target.agent, target.patterns), from_start=True
    )
    subscription = poller.subscribe()
    try:
        with poller:
            for event in subscription:
                printer(event)
                if event["type"] in ("exit", "gone"):
                    break
                if not follow and event["type"] == "frame":
                    printer.rest(event)
                    break
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        pass
    return EXIT_OK
