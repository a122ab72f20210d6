"""``approve``, ``reject`` and ``unblock``: a person answers tasks whose agent said it
needs one (its result's ``status``: ``needs_review``, ``blocked``; see
:mod:`tmuxorch.run.outcomes`). The run's supervisor does it; with none running, say how to
resume the run first (its tasks stay waiting in its store)."""

from __future__ import annotations

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, fail, info
from tmuxorch.cli.tasks import named

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

WANTS = {"approve": "needs_review", "reject": "needs_review", "unblock": "blocked"}
SAYS = {"approve": "approve", "reject": "reject the work of", "unblock": "unblock"}


def resolve(
    action: str, file: str | None, tasks: list[str], text: str = "", chosen: Client | None = None
) -> int:
    from tmuxorch.run.opening import supervisor_alive
    from tmuxorch.run.requests import request

    if action == "reject" and not text.strip():
        return fail(
            "say why: tmuxorch reject TASK --reason TEXT (the agent reads it)", EXIT_BAD_INPUT
        )
    found = named(file, tasks, chosen)
    if isinstance(found, int):
        return found
    store, run_row, names = found
    try:
        rows = store.tasks(run_row.id)
        wrong = [n for n in names if rows[n].state != WANTS[action]]
        if wrong:
            row = rows[wrong[0]]
            return fail(
                f"{wrong[0]} is {row.state}, not {WANTS[action]}: nothing to {action}",
                EXIT_BAD_INPUT,
            )
        if not supervisor_alive(run_row.file):
            return fail(
                f"run {run_row.id} has no supervisor: resume it with '{run_row.resume}', "
                f"then {action} again (the tasks wait in its store)"
            )
        request(run_row.file, action, names, text=text)
        info(f"asked the supervisor of run {run_row.id} to {SAYS[action]} {', '.join(names)}")
        return EXIT_OK
    finally:
        store.close()
