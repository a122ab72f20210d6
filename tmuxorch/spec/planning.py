"""A tasks file written by an agent (``tmuxorch plan``), pure apart from reading files: the
prompts asking for it (templates in ``tmuxorch/prompts/``), its text out of the answer,
and its check — the one ``tmuxorch validate`` makes, as if the text were the file."""

from __future__ import annotations

import os
import re
from dataclasses import replace

from tmuxorch.spec import template
from tmuxorch.spec.errors import Problem, SpecError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from tmuxorch.spec.workspace import Loaded

PROMPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "prompts")
REQUEST = os.path.join(PROMPTS, "plan.md")
AGAIN = os.path.join(PROMPTS, "plan-again.md")
EXAMPLE = os.path.join(PROMPTS, "plan-example.yaml")
"""A valid tasks file the request shows (the tests check it stays valid)."""

_FENCE = re.compile(r"^```[ \t]*(?:ya?ml)?[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
"""A fenced block whose fences start their lines (one inside a YAML block scalar is
indented, so the prompts of the file keep theirs)."""


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _fill(path: str, values: dict[str, str]) -> str:
    text, missing, _ = template.render(_read(path), values)
    assert not missing, f"{path}: no value for {missing}"
    return text


def request(goal: str, file: str, agents: Iterable[str]) -> str:
    """The first prompt: plan ``goal`` as the tasks file ``file``, with ``agents`` (one
    line each: its name, what it is, whether it is installed here)."""
    return _fill(
        REQUEST,
        {
            "goal": goal.strip(),
            "file": os.path.basename(file),
            "directory": os.path.dirname(os.path.abspath(file)),
            "example": _read(EXAMPLE),
            "agents": "\n".join(f"- {line}" for line in agents),
        },
    )


def again(first: str, answer: str, problems: Iterable[Problem], file: str) -> str:
    """The second prompt: the first one, the answer it got, and that answer's problems."""
    return _fill(
        AGAIN,
        {
            "request": first.rstrip(),
            "answer": answer.rstrip(),
            "problems": "\n".join(str(p) for p in problems),
            "file": os.path.basename(file),
        },
    )


def extract(answer: str) -> str:
    """The file out of an agent's answer: its last fenced block if it has one (a fence
    of its own, or around prose), else all of it; ending in one newline."""
    blocks = _FENCE.findall(answer)
    text = blocks[-1] if blocks else answer
    return text.strip("\n") + "\n" if text.strip() else ""


def check(file: str, text: str) -> tuple[Problem, ...]:
    """The problems of ``text`` as the tasks file ``file`` (relative paths in it are
    relative to ``file``'s folder, as once it is written there); none if it is valid."""
    try:
        loaded = checked(file, text)
    except SpecError as exc:
        return exc.problems
    if loaded.workspace.tasks is None:
        return (Problem(file, 1, 1, "tasks", "required key is missing: a tasks file is wanted"),)
    return ()


def checked(file: str, text: str) -> Loaded:
    """``text`` read as the file ``file``; raises :class:`SpecError` if bad."""
    from tmuxorch.spec.workspace import load_workspace

    return load_workspace(file, text=text)


def moved(problems: Iterable[Problem], file: str, to: str) -> list[Problem]:
    """``problems`` of ``file`` said of ``to`` instead (where its text was kept)."""
    return [replace(p, file=to) if p.file == file else p for p in problems]
