"""The result-file contract, and the prompt fields filled when a task starts.

Every attempt is told a path, ``$TMUXORCH_RESULT`` (also ``{result_file}`` in its prompt),
where it may write one JSON value about what it did. ``done_when: result`` completes the
task when that file holds valid JSON; the tasks after it can put it in their prompts:
``{results.ID}`` (the whole result), ``{results.ID.KEY}`` (one key of an object),
``{dependency_results}`` (every direct dependency's), ``{parent_result}`` (a follow-up's
parent's).
"""

from __future__ import annotations

import contextlib
import json
import os

from tmuxorch.spec import template

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from tmuxorch.spec.task_model import Task

MISSING = object()


class ResultError(Exception):
    """A prompt needs a result that is not there (or not valid JSON, or lacks a key)."""


def read(path: str) -> object:
    """The JSON in ``path``; :data:`MISSING` if there is no such file; ResultError if it
    is not valid JSON."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return MISSING
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ResultError(f"{path} is not valid JSON ({exc})") from None


def ready(path: str) -> bool:
    """Whether ``path`` holds a complete, valid result (a half-written one is not)."""
    try:
        return read(path) is not MISSING
    except ResultError:
        return False


def as_text(value: object) -> str:
    """A result as prompt text: strings as they are, anything else as indented JSON."""
    return value if isinstance(value, str) else json.dumps(value, indent=2, ensure_ascii=False)


def fill(
    task: Task,
    fixed: Mapping[str, str],
    result_of: Callable[[str], str],
) -> str:
    """``task``'s prompt with its run-time fields filled: ``fixed`` (result_file, run,
    attempt, worktree, branch), and results read through ``result_of(task_id)`` (a path).
    Raises ResultError naming what is missing."""
    assert task.prompt is not None
    values: dict[str, str] = {}
    for name in task.prompt_fields:
        if name in fixed:
            values[name] = fixed[name]
        elif name == "dependency_results":
            values[name] = _all(task.depends_on, result_of)
        elif name == "parent_result":
            assert task.follows is not None
            values[name] = as_text(_need(task.follows, result_of))
        elif name.startswith("results."):
            _, source, *keys = name.split(".")
            value = _need(source, result_of)
            for key in keys:
                if not isinstance(value, dict) or key not in value:
                    raise ResultError(f"the result of {source} has no {'.'.join(keys)!r}")
                value = value[key]
            values[name] = as_text(value)
    text, missing, _ = template.render(task.prompt, values)
    if missing:  # the spec layer lets only known run-time fields through
        raise ResultError(f"no value for {', '.join(missing)}")
    return text


def _need(source: str, result_of: Callable[[str], str]) -> object:
    path = result_of(source)
    value = read(path)
    if value is MISSING:
        raise ResultError(f"{source} left no result (expected JSON in {path})")
    return value


def _all(sources: tuple[str, ...], result_of: Callable[[str], str]) -> str:
    parts = []
    for source in sources:
        try:
            value = read(result_of(source))
        except ResultError as exc:
            value = f"(unreadable: {exc})"
        if value is not MISSING:
            parts.append(f"## {source}\n{as_text(value)}")
    return "\n\n".join(parts) if parts else "(no results from the tasks this one depends on)"


def clear(path: str) -> None:
    """A new attempt starts without the last one's result."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
