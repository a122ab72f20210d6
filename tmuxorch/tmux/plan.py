"""Turn a workspace into tmux commands (pure: nothing here runs tmux).

A build is three steps:

1. **structure** — ONE tmux invocation creates the session (or adds to it), every window
   and pane, sets options and applies each window's layout once, after its splits. It
   never needs an id it has not seen: ``new-window`` (without ``-d``) makes the new window
   the session's current one and ``split-window`` (without ``-d``) makes the new pane the
   active one, so ``-t =SESSION:`` always means "the window being built". The ids tmux
   prints (``-P -F``) are how later steps address panes.
2. **wait** until the shells that will receive commands have drawn their prompt.
3. **type** the panes' commands (one invocation; panes with ``sleep_before``/``sleep_after``
   run concurrently, each at its own pace), then ``options_after`` and focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.tmux.client import escape_arg

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.model import Command, Pane, Window, Workspace

WIDTH, HEIGHT = 220, 50
"""Size of a detached session: agent TUIs need width; 80x24 also runs out of room."""


@dataclass(frozen=True)
class PaneRef:
    """A pane by position in the workspace; becomes a ``%id`` once tmux printed it."""

    window: int
    pane: int

    def __str__(self) -> str:
        return f"{{w{self.window}.p{self.pane}}}"


Arg = str | PaneRef


@dataclass(frozen=True)
class Step:
    """One tmux command; a pane's commands typed one after another with sleeps between."""

    args: tuple[Arg, ...]
    sleep_before: float = 0.0
    sleep_after: float = 0.0


@dataclass(frozen=True)
class Plan:
    workspace: Workspace
    append: bool
    structure: tuple[tuple[str, ...], ...]
    """Step 1: one invocation. Its ``new-session``/``new-window``/``split-window`` commands
    print pane ids, in workspace order (see :attr:`creators`)."""
    creators: tuple[PaneRef, ...]
    """For each command of :attr:`structure` that creates a pane, which pane (in order)."""
    wait_for: tuple[PaneRef, ...]
    """Step 2: panes whose shell must show its prompt before commands are typed."""
    typing: tuple[tuple[Arg, ...], ...]
    """Step 3a: commands typed into panes without sleeps, and pane titles: one invocation."""
    paced: tuple[tuple[Step, ...], ...]
    """Step 3b: per pane with sleeps, its steps in order; panes run concurrently."""
    finish: tuple[tuple[Arg, ...], ...]
    """Step 3c: ``options_after`` and focus, after everything was typed: one invocation."""

    @property
    def session(self) -> str:
        return self.workspace.session_name

    @property
    def target(self) -> str:
        """The session by exact name, as a tmux target."""
        return f"={self.workspace.session_name}"

    def describe(self, server_args: tuple[str, ...] = ()) -> str:
        """The plan as a person reads it: tmux commands, one per line, step by step."""
        import shlex

        tmux = shlex.join(("tmux", *server_args))
        lines = [
            f"# session {self.session!r}: {len(self.workspace.windows)} window(s), "
            f"{self.workspace.pane_count} pane(s)" + (" (appended)" if self.append else ""),
        ]
        if self.workspace.before_script:
            lines.append(f"# 0. before_script: {self.workspace.before_script}")
        lines.append(f"# 1. structure: one invocation of {tmux}, commands joined with ';'")
        if any(_semicolon(c) for c in (*self.structure, *self.typing, *self.finish)) or any(
            _semicolon(step.args) for steps in self.paced for step in steps
        ):
            lines.append(
                "# shown as typed: an argument ending in ';' goes to tmux ending in '\\;'"
                " (a bare ';' would end the command)"
            )
        lines += [_show(c) for c in self.structure]
        if self.wait_for:
            lines.append(
                f"# 2. wait until {len(self.wait_for)} shell(s) drew a prompt "
                f"({', '.join(map(str, self.wait_for))})"
            )
        if self.typing:
            lines.append("# 3. type commands: one invocation")
            lines += [_show(c) for c in self.typing]
        for steps in self.paced:
            lines.append("# 3. paced pane (runs concurrently with other paced panes)")
            for step in steps:
                if step.sleep_before:
                    lines.append(f"sleep {step.sleep_before:g}")
                lines.append(_show(step.args))
                if step.sleep_after:
                    lines.append(f"sleep {step.sleep_after:g}")
        if self.finish:
            lines.append("# 4. options_after and focus: one invocation")
            lines += [_show(c) for c in self.finish]
        return "\n".join(lines)


def _show(args: tuple[Arg, ...]) -> str:
    """A command as tmux receives it (and types it): ``;`` is never shown escaped."""
    import shlex

    return " ".join(str(a) if isinstance(a, PaneRef) else shlex.quote(a) for a in args)


def _semicolon(args: tuple[Arg, ...]) -> bool:
    return any(isinstance(a, str) and a != escape_arg(a) for a in args)


