"""``tmuxorch watch``: panes, live; a task through its life."""

from __future__ import annotations

import sys
import time

from tmuxorch.agents.patterns import of_pane
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.send import Target, UnknownTarget, match, panes, split_target, unknown
from tmuxorch.cli.on_hosts import pane_there
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, info
from tmuxorch.cli.printers import JsonPrinter, LogPrinter, MirrorPrinter
from tmuxorch.run.whereabouts import Whereabouts, find_task
from tmuxorch.tmux import holding
from tmuxorch.tmux.client import Client, TmuxError
from tmuxorch.tmux.panes import run_sessions

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from tmuxorch.bridge.poller import Event
    from tmuxorch.run.store import RunRow


RECHECK = 0.25
"""Seconds between looks for the pane of a task that has none yet (pending, retrying)."""
STARTING = 5.0
"""Seconds a task target no run knows yet is waited for (a run started at the same
instant makes its session and panes within this) before it is called unknown."""


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
    here: RunRow | None = None
    where_of: dict[str, Whereabouts] = {}  # task target (or its pane on a host) → its run
    if len(targets) == 1 and (not targets[0].startswith("%") or "@" in targets[0]):
        try:  # a task on one of its run's hosts (or its pane, %ID@HOST): there, over ssh
            there = pane_there(client, targets[0], guess=not client.server_args)
        except TmuxError as exc:
            return fail(str(exc))
        if there is not None:  # its pane there; what it printed last, from its transcript
            client, targets = there[0], [there[1]]
            where_of[there[1]] = there[2]
    if not client.server_args:  # no -L/-S: the run here may have a server of its own
        try:
            client, here = _server_for(client, targets)
        except TmuxError as exc:
            return fail(str(exc))
    live: dict[str, Target] = {}
    waiting: dict[str, int] = {}  # task target → attempt already followed (0: none)
    new: set[str] = set()  # targets that appeared while looked for: from their first line
    for target in dict.fromkeys(targets):
        try:
            found, waited = _found(client, target, here)
        except TmuxError as exc:
            return fail(str(exc))
        if isinstance(found, UnknownTarget):
            return fail(str(unknown(client, found.target, found.valid)), EXIT_BAD_INPUT)
        if isinstance(found, Target):
            live[target] = found
            if waited:
                new.add(target)
        else:
            where = where_of[target] = found
            if where.coming:
                info(f"{where.describe()}: following it once it has a pane")
                # between two attempts: the one that just ended is shown too (its transcript)
                last = max(0, where.ended_attempts - 1)
                waiting[target] = 0 if from_start or waited else last
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
    held: set[str] = set()  # panes kept open until this viewer has read their end

    def follow(target: str, pane: Target, *, whole: bool) -> None:
        following[pane.pane] = target
        if not target.startswith("%") and target not in where_of:
            where = find_task(client, target)
            if where is not None:
                where_of[target] = where
        if not pane.dead and holding.hold(client, pane.pane):
            held.add(pane.pane)
        if whole and isinstance(printer, LogPrinter):
            printer.whole.add(pane.pane)
        poller.watch(
            pane.pane,
            label=pane.label,
            patterns=of_pane(pane.agent, pane.patterns),
            from_start=whole,
        )

    checked = time.monotonic()
    read: dict[str, int] = {}  # pane → lines of it seen (its transcript has them too)
    try:  # from the first hold on: whatever happens, the panes held are let go
        for target, pane in live.items():
            follow(target, pane, whole=from_start or target in new)
        subscription = poller.subscribe()
        with poller:
            while following or waiting:
                event = subscription.get(timeout=RECHECK if waiting else None)
                if event is not None:
                    pane_id = str(event["pane"])
                    if event["type"] == "lines":
                        start, lines = event["start"], event["lines"]
                        assert isinstance(start, int) and isinstance(lines, list)
                        read[pane_id] = max(read.get(pane_id, 0), start + len(lines))
                    elif event["type"] == "gone" and pane_id in following:
                        target = following[pane_id]
                        if target in where_of:  # the rest is in its transcript
                            path = where_of[target].transcript(live[target].attempt)
                            rest = _transcript_event(path, event, read.get(pane_id, 0))
                            if rest is not None:
                                printer(rest)
                    printer(event)
                    if event["type"] in ("exit", "gone"):
                        if pane_id in held:
                            held.discard(pane_id)
                            holding.release(client, pane_id)
                        target = following.pop(pane_id, "")
                        if target and not target.startswith("%"):
                            waiting[target] = int(live[target].attempt)
                if waiting and time.monotonic() - checked >= RECHECK:
                    checked = time.monotonic()
                    for target, pane in _arrived(client, waiting, where_of, printer):
                        live[target] = pane
                        follow(target, pane, whole=True)  # from its first line: nothing lost
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:  # `tmuxorch watch ... | head`
        return EXIT_OK
    finally:
        for pane_id in held:
            holding.release(client, pane_id)
    return EXIT_OK


