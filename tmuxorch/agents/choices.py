"""The answers a screen offers when its agent asks (pure: a screen in, buttons out), for
the web page's answer buttons.

Two shapes are recognised at the bottom of the screen:

- a yes/no question on the last line with text: ``(y/n)``, ``[Y/n]``, ``[y/N]``,
  ``(yes/no)``, aider's ``(Y)es/(N)o``. Each answer is typed, then Enter.
- a numbered menu (``1. Yes`` / ``2) No`` ...) ending a few lines above the bottom. When
  one option is highlighted (``❯``, ``›``, ``>``, ``●``, ``▶``), an answer moves there with
  the arrow keys, then Enter, as :mod:`tmuxorch.agents.dialogs` answers menus (not every menu
  takes a typed number); an unmarked list is answered by typing the number, then Enter.

Each choice carries what to send, as the pane stream's ``send`` message (and ``POST
/api/send``) takes it: ``{"text": "y"}`` or ``{"keys": ["Down", "Enter"]}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TAIL = 30
"""Lines with text, from the bottom, that a menu is looked for in."""
MENU_END = 6
"""A menu's last option is at most this many lines with text above the bottom (footers,
a box's edge, a hint line)."""
LABEL = 48
"""Characters of an option's text a button shows at most."""

_YES_NO = re.compile(
    r"(?P<form>\((?P<a>[yY])/(?P<b>[nN])\)|\[(?P<c>[yY])/(?P<d>[nN])\]|[(\[]yes/no[)\]])"
    r"[\s:?]*(\[\w*\])?[\s:?]*$"  # the question ends the line (a default may follow)
    r"|\(Y\)es/\(N\)o\b.*:\s*$",  # aider: (Y)es/(N)o/(D)on't ask again [Yes]:
    re.IGNORECASE,
)
_OPTION = re.compile(
    r"^[\s│┃║|]*(?P<mark>[❯›>●▶]\s*)?(?P<num>\d{1,2})[.)]\s+(?P<text>\S.*?)[\s│┃║|]*$"
)


@dataclass(frozen=True)
class Choice:
    label: str
    """What the button says."""
    text: str = ""
    """Typed, then Enter."""
    keys: tuple[str, ...] = ()
    """Or these keys pressed (tmux key names), nothing after them."""

    def as_json(self) -> dict[str, object]:
        send: dict[str, object] = {"text": self.text} if self.text else {"keys": list(self.keys)}
        return {"label": self.label, "send": send}


_TEXT = re.compile(r"[^\s│┃║|╭╮╰╯┌┐└┘─━═╹▀]")
"""A character that is text, not space nor a box's edge."""


def _lines(screen: str) -> list[str]:
    """The screen's lines with text (a box's empty rows and edges are not), bottom last."""
    return [line.rstrip() for line in screen.splitlines() if _TEXT.search(line)]


def choices(screen: str) -> tuple[Choice, ...]:
    """What ``screen`` offers to answer; empty when it asks nothing that can be told."""
    lines = _lines(screen)
    if not lines:
        return ()
    return _yes_no(lines[-1]) or _menu(lines[-TAIL:])


def _yes_no(last: str) -> tuple[Choice, ...]:
    found = _YES_NO.search(last)
    if found is None:
        return ()
    form = found.group("form")
    if form is None:  # aider's (Y)es/(N)o
        return (Choice("yes", text="y"), Choice("no", text="n"))
    if form.lower() in ("(yes/no)", "[yes/no]"):
        return (Choice("yes", text="yes"), Choice("no", text="no"))
    yes = found.group("a") or found.group("c") or "y"
    no = found.group("b") or found.group("d") or "n"
    return (Choice(yes, text="y"), Choice(no, text="n"))


def _menu(lines: list[str]) -> tuple[Choice, ...]:
    """The last numbered list that starts at 1 and counts up, ending near the bottom."""
    options: list[tuple[int, int, bool, str]] = []  # (line index, number, marked, text)
    for index, line in enumerate(lines):
        m = _OPTION.match(line)
        if m is None:
            continue
        number = int(m.group("num"))
        if number == 1:
            options = []
        elif not options or number != options[-1][1] + 1:
            continue
        options.append((index, number, m.group("mark") is not None, m.group("text")))
    if len(options) < 2 or options[0][1] != 1 or len(lines) - 1 - options[-1][0] > MENU_END:
        return ()
    marked = [number for _, number, mark, _ in options if mark]
    found = []
    for _, number, _, text in options:
        label = f"{number}. {_cut(text)}"
        if len(marked) == 1:
            moves = number - marked[0]
            arrow = "Down" if moves > 0 else "Up"
            found.append(Choice(label, keys=(*([arrow] * abs(moves)), "Enter")))
        else:
            found.append(Choice(label, text=str(number)))
    return tuple(found)


def _cut(text: str) -> str:
    return text if len(text) <= LABEL else text[: LABEL - 1].rstrip() + "…"
