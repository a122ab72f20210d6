"""Other machines tasks may run on, over the user's own ``ssh`` (pure)::

    hosts:                          # in the user config, or a tasks file (its own win)
      gpu1:
        ssh: user@gpu1              # anything `ssh` takes: an alias of ~/.ssh/config too
        dir: ~/work/repo            # on that host (its ~, not ours); default: its home
        max_parallel: 2             # tasks at once there (default: no limit of its own)
        ssh_options: [-p, "2222"]   # more arguments for ssh, before the destination
        python: ~/.local/share/tmuxorch/venv/bin/python   # runs tmuxorch there (python3)

    tasks:
      - {id: train, command: make train, host: gpu1}

Not used by runs yet (issue 15): this only reads and checks. Every problem is
``file:line:col: where: what``. An ``ssh`` destination starting with ``-`` is refused, so
it can never be read by ssh as an option; ``dir`` is kept as written (expanded remotely).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tmuxorch.spec.source import SequenceNode, did_you_mean, join
from tmuxorch.spec.task_model import Origin

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node, Reader
    from tmuxorch.spec.task_model import Task

HOST_KEYS = frozenset({"ssh", "dir", "max_parallel", "ssh_options", "python"})
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_UNPRINTABLE = re.compile(r"[\x00-\x20\x7f]")
"""Spaces and control characters: in no ssh destination."""


@dataclass(frozen=True)
class HostSpec:
    """One other machine: how ``ssh`` reaches it and where its tasks work."""

    name: str
    ssh: str
    """The destination given to ``ssh`` (``user@host``, an alias, ``ssh://user@host:port``)."""
    origin: Origin
    dir: str | None = None
    """Where tasks work there, as written (``~`` is the remote home); ``None``: its home."""
    max_parallel: int | None = None
    """Tasks at once on it; ``None``: no limit of its own."""
    ssh_options: tuple[str, ...] = ()
    """More arguments for ``ssh``, put before the destination."""
    python: str = "python3"
    """The Python that runs tmuxorch there: a name on its PATH, or a path (``~/`` is
    its home); ``tmuxorch hosts install NAME`` prints the one to give."""


def read_hosts(reader: Reader, node: Node, where: str = "hosts") -> tuple[HostSpec, ...]:
    """The ``hosts:`` mapping (name → settings); problems go to ``reader``."""
    return tuple(spec for spec, _ in _read(reader, node, where))


def _read(reader: Reader, node: Node, where: str) -> list[tuple[HostSpec, Node]]:
    found = []
    for name, key_node, value in reader.free_mapping(node, where, "name: settings"):
        spec = _host(reader, name, key_node, value, join(where, name))
        if spec is not None:
            found.append((spec, key_node))
    return found


def _host(reader: Reader, name: str, key_node: Node, node: Node, where: str) -> HostSpec | None:
    if not _NAME.match(name):
        reader.error(
            key_node,
            where,
            f"{name!r} is not a valid host name",
            "letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
        return None
    entries = reader.mapping(node, where, HOST_KEYS)
    if entries is None:
        return None
    if "ssh" not in entries:
        reader.error(node, join(where, "ssh"), "required key is missing", "e.g. ssh: user@host")
        return None
    ssh = _destination(reader, entries["ssh"][1], join(where, "ssh"))
    directory = None
    if "dir" in entries:
        directory = _text(reader, entries["dir"][1], join(where, "dir"))
    max_parallel = None
    if "max_parallel" in entries:
        max_parallel = reader.integer(
            entries["max_parallel"][1], join(where, "max_parallel"), minimum=1
        )
    options: list[str] = []
    if "ssh_options" in entries:
        options_where = join(where, "ssh_options")
        for i, item in enumerate(reader.sequence(entries["ssh_options"][1], options_where) or ()):
            option = _text(reader, item, join(options_where, i))
            if option is not None:
                options.append(option)
    python = "python3"
    if "python" in entries:
        python = _program(reader, entries["python"][1], join(where, "python")) or python
    if ssh is None:
        return None
    origin = Origin(
        reader.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1, where
    )
    return HostSpec(name, ssh, origin, directory, max_parallel, tuple(options), python)


def _destination(reader: Reader, node: Node, where: str) -> str | None:
    text = reader.text(node, where)
    if text is None:
        return None
    if not text:
        reader.error(node, where, "must not be empty", "e.g. ssh: user@host")
    elif text.startswith("-"):
        reader.error(
            node,
            where,
            f"{text!r} starts with '-': ssh would read it as an option",
            "put options in ssh_options, and the host here",
        )
    elif _UNPRINTABLE.search(text):
        reader.error(node, where, f"{text!r} has a space or a control character")
    else:
        return text
    return None


def _program(reader: Reader, node: Node, where: str) -> str | None:
    """A program's name or path (one word of a command line, quoted there)."""
    text = _text(reader, node, where)
    if text is None:
        return None
    if text.startswith("-"):
        reader.error(node, where, f"{text!r} starts with '-'", "a name or path, e.g. python3")
        return None
    if text.strip() != text or _UNPRINTABLE.search(text.replace(" ", "")):
        reader.error(node, where, f"{text!r} has a control character or a space at an end")
        return None
    return text


def _text(reader: Reader, node: Node, where: str) -> str | None:
    """Non-empty text without NUL or line breaks (it ends up in a command line)."""
    text = reader.text(node, where)
    if text is None:
        return None
    if not text:
        reader.error(node, where, "must not be empty")
        return None
    if any(c in text for c in "\x00\r\n"):
        reader.error(node, where, f"{text!r} has a line break or a NUL character")
        return None
    return text


class HostBook:
    """The hosts of a set of task files (each defined once) and the tasks that name one,
    checked as a whole at the end (a host may be defined in a later file)."""

    def __init__(self) -> None:
        self.own: dict[str, HostSpec] = {}
        self.named: dict[str, tuple[Reader, Node, str]] = {}
        """Task id → where its ``host:`` is."""

    def add_section(self, reader: Reader, entries: dict[str, tuple[Node, Node]]) -> None:
        """A file's ``hosts:`` (if any)."""
        if "hosts" not in entries:
            return
        for spec, key_node in _read(reader, entries["hosts"][1], "hosts"):
            if spec.name in self.own:
                first = self.own[spec.name].origin
                reader.error(key_node, spec.origin.where, f"host defined twice (first at {first})")
                continue
            self.own[spec.name] = spec

    def task_host(
        self, reader: Reader, entries: dict[str, tuple[Node, Node]], where: str, task_id: str
    ) -> dict[str, object]:
        """A task's ``host`` (as keyword arguments of :class:`Task`)."""
        if "host" not in entries:
            return {}
        node = entries["host"][1]
        self.named[task_id] = (reader, node, join(where, "host"))
        if isinstance(node, SequenceNode):  # host: [a, b]: the first with room
            names: list[str] = []
            for i, item in enumerate(node.value):
                name = reader.text(item, join(join(where, "host"), i))
                if name is not None and name in names:
                    reader.error(
                        item, join(join(where, "host"), i), f"host {name!r} is listed twice"
                    )
                elif name is not None:
                    names.append(name)
            if not node.value:
                reader.error(node, join(where, "host"), "an empty list", "name one host or more")
            if len(names) == 1:
                return {"host": names[0]}
            return {"host_choices": tuple(names)} if names else {}
        name = reader.text(node, join(where, "host"))
        return {} if name is None else {"host": name}

    def finish(self, tasks: list[Task], user: tuple[HostSpec, ...]) -> tuple[HostSpec, ...]:
        """Every known host (the files' own over the user config's); a task naming an
        unknown one is an error at its ``host:``."""
        known = {**{h.name: h for h in user}, **self.own}
        for task in tasks:
            for name in (task.host,) if task.host else task.host_choices:
                if name in known or task.id not in self.named:
                    continue
                reader, node, where = self.named[task.id]
                hint = did_you_mean(name, known, "hosts") if known else "define it under hosts:"
                reader.error(node, where, f"unknown host {name!r}", hint)
        return tuple(known.values())


__all__ = ["HOST_KEYS", "HostBook", "HostSpec", "read_hosts"]
