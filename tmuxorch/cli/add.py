"""``tmuxorch add FILE``: a task added to a run of FILE, checked as a task of the file (its
agent profiles, the tasks it may depend on) — the file itself is never written. See
:func:`tmuxorch.run.adding.add_to`:

- A supervisor runs FILE: it is asked (a request file, see :mod:`tmuxorch.run.requests`)
  and answers; the task joins the live run and starts when what it needs has succeeded.
- None does: the task is recorded in FILE's latest run (checked here, under the
  supervisor's lock so none starts meanwhile), and ``tmuxorch run FILE`` is started in
  the background to go on with it — resuming that run even if every other task of it was
  over. With no run of FILE yet, one is started and the task added to it.

Bad input (the task, or the flags): ``where: what`` lines and exit 2; a live run goes on.
"""

from __future__ import annotations

import json
import os
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, bad_input, fail, info

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.adding import Added


def add(
    file: str,
    *,
    task_id: str | None = None,
    agent: str | None = None,
    prompt: str | None = None,
    command: str | None = None,
    depends_on: list[str] | None = None,
    data: str | None = None,
    timeout: float = 30.0,
    server_args: tuple[str, ...] = (),
) -> int:
    """Add the task the flags (and ``data``, a JSON mapping) describe to a run of ``file``."""
    task = _task(task_id, agent, prompt, command, depends_on or [], data)
    if isinstance(task, int):
        return task
    if not os.path.exists(file):
        return fail(f"{file}: no such file", EXIT_BAD_INPUT)
    from tmuxorch.run.adding import add_to
    from tmuxorch.run.requests import Unanswered
    from tmuxorch.spec.errors import SpecError

    try:
        added = add_to(file, task, timeout=timeout)
    except LookupError:  # no run of FILE yet: start one, then add to it
        added_or_code = _to_a_new_run(file, task, timeout, server_args)
        if isinstance(added_or_code, int):
            return added_or_code
        added = added_or_code
    except SpecError as exc:
        return bad_input(exc)
    except Unanswered as exc:
        return fail(f"{exc}: see 'tmuxorch status --file {file}'")
    if not added.ok:
        for error in added.errors:
            print(error, file=sys.stderr)
        return EXIT_BAD_INPUT
    if added.live:
        info(f"added {added.task} to run {added.run}")
        return EXIT_OK
    from tmuxorch.run import background
    from tmuxorch.run.store import Store, state_dir

    store = Store(state_dir(file))
    try:
        server = server_args or store.runs(file)[0].server
    finally:
        store.close()
    pid, log = background.start(file, server)
    info(f"added {added.task} to run {added.run}, which no supervisor ran: it goes on now")
    info(f"(tmuxorch run {file} in the background, pid {pid}, its output in {log})")
    return EXIT_OK


def _to_a_new_run(
    file: str, task: dict[str, object], timeout: float, server_args: tuple[str, ...]
) -> Added | int:
    """No run of ``file`` yet: start one in the background (on the tmux server
    ``server_args`` name) and add ``task`` to it."""
    from tmuxorch.run import background
    from tmuxorch.run.adding import add_to

    pid, log = background.start(file, server_args)
    run_id = background.wait_until_running(file, pid, timeout)
    if run_id is None:
        return fail(f"the run of {file} started for it did not come up: see {log}")
    info(f"started run {run_id} of {file} (pid {pid}, its output in {log})")
    return add_to(file, task, timeout=timeout)


def _task(
    task_id: str | None,
    agent: str | None,
    prompt: str | None,
    command: str | None,
    depends_on: list[str],
    data: str | None,
) -> dict[str, object] | int:
    task: dict[str, object] = {}
    if data is not None:
        try:
            given = json.loads(sys.stdin.read() if data == "-" else data)
        except ValueError as exc:
            return fail(f"--json: not JSON: {exc}", EXIT_BAD_INPUT)
        if not isinstance(given, dict):
            return fail("--json: expected a JSON mapping of task keys", EXIT_BAD_INPUT)
        task.update(given)
    flags = {"id": task_id, "agent": agent, "prompt": prompt, "command": command}
    if depends_on:
        flags["depends_on"] = depends_on  # type: ignore[assignment]
    for key, value in flags.items():
        if value is None:
            continue
        if key in task:
            return fail(f"--{key.replace('_', '-')}: given in --json too", EXIT_BAD_INPUT)
        task[key] = value
    return task