def plan(workspace: Workspace, *, append: bool = False) -> Plan:
    """The commands that build ``workspace`` (into its existing session if ``append``)."""
    target = f"={workspace.session_name}:"
    structure: list[tuple[str, ...]] = [
        ("set-option", "-g", k, v) for k, v in workspace.global_options
    ]
    creators: list[PaneRef] = []
    first = workspace.windows[0]
    # new-session can make the first window itself, unless that window must be created
    # after the session's options (default-shell, base-index, ...), or needs environment
    # or a directory of its own (new-session's -e/-c are the session's), or an index (it may
    # be the one new-session gives it, and tmux refuses to move a window onto its own
    # index): then a placeholder window holds the session until the real windows exist.
    direct = (
        not append
        and not workspace.options
        and not first.panes[0].environment
        and first.panes[0].start_directory == workspace.start_directory
        and first.index is None
    )
    if direct:
        structure.append(_new_session(workspace, first))
        creators.append(PaneRef(0, 0))
    elif not append:
        structure.append(_new_session(workspace, None))
        structure.append(("move-window", "-s", target, "-t", target + PLACEHOLDER_INDEX))
    else:
        environment = workspace.environment
        structure += [("set-environment", "-t", target[:-1], k, v) for k, v in environment]
    # set-option needs "=NAME:" (a window target; the scope comes from the option's name)
    structure += [("set-option", "-t", target, k, v) for k, v in workspace.options]
    for w, window in enumerate(workspace.windows):
        if w or not direct:
            structure.append(_new_window(target, window))
            creators.append(PaneRef(w, 0))
        structure += [("set-option", "-t", target, k, v) for k, v in window.options]
        count = len(window.panes)
        for p in range(1, count):
            structure.append(_split(target, window.panes[p], count, p))
            creators.append(PaneRef(w, p))
        if window.layout:
            structure.append(("select-layout", "-t", target, window.layout))
    if not direct and not append:
        structure.append(("kill-window", "-t", target + PLACEHOLDER_INDEX))

    wait_for: list[PaneRef] = []
    typing: list[tuple[Arg, ...]] = []
    paced: list[tuple[Step, ...]] = []
    finish: list[tuple[Arg, ...]] = []
    focus_window = 0
    for w, window in enumerate(workspace.windows):
        focus_pane = PaneRef(w, 0)
        for p, pane in enumerate(window.panes):
            ref = PaneRef(w, p)
            if pane.title is not None:
                typing.append(("select-pane", "-t", ref, "-T", pane.title))
            if pane.focus:
                focus_pane = ref
            if not pane.commands:
                continue
            if pane.shell is None:
                wait_for.append(ref)
            steps = [s for command in pane.commands for s in _type(ref, pane, command)]
            if any(s.sleep_before or s.sleep_after for s in steps):
                paced.append(tuple(steps))
            else:
                typing += [s.args for s in steps]
        finish += [("set-option", "-t", PaneRef(w, 0), k, v) for k, v in window.options_after]
        finish.append(("select-pane", "-t", focus_pane))
        if window.focus:
            focus_window = w
    finish.append(("select-window", "-t", PaneRef(focus_window, 0)))
    return Plan(
        workspace=workspace,
        append=append,
        structure=tuple(structure),
        creators=tuple(creators),
        wait_for=tuple(wait_for),
        typing=tuple(typing),
        paced=tuple(paced),
        finish=tuple(finish),
    )


_PRINT = ("-P", "-F", "#{pane_id}")
PLACEHOLDER_INDEX = "999999"
"""Where the placeholder window waits, out of the way of the workspace's own indexes."""


def _pane_args(pane: Pane) -> list[str]:
    args: list[str] = []
    if pane.start_directory:
        args += ["-c", pane.start_directory]
    for name, value in pane.environment:
        args += ["-e", f"{name}={value}"]
    return args


def _program(pane: Pane) -> list[str]:
    return [pane.shell] if pane.shell else []


def _new_session(workspace: Workspace, window: Window | None) -> tuple[str, ...]:
    """The session, its environment, and ``window`` (or a placeholder window if None)."""
    args = ["new-session", "-d", "-s", workspace.session_name, "-x", str(WIDTH), "-y", str(HEIGHT)]
    for name, value in workspace.environment:
        args += ["-e", f"{name}={value}"]
    if window is None:
        directory = ["-c", workspace.start_directory] if workspace.start_directory else []
        return (*args, *directory, "-n", "tmuxorch-placeholder")
    args += [*_PRINT]
    if window.name is not None:
        args += ["-n", window.name]
    first = window.panes[0]
    return (*args, *_pane_args(first), *_program(first))


def _new_window(target: str, window: Window) -> tuple[str, ...]:
    first = window.panes[0]
    where = target if window.index is None else f"{target}{window.index}"
    args = ["new-window", "-t", where, *_PRINT]
    if window.name is not None:
        args += ["-n", window.name]
    return (*args, *_pane_args(first), *_program(first))


def _split(target: str, pane: Pane, count: int, created: int) -> tuple[str, ...]:
    """Split the newest pane so that all ``count`` panes end up the same size.

    Pane ``created`` (1-based count of panes so far) takes ``(count - created) /
    (count - created + 1)`` of the newest pane. Top-to-bottom while panes stay at least
    three rows tall, side by side beyond that; the window's layout is applied after.
    """
    percent = round(100 * (count - created) / (count - created + 1))
    direction = "-v" if count <= HEIGHT // 4 else "-h"
    args = ["split-window", "-t", target, direction, "-l", f"{percent}%", *_PRINT]
    return (*args, *_pane_args(pane), *_program(pane))


def _type(ref: PaneRef, pane: Pane, command: Command) -> list[Step]:
    """Keys for one command: the text literally (``-l``), then Enter as a key."""
    keys: list[tuple[Arg, ...]] = []
    if command.text:
        text = (" " + command.text) if pane.suppress_history else command.text
        keys.append(("send-keys", "-t", ref, "-l", "--", text))
    if command.enter:
        keys.append(("send-keys", "-t", ref, "Enter"))
    if not keys:
        return []
    steps = [Step(k) for k in keys]
    steps[0] = Step(steps[0].args, sleep_before=command.sleep_before)
    steps[-1] = Step(steps[-1].args, steps[-1].sleep_before, sleep_after=command.sleep_after)
    return steps
