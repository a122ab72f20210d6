"""What a run shows a person: on a terminal, a line per event kept in its scrollback above a
live table of the tasks; elsewhere, plain event lines, then the final table."""

from __future__ import annotations

import contextlib
import os
import sys
import time

from tmuxorch.spec.duration import format_duration

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.console import Console

    from tmuxorch.run.table import Row

PIPE_WIDTH = 160
"""Columns of the final table when stdout is no terminal (and ``$COLUMNS`` is not set)."""


class Display:
    """Plain lines: one per event (CI logs, pipes), then the final table."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def event(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        with unless_gone():
            print(f"[{format_duration(elapsed):>6}] {text}", flush=True)

    def update(self, rows: Sequence[Row], heading: Sequence[str]) -> None:
        del rows, heading

    def wants_last_lines(self) -> bool:
        return False

    def close(self, rows: Sequence[Row], heading: Sequence[str]) -> None:
        from tmuxorch.run.table import view

        with unless_gone():
            console().print(view(rows, heading))
            sys.stdout.flush()


def console() -> Console:
    """A rich console on stdout: as wide as its terminal, or :data:`PIPE_WIDTH` (or
    ``$COLUMNS``) when it is none."""
    from rich.console import Console

    if sys.stdout.isatty():
        return Console(file=sys.stdout)
    columns = os.environ.get("COLUMNS", "")
    return Console(file=sys.stdout, width=int(columns) if columns.isdigit() else PIPE_WIDTH)


@contextlib.contextmanager
def unless_gone() -> Iterator[None]:
    """Write to stdout unless its reader has gone (``tmuxorch run FILE | head``): the run
    must outlive its stdout, so from then on what it says goes nowhere."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # and Python's last flush, at exit, succeeds
        os.close(devnull)


class LiveDisplay(Display):
    """A table redrawn in place at the bottom of a terminal (or of the ``tmuxorch`` window
    of a session), as wide as it is; each event's line printed above it, into the
    terminal's scrollback (:mod:`tmuxorch.run.live`). rich is loaded when the first line
    or table is drawn, not before the first agents start."""

    def __init__(self) -> None:
        from tmuxorch.run.live import LiveTable

        super().__init__()
        self.live = LiveTable()

    def event(self, text: str) -> None:
        elapsed = format_duration(time.monotonic() - self.started)
        self.live.say(f"[{elapsed:>6}] ", text)

    def update(self, rows: Sequence[Row], heading: Sequence[str]) -> None:
        from tmuxorch.run.table import view

        self.live.draw(view(rows, heading, fill=True))

    def wants_last_lines(self) -> bool:
        return True

    def close(self, rows: Sequence[Row], heading: Sequence[str]) -> None:
        self.update(rows, heading)
        self.live.stop()


class DisplayFeed:
    """A display as a subscriber of a run's bus: a line for each event that says something
    (:mod:`tmuxorch.run.words`), the table redrawn when a row changes and on each tick (for
    the agents' last lines, ``last_lines(panes)``), the final table when the run is over
    (once ``settle()`` returns: what the last lines are read from is complete)."""

    def __init__(
        self,
        display: Display,
        last_lines: Callable[[list[str]], dict[str, str]],
        settle: Callable[[], None] = lambda: None,
    ) -> None:
        from tmuxorch.run.view import RunView

        self.display = display
        self.last_lines = last_lines
        self.settle = settle
        self.view = RunView()

    def __call__(self, event: dict[str, object]) -> None:
        from tmuxorch.run import events, words

        kind = event["type"]
        if kind == "tick":
            if self.display.wants_last_lines():
                self._draw()
            return
        if kind == "gap":
            self.display.event(f"(the display missed {event.get('dropped')} event(s))")
        changed = self.view.apply(event)
        said = words.lines(event)
        for line in said:
            self.display.event(line)
        if kind == events.RUN_FINISHED:
            self.settle()
            rows = self.view.table(self.last_lines)
            self.display.close(rows, self.view.heading(rows))
        elif changed or said:
            self._draw()

    def _draw(self) -> None:
        rows = self.view.table(self.last_lines)
        self.display.update(rows, self.view.heading(rows))
