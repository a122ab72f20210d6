"""Tasks, their agents and the whole task set, as frozen dataclasses (see
:mod:`tmuxorch.spec.tasks` for how files become these)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.graph import Graph
    from tmuxorch.spec.model import Pairs


@dataclass(frozen=True)
class Origin:
    """Where something was written: for messages about it after the file was read."""

    file: str
    line: int
    col: int
    where: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.where}"


@dataclass(frozen=True)
class DoneWhen:
    """When a task counts as done: its process ``exit``\\s (0 = success), its pane prints
    ``pattern`` (``output``), ``path`` appears (``file``), or it sits ``idle`` for
    ``seconds``."""

    kind: str = "exit"
    pattern: str | None = None
    path: str | None = None
    seconds: float = 5.0


@dataclass(frozen=True)
class AgentProfile:
    """How to launch one kind of agent: a preset with the layout's overrides.

    ``argv`` may hold ``{command}``, ``{prompt}``, ``{prompt_file}`` and ``{python}``.
    ``prompt`` says how the prompt is delivered: ``none``, ``argument``, ``file``,
    ``stdin``, or ``type`` (pasted into the agent once ``ready`` matches its screen).
    """

    name: str
    preset: str
    argv: tuple[str, ...]
    prompt: str = "none"
    takes_command: bool = False
    env: Pairs = ()
    ready: str | None = None
    enter_delay: float = 0.1
    description: str = ""


@dataclass(frozen=True)
class Task:
    id: str
    origin: Origin
    agent: str
    """Name of the task's :class:`AgentProfile` (``shell`` for a plain ``command``)."""
    command: str | None = None
    prompt: str | None = None
    """The prompt, variables already filled in."""
    depends_on: tuple[str, ...] = ()
    cwd: str | None = None
    env: Pairs = ()
    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 1.0
    locks: tuple[str, ...] = ()
    done_when: DoneWhen = DoneWhen()


@dataclass(frozen=True)
class TaskSet:
    """Every task of a run, with the agent profiles they use."""

    tasks: tuple[Task, ...]
    agents: tuple[AgentProfile, ...]
    max_parallel: int
    panes_per_window: int = 4
    notify: str | None = None
    """A shell command run when an agent waits for input (the event as JSON on stdin)."""
    files: tuple[str, ...] = ()
    """The files the tasks were read from (a directory of task files gives several)."""

    @cached_property
    def graph(self) -> Graph:
        """The dependency graph (checked once: :class:`SpecError` naming a cycle)."""
        from tmuxorch.graph import build_graph

        return build_graph(self)

    def task(self, task_id: str) -> Task:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def agent(self, name: str) -> AgentProfile:
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise KeyError(name)
