"""The values inside task files, each read and checked on its own (pure): durations,
names, regular expressions, environments, directories, ``done_when`` and ``worktree``.
Each reports a bad value on its reader (``file:line:col: where: what``) and returns what
it could read."""

from __future__ import annotations

import os
import re

from tmuxorch.spec.duration import parse_duration
from tmuxorch.spec.keys import WORKTREE_KEYS
from tmuxorch.spec.source import ScalarNode, join
from tmuxorch.spec.task_model import DoneWhen, Stall, Worktree

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node, Reader

MERGES = ("ff", "squash", "pr")
"""How ``merge`` brings a task's work in: fast-forward, one squashed commit, a pull request."""
_SPACE = re.compile(r"\s")
DONE_KINDS = "exit, idle, result, {output: REGEX}, {file: PATH} or {idle: SECONDS}"


def done_when(reader: Reader, node: Node, where: str) -> DoneWhen:
    if isinstance(node, ScalarNode):
        kind = reader.text(node, where)
        if kind in ("exit", "idle", "result"):
            return DoneWhen(kind)
        if kind is not None:
            reader.error(node, where, f"unknown done_when {kind!r}", DONE_KINDS)
        return DoneWhen()
    entries = reader.mapping(node, where, {"output", "file", "idle"})
    if not entries:
        if entries is not None:
            reader.error(node, where, "expected one of output, file, idle")
        return DoneWhen()
    if len(entries) > 1:
        reader.error(node, where, "give one of output, file, idle")
        return DoneWhen()
    ((kind, (_, value)),) = entries.items()
    if kind == "output":
        return DoneWhen("output", pattern=regex(reader, value, join(where, "output")))
    if kind == "file":
        path = reader.text(value, join(where, "file"))
        if path is None:
            return DoneWhen()
        return DoneWhen("file", path=os.path.normpath(os.path.expanduser(path)))
    idle = seconds(reader, value, join(where, "idle"))
    return DoneWhen("idle", seconds=5.0 if idle is None else idle)


