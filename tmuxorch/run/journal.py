"""The store as a subscriber of a run's bus: each domain event becomes one transaction in
``.tmuxorch/state.db`` (see :mod:`tmuxorch.run.store`), so ``status``, ``logs``, ``stop``
and a later supervisor read what the run decided. Subscribed inline: an attempt is on
record before its pane is made, so a crash can never make a task run twice."""

from __future__ import annotations

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.bus import Event
    from tmuxorch.run.store import Store


class Journal:
    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, event: Event) -> None:
        write = getattr(self, "_" + str(event["type"]).replace("-", "_"), None)
        if write is not None:
            write(str(event["run"]), event)

    def _run_opened(self, run: str, event: Event) -> None:
        ids = [str(row["task"]) for row in _rows(event)]
        if event["resumed"]:
            self.store.add_tasks(run, ids)
            self.store.adopt(run)
        else:
            server = tuple(str(a) for a in event["server"])  # type: ignore[attr-defined]
            self.store.new_run(run, str(event["file"]), str(event["session"]), server, ids)
        self._allowed(run, event)

    def _tasks_added(self, run: str, event: Event) -> None:
        self.store.add_tasks(run, [str(row["task"]) for row in _rows(event)])
        self._allowed(run, event)

    def _allowed(self, run: str, event: Event) -> None:
        allowed = [str(row["task"]) for row in _rows(event) if row.get("allow_failure")]
        if allowed:
            self.store.allow_failures(run, allowed)

    def _task_added(self, run: str, event: Event) -> None:
        self.store.event(run, _task(event), "added", {"tasks": event["tasks"]})

    def _tasks_removed(self, run: str, event: Event) -> None:
        ids = [str(t) for t in event["ids"]]  # type: ignore[attr-defined]
        self.store.remove_tasks(run, ids, str(event["reason"]))

    def _attempt_starting(self, run: str, event: Event) -> None:
        pane = event["pane"]
        self.store.start_attempt(
            run,
            _task(event),
            _int(event["attempt"]),
            None if pane is None else str(pane),
            None,
            float(event["started"]),  # type: ignore[arg-type]
            host=None if event.get("host") is None else str(event["host"]),
        )

    def _task_started(self, run: str, event: Event) -> None:
        pane, pid = str(event["pane"]), _int(event["pid"])
        self.store.attempt_opened(run, _task(event), _int(event["attempt"]), pane, pid)

    def _task_adopted(self, run: str, event: Event) -> None:
        if event.get("record"):  # made but never recorded
            self._task_started(run, event)

    def _attempt_forgotten(self, run: str, event: Event) -> None:
        self.store.forget_attempt(run, _task(event), _int(event["forgotten"]))

    def _task_activity(self, run: str, event: Event) -> None:
        activity = str(event["activity"])
        self.store.update_task(run, _task(event), f"agent-{activity}", activity=activity)

    def _task_host(self, run: str, event: Event) -> None:
        kind = f"host-{event['link']}"  # its state: unknown while the link is cut
        self.store.update_task(run, _task(event), kind, state=event["state"])

    def _task_conversation(self, run: str, event: Event) -> None:
        self.store.update_task(run, _task(event), "session", session=event["session"])

    def _task_ended(self, run: str, event: Event) -> None:
        outcome = str(event["outcome"])
        fields: dict[str, object] = {"state": event["state"], "reason": event["reason"]}
        fields["allow_failure"] = bool(event.get("allow_failure"))
        fields["pane"] = None  # it closes (``pane-kept`` says when it stays)
        if outcome == "interrupted":
            fields["started"] = None  # pending again: no runtime, no pane
        else:
            fields.update(exit_code=event["exit_code"], ended=event["ended"])
            fields["retry_at"] = event.get("retry_at")
            fields.update(failure=event.get("failure"), waits=event.get("waits") or 0)
        failure = event.get("failure")
        self.store.end_attempt(
            run,
            _task(event),
            _int(event["attempt"]),
            exit_code=None if outcome == "interrupted" else event["exit_code"],  # type: ignore[arg-type]
            outcome=outcome,
            reason=event["reason"],  # type: ignore[arg-type]
            task_fields=fields,
            failure=None if failure is None else str(failure),
        )

    def _task_skipped(self, run: str, event: Event) -> None:
        self.store.update_task(
            run, _task(event), "skipped", state="skipped", reason=event["reason"]
        )

    def _task_stopped(self, run: str, event: Event) -> None:
        task, reason = _task(event), event["reason"]
        if event.get("live") is None:
            self.store.update_task(run, task, "stopped", state="stopped", reason=reason)
            return
        fields = {"state": "stopped", "reason": reason, "ended": event["ended"], "pane": None}
        self.store.end_attempt(
            run,
            task,
            _int(event["live"]),
            exit_code=None,
            outcome="stopped",
            reason=reason,  # type: ignore[arg-type]
            task_fields=fields,
        )

    def _pane_kept(self, run: str, event: Event) -> None:
        self.store.update_task(run, _task(event), "pane-kept", pane=event["pane"])

    def _task_reset(self, run: str, event: Event) -> None:
        self.store.update_task(
            run, _task(event), "retry-requested", state="pending", reason=None, failure=None
        )

    def _task_agent(self, run: str, event: Event) -> None:
        """Which agent its attempt runs, and why (a fallback, a route): in its events."""
        self.store.event(run, _task(event), "agent", {k: event[k] for k in ("agent", "why")})

    def _agent_breaker(self, run: str, event: Event) -> None:
        data = {k: event[k] for k in ("agent", "state", "until")}
        self.store.event(run, None, "breaker", data)

    def _tasks_reloaded(self, run: str, event: Event) -> None:
        data = {key: event[key] for key in ("added", "changed", "removed", "ignored")}
        self.store.event(run, None, "reloaded", data)

    def _note(self, run: str, event: Event) -> None:
        if event.get("pull_request"):
            url = event["pull_request"]
            self.store.update_task(run, _task(event), "pull-request", pull_request=url)

    def _run_finished(self, run: str, event: Event) -> None:
        self.store.end_run(run, str(event["state"]), str(event["reason"]))


def _task(event: Event) -> str:
    return str(event["task"])


def _int(value: object) -> int:
    assert isinstance(value, int)
    return value


def _rows(event: Event) -> list[Event]:
    rows = event["tasks"]
    assert isinstance(rows, list)
    return rows
