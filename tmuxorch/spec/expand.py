"""``~`` and ``$VAR`` expansion against an explicit environment (tmuxp's ``expandshell``)."""

from __future__ import annotations

import os
import re

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

_VAR = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)


def expand_user(value: str, env: Mapping[str, str]) -> str:
    """``~`` and ``~/x`` from ``$HOME`` in ``env``; ``~user`` from the password database."""
    if not value.startswith("~"):
        return value
    if value == "~" or value.startswith("~/"):
        home = (env.get("HOME") or os.path.expanduser("~")).rstrip("/")
        return (home + value[1:]) or "/"
    return os.path.expanduser(value)


def expand_vars(value: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Replace ``$NAME`` / ``${NAME}`` found in ``env``; unknown ones are left as written.

    Returns the text and the names that were not set (callers decide whether that matters:
    a shell command may rely on the shell expanding them later).
    """
    missing: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("{"):
            name = name[1:-1]
        if name in env:
            return env[name]
        missing.append(name)
        return match.group(0)

    if "$" not in value:
        return value, missing
    return _VAR.sub(sub, value), missing


def expand_shell(value: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """tmuxp's ``expandshell``: ``~`` first, then variables."""
    return expand_vars(expand_user(value, env), env)
