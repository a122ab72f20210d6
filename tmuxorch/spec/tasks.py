"""Task files (and a layout's ``tasks:``) into a checked :class:`~tmuxorch.spec.task_model.TaskSet`.

Pure: reads files (task files, prompt templates), never tmux or git. A tasks file is
YAML/JSON: ``max_parallel``, ``panes_per_window``, ``worktree``, ``agents`` (profiles) and
``tasks`` (each with ``id``, ``agent`` + ``prompt`` or ``command``, ``depends_on`` (see
:mod:`~tmuxorch.spec.dependencies`), ``timeout``, ``retries``, ``allow_failure``, ``locks``,
``done_when``, ``then``...): see the README's "Tasks".

A directory holds several such files (read in name order). Every problem is reported as
``file:line:col: where: what``; the dependency graph itself is checked in
:mod:`tmuxorch.graph`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from tmuxorch.agents.presets import PRESETS, find
from tmuxorch.spec import dependencies, hosts, prompts, routing, task_model, template
from tmuxorch.spec import profiles as profile_spec
from tmuxorch.spec import task_values as values
from tmuxorch.spec.errors import Problem, SpecError
from tmuxorch.spec.keys import FILE_KEYS, TASK_KEYS
from tmuxorch.spec.source import Reader, ScalarNode, did_you_mean, join, load_nodes
from tmuxorch.spec.task_limits import file_defaults, file_max_parallel, limits
from tmuxorch.spec.task_model import (
    AgentProfile,
    DoneWhen,
    FileDefaults,
    Origin,
    Task,
    TaskSet,
    Worktree,
)
from tmuxorch.spec.user_config import TASK_SECTIONS, UserConfig, load_user_config

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
TASK_FILE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class LoadedTasks:
    tasks: TaskSet
    warnings: tuple[Problem, ...]


def load_tasks(path: str) -> LoadedTasks:
    """Read a tasks file, or every task file in a directory; raise SpecError if bad."""
    collector = Collector()
    collector.add_path(path, None, None)
    return collector.finish()


class Collector:
    """Gathers tasks and profiles from one or more files, then checks them as a whole,
    over the user config's profiles and defaults (``user``: read it if not given)."""

    def __init__(self, user: UserConfig | None = None) -> None:
        self.user = load_user_config(sections=TASK_SECTIONS) if user is None else user
        self.readers: list[Reader] = []
        self.tasks: list[Task] = []
        self.dep_nodes: dict[str, tuple[Reader, list[tuple[Node, str, str]]]] = {}
        self.agent_nodes: dict[str, tuple[Reader, Node, str]] = {}
        self.prompt_nodes: dict[str, tuple[Reader, Node, str]] = {}
        self.explicit_done: set[str] = set()
        self.profiles: dict[str, AgentProfile] = {}
        self.broken_profiles: set[str] = set()
        self.routes: tuple[routing.Rule, ...] = ()
        self.first_seen: dict[str, Origin] = {}
        self.max_parallel: tuple[int, Origin] | None = None
        self.panes_per_window: int | None = None
        self.notify: str | None = None
        self.files: list[str] = []
        self.home: task_model.TaskHome | None = None
        self.earlier: tuple[Task, ...] = ()  # a run's tasks, for one added to it (intake)
        self.hosts = hosts.HostBook()

    # -- sources -------------------------------------------------------------------------
    def add_path(
        self, path: str, reader: Reader | None, node: Node | None, cwd: str | None = None
    ) -> None:
        """Add a tasks file or a directory of them (``reader``/``node``: who named it;
        ``cwd``: where their agents work unless they say, default each file's folder)."""
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(TASK_FILE_SUFFIXES))
            if not names:
                if reader is None:  # the folder itself was named: the problem is there
                    reader = Reader(path)
                    self.readers.append(reader)
                reader.error(node, "tasks", f"{path} holds no task files (*.yaml, *.yml, *.json)")
            for name in names:
                self.add_file(os.path.join(path, name), cwd)
            return
        if reader is not None and node is not None and not os.path.exists(path):
            reader.error(node, "tasks", f"{path} does not exist")
            return
        self.add_file(path, cwd)

    def add_file(self, path: str, cwd: str | None = None) -> None:
        root = load_nodes(path)
        reader = Reader(path)
        self.readers.append(reader)
        self.files.append(path)
        if root is None:
            reader.error(None, "(file)", "empty tasks file: expected tasks")
            return
        entries = reader.mapping(root, "", FILE_KEYS)
        if entries is None:
            return
        if "tasks" not in entries:
            reader.error(root, "tasks", "required key is missing")
        self.add_section(reader, entries, os.path.dirname(os.path.abspath(path)), cwd)

    def add_section(
        self,
        reader: Reader,
        entries: dict[str, tuple[Node, Node]],
        base_dir: str,
        cwd: str | None = None,
    ) -> None:
        """The task keys of a mapping (a tasks file, or a layout with ``tasks:``).

        Paths in it (prompt templates, task files) are relative to ``base_dir``, the
        folder of the file; agents work in ``cwd`` (default ``base_dir``), and a task's
        own ``cwd`` is relative to that.
        """
        if reader not in self.readers:
            self.readers.append(reader)
        self.max_parallel = file_max_parallel(reader, entries, self.max_parallel)
        self.hosts.add_section(reader, entries)
        if "panes_per_window" in entries:
            value = reader.integer(entries["panes_per_window"][1], "panes_per_window", minimum=1)
            self.panes_per_window = value or self.panes_per_window
        if "agents" in entries:
            self.agents(reader, entries["agents"][1])
        if "route" in entries:
            self.routes += routing.read_routes(reader, entries["route"][1], "route")
        if "notify" in entries:
            self.notify = reader.text(entries["notify"][1], "notify") or self.notify
        worktree = self.user.defaults.worktree
        if "worktree" in entries:
            worktree = values.worktree(reader, entries["worktree"][1], "worktree")
        defaults = file_defaults(reader, entries, self.user)
        if "tasks" in entries:
            node = entries["tasks"][1]
            if isinstance(node, ScalarNode) and not reader.is_null(node):
                target = reader.text(node, "tasks")
                if target:
                    path = values.resolve(base_dir, target)
                    self.add_path(path, reader, node, cwd)
                return
            items = reader.sequence(node, "tasks")
            if items is not None and not items:
                reader.error(node, "tasks", "empty: expected at least one task")
            if items and self.home is None:  # where tasks added later are read
                self.home = task_model.TaskHome(base_dir, cwd or base_dir, worktree, defaults)
            for i, item in enumerate(items or ()):
                where = join("tasks", i)
                home = cwd or base_dir
                self.task(reader, item, where, base_dir, home, worktree=worktree, defaults=defaults)

    # -- agents --------------------------------------------------------------------------
    def agents(self, reader: Reader, node: Node) -> None:
        for name, key_node, value in reader.free_mapping(node, "agents", "name: profile"):
            where = join("agents", name)
            if name in self.profiles:
                reader.error(key_node, where, "profile defined twice")
                continue
            found = profile_spec.profile(reader, name, value, where)
            if found is not None:
                self.profiles[name] = found
            else:
                self.broken_profiles.add(name)  # reported there, not again by each task

    # -- one task ------------------------------------------------------------------------
    def task(
        self,
        reader: Reader,
        node: Node,
        where: str,
        base_dir: str,
        default_cwd: str,
        *,
        worktree: Worktree | None = None,
        parent: str | None = None,
        defaults: FileDefaults | None = None,
    ) -> None:
        defaults = defaults or file_defaults(reader, {}, self.user)
        entries = reader.mapping(node, where, TASK_KEYS)
        if entries is None:
            return
        if "id" not in entries:
            reader.error(node, join(where, "id"), "required key is missing")
            return
        id_node = entries["id"][1]
        task_id = reader.text(id_node, join(where, "id"))
        if task_id is None:
            return
        if parent is not None:  # a follow-up's id may name its parent: "{parent}-review"
            task_id, unknown, _ = template.render(task_id, {"parent": parent})
            if unknown:
                reader.error(
                    id_node,
                    join(where, "id"),
                    f"only {{parent}} can be used in an id, not {{{unknown[0]}}}",
                )
                return
        origin = _origin(reader, id_node, where)
        if not _ID.match(task_id):
            reader.error(
                id_node,
                join(where, "id"),
                f"{task_id!r} is not a valid task id",
                "letters, digits, '.', '_' and '-', starting with a letter or digit",
            )
            return
        if task_id in self.first_seen:
            reader.error(
                id_node,
                join(where, "id"),
                f"duplicate task id {task_id!r} (first defined at {self.first_seen[task_id]})",
            )
            return
        self.first_seen[task_id] = origin
        command = None
        if "command" in entries:
            command = reader.text(entries["command"][1], join(where, "command"))
        agent = "shell"
        if "agent" in entries:
            agent = reader.text(entries["agent"][1], join(where, "agent")) or "shell"
            self.agent_nodes[task_id] = (reader, entries["agent"][1], join(where, "agent"))
        elif command is None:
            agent = ""  # a route: rule chooses (see finish), or it is an error there
            self.agent_nodes[task_id] = (reader, node, where)
        variables = {"id": task_id}
        if parent is not None:
            variables["parent"] = parent
        if "vars" in entries:
            for name, _, value in reader.free_mapping(
                entries["vars"][1], join(where, "vars"), "NAME: value"
            ):
                text = reader.text(value, join(join(where, "vars"), name), allow_null=True)
                variables[name] = text or ""
        prompt: str | None = None
        fields: tuple[str, ...] = ()
        sources: tuple[str, ...] = ()
        if "prompt" in entries:
            prompt_node = entries["prompt"][1]
            self.prompt_nodes[task_id] = (reader, prompt_node, join(where, "prompt"))
            rendered = prompts.render(
                reader, prompt_node, join(where, "prompt"), base_dir, variables
            )
            if rendered is not None:
                prompt, fields, sources = rendered
        follows = None if parent is None else (id_node, parent, join(where, "id"))
        deps = dependencies.read(
            reader, entries.get("depends_on"), join(where, "depends_on"), follows
        )
        self.dep_nodes[task_id] = (reader, deps.names)
        cwd = default_cwd
        if "cwd" in entries:
            cwd = (
                values.directory(reader, entries["cwd"][1], join(where, "cwd"), default_cwd) or cwd
            )
        bounds = limits(
            reader, entries, where, defaults, self.user, agent=command is None, base_dir=base_dir
        )
        locks = values.names(reader, entries.get("locks"), join(where, "locks"))
        done_when = DoneWhen()
        if "done_when" in entries:
            self.explicit_done.add(task_id)
            done_when = values.done_when(reader, entries["done_when"][1], join(where, "done_when"))
        env: tuple[tuple[str, str], ...] = ()
        if "env" in entries:
            env = tuple(values.env(reader, entries["env"][1], join(where, "env")).items())
        own_worktree = worktree
        if "worktree" in entries:
            own_worktree = values.worktree(reader, entries["worktree"][1], join(where, "worktree"))
        self.tasks.append(
            Task(
                id=task_id,
                origin=origin,
                agent=agent,
                command=command,
                prompt=prompt,
                prompt_fields=fields,
                depends_on=deps.ids,
                quorums=tuple(deps.quorums),
                cwd=cwd,
                env=env,
                timeout=bounds.timeout,
                stall=bounds.stall,
                retries=bounds.retries,
                retry_delay=bounds.retry_delay,
                locks=tuple(name for _, name, _ in locks),
                done_when=done_when,
                worktree=own_worktree,
                follows=parent,
                sources=sources,
                result_schema=bounds.result_schema,
                **routing.task_keys(reader, entries, where),  # type: ignore[arg-type]
                **self.hosts.task_host(reader, entries, where, task_id),  # type: ignore[arg-type]
                allow_failure=values.flag(reader, entries, "allow_failure", where),
            )
        )
        if "then" in entries:
            then_where = join(where, "then")
            items = reader.sequence(entries["then"][1], then_where) or []
            for i, item in enumerate(items):
                self.task(
                    reader,
                    item,
                    join(then_where, i),
                    base_dir,
                    default_cwd,
                    worktree=worktree,  # the file's default, not this task's own
                    parent=task_id,
                    defaults=defaults,
                )

    # -- the whole -----------------------------------------------------------------------
    def finish(self) -> LoadedTasks:
        """Check what only the whole shows (dependencies, agents, the results prompts
        use); raise if any problem."""
        known = {task.id for task in (*self.earlier, *self.tasks)}
        for task_id, (reader, names) in self.dep_nodes.items():
            dependencies.check(reader, task_id, names, known)
        profiles = {**{p.name: p for p in self.user.agents}, **self.profiles}  # the file's win
        tasks, rules = [], (*self.routes, *self.user.route)
        chosen = routing.resolve(self.tasks, rules, self.agent_nodes)
        routing.add_profiles(chosen, profiles, self.broken_profiles, self.readers, self.routes)
        for task in chosen:
            name = task.agent
            if name not in profiles:
                found = find(name)
                if found is None and name in self.broken_profiles:
                    tasks.append(task)
                    continue
                if found is None:
                    reader, node, where = self.agent_nodes[task.id]
                    choices = sorted({*profiles, *self.broken_profiles, *(p.name for p in PRESETS)})
                    reader.error(
                        node,
                        where,
                        f"unknown agent {name!r}",
                        did_you_mean(name, choices, "agents"),
                    )
                    tasks.append(task)
                    continue
                profiles[name] = found.profile()
            profile = profiles[name]
            reader = next(r for r in self.readers if r.file == task.origin.file)
            profile_spec.check_task(reader, task, profile, named=task.id in self.agent_nodes)
            if task.id not in self.explicit_done and profile.done_when != task.done_when:
                task = replace(task, done_when=profile.done_when)
            tasks.append(task)
        prompts.check_fields(tasks, self.prompt_nodes, self.earlier)
        known_hosts = self.hosts.finish(tasks, self.user.hosts)
        problems = [p for r in self.readers for p in r.problems]
        if problems:
            raise SpecError(sorted(problems, key=lambda p: (p.file, p.line, p.col)))
        used = {name for task in tasks for name in (task.agent, *task.fallback)}
        return LoadedTasks(
            TaskSet(
                tasks=tuple(tasks),
                agents=tuple(
                    p for name, p in profiles.items() if name in used or name in self.profiles
                ),
                max_parallel=self.max_parallel[0]
                if self.max_parallel
                else self.user.defaults.max_parallel or max(1, len(tasks)),
                panes_per_window=self.panes_per_window or self.user.defaults.panes_per_window,
                notify=self.notify or self.user.defaults.notify,
                files=tuple(self.files),
                home=self.home,
                max_parallel_given=self.max_parallel is not None,
                hosts=known_hosts,
            ),
            tuple(w for r in self.readers for w in r.warnings),
        )


def _origin(reader: Reader, node: Node, where: str) -> Origin:
    return Origin(reader.file, node.start_mark.line + 1, node.start_mark.column + 1, where)


__all__ = ["Collector", "LoadedTasks", "load_tasks"]
