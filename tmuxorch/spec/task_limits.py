"""How long a task may take, how often it is tried, what its result must satisfy (pure):
``timeout``, ``stall``, ``retries``, ``retry_delay`` — a task's own, else its file's
(``timeout``, ``stall``), else the user config's ``defaults:``, else the built-in ones —
and ``result_schema`` (a JSON Schema file, relative to the task's file)."""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.spec import task_values as values
from tmuxorch.spec.source import join
from tmuxorch.spec.task_model import AGENT_STALL, FileDefaults, Origin, Stall

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node, Reader
    from tmuxorch.spec.user_config import UserConfig

Entries = dict[str, tuple["Node", "Node"]]


@dataclass(frozen=True)
class Limits:
    timeout: float | None
    stall: Stall | None
    retries: int
    retry_delay: float
    result_schema: str | None = None


def file_defaults(reader: Reader, entries: Entries, user: UserConfig) -> FileDefaults:
    """A file's ``timeout`` and ``stall`` for its tasks, over the user config's."""
    timeout, stall, given = user.defaults.timeout, user.defaults.stall, user.defaults.stall_given
    if "timeout" in entries:
        timeout = values.seconds(reader, entries["timeout"][1], "timeout")
    if "stall" in entries:
        stall, given = values.stall(reader, entries["stall"][1], "stall"), True
    return FileDefaults(timeout, stall, given)


def file_max_parallel(
    reader: Reader, entries: Entries, earlier: tuple[int, Origin] | None
) -> tuple[int, Origin] | None:
    """A file's ``max_parallel`` and where it is (``earlier``: another file's, which it
    must not contradict)."""
    if "max_parallel" not in entries:
        return earlier
    node = entries["max_parallel"][1]
    value = reader.integer(node, "max_parallel", minimum=1)
    if value is None:
        return earlier
    origin = Origin(
        reader.file, node.start_mark.line + 1, node.start_mark.column + 1, "max_parallel"
    )
    if earlier and earlier[0] != value:
        reader.error(node, "max_parallel", f"{value} contradicts {earlier[0]} set at {earlier[1]}")
    return (value, origin)


def limits(
    reader: Reader,
    entries: Entries,
    where: str,
    defaults: FileDefaults,
    user: UserConfig,
    *,
    agent: bool,
    base_dir: str = ".",
) -> Limits:
    """A task's limits (``agent``: it runs an agent, not a plain ``command``)."""
    timeout = defaults.timeout
    if "timeout" in entries:
        timeout = values.seconds(reader, entries["timeout"][1], join(where, "timeout"))
    stall = defaults.stall if defaults.stall_given else (AGENT_STALL if agent else None)
    if "stall" in entries:
        stall = values.stall(reader, entries["stall"][1], join(where, "stall"))
    retries = user.defaults.retries
    if "retries" in entries:
        retries = reader.integer(entries["retries"][1], join(where, "retries"), minimum=0) or 0
    retry_delay = user.defaults.retry_delay
    if "retry_delay" in entries:
        delay = values.seconds(reader, entries["retry_delay"][1], join(where, "retry_delay"))
        retry_delay = retry_delay if delay is None else delay
    schema = None
    if "result_schema" in entries:
        node = entries["result_schema"][1]
        schema = values.json_file(reader, node, join(where, "result_schema"), base_dir)
    return Limits(timeout, stall, retries, retry_delay, schema)
