"""Messages and exit codes shared by all commands (no typer here: hot paths import this)."""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.errors import Problem, SpecError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def warn(problem: Problem) -> None:
    text = f"{problem.file}:{problem.line}:{problem.col}: warning: {problem.where}: {problem.what}"
    if problem.hint:
        text += f"\n  hint: {problem.hint}"
    print(text, file=sys.stderr)


def bad_input(error: SpecError) -> int:
    for problem in error.problems:
        print(problem, file=sys.stderr)
    return EXIT_BAD_INPUT


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"tmuxorch: {message}", file=sys.stderr)
    return code


def info(message: str) -> None:
    print(message, file=sys.stderr)
