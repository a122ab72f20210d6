"""``tmuxorch watch`` (panes, live) and ``tmuxorch logs`` (a task's transcript)."""

from __future__ import annotations

import json
import os
import sys
import time

from tmuxorch.agents.patterns import of_pane
from tmuxorch.bridge.frames import apply_patch
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.send import Target, UnknownTarget, match, panes, resolve, split_target
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, info
from tmuxorch.run.whereabouts import find_task
from tmuxorch.tmux.client import Client, TmuxError
from tmuxorch.tmux.panes import run_sessions

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from tmuxorch.bridge.poller import Event


RECHECK = 0.25
"""Seconds between looks for the pane of a task that has none yet (pending, retrying)."""


def watch(
    targets: list[str],
    *,
    as_json: bool = False,
    frames: bool = False,
    from_start: bool = False,
    client: Client,
    out: TextIO | None = None,
) -> int:
    """Follow panes live until they all end (or Ctrl-C); 2 for an unknown target.

    A task target follows the task, not one pane: a task not started yet is waited for, and
    a retry's new pane is followed from its first line, until the task is over."""
    out = out or sys.stdout
    if not targets:
        return fail("watch TARGET... (a task, session:task or %pane)", EXIT_BAD_INPUT)
    try:
        found = panes(client)
    except TmuxError as exc:
        return fail(str(exc))
    live: dict[str, Target] = {}
    waiting: dict[str, int] = {}  # task target → attempt already followed (0: none)
    for target in dict.fromkeys(targets):
        try:
            live[target] = match(found, target)
        except UnknownTarget as exc:
            where = None if target.startswith("%") else find_task(client, target)
            if where is None:
                return fail(str(exc), EXIT_BAD_INPUT)
            if where.coming:
                info(f"{where.describe()}: following it once it has a pane")
                waiting[target] = 0 if from_start else where.ended_attempts
            else:
                info(f"{where.describe()}; its output: tmuxorch logs {where.task}")
    if not live and not waiting:
        return EXIT_FAILED
    printer: Callable[[Event], None]
    if as_json:
        printer = JsonPrinter(out)
    elif frames:
        printer = MirrorPrinter(
            out, [p.label for p in live.values()] + [split_target(t)[1] for t in waiting]
        )
    else:
        printer = LogPrinter(out, prefix=len(live) + len(waiting) > 1, from_start=from_start)
    poller = Poller(client)
    following: dict[str, str] = {}  # pane → target

    def follow(target: str, pane: Target, *, whole: bool) -> None:
        following[pane.pane] = target
        if whole and isinstance(printer, LogPrinter):
            printer.whole.add(pane.pane)
        poller.watch(
            pane.pane,
            label=pane.label,
            patterns=of_pane(pane.agent, pane.patterns),
            from_start=whole,
        )

    for target, pane in live.items():
        follow(target, pane, whole=from_start)
    subscription = poller.subscribe()
    checked = time.monotonic()
    try:
        with poller:
            while following or waiting:
                event = subscription.get(timeout=RECHECK if waiting else None)
                if event is not None:
                    if event["type"] == "gone" and str(event["pane"]) in following:
                        target = following[str(event["pane"])]
                        _catch_up(client, target, live[target].attempt, event, printer)
                    printer(event)
                    if event["type"] in ("exit", "gone"):
                        target = following.pop(str(event["pane"]), "")
                        if target and not target.startswith("%"):
                            waiting[target] = int(live[target].attempt)
                if waiting and time.monotonic() - checked >= RECHECK:
                    checked = time.monotonic()
                    for target, pane in _arrived(client, waiting, printer):
                        live[target] = pane
                        follow(target, pane, whole=True)  # from its first line: nothing lost
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `tmuxorch watch ... | head`
        return EXIT_OK
    return EXIT_OK


def _arrived(
    client: Client, waiting: dict[str, int], printer: Callable[[Event], None]
) -> list[tuple[str, Target]]:
    """Task targets whose next attempt has a pane (alive, or ended and not yet closed).
    Attempts that came and went between two looks are printed from their transcripts;
    targets that will have no pane again are forgotten."""
    try:
        found = panes(client)
        sessions = run_sessions(client)  # once for every target without a pane
    except TmuxError:
        return []
    arrived = []
    for target, seen in list(waiting.items()):
        try:
            pane: Target | None = match(found, target, dead=True)
        except UnknownTarget:
            pane = None
        if pane is not None and pane.attempt > seen:
            arrived.append((target, pane))
            del waiting[target]
            continue
        where = find_task(client, target, sessions)
        if where is None:
            del waiting[target]
            continue
        for attempt in range(seen + 1, where.ended_attempts + 1):
            printer(_transcript_event(where.transcript(attempt), where.task, attempt))
            waiting[target] = attempt
        if not where.coming:
            del waiting[target]
    return arrived


