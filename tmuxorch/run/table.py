"""The table of a run's tasks as a person reads it (``tmuxorch run``'s live table,
``tmuxorch status``): a heading with the run's progress (``3/5 done · 1 running``), then
a row per task in the file's order. Whatever the terminal's width, a task's name and state
are whole and on one line; the last line of its agent is what gives way (and takes the
room a wide terminal has). rich is imported when the table is drawn, not before."""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.agents.failures import TASK_FAILED, WORDS
from tmuxorch.spec.duration import format_duration

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Sequence

    from rich.console import Console, ConsoleOptions, Group, RenderResult
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
    "blocked": "bold yellow",
    "needs_review": "bold yellow",
    "unknown": "bold magenta",
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
    "blocked": "!",
    "needs_review": "?",
    "unknown": "~",
}
OVER = ("succeeded", "failed", "skipped", "stopped")
"""A task in one of these states is done (whether it went well or not)."""
LAST_LINE_ROOM = 16
"""Cells the last-line column should keep in a narrow terminal: the pane, try and exit
columns are left out (in that order, then the time) before it gets fewer."""
LEFT_OUT = ("pane", "try", "exit", "time")


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
    allow_failure: bool = False
    """Its failure, if it fails, holds nothing back (shown as ``failed (allowed)``)."""

    @property
    def shown_state(self) -> str:
        return "failed (allowed)" if self.allowed else self.state

    @property
    def allowed(self) -> bool:
        """It failed, and may."""
        return self.state == "failed" and self.allow_failure

    pull_request: str | None = None
    """The pull request opened for its branch (``merge: pr``)."""
    failure: str | None = None
    """The class of its latest failure (rate_limited, auth...)."""
    retry_at: float | None = None
    """When it is tried again (wall clock), while it is retrying."""

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
            "allow_failure": self.allow_failure,
            "pull_request": self.pull_request,
            "failure": self.failure,
            "retry_at": self.retry_at,
        }

    @property
    def detail(self) -> str:
        """What the last column says: when a retrying task is tried again and why (``retry
        at 15:05 (usage limit)``), why a task ended as it did (after the class of its
        failure, unless that is the task's own), and the last line its agent showed; the
        pull request opened for its work."""
        why = ""
        if self.reason and self.state not in ("running", "waiting_input", "pending"):
            why = self.reason
        kind = WORDS.get(self.failure or "", "") if self.failure != TASK_FAILED else ""
        if self.state == "retrying" and self.retry_at is not None:
            when = f"retry at {clock_time(self.retry_at)}" + (f" ({kind})" if kind else "")
            why = f"{when} · {why}" if why else when
        elif kind and why:
            why = f"{kind}: {why}"
        if self.pull_request:
            why = f"pull request {self.pull_request} · {why}" if why else self.pull_request
        return f"{why} · {self.last_line}" if why and self.last_line else why or self.last_line


def clock_time(t: float, now: float | None = None) -> str:
    """A wall-clock time as a person reads it: ``15:05`` (``15:05:30`` within ten minutes;
    with its day if not today)."""
    import time

    now = time.time() if now is None else now
    local, today = time.localtime(t), time.localtime(now)
    shown = time.strftime("%H:%M:%S" if abs(t - now) < 600 else "%H:%M", local)
    if local[:3] != today[:3]:
        shown = time.strftime("%b %d ", local) + shown
    return shown


def last_line(lines: Sequence[str]) -> str:
    """The last line with something on it (of a screen, or a transcript's end), never
    tmux's own "Pane is dead" line on a pane kept after its program ended."""
    from tmuxorch.bridge.history import without_banner

    shown = [line for line in without_banner(list(lines)) if line.strip()]
    return shown[-1].strip() if shown else ""


