"""What a run shows a person: a live table on a terminal, plain event lines elsewhere."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass

from tmuxorch.spec.duration import format_duration

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from rich.live import Live
    from rich.table import Table

STYLE = {
    "pending": "dim",
    "running": "bold cyan",
    "retrying": "yellow",
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "magenta",
    "stopped": "red",
    "waiting_input": "bold yellow",
}
MARK = {
    "pending": "·",
    "running": "▶",
    "retrying": "↻",
    "succeeded": "✓",
    "failed": "✗",
    "skipped": "⊘",
    "stopped": "■",
    "waiting_input": "?",
}


@dataclass(frozen=True)
class Row:
    task: str
    state: str
    pane: str | None
    attempt: int
    runtime: float | None
    last_line: str
    exit_code: int | None
    reason: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "task": self.task,
            "state": self.state,
            "pane": self.pane,
            "attempt": self.attempt,
            "runtime": None if self.runtime is None else round(self.runtime, 3),
            "last_line": self.last_line,
            "exit_code": self.exit_code,
            "reason": self.reason,
        }


def table(rows: Sequence[Row], title: str = "") -> Table:
    from rich.table import Table

    grid = Table(title=title or None, title_justify="left", expand=False, pad_edge=False)
    for column, kwargs in (
        ("task", {"style": "bold"}),
        ("state", {}),
        ("pane", {"style": "dim"}),
        ("try", {"justify": "right"}),
        ("time", {"justify": "right"}),
        ("exit", {"justify": "right"}),
        ("last line / reason", {"overflow": "ellipsis", "no_wrap": True, "max_width": 70}),
    ):
        grid.add_column(column, **kwargs)
    for row in rows:
        style = STYLE.get(row.state, "")
        grid.add_row(
            row.task,
            f"[{style}]{MARK.get(row.state, ' ')} {row.state}[/]",
            row.pane or "",
            str(row.attempt or ""),
            format_duration(row.runtime) if row.runtime is not None else "",
            "" if row.exit_code is None else str(row.exit_code),
            row.reason if row.reason and row.state not in ("running", "pending") else row.last_line,
        )
    return grid


class Display:
    """Plain lines: one per event (CI logs, pipes)."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def event(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        with _unless_gone():
            print(f"[{format_duration(elapsed):>6}] {text}", flush=True)

    def update(self, rows: Sequence[Row], title: str) -> None:
        del rows, title

    def wants_last_lines(self) -> bool:
        return False

    def close(self, rows: Sequence[Row], title: str) -> None:
        from rich.console import Console

        with _unless_gone():
            Console(file=sys.stdout, width=140).print(table(rows, title))
            sys.stdout.flush()


@contextlib.contextmanager
def _unless_gone() -> Iterator[None]:
    """Write to stdout unless its reader has gone (``tmuxorch run FILE | head``): the run
    must outlive its stdout, so from then on what it says goes nowhere."""
    try:
        yield
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # and Python's last flush, at exit, succeeds
        os.close(devnull)


class LiveDisplay(Display):
    """A table redrawn in place (a terminal, or the ``tmuxorch`` window of a session).
    rich is loaded when the table is first drawn, not before the first agents start."""

    def __init__(self) -> None:
        super().__init__()
        self.live: Live | None = None
        self.lines: list[str] = []

    def event(self, text: str) -> None:
        elapsed = time.monotonic() - self.started
        self.lines = [*self.lines[-5:], f"[{format_duration(elapsed):>6}] {text}"]

    def update(self, rows: Sequence[Row], title: str) -> None:
        from rich.console import Group
        from rich.text import Text

        if self.live is None:
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(), auto_refresh=False, transient=False)
            self.live.start()
        self.live.update(Group(table(rows, title), Text("\n".join(self.lines), style="dim")))
        self.live.refresh()

    def wants_last_lines(self) -> bool:
        return True

    def close(self, rows: Sequence[Row], title: str) -> None:
        self.update(rows, title)
        assert self.live is not None
        self.live.stop()


class DisplayFeed:
    """A display as a subscriber of a run's bus: a line for each event that says something
    (:mod:`tmuxorch.run.words`), the table redrawn when a row changes and on each tick (for
    the agents' last lines, ``last_line(pane)``), the final table when the run is over."""

    def __init__(self, display: Display, last_line: Callable[[str], str]) -> None:
        from tmuxorch.run.view import RunView

        self.display = display
        self.last_line = last_line
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
            self.display.close(self.view.table(self.last_line), self.view.title)
        elif changed or said:
            self._draw()

    def _draw(self) -> None:
        self.display.update(self.view.table(self.last_line), self.view.title)
