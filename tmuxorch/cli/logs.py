"""``tmuxorch logs``: a task's transcript, or its live pane while it runs."""

from __future__ import annotations

import os
import sys
import time

from tmuxorch.agents.launch import AttemptFiles
from tmuxorch.agents.patterns import of_pane
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.send import UnknownTarget, resolve
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, info
from tmuxorch.cli.printers import LogPrinter
from tmuxorch.run.whereabouts import said
from tmuxorch.tmux.client import Client, TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import TextIO

    from tmuxorch.run.store import RunRow, Store


def logs(
    file: str | None,
    task: str,
    *,
    attempt: int | None = None,
    run_id: str | None = None,
    follow: bool = False,
    out: TextIO | None = None,
    chosen: Client | None = None,
) -> int:
    """Print the transcript of ``task``'s ``attempt`` (default: its latest) in run
    ``run_id`` (default: the latest); ``follow`` it while it runs."""
    from tmuxorch.cli.runs import find_run

    out = out or sys.stdout
    found = find_run(file, chosen)
    if isinstance(found, str):
        return fail(found)
    store, run_row = found
    try:
        if run_id is not None:
            picked = _run(store, run_row, run_id)
            if isinstance(picked, str):
                return fail(picked, EXIT_BAD_INPUT)
            run_row = picked
        rows = store.tasks(run_row.id)
        if task not in rows:
            return fail(
                f"no task {task} in run {run_row.id} (tasks: {', '.join(sorted(rows))})",
                EXIT_BAD_INPUT,
            )
        row = rows[task]
        if not row.attempts:
            return fail(never_ran(task, row.state, row.reason), EXIT_FAILED)
        if attempt is not None and not 1 <= attempt <= row.attempts:
            numbers = ", ".join(str(n) for n in range(1, row.attempts + 1))
            return fail(
                f"{task} has no attempt {attempt} in run {run_row.id} (its attempts: {numbers})",
                EXIT_BAD_INPUT,
            )
        latest = attempt is None or attempt == row.attempts
        if latest and row.state == "running" and row.pane:
            from tmuxorch.cli.runs import client_of

            client, pane = client_of(run_row, chosen), row.pane
            if "@" in pane:  # on one of its run's hosts: its tmux there, over ssh
                from tmuxorch.hosts.reach import reach

                try:
                    client, pane = reach(run_row.file, pane)
                except TmuxError as exc:
                    info(f"{task}: its host cannot be reached ({exc}): its transcript here")
            if "@" not in pane:
                live = _live(client, pane, follow=follow, out=out)
                if live is not None:
                    return live
        path = AttemptFiles.of(
            os.path.join(store.directory, "runs", run_row.id), task, attempt or row.attempts
        ).transcript
        position = 0
        while True:
            running = follow and latest and store.tasks(run_row.id)[task].state == "running"
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


def _run(store: Store, latest: RunRow, run_id: str) -> RunRow | str:
    """The run ``run_id`` of ``latest``'s file (an id or the start of one), or why not."""
    runs = store.runs(latest.file)
    matching = [r for r in runs if r.id == run_id] or [r for r in runs if r.id.startswith(run_id)]
    if len(matching) == 1:
        return matching[0]
    shown = ", ".join(r.id for r in (matching or runs)[:10])
    more = f" and {len(matching or runs) - 10} older" if len(matching or runs) > 10 else ""
    if matching:
        return f"run {run_id!r} could be any of {shown}{more}: say which"
    return f"no run {run_id!r} of {latest.file} (its runs, newest first: {shown}{more})"


def never_ran(task: str, state: str, reason: str | None) -> str:
    """Why ``task`` has no transcript: it never started."""
    if state in ("pending", "running", "retrying"):
        return f"{task} has not started yet"
    why = f" ({reason})" if reason else ""
    return f"{said(task, state)}{why}: it never started, so it has no output"


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