def progress(rows: Sequence[Row]) -> str:
    """How far a run is: ``3/5 done (1 failed) · 1 running · 1 waiting for input``."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    done = sum(counts.get(state, 0) for state in OVER)
    allowed = sum(1 for row in rows if row.allowed)
    counts["failed"] = counts.get("failed", 0) - allowed
    counts["allowed"] = allowed
    named = {"allowed": "allowed failure" + "s" * (allowed > 1)}
    kinds = ("failed", "allowed", "stopped", "skipped")
    bad = [f"{counts[s]} {named.get(s, s)}" for s in kinds if counts.get(s)]
    said = f"{done}/{len(rows)} done" + (f" ({', '.join(bad)})" if bad else "")
    for state, words in (
        ("running", "running"),
        ("waiting_input", "waiting for input"),
        ("retrying", "retrying"),
        ("blocked", "blocked"),
        ("needs_review", "to review"),
        ("unknown", "unknown (host out of reach)"),
    ):
        if counts.get(state):
            said += f" · {counts[state]} {words}"
    return said


class Heading:
    """Parts of a heading joined by `` · ``; a line too long for the terminal is broken
    between two parts (never after a dot), and a part too long for a line is cut."""

    def __init__(self, parts: Sequence[str]) -> None:
        self.parts = [part for part in parts if part]

    def lines(self, width: int) -> list[str]:
        from rich.cells import cell_len

        lines: list[str] = []
        for part in self.parts:
            joined = f"{lines[-1]} · {part}" if lines else part
            if lines and cell_len(joined) <= width:
                lines[-1] = joined
            else:
                lines.append(part)
        return lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        for line in self.lines(options.max_width):
            yield Text(line, style="bold", no_wrap=True, overflow="ellipsis")


class TaskTable:
    """The rows as a rich table as wide as its terminal lets it be: ``fill`` spans the
    whole width (a live table that keeps its size), else it is as wide as what it shows."""

    def __init__(self, rows: Sequence[Row], *, fill: bool = False) -> None:
        self.rows = rows
        self.fill = fill

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.measure import Measurement

        left_out: list[str] = []
        for column in (None, *LEFT_OUT):
            if column is not None:
                left_out.append(column)
            bare = self.table(set(left_out), last_lines=False)
            needs = Measurement.get(console, options, bare).maximum + LAST_LINE_ROOM
            if needs <= options.max_width:
                break
        yield self.table(set(left_out), last_lines=True)

    def table(self, left_out: set[str], *, last_lines: bool) -> Table:
        from rich.table import Table
        from rich.text import Text

        grid = Table(expand=self.fill, pad_edge=False)
        fixed = {"no_wrap": True}
        for name, options in (
            ("task", {"style": "bold"}),
            ("state", {}),
            ("pane", {"style": "dim"}),
            ("try", {"justify": "right"}),
            ("time", {"justify": "right"}),
            ("exit", {"justify": "right"}),
        ):
            if name not in left_out:
                grid.add_column(name, **fixed, **options)  # type: ignore[arg-type]
        # the one column that may be narrowed (not no_wrap), its text cut rather than wrapped
        title = "last line / reason" if last_lines else ""
        heading = Text(title, no_wrap=True, overflow="ellipsis")
        grid.add_column(heading, ratio=1 if self.fill else None)
        for row in self.rows:
            style = STYLE["stopped"] if row.allowed else STYLE.get(row.state, "")
            cells = {
                "task": Text(row.task),
                "state": Text(f"{MARK.get(row.state, ' ')} {row.shown_state}", style=style),
                "pane": Text(row.pane or ""),
                "try": Text(str(row.attempt or "")),
                "time": Text(format_duration(row.runtime) if row.runtime is not None else ""),
                "exit": Text("" if row.exit_code is None else str(row.exit_code)),
            }
            shown = [cell for name, cell in cells.items() if name not in left_out]
            detail = row.detail if last_lines else ""
            grid.add_row(*shown, Text(detail, no_wrap=True, overflow="ellipsis"))
        return grid


def view(rows: Sequence[Row], heading: Sequence[str], *, fill: bool = False) -> Group:
    """The heading, then the table (a rich renderable)."""
    from rich.console import Group

    return Group(Heading(heading), TaskTable(rows, fill=fill))
