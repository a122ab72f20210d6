"""A live session's facts → a layout (a tmuxp workspace dict) that rebuilds it (pure).

What tmux tells about a session (read in :mod:`tmuxorch.tmux.live_session`) becomes the
document ``tmuxorch freeze`` writes: windows in index order with their names (unless tmux
names them itself), indexes (when not the usual ones), layouts (``#{window_layout}``, exact),
local window options, and focus; each pane's directory (given once at the level that covers
the most panes, relative to its parent where it lies under it) and its program: the pane's
own command (``shell``), or the job running in its shell (typed, as ``shell_command``).

Panes are listed in the order of the layout's cells, which is the order tmux gives panes
a layout in when it is applied again.
"""

from __future__ import annotations

import os
import re
import shlex
from collections import Counter
from dataclasses import dataclass, replace

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.spec.model import Pairs, Workspace

SHELLS = frozenset(
    [
        "sh",
        "bash",
        "zsh",
        "fish",
        "dash",
        "ksh",
        "mksh",
        "pdksh",
        "oksh",
        "tcsh",
        "csh",
        "ash",
        "busybox",
        "nu",
        "xonsh",
        "elvish",
    ]
)
"""Programs taken for a shell: a pane running one (and no job) needs no command."""
AFTER_OPTIONS = frozenset({"synchronize-panes"})
"""Window options set after the panes' commands were typed (else each would get them all)."""
BLANK_WORDS = ("blank", "pane")
"""Commands that a layout reader takes for "no command" (tmuxp's shorthands)."""
RUN_WINDOW = "tmuxorch"
"""The name of a run's own window (its supervisor or status table)."""


@dataclass(frozen=True)
class PaneSeen:
    id: str
    """``%N``."""
    path: str
    """Its current directory ("" when unknown or gone)."""
    active: bool = False
    program: tuple[str, ...] = ()
    """The argv of the pane's own program, when it was given one (empty: the default shell)."""
    job: tuple[str, ...] = ()
    """The argv of the job its shell runs in the foreground, if any."""


@dataclass(frozen=True)
class WindowSeen:
    index: int
    name: str
    layout: str
    panes: tuple[PaneSeen, ...]
    auto_name: bool = False
    """``automatic-rename`` is on: tmux names it after its program."""
    active: bool = False
    options: Pairs = ()
    """Options set on the window itself (``show-options -w``)."""
    run_tasks: bool = False
    """A run's task window (``@tmuxorch-tasks``): its panes belong to that run."""


@dataclass(frozen=True)
class SessionSeen:
    name: str
    windows: tuple[WindowSeen, ...]
    base_index: int = 0
    run_file: str = ""
    """The tasks/layout file of the run this session is (``@tmuxorch-file``), if any."""


@dataclass(frozen=True)
class Frozen:
    document: dict[str, Any]
    session: SessionSeen
    """The session as the document has it: its windows kept, their panes in layout order."""
    notes: tuple[str, ...]
    """What was left out, for the person who froze it."""


def freeze(session: SessionSeen, *, file_dir: str | None, home: str) -> Frozen:
    """The layout document of ``session``. Directories under ``file_dir`` (where the file
    goes; None: standard output) are written relative to it, others under ``home`` as
    ``~/...``."""
    notes: list[str] = []
    windows = []
    for window in sorted(session.windows, key=lambda w: w.index):
        if _is_run_window(window):
            notes.append(f"window {window.index} ({window.name}) is the run's: left out")
            continue
        panes = []
        for pane in in_layout_order(window.layout, window.panes):
            if _VAR.search(pane.path):
                notes.append(
                    f"window {window.index}, pane {pane.id}: its directory {pane.path} is left "
                    "out (layout readers would take its $ for a variable)"
                )
                pane = replace(pane, path="")
            panes.append(pane)
        windows.append(replace(window, panes=tuple(panes)))
    if session.run_file:
        notes.append(f"session {session.name!r} is the run of {session.run_file}")
    paths = [p.path for w in windows for p in w.panes if p.path]
    root = _most_common(paths)
    doc: dict[str, Any] = {"session_name": session.name}
    if root:
        doc["start_directory"] = _where(root, file_dir, home)
    indexes = [w.index for w in windows]
    explicit = indexes != list(range(session.base_index, session.base_index + len(windows)))
    focus = len(windows) > 1
    doc["windows"] = [_window(w, root, home, explicit, focus) for w in windows]
    return Frozen(doc, replace(session, windows=tuple(windows)), tuple(notes))


def _is_run_window(window: WindowSeen) -> bool:
    if window.run_tasks:
        return True
    programs = [p.program for p in window.panes]
    return window.name == RUN_WINDOW and all(
        any("tmuxorch" in arg for arg in program) for program in programs
    )


