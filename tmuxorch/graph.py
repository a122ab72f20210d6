"""The task graph (pure): checked with :mod:`graphlib`, cycles named with their position.

``a → b`` reads "a depends on b" everywhere here and in messages.
"""

from __future__ import annotations

import graphlib
from dataclasses import dataclass

from tmuxorch.spec.errors import Problem, SpecError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from tmuxorch.spec.task_model import TaskSet


@dataclass(frozen=True)
class Graph:
    order: tuple[str, ...]
    """Every task, dependencies before dependents (file order where free to choose)."""
    deps: dict[str, tuple[str, ...]]
    dependents: dict[str, tuple[str, ...]]

    def levels(self) -> list[list[str]]:
        """Tasks by depth: level 0 needs nothing, level n needs something of level n-1."""
        depth: dict[str, int] = {}
        for task in self.order:
            depth[task] = 1 + max((depth[d] for d in self.deps[task]), default=-1)
        levels: list[list[str]] = [[] for _ in range(1 + max(depth.values(), default=-1))]
        for task in self.order:
            levels[depth[task]].append(task)
        return levels

    def downstream(self, task_id: str) -> list[str]:
        """Every task that needs ``task_id``, directly or not, in graph order."""
        found: set[str] = set()
        stack = [task_id]
        while stack:
            for child in self.dependents[stack.pop()]:
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return [t for t in self.order if t in found]

    def roots(self) -> list[str]:
        return [t for t in self.order if not self.deps[t]]


def build_graph(taskset: TaskSet) -> Graph:
    """The graph of ``taskset``; :class:`SpecError` naming the cycle if there is one."""
    ids = [t.id for t in taskset.tasks]
    deps = {t.id: t.depends_on for t in taskset.tasks}
    sorter = graphlib.TopologicalSorter(deps)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        raise SpecError([_cycle_problem(taskset, exc.args[1])]) from None
    position = {task_id: i for i, task_id in enumerate(ids)}
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=position.__getitem__)
        order.extend(ready)
        sorter.done(*ready)
    dependents: dict[str, list[str]] = {task_id: [] for task_id in ids}
    for task_id in order:
        for dep in deps[task_id]:
            dependents[dep].append(task_id)
    return Graph(tuple(order), deps, {k: tuple(v) for k, v in dependents.items()})


def _cycle_problem(taskset: TaskSet, cycle: Iterable[str]) -> Problem:
    """graphlib lists a cycle as predecessors: [a, b, a] means b needs a, a needs b."""
    nodes = list(cycle)[:-1]
    nodes.reverse()  # now each needs the next
    position = {t.id: i for i, t in enumerate(taskset.tasks)}
    start = min(range(len(nodes)), key=lambda i: position[nodes[i]])
    nodes = nodes[start:] + nodes[:start]
    first = taskset.task(nodes[0])
    chain = " → ".join([*nodes, nodes[0]])
    return Problem(
        first.origin.file,
        first.origin.line,
        first.origin.col,
        f"{first.origin.where}.depends_on",
        f"dependency cycle: {chain}",
        "→ reads 'depends on'; remove one of these dependencies",
    )
