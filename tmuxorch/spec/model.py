"""The workspace as frozen dataclasses, fully expanded and inherited (tmuxp's
``expand`` + ``trickle``): every pane knows its own commands, directory, shell and
environment, so later layers never look up a parent. Tasks are in
:mod:`tmuxorch.spec.task_model` (a layout without tasks never loads them).
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.task_model import TaskSet

Pairs = tuple[tuple[str, str], ...]
"""Ordered name/value pairs (environment variables, tmux options)."""


@dataclass(frozen=True)
class Command:
    """Keys typed into a pane's shell: ``text``, then Enter unless ``enter`` is false."""

    text: str
    enter: bool = True
    sleep_before: float = 0.0
    sleep_after: float = 0.0


@dataclass(frozen=True)
class Pane:
    commands: tuple[Command, ...] = ()
    start_directory: str | None = None
    shell: str | None = None
    """The pane's own program instead of the default shell (tmuxp ``shell``/``window_shell``)."""
    environment: Pairs = ()
    focus: bool = False
    suppress_history: bool = True
    """Type commands with a leading space so shells with ``ignorespace`` skip history."""
    title: str | None = None


@dataclass(frozen=True)
class Window:
    panes: tuple[Pane, ...]
    name: str | None = None
    index: int | None = None
    layout: str | None = None
    options: Pairs = ()
    """Window options set as the window is created (inherited session ones first)."""
    options_after: Pairs = ()
    """Window options set after the panes' commands were typed (e.g. synchronize-panes)."""
    focus: bool = False


@dataclass(frozen=True)
class Workspace:
    file: str
    session_name: str
    windows: tuple[Window, ...]
    """May be empty when the layout has tasks: their panes are the session."""
    start_directory: str | None = None
    before_script: str | None = None
    options: Pairs = ()
    """Session (and server) options; window options given at session level are in
    every :attr:`Window.options` instead."""
    global_options: Pairs = ()
    environment: Pairs = ()
    tasks: TaskSet | None = None

    @property
    def pane_count(self) -> int:
        return sum(len(w.panes) for w in self.windows)