def _catch_up(
    client: Client, target: str, attempt: int, gone: Event, printer: Callable[[Event], None]
) -> None:
    """A task's pane closed before this viewer saw its end: the rest is in the transcript
    (complete: the run closes a pane only once its own look saw the end)."""
    if target.startswith("%") or not isinstance(printer, LogPrinter):
        return
    where = find_task(client, target)
    if where is None:
        return
    pane = str(gone["pane"])  # its lines are numbered from the pane's start, as are these
    event = _transcript_event(where.transcript(attempt), str(gone["label"]), attempt)
    printer({**event, "pane": pane})


def _transcript_event(path: str, label: str, attempt: int) -> Event:
    """An attempt's transcript as one ``lines`` event (it ended before it could be seen)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        lines = []
    return {
        "type": "lines",
        "pane": f"{label}.{attempt}",
        "label": label,
        "start": 0,
        "lines": lines,
        "transcript": path,
    }


class JsonPrinter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.out.flush()


class LogPrinter:
    """A pane as a log: each line once, when it is complete (above the cursor, or scrolled
    into history); the line being redrawn (spinners, prompts) shows when it settles."""

    def __init__(self, out: TextIO, *, prefix: bool, from_start: bool = False) -> None:
        self.out = out
        self.prefix = prefix
        self.from_start = from_start
        self.whole: set[str] = set()
        """Panes to print from their first line whatever ``from_start`` says."""
        self.screens: dict[str, str] = {}
        self.printed: dict[str, int] = {}

    def _print(self, event: Event, lines: list[str]) -> None:
        label = f"{event['label']} │ " if self.prefix else ""
        self.out.write("".join(f"{label}{line}\n" for line in lines))
        self.out.flush()

    def __call__(self, event: Event) -> None:
        pane = str(event["pane"])
        kind = event["type"]
        if kind == "lines":
            start = int(event["start"])  # type: ignore[call-overload]
            lines = list(event["lines"])  # type: ignore[call-overload]
            done = self.printed.get(pane, start)
            self._print(event, lines[max(0, done - start) :])
            self.printed[pane] = max(done, start + len(lines))
        elif kind == "frame":
            screen = self._screen(pane, event)
            rows = screen.split("\n")
            history = int(event["history"])  # type: ignore[call-overload]
            cursor_row = int(event["cursor"][1])  # type: ignore[index]
            whole = self.from_start or pane in self.whole
            done = self.printed.setdefault(pane, 0 if whole else history + cursor_row)
            complete = rows[:cursor_row]
            while complete and not complete[-1].strip():
                complete.pop()  # blank rows wait for the text below them (or stay unprinted)
            first = max(0, done - history)
            if first < len(complete):
                self._print(event, complete[first:])
                self.printed[pane] = history + len(complete)
        elif kind == "state" and event["state"] in ("waiting_input", "idle", "error"):
            screen = self.screens.get(pane, "")
            last = next((ln for ln in reversed(screen.split("\n")) if ln.strip()), "")
            self._print(event, [f"[{event['state']}] {last.strip()}"])
        elif kind == "exit":
            code = event.get("code")
            self._print(event, [f"[exited{'' if code is None else f' with status {code}'}]"])
        elif kind == "gap":
            self._print(event, [f"[some output was not seen: {event.get('reason')}]"])
        elif kind == "gone":
            self._print(event, ["[pane closed]"])

    def rest(self, event: Event) -> None:
        """Print what is left of the screen (the cursor's line and below, up to the last
        line with text): for a log that stops here."""
        pane = str(event["pane"])
        rows = self.screens.get(pane, "").split("\n")
        history = int(event["history"])  # type: ignore[call-overload]
        first = max(0, self.printed.get(pane, history) - history)
        left = rows[first:]
        while left and not left[-1].strip():
            left.pop()
        self._print(event, left)
        self.printed[pane] = history + first + len(left)

    def _screen(self, pane: str, event: Event) -> str:
        if event.get("key"):
            screen = str(event["text"])
        else:
            screen = apply_patch(self.screens.get(pane, ""), str(event["patch"]))
        self.screens[pane] = screen
        return screen


class MirrorPrinter:
    """The panes' screens, redrawn in place (``--frames``), one block per label (a task's
    next attempt takes its place)."""

    def __init__(self, out: TextIO, labels: list[str]) -> None:
        self.out = out
        self.labels = labels
        self.screens: dict[str, str] = dict.fromkeys(labels, "")
        self.states: dict[str, str] = dict.fromkeys(labels, "")
        self.drawn = 0.0

    def __call__(self, event: Event) -> None:
        label = str(event["label"])
        if event["type"] == "frame":
            if event.get("key"):
                self.screens[label] = str(event["text"])
            else:
                self.screens[label] = apply_patch(self.screens[label], str(event["patch"]))
        elif event["type"] == "state":
            self.states[label] = str(event["state"])
        elif event["type"] not in ("exit", "gone"):
            return
        now = time.monotonic()
        if now - self.drawn < 0.05 and event["type"] == "frame":
            return  # at most 20 redraws a second
        self.drawn = now
        parts = ["\x1b[H\x1b[2J"]
        for shown in self.labels:
            parts.append(f"\x1b[7m {shown} · {self.states[shown] or '…'} \x1b[0m\n")
            parts.append(self.screens[shown].rstrip("\n") + "\n")
        self.out.write("".join(parts))
        self.out.flush()


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
