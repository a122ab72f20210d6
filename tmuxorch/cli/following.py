"""``tmuxorch status --follow``: a run followed from its state until it is over. A line for
each change (a task started, ended, waits for a person...), then the final table; on a
terminal the lines go above a live table (and stay in its scrollback), elsewhere (a pipe,
a log) they are printed as they come, the table once at the end."""

from __future__ import annotations

import sys
import time

from tmuxorch.cli.output import EXIT_OK
from tmuxorch.run.display import Display, unless_gone
from tmuxorch.run.table import clock_time
from tmuxorch.spec.duration import format_duration

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from tmuxorch.run.store import RunRow, Store
    from tmuxorch.run.table import Row
    from tmuxorch.tmux.client import Client

EVERY = 0.5
"""Seconds between two looks at the run's state."""
GRACE = 5.0
"""Seconds a run seen over at first is followed anyway (a new run of its file may be on its
way: one just starting may not have written itself down yet)."""


def follow(store: Store, run_row: RunRow, chosen: Client | None) -> int:
    """Follow the latest run of ``run_row``'s file until it is over."""
    from tmuxorch.cli.tasks import OVER, heading, rows

    lines = Lines(run_row.started, live=sys.stdout.isatty())
    began, seen_running = time.monotonic(), False
    followed = ""
    before: dict[str, Row] = {}
    try:
        while True:
            latest = store.runs(run_row.file)[0]
            if latest.id != followed:
                followed, before = latest.id, {}
                lines.started = latest.started
                lines.say(f"run {latest.id} ({latest.state}), session {latest.session}")
            found = rows(store, latest, chosen=chosen, last_lines=lines.live is not None)
            for line in changes(before, found):
                lines.say(line)
            before = {row.task: row for row in found}
            seen_running = seen_running or latest.state == "running"
            over = latest.state in OVER and (seen_running or time.monotonic() - began > GRACE)
            if over:
                reason = f": {latest.reason}" if latest.reason else ""
                lines.say(f"run {latest.id} {latest.state}{reason}")
                _until_whole(latest.file)
                found = rows(store, latest, chosen=chosen)
                lines.close(found, heading(latest, found))
                return EXIT_OK
            lines.draw(found, heading(latest, found))
            time.sleep(EVERY)
    except KeyboardInterrupt:
        lines.close(None, [])
        return EXIT_OK


def _until_whole(file: str) -> None:
    """A run said to be over still makes its transcripts whole (their last lines are the
    final table's) until its supervisor lets go of the file: wait for that, a while."""
    from tmuxorch.run.opening import supervisor_alive

    deadline = time.monotonic() + SETTLE
    while supervisor_alive(file) and time.monotonic() < deadline:
        time.sleep(0.05)


SETTLE = 5.0
"""Seconds the final table waits for a finished run's supervisor to complete its
transcripts."""


class Lines:
    """Where a follower's lines and tables go: a live table with the lines above it, or
    plain lines then the final table."""

    def __init__(self, started: float, *, live: bool) -> None:
        from tmuxorch.run.live import LiveTable

        self.started = started
        """Wall-clock start of the run followed (lines say the time since)."""
        self.live = LiveTable() if live else None

    def say(self, text: str) -> None:
        stamp = f"[{format_duration(max(0.0, time.time() - self.started)):>6}] "
        if self.live is not None:
            self.live.say(stamp, text)
            return
        with unless_gone():
            print(stamp + text, flush=True)

    def draw(self, found: Sequence[Row], heading: Sequence[str]) -> None:
        if self.live is not None:
            from tmuxorch.run.table import view

            self.live.draw(view(found, heading, fill=True))

    def close(self, found: Sequence[Row] | None, heading: Sequence[str]) -> None:
        """The last table stays on the screen (``found`` None: as it was)."""
        if self.live is not None:
            if found is not None:
                self.draw(found, heading)
            self.live.stop()
        elif found is not None:
            Display().close(found, heading)


def changes(before: dict[str, Row], found: Sequence[Row]) -> list[str]:
    """A line for each task whose state (or attempt) is not what it was ``before``."""
    said = []
    for row in found:
        line = _change(before.get(row.task), row)
        if line:
            said.append(line)
    return said


def _change(old: Row | None, new: Row) -> str | None:
    task, state = new.task, new.state
    if old is None and state == "pending":
        return None  # nothing to say yet
    if old is not None and (old.state, old.attempt) == (state, new.attempt):
        return None
    if state == "waiting_input":
        return f"{task}: waiting for input (tmuxorch attach {task})"
    if state == "running":
        if old is not None and old.state == "waiting_input" and old.attempt == new.attempt:
            return None  # answered: it works on
        again = f" (attempt {new.attempt})" if new.attempt > 1 else ""
        return f"{task}: started" + (f" in {new.pane}" if new.pane else "") + again
    if state == "succeeded":
        took = "" if new.runtime is None else f" in {format_duration(new.runtime)}"
        return f"{task}: succeeded{took}"
    kind = f" [{new.failure}]" if new.failure else ""
    if state == "retrying":
        when = f" at {clock_time(new.retry_at)}" if new.retry_at is not None else ""
        return f"{task}: {new.reason or 'failed'}{kind}; retrying{when}"
    if state == "pending":
        return f"{task}: pending (will run again)"
    return f"{task}: {state}{kind}" + (f" ({new.reason})" if new.reason else "")
