"""What an agent says of its own work, in its result (``$TMUXORCH_RESULT``): a JSON object
may carry ``status`` — ``done`` (the default), ``blocked`` (it cannot go on without a
person) or ``needs_review`` (a person should look before what depends on it goes on) — and
a ``summary`` (and, for ``blocked``, a ``reason``). A task whose ``result_schema`` names a
JSON Schema must leave a result that satisfies it; one that does not failed
(``task_failed``), the first violation its reason.

``blocked`` and ``needs_review`` are task states that wait for a person:
``tmuxorch unblock TASK [--note TEXT]`` runs it again with the note in its prompt,
``tmuxorch approve TASK`` makes it a success, ``tmuxorch reject TASK --reason TEXT`` runs it
again with the reviewer's words in its prompt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from tmuxorch.run import results

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt

BLOCKED = "blocked"
NEEDS_REVIEW = "needs_review"
STATUSES = ("done", BLOCKED, NEEDS_REVIEW)
NOTES = {
    "unblock": "You stopped because you were blocked. A person answered:\n\n{text}\n\nGo on.",
    "reject": (
        "A reviewer did not approve your last attempt:\n\n{text}\n\n"
        "Address this, then finish the task again."
    ),
}
"""What the next attempt's prompt is given after an ``unblock`` or a ``reject``."""


@dataclass(frozen=True)
class Verdict:
    state: str | None
    """``blocked`` or ``needs_review`` (None: done, or failed: see ``failure``)."""
    reason: str | None = None
    failure: str | None = None
    """Why a result that claimed success is not one (bad status, schema violation)."""
    summary: str | None = None


DONE = Verdict(None)


def verdict(attempt: Attempt) -> Verdict:
    """What the attempt's result says of its (successful) end."""
    try:
        value = results.read(attempt.files.result)
    except results.ResultError as exc:
        return Verdict(None, failure=f"task_failed: {exc}") if attempt.task.result_schema else DONE
    if value is results.MISSING:
        if attempt.task.result_schema:
            return Verdict(None, failure="task_failed: it left no result (its schema needs one)")
        return DONE
    if attempt.task.result_schema:
        violation = _violation(value, attempt.task.result_schema)
        if violation:
            return Verdict(None, failure=f"task_failed: its result {violation}")
    if not isinstance(value, dict):
        return DONE
    summary = value.get("summary")
    summary = str(summary) if summary is not None else None
    status = value.get("status", "done")
    if status not in STATUSES:
        shown = ", ".join(STATUSES)
        return Verdict(
            None, failure=f"task_failed: its result's status {status!r} is not one of {shown}"
        )
    if status == "done":
        return Verdict(None, summary=summary)
    reason = value.get("reason") or summary
    return Verdict(str(status), reason=str(reason) if reason else None, summary=summary)


def _violation(value: object, schema_file: str) -> str | None:
    """The first way ``value`` breaks the schema, in words (None: it satisfies it)."""
    import jsonschema

    with open(schema_file, encoding="utf-8") as handle:
        schema = json.load(handle)
    cls = jsonschema.validators.validator_for(schema)
    found = cls(schema).iter_errors(value)  # type: ignore[arg-type]
    errors = sorted(found, key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    first = errors[0]
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in first.absolute_path)
    return f"does not match {schema_file}: at ${where}: {first.message}"
