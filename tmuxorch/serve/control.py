"""Asking a run to act, whoever asks (``serve``'s HTTP API, ``tmuxorch mcp``): stop or
retry tasks of a live run, add a task to a run — the way ``tmuxorch stop``/``retry``/``add``
reach it (request files, :mod:`tmuxorch.run.requests`), with the same checks. A refusal is
:class:`~tmuxorch.serve.sending.Refused`: an HTTP status, why, and the field at fault."""

from __future__ import annotations

from tmuxorch.serve.sending import Refused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.serve.runs import RunRef


def task_ids(ref: RunRef) -> set[str]:
    """The ids of the run's tasks (those added to it included)."""
    from tmuxorch.run.store import Store

    store = Store(ref.directory)
    try:
        return set(store.tasks(ref.id))
    finally:
        store.close()


def ask(ref: RunRef, action: str, names: list[str] | None, text: str = "") -> dict[str, object]:
    """Ask the live run ``ref`` to ``stop`` or ``retry`` the tasks ``names`` (None: every
    task, for ``stop``), or to ``approve``, ``reject`` or ``unblock`` them (``text``: the
    reviewer's words, the note); what was asked. Its supervisor acts on it at once (see its
    events, or its status, for the outcome)."""
    from tmuxorch.run.opening import supervises
    from tmuxorch.run.requests import request

    if names is not None and not names:
        raise Refused(422, "give tasks: a list of task ids (or every task)", field="tasks")
    if action != "stop" and names is None:
        raise Refused(422, f"{action} needs tasks: a list of task ids", field="tasks")
    if action == "reject" and not text.strip():
        raise Refused(422, "reject needs the reason (the agent reads it)", field="reason")
    if ref.row.state != "running" or not supervises(ref.row.file, ref.id):
        raise Refused(
            409,
            f"run {ref.id} is not live (no supervisor): '{ref.row.resume}' resumes it",
        )
    known = task_ids(ref)
    unknown = [n for n in names or [] if n not in known]
    if unknown:
        shown = ", ".join(sorted(known))
        raise Refused(
            422, f"no task {unknown[0]!r} in run {ref.id} (its tasks: {shown})", field="tasks"
        )
    request(ref.row.file, action, names or [], everything=names is None, text=text)
    return {"run": ref.id, "action": action, "tasks": names}


def add(ref: RunRef, data: object, *, timeout: float = 30.0) -> dict[str, object]:
    """Add the task ``data`` (a mapping of task keys, as in a tasks file) to the run
    ``ref``, checked as a task of its file: :meth:`tmuxorch.run.adding.Added.as_json`.
    A live run takes it at once; one no supervisor runs records it for the next
    ``tmuxorch run FILE`` (``live: false``). Bad data: :class:`Refused` naming the field
    (``errors``: every one)."""
    from tmuxorch.run.store import Store

    if not isinstance(data, dict):
        raise Refused(
            422, "task: expected a mapping of task keys (id, command or agent...)", field="task"
        )
    file = ref.row.file
    store = Store(ref.directory)
    try:
        runs = store.runs(file)
    finally:
        store.close()
    if runs and runs[0].id != ref.id:
        raise Refused(
            409,
            f"run {ref.id} is not the latest run of {file} ({runs[0].id} is): tasks join that one",
        )
    return add_to_file(file, data, timeout=timeout)


def add_to_file(file: str, data: object, *, timeout: float = 30.0) -> dict[str, object]:
    """Add the task ``data`` to the latest run of ``file`` (the way :func:`add` does,
    whoever asks: serve's API, a hook): :meth:`tmuxorch.run.adding.Added.as_json`, or
    :class:`Refused`."""
    from tmuxorch.run.adding import add_to
    from tmuxorch.run.requests import Unanswered
    from tmuxorch.spec.errors import SpecError

    try:
        added = add_to(file, data, timeout=timeout)
    except LookupError as exc:
        raise Refused(404, str(exc)) from None
    except SpecError as exc:
        raise Refused(422, f"{file} cannot be read now, so nothing was added:\n{exc}") from None
    except Unanswered as exc:
        raise Refused(504, f"{exc}: see the run's status") from None
    if not added.ok:
        said = "; ".join(str(e) for e in added.errors)
        raise Refused(
            422,
            f"the task was refused (the run goes on): {said}",
            field=added.errors[0].field,
            errors=[e.as_json() for e in added.errors],
        )
    return added.as_json()
