"""Tasks, their agents and the whole task set, as frozen dataclasses (see
:mod:`tmuxorch.spec.tasks` for how files become these)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.graph import Graph
    from tmuxorch.spec.hosts import HostSpec
    from tmuxorch.spec.model import Pairs

DELIVERIES = ("none", "argument", "file", "stdin", "type")
"""How a prompt reaches an agent: not at all, as arguments, in a file named by arguments,
on standard input, or typed (pasted) into the agent once it shows it is ready."""
DIALOG_POLICIES = ("accept", "ask", "fail")


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
    ``pattern`` (``output``), ``path`` appears (``file``: relative to the task's working
    directory; a ``.json`` file must also parse), its result file appears (``result``:
    ``$TMUXORCH_RESULT``, valid JSON), or it sits ``idle`` for ``seconds``."""

    kind: str = "exit"
    pattern: str | None = None
    path: str | None = None
    seconds: float = 5.0


@dataclass(frozen=True)
class Dialog:
    """A question an agent may stop at before its work (a folder-trust dialog...).

    ``pattern`` shows it is up. Answering it means choosing the menu option matching
    ``choose`` (arrow keys from the highlighted option, then Enter), or pressing ``keys``.
    """

    name: str
    pattern: str
    choose: str | None = None
    keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentProfile:
    """How to launch one kind of agent: a preset, in one of its modes, with a layout's
    overrides.

    ``argv`` may hold ``{command}``, ``{session}``, ``{python}``; ``prompt_args`` (added
    after the user's ``args``) hold ``{prompt}`` or ``{prompt_file}``. ``prompt`` says how
    the prompt is delivered (see :data:`DELIVERIES`). A ``{session}`` in ``argv`` makes
    tmuxorch choose the conversation's id; ``session_capture`` reads it off the screen
    instead. A later attempt runs ``resume_argv`` when it can (the same conversation).
    """

    name: str
    preset: str
    argv: tuple[str, ...]
    args: tuple[str, ...] = ()
    """The layout's extra arguments, after ``argv`` (or ``resume_argv``)."""
    prompt: str = "none"
    prompt_args: tuple[str, ...] = ()
    resume_argv: tuple[str, ...] | None = None
    session_capture: str | None = None
    takes_command: bool = False
    env: Pairs = ()
    ready: str | None = None
    """The screen shows the agent takes input (typed prompts wait for it)."""
    ready_timeout: float = 60.0
    """Seconds a typed prompt waits for ``ready`` before the attempt fails."""
    enter_delay: float = 0.1
    patterns: tuple[tuple[str, str], ...] = ()
    """(state, regex) checked in order against the last lines of the screen."""
    dialogs: tuple[Dialog, ...] = ()
    dialog_policy: str = "accept"
    mode: str = "interactive"
    done_when: DoneWhen = DoneWhen()
    """What ends a task of this agent unless the task says."""
    program: str | None = None
    max_parallel: int | None = None
    """At most this many of its attempts run at once, across the run (None: no cap)."""
    breaker: tuple[int, float, float] | None = (3, 600.0, 300.0)
    """(failures, window, cooldown): that many limit or login failures within the window
    open its breaker for the cooldown (see :mod:`tmuxorch.run.agent_choice`); None: none."""
    install: str = ""
    """How to install ``program`` (said when it is missing)."""
    description: str = ""


@dataclass(frozen=True)
class Worktree:
    """A git worktree for a task: made on branch ``tmuxorch/RUN/TASK`` before its pane
    opens; afterwards ``keep`` it, ``remove`` it, or ``merge`` its work (``ff``: fast
    forward, rebasing onto the base first if needed; ``squash``: one commit; ``pr``: push
    the branch and open a pull request) then remove it. ``failed``: what becomes of it
    after a final failure (``remove`` or ``keep``)."""

    after: str = "merge"
    merge: str = "ff"
    failed: str = "remove"
    remote: str | None = None
    """With ``merge: pr``: the git remote to push to (by default the one the base branch
    tracks, else ``origin``)."""


@dataclass(frozen=True)
class Stall:
    """An attempt that shows nothing new (no output, no change of what its agent does)
    for ``after`` seconds is told to people; for ``fail_after`` seconds (None: never), it
    fails as ``stalled``. An agent waiting for a person is never failed for it: people are
    reminded every ``remind`` seconds instead."""

    after: float
    fail_after: float | None
    remind: float


AGENT_STALL = Stall(after=900.0, fail_after=1800.0, remind=1800.0)
"""An agent's unless a task, its file or the user config says otherwise: an agent that
sits silent for 15 minutes is told of, at 30 it fails (a plain ``command`` has none: a
build may be quiet for long)."""


