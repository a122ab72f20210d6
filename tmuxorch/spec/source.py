"""Read YAML or JSON files as node trees that keep every value's position.

Parsing goes through PyYAML's composer (its C implementation when available), so a
value is never separated from the line and column it came from. A ``.json`` file is JSON:
checked by the standard library's strict parser first (no trailing commas, no comments;
its errors say "(json)"), then composed by the same YAML parser with JSON's meaning of
bare words (``1e5`` is a number). :class:`Reader` turns nodes into Python values one
checked field at a time and collects :class:`~tmuxorch.spec.errors.Problem` s.
"""

from __future__ import annotations

import math
import os
import stat

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tmuxorch.spec.errors import Problem, SpecError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Collection, Iterator
    from typing import Any

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TAGS: dict[str, str] = {}
"""Plain scalar → its implicit tag: files repeat their keys and values (a third of the
time to read a 1,000-task file went to resolving the same words again)."""


class _Loader(_BaseLoader):
    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:  # depends on the text alone (no path resolvers)
            tag = _TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
                if len(_TAGS) < 50_000:
                    _TAGS[value] = tag
            return tag
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        """No path resolvers are registered: nothing to track."""

    def ascend_resolver(self) -> None:
        pass


class _JsonLoader(_BaseLoader):
    """Bare scalars of a JSON document (checked by :mod:`json` first): true, false, null
    or a number, whatever YAML 1.1 would make of them."""

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode and implicit[0]:
            if value in _JSON_WORDS:
                return _JSON_WORDS[value]
            return _INT if value.lstrip("-").isdigit() else _FLOAT
        return str(super().resolve(kind, value, implicit))  # type: ignore[no-untyped-call]

    def descend_resolver(self, current_node: object, current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


__all__ = ["MappingNode", "Node", "Reader", "ScalarNode", "SequenceNode", "load_nodes"]

_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"
_JSON_WORDS = {"true": _BOOL, "false": _BOOL, "null": _NULL}

_constructor = SafeConstructor()


def load_nodes(path: str, text: str | None = None) -> Node | None:
    """Parse ``path`` (or ``text`` in its name) into a node tree; ``None`` if empty.

    Raises :class:`SpecError` for a missing/unreadable file or malformed YAML/JSON.
    """
    if text is None:
        text = _read(path)
    loader: type[_BaseLoader] = _Loader
    kind = "(yaml)"
    if path[-5:].lower() == ".json":
        from tmuxorch.spec.json_text import check_json

        text, kind, loader = check_json(path, text), "(json)", _JsonLoader
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        tab = _tab_problem(path, text, line, col) if kind == "(yaml)" else None
        if tab is not None:
            raise SpecError([tab]) from None
        what = exc.problem or f"malformed {kind[1:-1].upper()}"
        hint = f"{exc.context}" if exc.context else None
        if exc.context_mark and exc.context_mark is not mark:
            hint = f"{hint or 'started'} at line {exc.context_mark.line + 1}"
        raise SpecError([Problem(path, line, col, kind, what, hint)]) from None
    except yaml.YAMLError as exc:
        raise SpecError([Problem(path, 1, 1, kind, str(exc))]) from None


def _tab_problem(path: str, text: str, line: int, col: int) -> Problem | None:
    """The error, said plainly, when a tab is where YAML wants spaces (its parser says
    "found character that cannot start any token"): in the indentation of the line it
    stopped at, or at the very place it stopped."""
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
        if not start:
            return None
    end = text.find("\n", start)
    row = text[start:] if end < 0 else text[start:end]
    indent = row[: len(row) - len(row.lstrip(" \t"))]
    if "\t" in indent:
        at = indent.index("\t") + 1
        return Problem(
            path,
            line,
            at,
            "(yaml)",
            "a tab in the indentation: YAML indents with spaces only, never tabs",
            f"replace the tab(s) at the start of line {line} with spaces",
        )
    if row[col - 1 : col] == "\t":
        return Problem(
            path, line, col, "(yaml)", "a tab where YAML allows only spaces", "use spaces here"
        )
    return None


MAX_BYTES = 8 * 1024 * 1024
"""The largest file read (a layout or task file is a few KB; /dev/zero is endless)."""


def _read(path: str) -> str:
    """A regular file's text: never a FIFO (it would hang), a device, or a huge file."""

    def bad(what: str) -> SpecError:
        return SpecError([Problem(path, 1, 1, "(file)", what)])

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens at once: then refused
    except FileNotFoundError:
        raise bad("no such file") from None
    except OSError as exc:
        raise bad(f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise bad("is a directory, expected a YAML or JSON file")
        if not stat.S_ISREG(info.st_mode):
            raise bad("not a regular file (a pipe, a device...): expected a YAML or JSON file")
        if info.st_size > MAX_BYTES:
            raise bad(f"too large ({info.st_size} bytes; at most {MAX_BYTES})")
        data = os.read(fd, MAX_BYTES + 1)
        while len(data) <= MAX_BYTES and (more := os.read(fd, MAX_BYTES + 1 - len(data))):
            data += more
    except OSError as exc:
        raise bad(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise bad(f"too large (more than {MAX_BYTES} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad(f"cannot read: not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    if node.tag == _NULL:
        return "nothing (null)"
    if node.tag == _BOOL:
        return f"a boolean ({node.value})"
    if node.tag in (_INT, _FLOAT):
        return f"a number ({node.value})"
    return f"text ({node.value!r})"


class Reader:
    """Checked access to a node tree; problems are collected, never raised one by one."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        self._mappings: dict[tuple[int, int], tuple[Node, dict[str, tuple[Node, Node]]]] = {}
        """Mappings read already (their node kept, so its id stays its own)."""

    # -- reporting -------------------------------------------------------------------
    def problem(self, node: Node | None, where: str, what: str, hint: str | None = None) -> Problem:
        line, col = (node.start_mark.line + 1, node.start_mark.column + 1) if node else (1, 1)
        return Problem(self.file, line, col, where or "(top)", what, hint)

    def error(self, node: Node | None, where: str, what: str, hint: str | None = None) -> None:
        self.problems.append(self.problem(node, where, what, hint))

    def warn(self, node: Node | None, where: str, what: str, hint: str | None = None) -> None:
        self.warnings.append(self.problem(node, where, what, hint))

    def raise_if_problems(self) -> None:
        if self.problems:
            raise SpecError(self.problems)

    # -- structure -------------------------------------------------------------------
    def mapping(
        self, node: Node, where: str, keys: Collection[str]
    ) -> dict[str, tuple[Node, Node]] | None:
        """A mapping's entries by key (merge keys ``<<`` resolved); unknown keys reported."""
        if not isinstance(node, MappingNode):
            self.error(node, where, f"expected a mapping, got {_kind(node)}")
            return None
        known = self._mappings.get((id(node), id(keys)))
        if known is not None:  # merged into several places: read once (no YAML bomb)
            return known[1]
        entries: dict[str, tuple[Node, Node]] = {}
        merged: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                for source in self._merge_sources(value_node, where):
                    for key, entry in (self.mapping(source, where, keys) or {}).items():
                        merged.setdefault(key, entry)
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag == _NULL:
                self.error(key_node, where, f"expected a text key, got {_kind(key_node)}")
                continue
            key = str(key_node.value)
            if key in entries:
                first = entries[key][0].start_mark.line + 1
                where_key = join(where, key)
                self.error(key_node, where_key, f"duplicate key (first set on line {first})")
                continue
            if key not in keys:
                self.error(key_node, join(where, key), "unknown key", did_you_mean(key, keys))
                continue
            entries[key] = (key_node, value_node)
        for key, entry in merged.items():
            entries.setdefault(key, entry)
        self._mappings[(id(node), id(keys))] = (node, entries)
        return entries

    def free_mapping(self, node: Node, where: str, what: str) -> list[tuple[str, Node, Node]]:
        """A mapping with keys of the user's choosing (``environment``, ``options``):
        ``(key, key node, value node)`` in file order; null is empty; duplicates reported."""
        if self.is_null(node):
            return []
        if not isinstance(node, MappingNode):
            self.error(node, where, f"expected a mapping of {what}, got {_kind(node)}")
            return []
        seen: dict[str, int] = {}
        entries = []
        for key_node, value_node in node.value:
            key = self.text(key_node, where)
            if key is None:
                continue
            if key in seen:
                self.error(
                    key_node, join(where, key), f"duplicate key (first set on line {seen[key]})"
                )
                continue
            seen[key] = key_node.start_mark.line + 1
            entries.append((key, key_node, value_node))
        return entries

    def _merge_sources(self, node: Node, where: str) -> Iterator[Node]:
        if isinstance(node, SequenceNode):
            yield from node.value
        elif isinstance(node, MappingNode):
            yield node
        else:
            self.error(node, where, f"'<<' merges a mapping, got {_kind(node)}")

    def sequence(self, node: Node, where: str) -> list[Node] | None:
        if not isinstance(node, SequenceNode):
            self.error(node, where, f"expected a list, got {_kind(node)}")
            return None
        return list(node.value)

    # -- scalars ---------------------------------------------------------------------
    @staticmethod
    def is_null(node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == _NULL

    def text(self, node: Node, where: str, *, allow_null: bool = False) -> str | None:
        """A scalar as text, exactly as written (``on`` stays ``on``, ``007`` stays ``007``)."""
        if isinstance(node, ScalarNode):
            if node.tag == _NULL:
                if not allow_null:
                    self.error(node, where, "expected text, got nothing (null)")
                return None
            if node.tag in (_STR, _BOOL, _INT, _FLOAT):
                return str(node.value)
        self.error(node, where, f"expected text, got {_kind(node)}")
        return None

    def word(
        self, node: Node, where: str, choices: Collection[str], what: str, hint: str | None = None
    ) -> str | None:
        """Text that must be one of ``choices`` (else "unknown WHAT 'x'", and None)."""
        word = self.text(node, where)
        if word is not None and word not in choices:
            self.error(
                node, where, f"unknown {what} {word!r}", hint or "one of: " + ", ".join(choices)
            )
            return None
        return word

    def boolean(self, node: Node, where: str) -> bool | None:
        if isinstance(node, ScalarNode) and node.tag == _BOOL:
            return bool(_constructor.construct_yaml_bool(node))
        self.error(node, where, f"expected true or false, got {_kind(node)}")
        return None

    def number(self, node: Node, where: str, *, minimum: float | None = None) -> float | None:
        if isinstance(node, ScalarNode) and node.tag in (_INT, _FLOAT):
            value = float(_value(node))
            if not math.isfinite(value):
                self.error(node, where, f"expected a finite number, got {node.value}")
                return None
            if minimum is not None and value < minimum:
                self.error(node, where, f"must be at least {minimum:g}, got {node.value}")
                return None
            return value
        self.error(node, where, f"expected a number, got {_kind(node)}")
        return None

    def integer(self, node: Node, where: str, *, minimum: int | None = None) -> int | None:
        if isinstance(node, ScalarNode) and node.tag == _INT:
            raw = str(node.value)
            value = int(raw) if raw.isdigit() else int(_value(node))  # 0x1f, 1_000, -3...
            if minimum is not None and value < minimum:
                self.error(node, where, f"must be at least {minimum}, got {node.value}")
                return None
            return value
        self.error(node, where, f"expected a whole number, got {_kind(node)}")
        return None


def _value(node: ScalarNode) -> Any:
    return _constructor.construct_object(node)


def join(where: str, key: str | int) -> str:
    """The dotted/indexed path of a child: ``windows[1].panes[0]``."""
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def did_you_mean(word: str, choices: Collection[str], noun: str = "keys") -> str | None:
    import difflib  # only on the error path

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"known {noun}: " + ", ".join(sorted(choices)) if choices else None
