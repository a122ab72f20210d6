"""The commands people write in any channel: ``/status``, ``/stop``, ``/retry``, ``/add``,
``/help`` — each asking the runs the way the command line and ``serve``'s HTTP API do
(:mod:`tmuxorch.serve.control`), each answered in words. In a task's thread, a command's
task and run may be left out: they are that thread's.

``/add`` takes one task as YAML (a flow mapping fits on one line)::

    /add {id: fix-login, agent: coder, prompt: "Fix the login bug", depends_on: [api]}
"""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.serve.sending import Refused

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.serve.runs import RunRef, Runs

HELP = (
    "/status: the runs and their tasks\n"
    "/stop TASK (or /stop in its thread; /stop all: every task of the run)\n"
    "/retry TASK (or /retry in its thread)\n"
    "/add {id: ..., agent: ..., prompt: ...}: a task joins the run\n"
    "/approve TASK, /reject TASK REASON, /unblock TASK NOTE: answer a task waiting for you\n"
    "A reply in a task's thread is typed into its pane; a button answers its question."
)
READ_ONLY = frozenset({"status", "help", "start"})
"""What a person on a channel's ``watch:`` list may ask."""
SHOWN_RUNS = 3


@dataclass(frozen=True)
class Command:
    name: str
    rest: str


def parse(text: str) -> Command | None:
    """``/name rest`` (Telegram's ``/name@bot`` too), or None if ``text`` is no command."""
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    if "\n" in head:
        head, _, more = head.partition("\n")
        rest = more + (" " + rest if rest else "")
    name = head.split("@", 1)[0].lower()
    return Command(name, rest.strip()) if name else None


def perform(command: Command, runs: Runs, key: str | None) -> str:
    """Carry out ``command`` (in the thread of ``key``, if any); what to answer."""
    try:
        if command.name in ("help", "start"):
            return HELP
        if command.name == "status":
            return _status(runs, command.rest or (key.split("/")[0] if key else ""))
        if command.name in ("stop", "retry"):
            return _act(runs, command, key)
        if command.name in ("approve", "reject", "unblock"):
            return _resolve(runs, command, key)
        if command.name == "add":
            return _add(runs, command.rest, key)
    except Refused as exc:
        return f"not done: {exc.why}"
    return f"unknown command /{command.name}\n{HELP}"


def _status(runs: Runs, run_id: str) -> str:
    from tmuxorch.serve.runs import summary

    refs = runs.all()
    if run_id:
        refs = [r for r in refs if r.id == run_id]
        if not refs:
            return f"no run {run_id!r}"
    live = [r for r in refs if r.row.state == "running"] or refs[:SHOWN_RUNS]
    if not live:
        return "no runs yet"
    said = []
    for ref in live[:SHOWN_RUNS] if not run_id else live:
        facts = summary(ref)
        states = facts["states"]
        assert isinstance(states, dict)
        counts = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        said.append(f"run {ref.id} ({ref.row.state}), {ref.row.file}: {counts or 'no tasks'}")
        said += _tasks(ref)
    return "\n".join(said)


def _tasks(ref: RunRef) -> list[str]:
    from tmuxorch.run.store import Store

    store = Store(ref.directory)
    try:
        tasks = store.tasks(ref.id)
    finally:
        store.close()
    said = []
    for t in tasks.values():
        waits = t.activity == "waiting_input" and t.state == "running"
        doing = " (waiting for input)" if waits else ""
        said.append(f"  {t.id}: {t.state}{doing}" + (f": {t.reason}" if t.reason else ""))
    return said


def _act(runs: Runs, command: Command, key: str | None) -> str:
    from tmuxorch.serve.control import ask

    names = command.rest.split()
    run_id, _, task = (key or "").partition("/")
    if not names and task:
        names = [task]
    if not names:
        return f"/{command.name} which task? /{command.name} TASK"
    everything = command.name == "stop" and names == ["all"]
    ref = _run_of(runs, run_id, [] if everything else names)
    asked = ask(ref, command.name, None if everything else names)
    what = "every task" if everything else ", ".join(names)
    return f"asked run {asked['run']} to {command.name} {what}"


def _resolve(runs: Runs, command: Command, key: str | None) -> str:
    """``/approve [TASK]``, ``/reject [TASK] REASON``, ``/unblock [TASK] NOTE`` (in a
    task's thread the task may be left out)."""
    from tmuxorch.serve.control import ask, task_ids

    run_id, _, task = (key or "").partition("/")
    first, _, rest = command.rest.partition(" ")
    ref = _run_of(runs, run_id, [first] if first and not run_id else [])
    if first and first in task_ids(ref):
        task, text = first, rest.strip()
    else:
        text = command.rest
    if not task:
        return f"/{command.name} which task? /{command.name} TASK"
    asked = ask(ref, command.name, [task], text)
    return f"asked run {asked['run']} to {command.name} {task}"


def _add(runs: Runs, text: str, key: str | None) -> str:
    import yaml

    from tmuxorch.serve.control import add

    try:
        data = yaml.safe_load(text) if text else None
    except yaml.YAMLError as exc:
        return f"/add takes one task as YAML: {str(exc).splitlines()[0]}\n{HELP}"
    if not isinstance(data, dict):
        return "/add takes one task as YAML, e.g. /add {id: fix, agent: coder, prompt: ...}"
    ref = _run_of(runs, (key or "").partition("/")[0], [])
    added = add(ref, data)
    return f"added {added.get('task') or data.get('id')} to run {ref.id}"


def _run_of(runs: Runs, run_id: str, tasks: list[str]) -> RunRef:
    """The run meant: the thread's, or the newest live run that has the tasks."""
    from tmuxorch.serve.control import task_ids

    if run_id:
        ref = runs.find(run_id)
        if ref is None:
            raise Refused(404, f"no run {run_id!r}")
        return ref
    live = [r for r in runs.all() if r.row.state == "running"]
    fitting = [r for r in live if set(tasks) <= task_ids(r)]
    if not fitting:
        named = f" with task {', '.join(tasks)}" if tasks else ""
        raise Refused(404, f"no live run{named}")
    if len(fitting) > 1 and not tasks:
        shown = ", ".join(r.id for r in fitting)
        raise Refused(409, f"several runs are live ({shown}): write in a task's thread")
    return fitting[0]
