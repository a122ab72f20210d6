"""Answering an agent's start-up dialogs (pure: screens in, tmux key names out).

A menu is answered by moving from the highlighted option to the wanted one with the arrow
keys, then Enter: never by pressing Enter blindly (Claude Code has shipped its trust
dialog with "No, exit" highlighted) nor by typing a number (not every menu takes one).
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.task_model import Dialog

TAIL = 30
"""Lines from the bottom of the screen a dialog is looked for in."""
_OPTION = re.compile(r"^(?P<lead>[\s│┃║|]*)(?P<mark>[❯›>●▶]\s*)?(?P<num>\d+\.\s+)?(?P<text>\S.*)$")


def _tail(screen: str) -> list[str]:
    """The last lines of ``screen`` down to its last line with text (a dialog drawn at the
    top of a tall pane is followed by many empty rows)."""
    lines = [line.rstrip() for line in screen.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines[-TAIL:]


def showing(dialog: Dialog, screen: str) -> bool:
    """Whether ``screen`` shows ``dialog`` (in its last lines; ``\\Z`` in a pattern is the
    last line with text, for questions asked on a command line)."""
    return re.search(dialog.pattern, "\n".join(_tail(screen)), re.MULTILINE) is not None


def answer(dialog: Dialog, screen: str) -> tuple[str, ...] | None:
    """The keys that accept ``dialog`` as ``screen`` shows it; None when that cannot be
    told (no such option, or no way to see which option is highlighted)."""
    if dialog.keys:
        return dialog.keys
    if dialog.choose is None:
        return None
    lines = _tail(screen)
    target = next((i for i, line in enumerate(lines) if re.search(dialog.choose, line)), None)
    if target is None:
        return None
    options = _options(lines)
    marked = [i for i, (_, mark, _) in options.items() if mark]
    if not marked or target not in options:
        return None
    here = min(marked, key=lambda i: abs(i - target))  # the menu's, not an old "> ..." line
    moves = _distance(options, here, target)
    if moves is None:
        return None
    arrow = "Down" if moves > 0 else "Up"
    return (*([arrow] * abs(moves)), "Enter")


def _options(lines: list[str]) -> dict[int, tuple[int, bool, int | None]]:
    """Menu-like lines by index: (column of their text, highlighted, number or None)."""
    found = {}
    for i, line in enumerate(lines):
        m = _OPTION.match(line.rstrip())
        if m is None:
            continue
        column = len(m.group("lead")) + len(m.group("mark") or "") + len(m.group("num") or "")
        number = int(m.group("num").rstrip(". \t")) if m.group("num") else None
        found[i] = (column, m.group("mark") is not None, number)
    return found


def _distance(
    options: dict[int, tuple[int, bool, int | None]], here: int, target: int
) -> int | None:
    """How many options down (negative: up) ``target`` is from ``here``: by their numbers
    when both have one, else by counting the lines between them whose text starts in the
    same column (description lines are indented deeper)."""
    here_col, _, here_num = options[here]
    target_col, _, target_num = options[target]
    if here_num is not None and target_num is not None:
        return target_num - here_num
    if here_col != target_col:
        return None
    low, high = sorted((here, target))
    count = sum(1 for i in range(low + 1, high + 1) if i in options and options[i][0] == here_col)
    return count if target > here else -count
