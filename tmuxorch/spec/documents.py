"""Layout files as plain documents: read as written (no tmuxp expansion), written as YAML
or JSON (pure). ``tmuxorch convert`` and ``freeze`` write through here."""

from __future__ import annotations

import json
import os
import re

import yaml

from tmuxorch.spec.errors import Problem, SpecError
from tmuxorch.spec.source import load_nodes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import Any

YAML_EXTENSIONS = (".yaml", ".yml")
JSON_EXTENSIONS = (".json",)


def format_of(path: str) -> str | None:
    """``"yaml"`` or ``"json"`` by the file's extension; None for another one."""
    ext = os.path.splitext(path)[1].lower()
    if ext in YAML_EXTENSIONS:
        return "yaml"
    if ext in JSON_EXTENSIONS:
        return "json"
    return None


def read_document(path: str, text: str | None = None) -> Any:
    """The file's content as plain data (anchors and merge keys resolved). Raises
    :class:`SpecError` (``file:line:col``) when it cannot be read or parsed."""
    node = load_nodes(path, text)
    if node is None:
        return None
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise SpecError([Problem(path, line, col, "(yaml)", exc.problem or str(exc))]) from None
    finally:
        loader.dispose()


class _Dumper(yaml.SafeDumper):
    """Block style; text of several lines as a literal block (``|``)."""


_LINE_BREAKS = "\x85\u2028\u2029"
"""Line breaks to YAML 1.1 (beside CR and LF): raw in a scalar, they are read as a space."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and value == value.rstrip(" ") else None
    if any(c in value for c in _LINE_BREAKS):
        style = '"'  # escaped there
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


_UNREADABLE = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
"""Characters a YAML reader (tmuxorch's, which reads JSON too) refuses or changes when raw:
JSON escapes those below U+0020 itself; these others (DEL, C1 controls, line breaks) can
only be inside strings, where ``\\uXXXX`` is the same text."""


def dump(data: Any, fmt: str) -> str:
    """``data`` as a YAML or JSON document (keys in their order; ends with a newline)."""
    if fmt == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
        return _UNREADABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=100,
    )
    return str(text)
