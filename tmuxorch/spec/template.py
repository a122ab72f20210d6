"""Prompt templates: ``{name}``, ``$name`` and ``${name}`` fields filled from variables.

Only identifiers are fields, so code in a prompt (``{}``, ``{"a": 1}``, ``$(cmd)``) stays as
written; ``{{``/``}}`` and ``$$`` write a literal brace or dollar. A field with no value is
an error the caller reports with the template's position, never a silent blank.

Some fields are only known when a task starts (its result file, its dependencies'
results): :func:`render` can leave those for later, escaping what it filled in, so the
second pass reads exactly the template's own fields.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_FIELD = re.compile(
    r"\{\{|\}\}|\$\$|\{([A-Za-z_][A-Za-z0-9_.]*)\}|\$\{([A-Za-z_][A-Za-z0-9_.]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)"
)
_LITERAL = {"{{": "{", "}}": "}", "$$": "$"}


def fields(template: str) -> list[str]:
    """The variable names a template uses, in order of first use."""
    names: list[str] = []
    for match in _FIELD.finditer(template):
        name = match.group(1) or match.group(2) or match.group(3)
        if name and name not in names:
            names.append(name)
    return names


def render(
    template: str,
    values: Mapping[str, str],
    *,
    later: Callable[[str], bool] | None = None,
) -> tuple[str, list[str], list[str]]:
    """The template filled from ``values``; the names that had no value (left as written);
    the names ``later`` says to fill in a second pass. With any of those, the result is
    still a template: literals stay escaped, and so does every value put in."""
    missing: list[str] = []
    kept: list[str] = []
    for match in _FIELD.finditer(template):
        name = match.group(1) or match.group(2) or match.group(3)
        keep = name and name not in values and later is not None and later(name)
        if keep and name not in kept:
            kept.append(name)

    def fill(match: re.Match[str]) -> str:
        whole = match.group(0)
        if whole in _LITERAL:
            return whole if kept else _LITERAL[whole]
        name = match.group(1) or match.group(2) or match.group(3)
        if name in values:
            return escape(values[name]) if kept else values[name]
        if name not in kept and name not in missing:
            missing.append(name)
        return whole

    return _FIELD.sub(fill, template), missing, kept


def escape(text: str) -> str:
    """``text`` as a template that renders to itself."""
    return text.replace("{", "{{").replace("}", "}}").replace("$", "$$")
