"""Domain events as the lines a person reads (the run's log on its terminal; later the chat
channels): one line per event, or none for those that say nothing new to a person."""

from __future__ import annotations

from tmuxorch.agents.failures import LIMITS
from tmuxorch.run import events
from tmuxorch.run.notify import breaker_words, stalled_words
from tmuxorch.run.table import clock_time

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.run.bus import Event


def lines(event: Event) -> list[str]:
    say = _SAY.get(str(event["type"]))
    return say(event) if say else []


def _opened(e: Event) -> list[str]:
    if e.get("resumed"):
        return [f"resuming run {e['run']}"]
    count = len(e["tasks"])  # type: ignore[arg-type]
    return [f"run {e['run']}: {count} task(s), session {e['session']!r}"]


def _started(e: Event) -> list[str]:
    attempt = e["attempt"]
    again = f" (attempt {attempt})" if isinstance(attempt, int) and attempt > 1 else ""
    where = f" in worktree {e['branch']}" if e.get("branch") else ""
    return [f"{e['task']}: started in {e['pane']}{again}{where}"]


def _ended(e: Event) -> list[str]:
    """``t: failed [auth] (why; what to do)``, ``t: why [network]; retrying in 2.0s``, ``t:
    why [usage_limit]; waiting until 15:05 (not counted as a retry)``."""
    task, outcome, reason = e["task"], e["outcome"], e["reason"]
    failure = e.get("failure")
    kind = f" [{failure}]" if failure else ""
    if e.get("resolved") == "approve":
        return [f"{task}: approved" + ("" if outcome == "succeeded" else f", but {reason}")]
    if outcome == "succeeded":
        return [f"{task}: succeeded in {float(e['took']):.1f}s"]  # type: ignore[arg-type]
    if outcome == "retrying":
        if e.get("elsewhere"):
            return [f"{task}: {reason}{kind}; its next agent takes over"]
        if failure in LIMITS and isinstance(e.get("retry_at"), float):
            at = clock_time(e["retry_at"], float(e["t"]))  # type: ignore[arg-type]
            return [f"{task}: {reason}{kind}; waiting until {at} (not counted as a retry)"]
        return [f"{task}: {reason}{kind}; retrying in {float(e['retry_in'] or 0):.1f}s"]  # type: ignore[arg-type]
    if outcome == "interrupted":
        return []
    if outcome in ("blocked", "needs_review"):
        said = f": {reason}" if reason else ""
        how = (
            f"tmuxorch unblock {task} --note TEXT"
            if outcome == "blocked"
            else (f"tmuxorch approve {task}, or reject {task} --reason TEXT")
        )
        return [f"{task}: {outcome.replace('_', ' ')}{said} ({how})"]
    if outcome == "failed" and e.get("allow_failure"):
        return [f"{task}: failed{kind} ({reason}); allowed: what depends on it goes on"]
    return [f"{task}: {outcome}{kind} ({reason})"]


def _added(e: Event) -> list[str]:
    if not e.get("follows"):
        return []
    rows = e["tasks"]
    assert isinstance(rows, list)
    return [f"{row['task']}: follows {e['follows']}, which succeeded" for row in rows]


def _reloaded(e: Event) -> list[str]:
    parts = []
    for label in ("added", "changed", "removed"):
        ids = e[label]
        assert isinstance(ids, list)
        if ids:
            parts.append(f"{label} {', '.join(ids)}")
    said = ["tasks reloaded: " + ("; ".join(parts) or "settings changed")]
    ignored = e["ignored"]
    assert isinstance(ignored, list)
    if ignored:
        said.append(
            f"edits to {', '.join(ignored)} ignored: they have started, and go on as they began"
        )
    return said


def _finished(e: Event) -> list[str]:
    if e["state"] != "finished":
        return []
    kept = e.get("kept_worktrees") or []
    assert isinstance(kept, list)
    summary = f": {e['summary']}" if e.get("summary") else ""
    said = [f"run {e['run']} finished{summary}", *(f"worktree kept: {k}" for k in kept)]
    proposed = e.get("pull_requests") or []
    assert isinstance(proposed, list)
    for p in proposed:
        opened = p["url"] or f"not opened ({p['branch']} pushed to {p['remote']})"
        said.append(f"pull request: {p['task']}: {opened}")
    return said


def _reset(e: Event) -> list[str]:
    if e.get("resolved"):
        done = {"reject": "rejected", "unblock": "unblocked"}.get(str(e["resolved"]), "reset")
        said = f" ({e['words']})" if e.get("words") else ""
        return [f"{e['task']}: {done}{said}; will run again"]
    return [f"{e['task']}: will run again"] if e.get("requested") == e["task"] else []


_SAY: dict[str, Callable[[Event], list[str]]] = {
    events.RUN_OPENED: _opened,
    events.STARTED: _started,
    events.ADOPTED: lambda e: [f"{e['task']}: adopted {e['pane']} (attempt {e['attempt']})"],
    events.ENDED: _ended,
    events.SKIPPED: lambda e: [f"{e['task']}: skipped ({e['reason']})"],
    events.STOPPED: lambda e: [f"{e['task']}: stopped ({e['reason']})"],
    events.RESET: _reset,
    events.TASKS_ADDED: _added,
    events.TASK_ADDED: lambda e: [f"{e['task']}: added to the run"],
    events.WAITING: lambda e: [f"{e['task']}: waiting for input (tmuxorch attach {e['task']})"],
    events.BREAKER: lambda e: [breaker_words(e)],
    events.AGENT_CHOSEN: lambda e: [f"{e['task']}: runs on {e['agent']} ({e['why']})"],
    events.STALLED: lambda e: [f"{e['task']}: {stalled_words(e)}"],
    events.RELOADED: _reloaded,
    events.NOTE: lambda e: [str(e["text"])],
    events.RUN_FINISHED: _finished,
}
