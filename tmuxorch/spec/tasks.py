"""Task files (and a layout's ``tasks:``) into a checked :class:`~tmuxorch.spec.model.TaskSet`.

Pure: reads files (task files, prompt templates), never tmux. A tasks file is YAML/JSON::

    max_parallel: 3              # optional; default: every task at once
    panes_per_window: 4          # optional; agent panes per tmux window
    agents:                      # optional profiles: a preset with overrides
      coder: {preset: demo, args: [--steps, "8"]}
    tasks:
      - id: schema
        agent: coder
        prompt: prompts/implement.md     # a template file, or inline text
        vars: {feature: login}
      - id: api
        depends_on: [schema]
        command: pytest -x               # a shell command (the ``shell`` agent)
        timeout: 30m
        retries: 2
        locks: [db]
        done_when: exit                  # or {output: REGEX}, {file: PATH}, idle

A directory holds several such files (read in name order). Every problem is reported as
``file:line:col: where: what``; the dependency graph itself is checked in
:mod:`tmuxorch.graph`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from tmuxorch.agents.presets import PRESETS, preset
from tmuxorch.spec import template
from tmuxorch.spec.duration import parse_duration
from tmuxorch.spec.errors import Problem, SpecError
from tmuxorch.spec.keys import AGENT_KEYS, FILE_KEYS, TASK_KEYS
from tmuxorch.spec.source import Reader, ScalarNode, did_you_mean, join, load_nodes
from tmuxorch.spec.task_model import AgentProfile, DoneWhen, Origin, Task, TaskSet

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node

DELIVERIES = ("none", "argument", "file", "stdin", "type")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_TEMPLATE_SUFFIXES = (".md", ".txt", ".prompt", ".tmpl", ".j2")
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
    """Gathers tasks and profiles from one or more files, then checks them as a whole."""

    def __init__(self) -> None:
        self.readers: list[Reader] = []
        self.tasks: list[Task] = []
        self.dep_nodes: dict[str, tuple[Reader, list[tuple[Node, str, str]]]] = {}
        self.agent_nodes: dict[str, tuple[Reader, Node, str]] = {}
        self.profiles: dict[str, AgentProfile] = {}
        self.first_seen: dict[str, Origin] = {}
        self.max_parallel: tuple[int, Origin] | None = None
        self.panes_per_window: int | None = None
        self.notify: str | None = None
        self.files: list[str] = []

    # -- sources -------------------------------------------------------------------------
    def add_path(
        self, path: str, reader: Reader | None, node: Node | None, cwd: str | None = None
    ) -> None:
        """Add a tasks file or a directory of them (``reader``/``node``: who named it;
        ``cwd``: where their agents work unless they say, default each file's folder)."""
        if os.path.isdir(path):
            names = sorted(n for n in os.listdir(path) if n.endswith(TASK_FILE_SUFFIXES))
            if not names and reader is not None and node is not None:
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
        if "max_parallel" in entries:
            node = entries["max_parallel"][1]
            value = reader.integer(node, "max_parallel", minimum=1)
            if value is not None:
                origin = _origin(reader, node, "max_parallel")
                if self.max_parallel and self.max_parallel[0] != value:
                    reader.error(
                        node,
                        "max_parallel",
                        f"{value} contradicts {self.max_parallel[0]} set at {self.max_parallel[1]}",
                    )
                self.max_parallel = (value, origin)
        if "panes_per_window" in entries:
            value = reader.integer(entries["panes_per_window"][1], "panes_per_window", minimum=1)
            self.panes_per_window = value or self.panes_per_window
        if "agents" in entries:
            self.agents(reader, entries["agents"][1])
        if "notify" in entries:
            self.notify = reader.text(entries["notify"][1], "notify") or self.notify
        if "tasks" in entries:
            node = entries["tasks"][1]
            if isinstance(node, ScalarNode) and not reader.is_null(node):
                target = reader.text(node, "tasks")
                if target:
                    path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(target)))
                    self.add_path(path, reader, node, cwd)
                return
            items = reader.sequence(node, "tasks")
            if items is not None and not items:
                reader.error(node, "tasks", "empty: expected at least one task")
            for i, item in enumerate(items or ()):
                self.task(reader, item, join("tasks", i), base_dir, cwd or base_dir)

    # -- agents --------------------------------------------------------------------------
    def agents(self, reader: Reader, node: Node) -> None:
        for name, key_node, value in reader.free_mapping(node, "agents", "name: profile"):
            where = join("agents", name)
            if name in self.profiles:
                reader.error(key_node, where, "profile defined twice")
                continue
            profile = self.profile(reader, name, value, where)
            if profile is not None:
                self.profiles[name] = profile

    def profile(self, reader: Reader, name: str, node: Node, where: str) -> AgentProfile | None:
        if isinstance(node, ScalarNode):  # shorthand: `coder: demo`
            entries: dict[str, tuple[Node, Node]] | None = {"preset": (node, node)}
        else:
            entries = reader.mapping(node, where, AGENT_KEYS)
        if entries is None:
            return None
        if "preset" not in entries:
            reader.error(node, join(where, "preset"), "required key is missing")
            return None
        base_name = reader.text(entries["preset"][1], join(where, "preset"))
        base = preset(base_name or "")
        if base is None:
            if base_name is not None:
                reader.error(
                    entries["preset"][1],
                    join(where, "preset"),
                    f"unknown preset {base_name!r}",
                    did_you_mean(base_name, [p.name for p in PRESETS], "presets"),
                )
            return None
        argv = base.argv
        if "args" in entries:
            items = reader.sequence(entries["args"][1], join(where, "args")) or []
            args = [reader.text(a, join(join(where, "args"), i)) for i, a in enumerate(items)]
            argv = argv + tuple(a for a in args if a is not None)
        delivery = base.prompt
        if "prompt" in entries:
            delivery = reader.text(entries["prompt"][1], join(where, "prompt")) or delivery
            if delivery not in DELIVERIES:
                reader.error(
                    entries["prompt"][1],
                    join(where, "prompt"),
                    f"unknown prompt delivery {delivery!r}",
                    "one of: " + ", ".join(DELIVERIES),
                )
        ready = base.ready
        if "ready" in entries:
            ready = self.regex(reader, entries["ready"][1], join(where, "ready"))
        enter_delay = base.enter_delay
        if "enter_delay" in entries:
            delay = self.seconds(reader, entries["enter_delay"][1], join(where, "enter_delay"))
            enter_delay = base.enter_delay if delay is None else delay
        env = dict(base.env)
        if "env" in entries:
            env.update(self.env(reader, entries["env"][1], join(where, "env")))
        return AgentProfile(
            name=name,
            preset=base.preset,
            argv=argv,
            prompt=delivery,
            takes_command=base.takes_command,
            env=tuple(env.items()),
            ready=ready,
            enter_delay=enter_delay,
            description=f"{base.preset} preset with overrides",
        )

    # -- one task ------------------------------------------------------------------------
    def task(self, reader: Reader, node: Node, where: str, base_dir: str, default_cwd: str) -> None:
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
            reader.error(node, where, "a task needs a command or an agent")
        variables = {"id": task_id}
        if "vars" in entries:
            for name, _, value in reader.free_mapping(
                entries["vars"][1], join(where, "vars"), "NAME: value"
            ):
                text = reader.text(value, join(join(where, "vars"), name), allow_null=True)
                variables[name] = text or ""
        prompt = None
        if "prompt" in entries:
            prompt = self.prompt(
                reader, entries["prompt"][1], join(where, "prompt"), base_dir, variables
            )
        depends = self.names(reader, entries.get("depends_on"), join(where, "depends_on"))
        self.dep_nodes[task_id] = (reader, depends)
        cwd = default_cwd
        if "cwd" in entries:
            cwd = self.directory(reader, entries["cwd"][1], join(where, "cwd"), default_cwd) or cwd
        timeout = None
        if "timeout" in entries:
            timeout = self.seconds(reader, entries["timeout"][1], join(where, "timeout"))
        retries = 0
        if "retries" in entries:
            retries = reader.integer(entries["retries"][1], join(where, "retries"), minimum=0) or 0
        retry_delay = 1.0
        if "retry_delay" in entries:
            delay = self.seconds(reader, entries["retry_delay"][1], join(where, "retry_delay"))
            retry_delay = 1.0 if delay is None else delay
        locks = self.names(reader, entries.get("locks"), join(where, "locks"))
        done_when = DoneWhen()
        if "done_when" in entries:
            done_when = self.done_when(
                reader, entries["done_when"][1], join(where, "done_when"), cwd
            )
        env: tuple[tuple[str, str], ...] = ()
        if "env" in entries:
            env = tuple(self.env(reader, entries["env"][1], join(where, "env")).items())
        self.tasks.append(
            Task(
                id=task_id,
                origin=origin,
                agent=agent,
                command=command,
                prompt=prompt,
                depends_on=tuple(name for _, name, _ in depends),
                cwd=cwd,
                env=env,
                timeout=timeout,
                retries=retries,
                retry_delay=retry_delay,
                locks=tuple(name for _, name, _ in locks),
                done_when=done_when,
            )
        )

    def prompt(
        self, reader: Reader, node: Node, where: str, base_dir: str, variables: dict[str, str]
    ) -> str | None:
        raw = reader.text(node, where)
        if raw is None:
            return None
        quoted = 1 if isinstance(node, ScalarNode) and node.style in ("'", '"') else 0
        text, source, offset = raw, None, (node.start_mark.line, node.start_mark.column + quoted)
        one_word = not any(c.isspace() for c in raw.strip())
        if "\n" not in raw.strip() and (
            (one_word and raw.endswith(_TEMPLATE_SUFFIXES))
            or os.path.isfile(os.path.join(base_dir, raw))
        ):
            source = os.path.normpath(os.path.join(base_dir, raw))
            try:
                with open(source, encoding="utf-8") as handle:
                    text = handle.read()
            except FileNotFoundError:
                reader.error(node, where, f"missing template {source}")
                return None
            except OSError as exc:
                reader.error(node, where, f"cannot read template {source}: {exc}")
                return None
            offset = (0, 0)
        rendered, missing = template.render(text, variables)
        for name in missing:
            at = max(
                text.find("{" + name + "}"), text.find("$" + name), text.find("${" + name + "}")
            )
            line = text.count("\n", 0, at)
            col = at - (text.rfind("\n", 0, at) + 1)
            file = source or reader.file
            if source is None:  # inline: offset from the prompt's own position
                col = col + offset[1] if line == 0 else col
                line += offset[0]
            reader.problems.append(
                Problem(
                    file,
                    line + 1,
                    col + 1,
                    where,
                    f"no value for template variable {name!r}",
                    "set it in the task's vars" + (f" (used in {source})" if source else ""),
                )
            )
        return rendered

    def done_when(self, reader: Reader, node: Node, where: str, cwd: str) -> DoneWhen:
        if isinstance(node, ScalarNode):
            kind = reader.text(node, where)
            if kind in ("exit", "idle"):
                return DoneWhen(kind)
            if kind is not None:
                reader.error(
                    node,
                    where,
                    f"unknown done_when {kind!r}",
                    "exit, idle, {output: REGEX}, {file: PATH} or {idle: SECONDS}",
                )
            return DoneWhen()
        entries = reader.mapping(node, where, {"output", "file", "idle"})
        if not entries:
            if entries is not None:
                reader.error(node, where, "expected one of output, file, idle")
            return DoneWhen()
        if len(entries) > 1:
            reader.error(node, where, "give one of output, file, idle")
            return DoneWhen()
        ((kind, (_, value)),) = entries.items()
        if kind == "output":
            return DoneWhen("output", pattern=self.regex(reader, value, join(where, "output")))
        if kind == "file":
            path = reader.text(value, join(where, "file"))
            if path is None:
                return DoneWhen()
            return DoneWhen("file", path=os.path.normpath(os.path.join(cwd, path)))
        seconds = self.seconds(reader, value, join(where, "idle"))
        return DoneWhen("idle", seconds=5.0 if seconds is None else seconds)

    # -- values --------------------------------------------------------------------------
    @staticmethod
    def names(
        reader: Reader, entry: tuple[Node, Node] | None, where: str
    ) -> list[tuple[Node, str, str]]:
        """A name or a list of names (``depends_on``, ``locks``): (node, name, where)."""
        if entry is None:
            return []
        node = entry[1]
        if reader.is_null(node):
            return []
        items = [node] if isinstance(node, ScalarNode) else reader.sequence(node, where) or []
        names = []
        for i, item in enumerate(items):
            item_where = where if item is node else join(where, i)
            name = reader.text(item, item_where)
            if name is not None:
                names.append((item, name, item_where))
        return names

    @staticmethod
    def regex(reader: Reader, node: Node, where: str) -> str | None:
        pattern = reader.text(node, where)
        if pattern is None:
            return None
        try:
            re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            reader.error(node, where, f"not a valid regular expression: {exc}")
            return None
        return pattern

    @staticmethod
    def seconds(reader: Reader, node: Node, where: str) -> float | None:
        raw = reader.text(node, where)
        if raw is None:
            return None
        value = parse_duration(raw)
        if value is None:
            reader.error(node, where, f"not a duration: {raw!r}", "like 90, 90s, 30m, 1h30m")
        return value

    @staticmethod
    def env(reader: Reader, node: Node, where: str) -> dict[str, str]:
        env = {}
        for name, key_node, value in reader.free_mapping(node, where, "NAME: value"):
            if not name or "=" in name:
                reader.error(key_node, join(where, name), "not a valid variable name")
                continue
            env[name] = reader.text(value, join(where, name), allow_null=True) or ""
        return env

    @staticmethod
    def directory(reader: Reader, node: Node, where: str, base_dir: str) -> str | None:
        raw = reader.text(node, where)
        if raw is None:
            return None
        path = os.path.normpath(os.path.join(base_dir, os.path.expanduser(raw)))
        if not os.path.isdir(path):
            reader.error(node, where, f"{path} does not exist")
            return None
        return path

    # -- the whole -----------------------------------------------------------------------
    def finish(self) -> LoadedTasks:
        """Check what only the whole shows (dependencies, agents); raise if any problem."""
        known = {task.id for task in self.tasks}
        for task_id, (reader, deps) in self.dep_nodes.items():
            for node, name, where in deps:
                if name not in known:
                    reader.error(
                        node, where, f"unknown task {name!r}", did_you_mean(name, known, "tasks")
                    )
                elif name == task_id:
                    reader.error(node, where, "a task cannot depend on itself")
        profiles = dict(self.profiles)
        for task in self.tasks:
            name = task.agent
            if name not in profiles:
                base = preset(name)
                if base is None:
                    reader, node, where = self.agent_nodes[task.id]
                    choices = sorted({*profiles, *(p.name for p in PRESETS)})
                    reader.error(
                        node, where, f"unknown agent {name!r}", did_you_mean(name, choices)
                    )
                    continue
                profiles[name] = base
            self.check_task_agent(task, profiles[name])
        problems = [p for r in self.readers for p in r.problems]
        if problems:
            raise SpecError(sorted(problems, key=lambda p: (p.file, p.line, p.col)))
        used = {task.agent for task in self.tasks}
        return LoadedTasks(
            TaskSet(
                tasks=tuple(self.tasks),
                agents=tuple(
                    p for name, p in profiles.items() if name in used or name in self.profiles
                ),
                max_parallel=self.max_parallel[0] if self.max_parallel else max(1, len(self.tasks)),
                panes_per_window=self.panes_per_window or 4,
                notify=self.notify,
                files=tuple(self.files),
            ),
            tuple(w for r in self.readers for w in r.warnings),
        )

    def check_task_agent(self, task: Task, profile: AgentProfile) -> None:
        reader = next(r for r in self.readers if r.file == task.origin.file)
        where = task.origin.where
        if profile.takes_command and task.command is None and task.id in self.agent_nodes:
            reader.problems.append(
                Problem(
                    task.origin.file,
                    task.origin.line,
                    task.origin.col,
                    where,
                    f"agent {task.agent!r} needs a command",
                )
            )
        if not profile.takes_command and task.command is not None:
            reader.problems.append(
                Problem(
                    task.origin.file,
                    task.origin.line,
                    task.origin.col,
                    join(where, "command"),
                    f"agent {task.agent!r} takes a prompt, not a command",
                )
            )
        if profile.prompt == "none" and task.prompt is not None:
            reader.problems.append(
                Problem(
                    task.origin.file,
                    task.origin.line,
                    task.origin.col,
                    join(where, "prompt"),
                    f"agent {task.agent!r} takes no prompt",
                )
            )


def _origin(reader: Reader, node: Node, where: str) -> Origin:
    return Origin(reader.file, node.start_mark.line + 1, node.start_mark.column + 1, where)


__all__ = ["Collector", "LoadedTasks", "load_tasks"]