def _window(
    window: WindowSeen, root: str, home: str, explicit_index: bool, focus: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not window.auto_name:
        out["window_name"] = window.name
    if explicit_index:
        out["window_index"] = window.index
    panes = window.panes
    if len(panes) > 1:
        out["layout"] = window.layout
    if focus and window.active:
        out["focus"] = True
    directory = _most_common([p.path for p in panes if p.path]) or root
    if directory != root:
        out["start_directory"] = _where(directory, root, home)
    options = {k: v for k, v in window.options if k not in AFTER_OPTIONS}
    if not window.auto_name and options.get("automatic-rename") == "off":
        del options["automatic-rename"]  # implied by the name
    if options:
        out["options"] = options
    after = {k: v for k, v in window.options if k in AFTER_OPTIONS}
    if after:
        out["options_after"] = after
    out["panes"] = [_pane(p, directory, home, len(panes) > 1) for p in panes]
    return out


def _pane(pane: PaneSeen, directory: str, home: str, focus: bool) -> Any:
    out: dict[str, Any] = {}
    if pane.path and pane.path != directory:
        out["start_directory"] = _where(pane.path, directory, home)
    if pane.program:
        out["shell"] = pane.program[0] if len(pane.program) == 1 else shlex.join(pane.program)
    if pane.job:
        out["shell_command"] = [command_text(pane.job)]
    if focus and pane.active:
        out["focus"] = True
    if not out:
        return "pane"
    if list(out) == ["shell_command"]:
        return out["shell_command"][0]  # tmuxp's shorthand: the command itself
    return out


def command_text(argv: tuple[str, ...]) -> str:
    """``argv`` as a shell command line that survives being read back: layout readers
    expand ``$NAME`` in commands (tmuxp does), even between single quotes, so a quoted
    ``$`` is followed by an empty ``''`` (``'$''HOME'`` is the shell's ``$HOME``); and a
    command ``blank`` or ``pane`` would be read as a blank pane."""
    text = " ".join(
        shlex.quote(arg).replace("$", "$''") if "$" in arg else shlex.quote(arg) for arg in argv
    )
    return f"'{text}'" if text in BLANK_WORDS else text  # else read as "a blank pane"


def _where(path: str, relative_to: str | None, home: str) -> str:
    """``path`` relative to ``relative_to`` when under it, else ``~/...`` under ``home``,
    else absolute."""
    if relative_to is not None and _under(path, relative_to):
        rel = os.path.relpath(path, relative_to)
        if not rel.startswith("~"):  # it would read as a home directory
            return "./" if rel == "." else rel
    if home and home != "/" and _under(path, home):
        rel = os.path.relpath(path, home)
        return "~" if rel == "." else "~/" + rel
    return path


def _under(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _most_common(paths: list[str]) -> str:
    """The path most panes share (the first of those tied)."""
    if not paths:
        return ""
    counts = Counter(paths)
    best = max(counts.values())
    return next(p for p in paths if counts[p] == best)


_VAR = re.compile(r"\$(\w|\{)", re.ASCII)
"""What :func:`tmuxorch.spec.expand.expand_vars` (and tmuxp) would take for a variable."""
_LEAF = re.compile(r"\d+x\d+,\d+,\d+,(\d+)")


def in_layout_order(layout: str, panes: tuple[PaneSeen, ...]) -> tuple[PaneSeen, ...]:
    """``panes`` in the order of ``layout``'s cells (left to right, top to bottom as tmux
    wrote them); as given if the layout does not name exactly these panes."""
    order = _LEAF.findall(layout)
    by_number = {p.id.lstrip("%"): p for p in panes}
    if sorted(order) != sorted(by_number):
        return panes
    return tuple(by_number[n] for n in order)


def readback_problems(frozen: Frozen, workspace: Workspace) -> list[str]:
    """Where ``workspace`` (the document read back as a layout file is read) would not
    rebuild the session as frozen: a ``$NAME`` or ``~`` in a name or a path that reading
    expands, for example."""
    problems = []
    seen = frozen.session
    if workspace.session_name != seen.name:
        problems.append(f"session name {seen.name!r} reads back as {workspace.session_name!r}")
    for window, built in zip(seen.windows, workspace.windows, strict=True):
        at = f"window {window.index}"
        if not window.auto_name and built.name != window.name:
            problems.append(f"{at}: name {window.name!r} reads back as {built.name!r}")
        for n, (pane, made) in enumerate(zip(window.panes, built.panes, strict=True)):
            if pane.path and made.start_directory != pane.path:
                problems.append(
                    f"{at}, pane {n}: directory {pane.path} reads back as {made.start_directory}"
                )
            typed = [_words(c.text) for c in made.commands]
            if typed != ([list(pane.job)] if pane.job else []):
                problems.append(f"{at}, pane {n}: command {pane.job} reads back as {typed}")
    return problems


def _words(command: str) -> list[str]:
    try:
        return shlex.split(command)
    except ValueError:  # unbalanced quotes
        return [command]
