"""A ``.json`` file is JSON: strict, as :mod:`json` reads it (no trailing commas, comments
or single quotes), its errors located ``file:line:col: (json): ...``.

The YAML parser then composes the checked text into nodes that keep their positions (JSON
is YAML's flow style). What YAML would read differently is made plain first, without
moving any column: tabs between tokens become spaces (a JSON string holds none), and a
character written as an escaped UTF-16 pair (``\\ud83d\\ude00``, as ``json.dumps``
writes non-ASCII text) becomes one ``\\U0001f600`` escape, which YAML reads (columns after
it on its line are then off by two).
"""

from __future__ import annotations

import json
import re

from tmuxorch.spec.errors import Problem, SpecError

_PAIR = re.compile(
    r"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
)


def check_json(path: str, text: str) -> str:
    """``text`` ready for the YAML parser; :class:`SpecError` if it is not JSON."""
    try:
        json.loads(text[1:] if text.startswith("\ufeff") else text)
    except json.JSONDecodeError as exc:
        raise SpecError([_problem(path, exc)]) from None
    except RecursionError:
        raise SpecError([Problem(path, 1, 1, "(json)", "nested too deeply")]) from None
    if "\t" in text:
        text = text.replace("\t", " ")
    if "\\u" in text:
        text = _PAIR.sub(_joined, text)
    return text


def _joined(match: re.Match[str]) -> str:
    high, low = int(match.group(2), 16), int(match.group(3), 16)
    code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
    return f"{match.group(1)}\\U{code:08x}"


def _problem(path: str, exc: json.JSONDecodeError) -> Problem:
    text, at = exc.doc, exc.pos
    before = text[:at].rstrip()
    if text[at : at + 1] in ("}", "]") and before.endswith(","):
        comma = len(before) - 1
        line = text.count("\n", 0, comma) + 1
        col = comma - text.rfind("\n", 0, comma)
        closing = text[at]
        return Problem(
            path,
            line,
            col,
            "(json)",
            f"a trailing comma before '{closing}': JSON allows none",
            "remove the comma",
        )
    return Problem(path, exc.lineno, exc.colno, "(json)", exc.msg)
