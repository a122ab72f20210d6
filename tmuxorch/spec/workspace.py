"""Load a tmuxp-format workspace file into a :class:`~tmuxorch.spec.model.Workspace`.

Pure: reads the file (and checks that the directories and scripts it names exist), never
tmux. tmuxp semantics, in one pass instead of tmuxp's ``expand`` then ``trickle``:

- pane shorthands: ``null``/``"blank"``/``"pane"`` (blank), a string (one command), a list
  (commands), ``""`` (one Enter);
- ``shell_command_before`` of session, window and pane are typed before the pane's own
  commands, a window's ``shell_command_after`` after them;
- ``start_directory``: ``~``/``$VAR`` expanded; a relative one is relative to the parent's
  (pane → window → session → the workspace file's directory); with none anywhere, panes
  start where tmuxorch was run (tmux's default);
- ``environment``: session variables are the session's; a window's are given to its
  panes, a pane's own override them;
- session ``options`` that are window options are set on every window;
- pane ``enter``/``sleep_before``/``sleep_after`` are the default of each of its commands;
- a command ending in ``\\;`` is typed ending in ``;``: tmuxp hands commands to tmux as
  argv, where tmux reads a trailing ``\\;`` as ``;``, so workspace files are written that
  way (``find . -exec rm {} \\;`` needs ``\\\\;`` there). Everything else is typed
  byte for byte.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass, replace

from tmuxorch.spec import tmux_options
from tmuxorch.spec.keys import FILE_KEYS, PANE_KEYS, SESSION_KEYS, WINDOW_KEYS
from tmuxorch.spec.model import Command, Pairs, Pane, Window, Workspace
from tmuxorch.spec.source import MappingNode, Reader, join, load_nodes
from tmuxorch.spec.workspace_values import Step, ValueReader

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from tmuxorch.spec.errors import Problem
    from tmuxorch.spec.source import Node
    from tmuxorch.spec.tasks import Collector


@dataclass(frozen=True)
class Loaded:
    """A valid workspace and the warnings found while reading it."""

    workspace: Workspace
    warnings: tuple[Problem, ...]


def load_workspace(
    path: str,
    *,
    env: Mapping[str, str] | None = None,
    text: str | None = None,
    fix_name: bool = False,
) -> Loaded:
    """Read and check a layout, a tasks file or a directory of task files.

    A file without ``session_name`` and ``windows`` but with ``tasks`` is a tasks file: its
    session is named after it. A session name with ``.`` or ``:`` (tmux allows neither) is
    refused, unless ``fix_name``: then each is made ``_``, with a warning. Raises
    :class:`~tmuxorch.spec.errors.SpecError` if bad.
    """
    if text is None and os.path.isdir(path):
        from tmuxorch.spec.tasks import Collector

        collector = Collector()
        collector.add_path(path, None, None)
        return _with_tasks(_tasks_only(path), collector, ())
    root = load_nodes(path, text)
    reader = Reader(path)
    parser = _Parser(reader, os.environ if env is None else env, path, fix_name=fix_name)
    if root is None:
        reader.error(None, "(file)", "empty workspace: expected session_name and windows")
        reader.raise_if_problems()
    assert root is not None
    workspace = parser.session(root)
    if parser.tasks is not None:
        assert workspace is not None or reader.problems
        return _with_tasks(workspace or _tasks_only(path), parser.tasks, ())
    reader.raise_if_problems()
    assert workspace is not None
    return Loaded(workspace, tuple(reader.warnings))


def _tasks_only(path: str) -> Workspace:
    """A tasks file's session: named after the file, and after where it is (two projects'
    ``tasks.yaml`` on one tmux server must not share a session)."""
    full = os.path.abspath(path)
    stem = os.path.splitext(os.path.basename(full))[0]
    where = f"{zlib.crc32(full.encode()) & 0xFFFF:04x}"
    name = "tmuxorch-" + re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") + "-" + where
    return Workspace(file=path, session_name=name, windows=())


def _with_tasks(
    workspace: Workspace, collector: Collector, warnings: tuple[Problem, ...]
) -> Loaded:
    """Finish the tasks (raising every problem of every file read) and check the graph."""
    loaded = collector.finish()
    loaded.tasks.graph  # noqa: B018 - checks the graph (a cycle raises SpecError)
    return Loaded(replace(workspace, tasks=loaded.tasks), warnings + loaded.warnings)


class _Parser(ValueReader):
    def __init__(
        self, reader: Reader, env: Mapping[str, str], path: str, *, fix_name: bool = False
    ) -> None:
        super().__init__(reader, env, os.path.dirname(os.path.abspath(path)))
        self.path = path
        self.fix_name = fix_name
        self.tasks: Collector | None = None

    # -- session ---------------------------------------------------------------------
    def session(self, node: Node) -> Workspace | None:
        r = self.r
        entries = r.mapping(node, "", SESSION_KEYS)
        if entries is None:
            return None
        has_tasks = "tasks" in entries
        required: tuple[str, ...] = ("session_name", "windows") if not has_tasks else ()
        if has_tasks and "windows" in entries and "session_name" not in entries:
            required = ("session_name",)
        for key in required:
            if key not in entries:
                r.error(node, key, "required key is missing")
        name = _tasks_only(self.path).session_name
        if "session_name" in entries:
            name = self.session_name(entries["session_name"][1])
        start_directory = None
        if "start_directory" in entries:
            start_directory = self.directory(
                entries["start_directory"][1], "start_directory", self.base_dir
            )
        directory = start_directory or self.base_dir
        before_script = None
        if "before_script" in entries:
            before_script = self.before_script(entries["before_script"][1], directory)
        before = self.commands(entries, "shell_command_before", "")
        environment = self.environment(entries, "", self.base_dir)
        options = self.options(entries, "options", "")
        global_options = self.options(entries, "global_options", "")
        suppress = self.flag(entries, "suppress_history", "")
        if "plugins" in entries:
            plugins = r.sequence(entries["plugins"][1], "plugins")
            if plugins is not None:
                r.warn(
                    entries["plugins"][0],
                    "plugins",
                    f"ignoring {len(plugins)} tmuxp plugin(s): they are Python classes "
                    "tmuxorch does not run; the rest of the workspace is built",
                )
        titles = self.pane_titles(entries)
        window_options = tuple(p for p in options if tmux_options.is_window_option(p[0]))
        session_options = tuple(p for p in options if not tmux_options.is_window_option(p[0]))
        windows: list[Window] = []
        if "windows" in entries:
            window_nodes = r.sequence(entries["windows"][1], "windows")
            if window_nodes is not None and not window_nodes:
                r.error(
                    entries["windows"][1], "windows", "empty: a session needs at least one window"
                )
            for i, window_node in enumerate(window_nodes or ()):
                window = self.window(
                    window_node,
                    join("windows", i),
                    _Inherited(
                        directory, start_directory, before, suppress, titles + window_options
                    ),
                )
                if window is not None:
                    windows.append(window)
        self.check_indexes(entries, windows)
        if FILE_KEYS & entries.keys():
            if not has_tasks:
                key = next(k for k in entries if k in FILE_KEYS)
                r.error(entries[key][0], key, "only used with tasks: this layout has none")
            from tmuxorch.spec.tasks import Collector

            self.tasks = Collector()
            section = {k: v for k, v in entries.items() if k in FILE_KEYS}
            self.tasks.add_section(r, section, self.base_dir, start_directory)
        return Workspace(
            file=self.r.file,
            session_name=name,
            windows=tuple(windows),
            start_directory=start_directory,
            before_script=before_script,
            options=session_options,
            global_options=global_options,
            environment=environment,
        )

    def session_name(self, node: Node) -> str:
        raw = self.r.text(node, "session_name")
        if raw is None:
            return ""
        name = self.expand(raw, node, "session_name", warn_missing=True)
        if not name:
            self.r.error(node, "session_name", "must not be empty")
        elif ":" in name or "." in name:
            fixed = name.replace(":", "_").replace(".", "_")
            if self.fix_name:
                self.r.warn(node, "session_name", f"{name!r} is built as {fixed!r} (--fix-name)")
                return fixed
            self.r.error(
                node,
                "session_name",
                f"tmux does not allow ':' or '.' in session names: {name!r}",
                f"tmux would rename it to {fixed!r}: use that name, or let "
                "'tmuxorch layout --fix-name' build it as that",
            )
        return name

    def check_indexes(self, entries: dict[str, tuple[Node, Node]], windows: list[Window]) -> None:
        seen: dict[int, int] = {}
        for i, window in enumerate(windows):
            if window.index is None:
                continue
            if window.index in seen:
                self.r.error(
                    entries["windows"][1].value[i],
                    join(join("windows", i), "window_index"),
                    f"index {window.index} is already used by windows[{seen[window.index]}]",
                )
            seen[window.index] = i

    # -- window ----------------------------------------------------------------------
    def window(self, node: Node, where: str, parent: _Inherited) -> Window | None:
        r = self.r
        entries = r.mapping(node, where, WINDOW_KEYS)
        if entries is None:
            return None
        name = None
        if "window_name" in entries:
            wnode = entries["window_name"][1]
            raw = r.text(wnode, join(where, "window_name"), allow_null=True)
            name = None if raw is None else self.expand(raw, wnode, join(where, "window_name"))
        index = None
        if "window_index" in entries:
            index = r.integer(entries["window_index"][1], join(where, "window_index"), minimum=0)
        base, directory = parent.base, parent.directory
        if "start_directory" in entries:
            node = entries["start_directory"][1]
            own = self.directory(node, join(where, "start_directory"), base)
            base, directory = (own, own) if own else (base, directory)
        layout = None
        if "layout" in entries:
            layout = self.layout(entries["layout"][1], join(where, "layout"))
        options = parent.options + self.options(entries, "options", where)
        options_after = self.options(entries, "options_after", where)
        focus = bool(self.flag(entries, "focus", where))
        shell = None
        if "window_shell" in entries:
            shell = r.text(entries["window_shell"][1], join(where, "window_shell"), allow_null=True)
        suppress = self.flag(entries, "suppress_history", where)
        inherited = _Inherited(
            base,
            directory,
            parent.before + self.commands(entries, "shell_command_before", where),
            parent.suppress if suppress is None else suppress,
            (),
            shell,
            self.environment(entries, where, base),
            self.commands(entries, "shell_command_after", where),
        )
        panes: list[Pane] = []
        pane_nodes: list[Node | None] = [None]
        if "panes" in entries and not r.is_null(entries["panes"][1]):
            listed = r.sequence(entries["panes"][1], join(where, "panes"))
            if listed:
                pane_nodes = list(listed)
        for i, pane_node in enumerate(pane_nodes):
            pane = self.pane(pane_node, join(join(where, "panes"), i), inherited)
            if pane is not None:
                panes.append(pane)
        return Window(
            panes=tuple(panes),
            name=name,
            index=index,
            layout=layout,
            options=options,
            options_after=options_after,
            focus=focus,
        )

    # -- pane ------------------------------------------------------------------------
    def pane(self, node: Node | None, where: str, parent: _Inherited) -> Pane | None:
        r = self.r
        if node is None or r.is_null(node):
            return self.finish_pane({}, where, parent, [])
        if isinstance(node, MappingNode):
            entries = r.mapping(node, where, PANE_KEYS)
            if entries is None:
                return None
            own = self.commands(entries, "shell_command", where)
            return self.finish_pane(entries, where, parent, own)
        return self.finish_pane({}, where, parent, self.command_list(node, where))

    def finish_pane(
        self,
        entries: dict[str, tuple[Node, Node]],
        where: str,
        parent: _Inherited,
        own: tuple[Step, ...] | list[Step],
    ) -> Pane:
        r = self.r
        directory = None
        if "start_directory" in entries:
            directory = self.directory(
                entries["start_directory"][1], join(where, "start_directory"), parent.base
            )
        shell = parent.shell
        if "shell" in entries:
            shell = (
                r.text(entries["shell"][1], join(where, "shell"), allow_null=True) or parent.shell
            )
        environment = dict(parent.environment)
        environment.update(self.environment(entries, where, directory or parent.base))
        suppress = self.flag(entries, "suppress_history", where)
        enter = self.flag(entries, "enter", where)
        sleep_before = self.seconds(entries, "sleep_before", where)
        sleep_after = self.seconds(entries, "sleep_after", where)
        steps = (
            parent.before + self.commands(entries, "shell_command_before", where) + tuple(own)
        ) + parent.after
        commands = tuple(
            Command(
                text=s.text,
                enter=_flag(s.enter, enter, True),
                sleep_before=_secs(s.sleep_before, sleep_before),
                sleep_after=_secs(s.sleep_after, sleep_after),
            )
            for s in steps
        )
        title = None
        if "title" in entries:
            title = r.text(entries["title"][1], join(where, "title"))
        return Pane(
            commands=commands,
            start_directory=directory or parent.directory,
            shell=shell,
            environment=tuple(environment.items()),
            focus=bool(self.flag(entries, "focus", where)),
            suppress_history=_flag(suppress, parent.suppress, True),
            title=title,
        )


@dataclass(frozen=True)
class _Inherited:
    """What a window or pane receives from its parent while the file is read."""

    base: str
    """Relative paths are relative to this."""
    directory: str | None
    """Where panes start (None: tmux's default, where tmuxorch runs)."""
    before: tuple[Step, ...]
    suppress: bool | None
    options: Pairs = ()
    shell: str | None = None
    environment: Pairs = ()
    after: tuple[Step, ...] = ()


def _flag(value: bool | None, fallback: bool | None, default: bool) -> bool:
    if value is not None:
        return value
    return default if fallback is None else fallback


def _secs(value: float | None, fallback: float | None) -> float:
    if value is not None:
        return value
    return 0.0 if fallback is None else fallback
