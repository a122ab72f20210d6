"""A run as its subscribers see it: every task's row, folded from its domain events alone
(a ``run-snapshot`` after a gap puts it right again), in the file's order. The live table
is drawn from it."""

from __future__ import annotations

import time

from tmuxorch.run import events
from tmuxorch.run.table import Row, progress

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tmuxorch.run.bus import Event

TERMINAL = frozenset({"succeeded", "failed", "skipped", "stopped"})
_WHOLE = frozenset({events.RUN_OPENED, events.RUN_SNAPSHOT, events.RUN_FINISHED})


class RunView:
    def __init__(self) -> None:
        self.run = ""
        self.session = ""
        self.order: list[str] = []
        self.rows: dict[str, Event] = {}

    def heading(self, rows: Sequence[Row]) -> list[str]:
        """What the table's heading says: the run, its session, how far it is."""
        session = f"session {self.session}" if self.session else ""
        return [f"tmuxorch run {self.run}", session, progress(rows)]

    def apply(self, event: Event) -> bool:
        """Take ``event`` in; whether a row changed."""
        kind = event["type"]
        if kind in _WHOLE:
            self.run = str(event["run"])
            self.session = str(event.get("session") or self.session)
            seen = {t: row["shown_pane"] for t, row in self.rows.items() if "shown_pane" in row}
            self.rows = {str(r["task"]): dict(r) for r in _rows(event)}
            for task, row in self.rows.items():
                pane = row.get("pane") or seen.get(task)
                if pane:
                    row["shown_pane"] = pane
            self.order = list(self.rows)
        elif kind == events.TASKS_ADDED:
            for row in _rows(event):
                self.rows[str(row["task"])] = dict(row)
            self._reorder(event)
        elif kind == events.TASKS_REMOVED:
            for task in event["ids"]:  # type: ignore[attr-defined]
                self.rows.pop(str(task), None)
            self._reorder(event)
        elif kind in events.TASK_EVENTS:
            row = self.rows.setdefault(str(event["task"]), {})
            row.update({k: event.get(k) for k in ROW_FIELDS})
            shown = event.get("pane") or event.get("attempt_pane")
            if shown:  # its last line is read from its latest pane, even once it is closed
                row["shown_pane"] = shown
            if str(event["task"]) not in self.order:
                self.order.append(str(event["task"]))
        elif kind == events.ACTIVITY and str(event["task"]) in self.rows:
            self.rows[str(event["task"])]["activity"] = event["activity"]
        elif kind == events.PANE_KEPT and str(event["task"]) in self.rows:
            self.rows[str(event["task"])]["pane"] = event["pane"]
        else:
            return False
        return True

    def _reorder(self, event: Event) -> None:
        order = event.get("order")
        if isinstance(order, list):
            self.order = [t for t in order if t in self.rows]

    def table(self, last_lines: Callable[[list[str]], dict[str, str]]) -> list[Row]:
        """The rows of the live table; ``last_lines(panes)`` the last line shown in each
        task's (latest) pane, whether it runs or has ended (asked once for all)."""
        now = time.time()
        rows = [(task, self.rows[task]) for task in self.order if task in self.rows]
        shown = {task: _shown(row) for task, row in rows}
        lines = last_lines([pane for pane in shown.values() if pane])
        table = []
        for task, row in rows:
            state = str(row.get("state") or "pending")
            started, ended = row.get("started"), row.get("ended")
            runtime = None
            if state == "running" and isinstance(started, float):
                runtime = now - started
            elif state in TERMINAL and isinstance(started, float) and isinstance(ended, float):
                runtime = ended - started
            pane = row.get("pane") or None
            if state == "running" and row.get("activity") == "waiting_input":
                state = "waiting_input"
            table.append(
                Row(
                    task=task,
                    state=state,
                    pane=str(pane) if pane else None,
                    attempt=int(row.get("attempt") or 0),  # type: ignore[call-overload]
                    runtime=runtime,
                    last_line=lines.get(shown[task] or "", ""),
                    exit_code=row.get("exit_code"),  # type: ignore[arg-type]
                    reason=row.get("reason"),  # type: ignore[arg-type]
                    allow_failure=bool(row.get("allow_failure")),
                    pull_request=row.get("pull_request"),  # type: ignore[arg-type]
                )
            )
        return table


def _shown(row: Event) -> str | None:
    """The pane whose last line a task's row shows: its latest (none while it is pending)."""
    pane = row.get("shown_pane") or row.get("pane")
    return str(pane) if pane and row.get("state") != "pending" else None


ROW_FIELDS = (
    *("state", "attempt", "pane", "exit_code", "reason", "started", "ended", "activity"),
    "allow_failure",
    "pull_request",
)


def _rows(event: Event) -> list[Event]:
    rows = event.get("tasks") or []
    assert isinstance(rows, list)
    return rows
