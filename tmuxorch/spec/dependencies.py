"""A task's ``depends_on`` (pure): a task id, a quorum group, or a list of either::

    depends_on: build
    depends_on: {any: 2, of: [r1, r2, r3]}             # two of the three must succeed
    depends_on: [build, {any: 2, of: [r1, r2, r3], then: stop}]

A group's ``any`` is between 1 and the number of its tasks; ``then`` says what becomes of
the rest of the group once enough have succeeded: ``finish`` (the default: they go on)
or ``stop``. A task is needed on its own or in one group, never both. Whether the ids are
tasks at all is checked once every file is read (:func:`check`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tmuxorch.spec.source import MappingNode, Node, SequenceNode, did_you_mean, join
from tmuxorch.spec.task_model import Quorum

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Collection

    from tmuxorch.spec.source import Reader

QUORUM_KEYS = frozenset({"any", "of", "then"})
QUORUM_THEN = ("finish", "stop")
GROUP = "{any: N, of: [TASK, ...]} (then: finish or stop)"

Named = tuple[Node, str, str]
"""Where a task id was written: (its node, the id, its path)."""


@dataclass
class Dependencies:
    names: list[Named] = field(default_factory=list)
    """Every id named (on its own or in a group), in the order written."""
    quorums: list[Quorum] = field(default_factory=list)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for _, name, _ in self.names))


def read(
    reader: Reader, entry: tuple[Node, Node] | None, where: str, parent: Named | None = None
) -> Dependencies:
    """The ``depends_on`` entry of a task (``parent``: the task a follow-up follows, which
    it needs on its own)."""
    deps = Dependencies([] if parent is None else [parent])
    alone: dict[str, str] = {} if parent is None else {parent[1]: "as the task it follows"}
    grouped: dict[str, str] = {}
    if entry is None or reader.is_null(entry[1]):
        return deps
    node = entry[1]
    single = not isinstance(node, SequenceNode)
    items = [node] if single else reader.sequence(node, where) or []
    for i, item in enumerate(items):
        item_where = where if single else join(where, i)
        if isinstance(item, MappingNode):
            group = _group(reader, item, item_where, deps, alone, grouped)
            if group is not None:
                deps.quorums.append(group)
            continue
        name = reader.text(item, item_where)
        if name is None:
            continue
        if name in grouped:
            reader.error(
                item,
                item_where,
                f"{name!r} is in a group already (at {grouped[name]})",
                "a task is needed on its own or in one group, not both",
            )
            continue
        deps.names.append((item, name, item_where))
        alone.setdefault(name, f"at {item_where}")
    return deps


def _group(
    reader: Reader,
    node: Node,
    where: str,
    deps: Dependencies,
    alone: dict[str, str],
    grouped: dict[str, str],
) -> Quorum | None:
    entries = reader.mapping(node, where, QUORUM_KEYS)
    if entries is None:
        return None
    missing = [key for key in ("any", "of") if key not in entries]
    for key in missing:
        reader.error(node, join(where, key), "required key is missing", f"a group is {GROUP}")
    if missing:
        return None
    of_where = join(where, "of")
    members = reader.sequence(entries["of"][1], of_where)
    if members is None:
        return None
    if not members:
        reader.error(entries["of"][1], of_where, "empty: expected the tasks of the group")
    ids: list[str] = []
    for j, member in enumerate(members):
        member_where = join(of_where, j)
        name = reader.text(member, member_where)
        if name is None:
            continue
        if name in ids:
            reader.error(member, member_where, f"{name!r} is twice in this group")
        elif name in alone:
            reader.error(
                member,
                member_where,
                f"{name!r} is needed on its own already ({alone[name]})",
                "a task is needed on its own or in one group, not both",
            )
        elif name in grouped:
            reader.error(member, member_where, f"{name!r} is in another group (at {grouped[name]})")
        else:
            ids.append(name)
            deps.names.append((member, name, member_where))
    for name in ids:
        grouped[name] = of_where
    any_node = entries["any"][1]
    count = reader.integer(any_node, join(where, "any"), minimum=1)
    if count is not None and members and count > len(members):
        reader.error(
            any_node,
            join(where, "any"),
            f"{count} is more than the {len(members)} task(s) of the group",
            f"any is between 1 and {len(members)}",
        )
    then = "finish"
    if "then" in entries:
        then_where = join(where, "then")
        then = reader.word(entries["then"][1], then_where, QUORUM_THEN, "then") or then
    return None if count is None or not ids else Quorum(count, tuple(ids), then)


def check(reader: Reader, task_id: str, names: list[Named], known: Collection[str]) -> None:
    """Each id a task depends on is a task, and not itself."""
    for node, name, where in names:
        if name not in known:
            reader.error(node, where, f"unknown task {name!r}", did_you_mean(name, known, "tasks"))
        elif name == task_id:
            reader.error(node, where, "a task cannot depend on itself")
