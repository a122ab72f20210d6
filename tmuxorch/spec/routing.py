"""Which agents may do a task (pure): its own ``agent:`` and ``fallback:``, or — for a task
that names no agent — the first ``route:`` rule that matches it (the tasks file's rules,
then the user config's)::

    route:
      - {labels: [frontend], agent: gemini}
      - {paths: ["docs/**"], agent: writer}
      - {keywords: [test, pytest], agent: [codex, coder]}   # several: by capacity, in order
      - {agent: coder}                                       # no condition: every other task
    tasks:
      - {id: ui, labels: [frontend], prompt: "Build the settings page"}
      - {id: api, prompt: "Add the endpoint", fallback: [codex]}

A rule matches when every condition it gives holds: one of its ``labels`` is one of the
task's, one of its ``paths`` (globs) matches one of the task's ``paths``, one of its
``keywords`` is a word of the task's prompt (any case). Its agents are the task's
candidates, in order; which one runs each attempt is decided by capacity when the task
starts (see :mod:`tmuxorch.run.agent_choice`), and said in the run's log.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field, replace

from tmuxorch.spec.errors import Problem
from tmuxorch.spec.source import ScalarNode, join
from tmuxorch.spec.task_model import Origin

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node, Reader
    from tmuxorch.spec.task_model import AgentProfile, Task

RULE_KEYS = frozenset({"agent", "labels", "paths", "keywords", "ask"})


@dataclass(frozen=True)
class Rule:
    agents: tuple[str, ...]
    labels: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    ask: str | None = None
    """An agent asked (headless) which of ``agents`` should do the task, when it starts."""
    origin: Origin | None = field(default=None, compare=False)

    def matches(self, task: Task) -> bool:
        if self.labels and not set(self.labels) & set(task.labels):
            return False
        if self.paths and not any(
            fnmatch.fnmatch(p, pattern) for p in task.paths for pattern in self.paths
        ):
            return False
        if self.keywords:
            words = set(re.findall(r"[\w.-]+", (task.prompt or "").lower()))
            if not {k.lower() for k in self.keywords} & words:
                return False
        return True

    def __str__(self) -> str:
        said = [
            f"{name} {', '.join(values)}"
            for name, values in (
                ("labels", self.labels),
                ("paths", self.paths),
                ("keywords", self.keywords),
            )
            if values
        ]
        said += [f"{self.ask} chooses"] if self.ask else []
        return "route: " + ("; ".join(said) or "the default rule")


def read_routes(reader: Reader, node: Node, where: str) -> tuple[Rule, ...]:
    rules = []
    for i, item in enumerate(reader.sequence(node, where) or ()):
        at = join(where, i)
        entries = reader.mapping(item, at, RULE_KEYS)
        if entries is None:
            continue
        if "agent" not in entries:
            reader.error(item, join(at, "agent"), "required key is missing")
            continue
        agents = names(reader, entries["agent"][1], join(at, "agent"))
        lists = {
            key: names(reader, entries[key][1], join(at, key)) if key in entries else ()
            for key in ("labels", "paths", "keywords")
        }
        ask = reader.text(entries["ask"][1], join(at, "ask")) if "ask" in entries else None
        line, col = item.start_mark.line + 1, item.start_mark.column + 1
        origin = Origin(reader.file, line, col, at)
        if agents:
            rules.append(Rule(agents, **lists, ask=ask or None, origin=origin))
    return tuple(rules)


def names(reader: Reader, node: Node, where: str) -> tuple[str, ...]:
    """A name, or a list of names."""
    if isinstance(node, ScalarNode):
        one = reader.text(node, where)
        return (one,) if one else ()
    items = reader.sequence(node, where) or []
    found = [reader.text(n, join(where, i)) for i, n in enumerate(items)]
    return tuple(f for f in found if f)


def task_keys(
    reader: Reader, entries: dict[str, tuple[Node, Node]], where: str
) -> dict[str, object]:
    """A task's ``fallback``, ``labels`` and ``paths``."""
    return {
        key: names(reader, entries[key][1], join(where, key))
        for key in ("fallback", "labels", "paths")
        if key in entries
    }


def routed(task: Task, rules: tuple[Rule, ...]) -> Task | None:
    """``task`` (which names no agent) with the agents of the first rule that matches it."""
    for rule in rules:
        if rule.matches(task):
            first, *more = rule.agents
            fallback = tuple(dict.fromkeys((*more, *task.fallback)))
            return replace(task, agent=first, fallback=fallback, routed=str(rule), ask=rule.ask)
    return None


def resolve(
    tasks: list[Task], rules: tuple[Rule, ...], places: dict[str, tuple[Reader, Node, str]]
) -> list[Task]:
    """Each task that names no agent, with the agents its rule gives (one that matches no
    rule is an error, said at its place)."""
    found = []
    for task in tasks:
        if task.agent:
            found.append(task)
            continue
        chosen = routed(task, rules)
        if chosen is None:
            reader, node, where = places[task.id]
            reader.error(
                node, where, unrouted(task) if rules else "a task needs a command or an agent"
            )
            continue
        found.append(chosen)
    return found


def add_profiles(
    tasks: list[Task],
    profiles: dict[str, AgentProfile],
    broken: set[str],
    readers: list[Reader],
    rules: tuple[Rule, ...] = (),
) -> None:
    """The profiles of the agents tasks may run besides their own (``fallback:``, a
    route's), from the presets when no profile has the name; an unknown one is an error
    at its task (and ``broken``: not said again)."""
    from tmuxorch.agents.presets import find

    for rule in rules:  # a file's rules: each agent they name is known, used or not
        for name in (*rule.agents, *([rule.ask] if rule.ask else [])):
            if name in profiles or name in broken or rule.origin is None:
                continue
            if find(name) is not None:
                profiles[name] = find(name).profile()  # type: ignore[union-attr]
                continue
            o = rule.origin
            reader = next(r for r in readers if r.file == o.file)
            reader.problems.append(
                Problem(o.file, o.line, o.col, o.where, f"unknown agent {name!r}", None)
            )
            broken.add(name)
    for task in tasks:
        routed = (task.agent, *task.fallback, *([task.ask] if task.ask else []))
        for name in routed if task.routed else task.fallback:
            if name in profiles or name in broken:
                continue
            found = find(name)
            if found is not None:
                profiles[name] = found.profile()
                continue
            reader = next(r for r in readers if r.file == task.origin.file)
            where = "its route" if task.routed and name == task.agent else "fallback"
            reader.problems.append(_here(task, f"unknown agent {name!r} ({where})"))
            broken.add(name)


def _here(task: Task, what: str) -> Problem:
    o = task.origin
    return Problem(o.file, o.line, o.col, o.where, what, None)


def unrouted(task: Task) -> str:
    """Why a task with no agent matched no rule."""
    facts = [f"labels {', '.join(task.labels)}"] if task.labels else []
    facts += [f"paths {', '.join(task.paths)}"] if task.paths else []
    return (
        "no route rule matches it"
        + (f" ({'; '.join(facts)})" if facts else "")
        + (": give it an agent, or add a rule (a rule with only agent: matches every task)")
    )