def _server_for(client: Client, targets: list[str]) -> tuple[Client, RunRow | None]:
    """The server to follow ``targets`` on, and the run here if it was looked up:
    ``client``'s, unless none of the task targets is on it and the server the run here
    ran on (the run ``status`` shows) has one."""
    tasks = [t for t in targets if not t.startswith("%")]
    if not tasks or any(_there(client, t) for t in tasks):
        return client, None
    from tmuxorch.cli.runs import other_server, run_here

    run = run_here(client)
    other = None if run is None else other_server(run, client)
    if other is not None and any(_there(other, t) for t in tasks):
        return other, run
    return client, run


def _there(client: Client, target: str) -> bool:
    """Whether ``target`` is a pane on ``client``'s server or a task of a run there."""
    try:
        match(panes(client), target, dead=True)
    except UnknownTarget:
        return find_task(client, target) is not None
    return True


def _found(
    client: Client, target: str, here: RunRow | None = None
) -> tuple[Target | Whereabouts | UnknownTarget, bool]:
    """``target``'s pane, or where its task is (no pane now: in a run on the server, or in
    the run ``here`` whose server may be gone); unknown once a task target has been looked
    for :data:`STARTING` seconds (a run started with this command makes its session
    meanwhile). True with it when it had to be waited for."""
    from tmuxorch.cli.runs import task_in

    deadline = time.monotonic() + STARTING
    waited = False
    while True:
        try:
            return match(panes(client), target), waited
        except UnknownTarget as exc:
            where = None if target.startswith("%") else find_task(client, target)
            if where is None and here is not None and not target.startswith("%"):
                where = task_in(here, target)
            if where is not None and not (where.newer and time.monotonic() < deadline):
                return where, waited
            if target.startswith("%") or time.monotonic() >= deadline:
                return exc, waited
        waited = True
        time.sleep(0.1)


def _arrived(
    client: Client,
    waiting: dict[str, int],
    where_of: dict[str, Whereabouts],
    printer: Callable[[Event], None],
) -> list[tuple[str, Target]]:
    """Task targets whose next attempt has a pane (alive, or ended and not yet closed).
    Attempts that came and went between two looks are printed from their transcripts
    (the run may be over, its session closed: its store still says); targets that will
    have no pane again are forgotten."""
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
        known = where_of.get(target)
        where = known.again() if known is not None else find_task(client, target, sessions)
        if where is not None:
            where_of[target] = where
        if pane is not None and pane.attempt > seen:
            if where is not None:  # attempts that came and went before this one
                _from_transcripts(where, range(seen + 1, pane.attempt), printer)
            arrived.append((target, pane))
            del waiting[target]
            continue
        if where is None:
            del waiting[target]
            continue
        ended = range(seen + 1, where.ended_attempts + 1)
        _from_transcripts(where, ended, printer)
        waiting[target] = max(seen, where.ended_attempts)
        if not where.coming:
            del waiting[target]
    return arrived


def _from_transcripts(
    where: Whereabouts, attempts: range, printer: Callable[[Event], None]
) -> None:
    """Attempts that ended before this viewer saw them, printed from their transcripts."""
    for attempt in attempts:
        shown: Event = {"pane": f"{where.task}.{attempt}", "label": where.task}
        rest = _transcript_event(where.transcript(attempt), shown, 0)
        if rest is not None:
            printer(rest)


def _transcript_event(path: str, of: Event, start: int) -> Event | None:
    """An attempt's transcript from line ``start`` on, as a ``lines`` event of the pane
    ``of`` names (it ended before this viewer read it all); None if nothing is left."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()[start:]
    except FileNotFoundError:
        return None
    if not lines:
        return None
    return {
        "type": "lines",
        "pane": of["pane"],
        "label": of["label"],
        "start": start,
        "lines": lines,
        "transcript": path,
    }
