"""A run as its subscribers see it: every task's row, folded from its domain events alone
(a ``run-snapshot`` after a gap puts it right again). The live table is drawn from it."""

from __future__ import annotations

import time

from tmuxorch.run import events
from tmuxorch.run.display import Row

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.run.bus import Event

TERMINAL = frozenset({"succeeded", "failed", "skipped", "stopped"})
_WHOLE = frozenset({events.RUN_OPENED, events.RUN_SNAPSHOT, events.RUN_FINISHED})


class RunView:
    def __init__(self) -> None:
        self.run = ""
        self.session = ""
        self.order: list[str] = []
        self.rows: dict[str, Event] = {}

    @property
    def title(self) -> str:
        return f"tmuxorch run {self.run} · session {self.session}"

    def apply(self, event: Event) -> bool:
        """Take ``event`` in; whether a row changed."""
        kind = event["type"]
        if kind in _WHOLE:
            self.run = str(event["run"])
            self.session = str(event.get("session") or self.session)
            self.rows = {str(r["task"]): dict(r) for r in _rows(event)}
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

    def table(self, last_line: Callable[[str], str]) -> list[Row]:
        """The rows of the live table; ``last_line(pane)`` for a running task."""
        now = time.time()
        table = []
        for task in self.order:
            row = self.rows.get(task)
            if row is None:
                continue
            state = str(row.get("state") or "pending")
            started, ended = row.get("started"), row.get("ended")
            runtime = None
            if state == "running" and isinstance(started, float):
                runtime = now - started
            elif state in TERMINAL and isinstance(started, float) and isinstance(ended, float):
                runtime = ended - started
            pane = row.get("pane") or None
            live = state == "running" and isinstance(pane, str)
            if state == "running" and row.get("activity") == "waiting_input":
                state = "waiting_input"
            table.append(
                Row(
                    task=task,
                    state=state,
                    pane=str(pane) if pane else None,
                    attempt=int(row.get("attempt") or 0),  # type: ignore[call-overload]
                    runtime=runtime,
                    last_line=last_line(str(pane)) if live else "",
                    exit_code=row.get("exit_code"),  # type: ignore[arg-type]
                    reason=row.get("reason"),  # type: ignore[arg-type]
                )
            )
        return table


ROW_FIELDS = ("state", "attempt", "pane", "exit_code", "reason", "started", "ended", "activity")


def _rows(event: Event) -> list[Event]:
    rows = event.get("tasks") or []
    assert isinstance(rows, list)
    return rows