@dataclass(frozen=True)
class FileDefaults:
    """What a tasks file (or the user config) says for every task in it; ``stall_given``:
    it says something of ``stall`` (``None`` then means: none)."""

    timeout: float | None = None
    stall: Stall | None = None
    stall_given: bool = False


@dataclass(frozen=True)
class Quorum:
    """A group of dependencies of which ``any`` must succeed (``depends_on: {any: 2, of:
    [r1, r2, r3]}``). Once enough have, the rest ``finish`` (left to run) or ``stop``."""

    any: int
    of: tuple[str, ...]
    then: str = "finish"

    def __str__(self) -> str:
        return f"{self.any} of ({', '.join(self.of)})"


@dataclass(frozen=True)
class TaskHome:
    """Where a task added to a live run (``tmuxorch add``) is read as if it were written:
    at the end of the first task list of the run's files. Its paths (prompt templates,
    ``cwd``) are from ``base_dir``, its agent works in ``cwd`` unless it says, and it takes
    that list's ``worktree`` default."""

    base_dir: str
    cwd: str
    worktree: Worktree | None = None
    defaults: FileDefaults = FileDefaults()


@dataclass(frozen=True)
class Task:
    id: str
    origin: Origin
    agent: str
    """Name of the task's :class:`AgentProfile` (``shell`` for a plain ``command``)."""
    command: str | None = None
    prompt: str | None = None
    """The prompt, variables filled in; with ``prompt_fields``, still a template whose
    run-time fields (``{result_file}``, ``{results.ID}``...) are filled at launch."""
    prompt_fields: tuple[str, ...] = ()
    depends_on: tuple[str, ...] = ()
    """Every task it depends on: including, for a follow-up, the task it follows, and the
    members of its ``quorums``."""
    quorums: tuple[Quorum, ...] = ()
    """Groups of ``depends_on`` of which only some must succeed; the others must all."""
    cwd: str | None = None
    env: Pairs = ()
    timeout: float | None = None
    stall: Stall | None = None
    retries: int = 0
    retry_delay: float = 1.0
    locks: tuple[str, ...] = ()
    done_when: DoneWhen = DoneWhen()
    worktree: Worktree | None = None
    follows: str | None = None
    """A follow-up (``then:``) exists only once this task has succeeded."""
    sources: tuple[str, ...] = ()
    """Files besides the task file it was read from (prompt templates)."""
    result_schema: str | None = None
    """A JSON Schema file its result must satisfy (else the attempt failed)."""
    fallback: tuple[str, ...] = ()
    """Agents that take over when its own is limited, logged out or capped."""
    labels: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    """What ``route:`` rules match (with its prompt's words)."""
    routed: str | None = None
    """The rule that chose its agents, when it named none."""
    ask: str | None = None
    """That rule's agent asked which of them does it (when it starts)."""
    allow_failure: bool = False
    """Its final failure does not hold back what depends on it, nor fail the run."""
    host: str | None = None
    """The ``hosts:`` entry it runs on (``None``: here, unless ``host_choices``)."""
    host_choices: tuple[str, ...] = ()
    """``host: [a, b]``: the first of them with room (its ``max_parallel``) when it starts."""

    @property
    def required(self) -> tuple[str, ...]:
        """The dependencies that must all succeed (those in no quorum group)."""
        if not self.quorums:
            return self.depends_on
        grouped = {name for group in self.quorums for name in group.of}
        return tuple(d for d in self.depends_on if d not in grouped)


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
    home: TaskHome | None = None
    """Where an added task is read as if written (None: a task set made in code)."""
    max_parallel_given: bool = True
    """False: the file sets no ``max_parallel`` (every task at once, added ones too)."""
    hosts: tuple[HostSpec, ...] = ()
    """Other machines known to these tasks (``hosts:``; not used by runs yet)."""

    @cached_property
    def graph(self) -> Graph:
        """The dependency graph (checked once: :class:`SpecError` naming a cycle)."""
        from tmuxorch.graph import build_graph

        return build_graph(self)

    @cached_property
    def by_id(self) -> dict[str, Task]:
        return {task.id: task for task in self.tasks}

    def task(self, task_id: str) -> Task:
        return self.by_id[task_id]

    def agent(self, name: str) -> AgentProfile:
        for agent in self.agents:
            if agent.name == name:
                return agent
        raise KeyError(name)

    def followers(self, task_id: str) -> list[Task]:
        """The follow-ups created when ``task_id`` succeeds."""
        return [task for task in self.tasks if task.follows == task_id]