def worktree(reader: Reader, node: Node, where: str) -> Worktree | None:
    """``true``/``false``, a policy word (``keep``, ``remove``, ``merge``, ``ff``,
    ``squash``, ``pr``), or ``{after: keep|remove|merge, merge: ff|squash|pr,
    failed: remove|keep, remote: NAME}``."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        return Worktree() if reader.boolean(node, where) else None
    if isinstance(node, ScalarNode):
        word = reader.text(node, where)
        if word in ("keep", "remove", "merge"):
            return Worktree(after=word)
        if word in MERGES:
            return Worktree(merge=word)
        if word is not None:
            reader.error(
                node,
                where,
                f"unknown worktree policy {word!r}",
                "true, false, keep, remove, merge, ff, squash, pr,"
                " or {after, merge, failed, remote}",
            )
        return None
    entries = reader.mapping(node, where, WORKTREE_KEYS)
    if entries is None:
        return None
    choices = {"after": ("keep", "remove", "merge"), "merge": MERGES, "failed": ("remove", "keep")}
    values: dict[str, str] = {}
    for key, (_, value) in entries.items():
        if key == "remote":
            continue
        word = reader.word(value, join(where, key), choices[key], f"{key} policy")
        if word is not None:
            values[key] = word
    remote = None
    if "remote" in entries:
        key_node, value = entries["remote"]
        remote = reader.text(value, join(where, "remote"))
        if remote is not None and (not remote or remote.startswith("-") or _SPACE.search(remote)):
            reader.error(value, join(where, "remote"), f"not a git remote's name: {remote!r}")
            remote = None
        if "merge" not in entries or values.get("merge", "pr") != "pr":
            reader.error(
                key_node, join(where, "remote"), "only with merge: pr (nothing else pushes)"
            )
    return Worktree(**values, remote=remote)


# -- values --------------------------------------------------------------------------


def names(
    reader: Reader, entry: tuple[Node, Node] | None, where: str
) -> list[tuple[Node, str, str]]:
    """A name or a list of names (``depends_on``, ``locks``): (node, name, where)."""
    if entry is None:
        return []
    node = entry[1]
    if reader.is_null(node):
        return []
    items = [node] if isinstance(node, ScalarNode) else reader.sequence(node, where) or []
    names = []
    for i, item in enumerate(items):
        item_where = where if item is node else join(where, i)
        name = reader.text(item, item_where)
        if name is not None:
            names.append((item, name, item_where))
    return names


def flag(reader: Reader, entries: dict[str, tuple[Node, Node]], key: str, where: str) -> bool:
    """A ``true``/``false`` key of a mapping (false if it is not there, or not a boolean)."""
    return key in entries and bool(reader.boolean(entries[key][1], join(where, key)))


def regex(reader: Reader, node: Node, where: str) -> str | None:
    pattern = reader.text(node, where)
    if pattern is None:
        return None
    try:
        re.compile(pattern, re.MULTILINE)
    except re.error as exc:
        reader.error(node, where, f"not a valid regular expression: {exc}")
        return None
    return pattern


def seconds(reader: Reader, node: Node, where: str) -> float | None:
    raw = reader.text(node, where)
    if raw is None:
        return None
    value = parse_duration(raw)
    if value is None:
        reader.error(node, where, f"not a duration: {raw!r}", "like 90, 90s, 30m, 1h30m")
    return value


def env(reader: Reader, node: Node, where: str) -> dict[str, str]:
    env = {}
    for name, key_node, value in reader.free_mapping(node, where, "NAME: value"):
        if not name or "=" in name:
            reader.error(key_node, join(where, name), "not a valid variable name")
            continue
        env[name] = reader.text(value, join(where, name), allow_null=True) or ""
    return env


def resolve(base_dir: str, raw: str) -> str:
    """A path as the user wrote it (``~`` expanded), relative to ``base_dir``, made whole."""
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(raw)))


def directory(reader: Reader, node: Node, where: str, base_dir: str) -> str | None:
    raw = reader.text(node, where)
    if raw is None:
        return None
    path = resolve(base_dir, raw)
    if not os.path.isdir(path):
        reader.error(node, where, f"{path} does not exist")
        return None
    return path


def json_file(reader: Reader, node: Node, where: str, base_dir: str) -> str | None:
    """A JSON file (a result's schema): its absolute path, if it is there and is JSON."""
    import json

    raw = reader.text(node, where)
    if not raw:
        return None
    path = resolve(base_dir, raw)
    try:
        with open(path, encoding="utf-8") as handle:
            json.load(handle)
    except OSError as exc:
        reader.error(node, where, f"cannot read {path}: {exc.strerror or exc}")
        return None
    except ValueError as exc:
        reader.error(node, where, f"{path} is not JSON: {exc}")
        return None
    return path


STALL_KEYS = frozenset({"after", "fail_after", "remind"})


def stall(reader: Reader, node: Node, where: str) -> Stall | None:
    """``false``/``off`` (none), a duration (told after it, failed after twice it,
    reminded every three times it while waiting for a person), or
    ``{after, fail_after (a duration or never), remind}``."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        if reader.boolean(node, where):
            reader.error(node, where, "give a duration (e.g. 10m), or false for none")
        return None
    if isinstance(node, ScalarNode):
        if reader.text(node, where) in ("off", "never", "none"):
            return None
        after = seconds(reader, node, where)
        return None if after is None else Stall(after, 2 * after, 3 * after)
    entries = reader.mapping(node, where, STALL_KEYS)
    if entries is None:
        return None
    if "after" not in entries:
        reader.error(node, join(where, "after"), "required key is missing")
        return None
    after = seconds(reader, entries["after"][1], join(where, "after"))
    if after is None:
        return None
    fail_after: float | None = 2 * after
    if "fail_after" in entries:
        value = entries["fail_after"][1]
        if isinstance(value, ScalarNode) and (
            value.value in ("never", "off") or value.tag.endswith(":bool")
        ):
            fail_after = None
        else:
            fail_after = seconds(reader, value, join(where, "fail_after"))
            if fail_after is not None and fail_after < after:
                reader.error(value, join(where, "fail_after"), "must not be before after")
    remind = 3 * after
    if "remind" in entries:
        remind = seconds(reader, entries["remind"][1], join(where, "remind")) or remind
    return Stall(after, fail_after, remind)
