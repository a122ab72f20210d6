"""``tmuxorch add FILE``: a task added to a run of FILE, checked as a task of the file (its
agent profiles, the tasks it may depend on) — the file itself is never written. See
:func:`tmuxorch.run.adding.add_to`:

- A supervisor runs FILE: it is asked (a request file, see :mod:`tmuxorch.run.requests`)
  and answers; the task joins the live run and starts when what it needs has succeeded.
- None does: the task is recorded in FILE's latest run (checked here, under the
  supervisor's lock so none starts meanwhile), and ``tmuxorch run FILE`` goes on with
  it — resuming that run even if every other task of it was over. With no run of FILE
  yet there is nothing to add to (exit 1): start one with ``tmuxorch run FILE``.

Bad input (the task, or the flags): ``where: what`` lines and exit 2; a live run goes on.
"""

from __future__ import annotations

import json
import os
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, bad_input, fail, info


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
    except LookupError as exc:
        return fail(
            f"{exc}: start one with 'tmuxorch run {file}' (or 'tmuxorch layout'), then add"
            " tasks to it",
            EXIT_FAILED,
        )
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
    else:
        info(f"added {added.task} to run {added.run}, which no supervisor runs")
        info(f"run it with: tmuxorch run {file}")
    return EXIT_OK


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
