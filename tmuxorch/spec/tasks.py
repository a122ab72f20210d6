"""Task files (and a layout's ``tasks:``) into a checked :class:`~tmuxorch.spec.task_model.TaskSet`.

Pure: reads files (task files, prompt templates), never tmux or git. A tasks file is
YAML/JSON::

    max_parallel: 3              # optional; default: every task at once
    panes_per_window: 4          # optional; agent panes per tmux window
    worktree: true               # optional; each task in a git worktree of its own
    agents:                      # optional profiles: a preset with overrides
      coder: {preset: claude, mode: headless, args: [--model, opus]}
    tasks:
      - id: schema
        agent: coder
        prompt: prompts/implement.md     # a template file, or inline text
        vars: {goal: a users table}
        then:                            # follow-ups, created when it succeeds
          - {id: "{parent}-review", agent: coder, prompt: prompts/review.md}
      - id: api
        depends_on: [schema]
        command: pytest -x               # a shell command (the ``shell`` agent)
        timeout: 30m
        retries: 2
        locks: [db]
        done_when: exit                  # or {output: REGEX}, {file: PATH}, result, idle

A directory holds several such files (read in name order). Every problem is reported as
``file:line:col: where: what``; the dependency graph itself is checked in
:mod:`tmuxorch.graph`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from tmuxorch.agents.patterns import STATES
from tmuxorch.agents.presets import PRESETS, find
from tmuxorch.spec import template
from tmuxorch.spec.duration import parse_duration
from tmuxorch.spec.errors import Problem, SpecError
from tmuxorch.spec.keys import AGENT_KEYS, FILE_KEYS, TASK_KEYS, WORKTREE_KEYS
from tmuxorch.spec.source import Reader, ScalarNode, did_you_mean, join, load_nodes
from tmuxorch.spec.task_model import (
    DELIVERIES,
    DIALOG_POLICIES,
    AgentProfile,
    DoneWhen,
    Origin,
    Task,
    TaskSet,
    Worktree,
)

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node

RUN_FIELDS = frozenset(
    {"result_file", "run", "attempt", "worktree", "branch", "dependency_results", "parent_result"}
)
"""Prompt fields filled when the task starts (and ``results.ID``, ``results.ID.KEY``)."""
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_TEMPLATE_SUFFIXES = (".md", ".txt", ".prompt", ".tmpl", ".j2")
TASK_FILE_SUFFIXES = (".yaml", ".yml", ".json")
DONE_KINDS = "exit, idle, result, {output: REGEX}, {file: PATH} or {idle: SECONDS}"


@dataclass(frozen=True)
class LoadedTasks:
    tasks: TaskSet
    warnings: tuple[Problem, ...]


def load_tasks(path: str) -> LoadedTasks:
    """Read a tasks file, or every task file in a directory; raise SpecError if bad."""
    collector = Collector()
    collector.add_path(path, None, None)
    return collector.finish()


def run_field(name: str) -> bool:
    """Whether a prompt field is filled when the task starts rather than when it is read."""
    return name in RUN_FIELDS or name.startswith("results.")


class Collector:
    """Gathers tasks and profiles from one or more files, then checks them as a whole."""

    def __init__(self) -> None:
        self.readers: list[Reader] = []
        self.tasks: list[Task] = []
        self.dep_nodes: dict[str, tuple[Reader, list[tuple[Node, str, str]]]] = {}
        self.agent_nodes: dict[str, tuple[Reader, Node, str]] = {}
        self.prompt_nodes: dict[str, tuple[Reader, Node, str]] = {}
        self.explicit_done: set[str] = set()
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
        worktree = None
        if "worktree" in entries:
            worktree = self.worktree(reader, entries["worktree"][1], "worktree")
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
                where = join("tasks", i)
                self.task(reader, item, where, base_dir, cwd or base_dir, worktree=worktree)

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
        if isinstance(node, ScalarNode):  # shorthand: `coder: claude`
            entries: dict[str, tuple[Node, Node]] | None = {"preset": (node, node)}
        else:
            entries = reader.mapping(node, where, AGENT_KEYS)
        if entries is None:
            return None
        if "preset" not in entries:
            reader.error(node, join(where, "preset"), "required key is missing")
            return None
        base_name = reader.text(entries["preset"][1], join(where, "preset"))
        base = find(base_name or "")
        if base is None:
            if base_name is not None:
                reader.error(
                    entries["preset"][1],
                    join(where, "preset"),
                    f"unknown preset {base_name!r}",
                    did_you_mean(base_name, [p.name for p in PRESETS], "presets"),
                )
            return None
        mode = None
        if "mode" in entries:
            mode = reader.text(entries["mode"][1], join(where, "mode"))
            if mode is not None and mode not in base.mode_names:
                reader.error(
                    entries["mode"][1],
                    join(where, "mode"),
                    f"preset {base.name!r} has no mode {mode!r}",
                    "its modes: " + ", ".join(base.mode_names),
                )
                mode = None
        profile = base.profile(mode, name)
        changes: dict[str, object] = {"description": f"{base.name} preset with overrides"}
        if "program" in entries:
            program = reader.text(entries["program"][1], join(where, "program"))
            if program:
                changes["argv"] = (program, *profile.argv[1:])
                if profile.resume_argv:
                    changes["resume_argv"] = (program, *profile.resume_argv[1:])
                changes["program"] = program
        if "args" in entries:
            items = reader.sequence(entries["args"][1], join(where, "args")) or []
            args = [reader.text(a, join(join(where, "args"), i)) for i, a in enumerate(items)]
            changes["args"] = tuple(a for a in args if a is not None)
        if "prompt" in entries:
            delivery = reader.word(
                entries["prompt"][1], join(where, "prompt"), DELIVERIES, "prompt delivery"
            )
            if delivery is not None and delivery != profile.prompt:
                changes["prompt"] = delivery
                changes["prompt_args"] = ()  # the preset's were for its own delivery
        if "ready" in entries:
            changes["ready"] = self.regex(reader, entries["ready"][1], join(where, "ready"))
        if "enter_delay" in entries:
            delay = self.seconds(reader, entries["enter_delay"][1], join(where, "enter_delay"))
            if delay is not None:
                changes["enter_delay"] = delay
        if "env" in entries:
            env = dict(profile.env)
            env.update(self.env(reader, entries["env"][1], join(where, "env")))
            changes["env"] = tuple(env.items())
        if "patterns" in entries:
            changes["patterns"] = self.patterns(
                reader, entries["patterns"][1], join(where, "patterns"), profile.patterns
            )
        if "dialogs" in entries:
            policy = reader.word(
                entries["dialogs"][1],
                join(where, "dialogs"),
                DIALOG_POLICIES,
                "dialog policy",
                "accept (answer them), ask (leave them to a person) or fail (end the attempt)",
            )
            if policy is not None:
                changes["dialog_policy"] = policy
        if "done_when" in entries:
            changes["done_when"] = self.done_when(
                reader, entries["done_when"][1], join(where, "done_when")
            )
        if "resume" in entries:
            resume = reader.boolean(entries["resume"][1], join(where, "resume"))
            if resume is False:
                changes["resume_argv"] = None
                changes["session_capture"] = None
        return replace(profile, **changes)  # type: ignore[arg-type]

    def patterns(
        self, reader: Reader, node: Node, where: str, base: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        """``{state: REGEX}`` replaces the preset's patterns for those states (first)."""
        given: dict[str, str] = {}
        for state, key_node, value in reader.free_mapping(node, where, "state: REGEX"):
            if state not in STATES:
                reader.error(
                    key_node,
                    join(where, state),
                    f"unknown state {state!r}",
                    did_you_mean(state, STATES, "states"),
                )
                continue
            pattern = self.regex(reader, value, join(where, state))
            if pattern is not None:
                given[state] = pattern
        return (*given.items(), *((s, p) for s, p in base if s not in given))

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
    ) -> None:
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
            reader.error(node, where, "a task needs a command or an agent")
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
            rendered = self.prompt(reader, prompt_node, join(where, "prompt"), base_dir, variables)
            if rendered is not None:
                prompt, fields, sources = rendered
        depends = self.names(reader, entries.get("depends_on"), join(where, "depends_on"))
        if parent is not None:
            depends.insert(0, (id_node, parent, join(where, "id")))
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
            self.explicit_done.add(task_id)
            done_when = self.done_when(reader, entries["done_when"][1], join(where, "done_when"))
        env: tuple[tuple[str, str], ...] = ()
        if "env" in entries:
            env = tuple(self.env(reader, entries["env"][1], join(where, "env")).items())
        own_worktree = worktree
        if "worktree" in entries:
            own_worktree = self.worktree(reader, entries["worktree"][1], join(where, "worktree"))
        self.tasks.append(
            Task(
                id=task_id,
                origin=origin,
                agent=agent,
                command=command,
                prompt=prompt,
                prompt_fields=fields,
                depends_on=tuple(dict.fromkeys(name for _, name, _ in depends)),
                cwd=cwd,
                env=env,
                timeout=timeout,
                retries=retries,
                retry_delay=retry_delay,
                locks=tuple(name for _, name, _ in locks),
                done_when=done_when,
                worktree=own_worktree,
                follows=parent,
                sources=sources,
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
                )

    def prompt(
        self, reader: Reader, node: Node, where: str, base_dir: str, variables: dict[str, str]
    ) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
        """The prompt (a template file or inline text) filled from ``variables``; the
        run-time fields it still holds; the template file it came from."""
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
        rendered, missing, kept = template.render(text, variables, later=run_field)
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
                    "set it in the task's vars"
                    + (f" (used in {source})" if source else "")
                    + f"; for a literal {{{name}}} or ${name}, write {{{{{name}}}}} or $${name}",
                )
            )
        return rendered, tuple(kept), (source,) if source else ()

    def done_when(self, reader: Reader, node: Node, where: str) -> DoneWhen:
        if isinstance(node, ScalarNode):
            kind = reader.text(node, where)
            if kind in ("exit", "idle", "result"):
                return DoneWhen(kind)
            if kind is not None:
                reader.error(node, where, f"unknown done_when {kind!r}", DONE_KINDS)
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
            return DoneWhen("file", path=os.path.normpath(os.path.expanduser(path)))
        seconds = self.seconds(reader, value, join(where, "idle"))
        return DoneWhen("idle", seconds=5.0 if seconds is None else seconds)

    def worktree(self, reader: Reader, node: Node, where: str) -> Worktree | None:
        """``true``/``false``, a policy word (``keep``, ``remove``, ``merge``), or
        ``{after: keep|remove|merge, merge: ff|squash, failed: remove|keep}``."""
        if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
            return Worktree() if reader.boolean(node, where) else None
        if isinstance(node, ScalarNode):
            word = reader.text(node, where)
            if word in ("keep", "remove", "merge"):
                return Worktree(after=word)
            if word in ("ff", "squash"):
                return Worktree(merge=word)
            if word is not None:
                reader.error(
                    node,
                    where,
                    f"unknown worktree policy {word!r}",
                    "true, false, keep, remove, merge, ff, squash, or {after, merge, failed}",
                )
            return None
        entries = reader.mapping(node, where, WORKTREE_KEYS)
        if entries is None:
            return None
        choices = {
            "after": ("keep", "remove", "merge"),
            "merge": ("ff", "squash"),
            "failed": ("remove", "keep"),
        }
        values: dict[str, str] = {}
        for key, (_, value) in entries.items():
            word = reader.word(value, join(where, key), choices[key], f"{key} policy")
            if word is not None:
                values[key] = word
        return Worktree(**values)

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
        """Check what only the whole shows (dependencies, agents, the results prompts
        use); raise if any problem."""
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
        tasks = []
        for task in self.tasks:
            name = task.agent
            if name not in profiles:
                found = find(name)
                if found is None:
                    reader, node, where = self.agent_nodes[task.id]
                    choices = sorted({*profiles, *(p.name for p in PRESETS)})
                    reader.error(
                        node, where, f"unknown agent {name!r}", did_you_mean(name, choices)
                    )
                    tasks.append(task)
                    continue
                profiles[name] = found.profile()
            profile = profiles[name]
            self.check_task_agent(task, profile)
            if task.id not in self.explicit_done and profile.done_when != task.done_when:
                task = replace(task, done_when=profile.done_when)
            tasks.append(task)
        self.check_prompt_fields(tasks)
        problems = [p for r in self.readers for p in r.problems]
        if problems:
            raise SpecError(sorted(problems, key=lambda p: (p.file, p.line, p.col)))
        used = {task.agent for task in tasks}
        return LoadedTasks(
            TaskSet(
                tasks=tuple(tasks),
                agents=tuple(
                    p for name, p in profiles.items() if name in used or name in self.profiles
                ),
                max_parallel=self.max_parallel[0] if self.max_parallel else max(1, len(tasks)),
                panes_per_window=self.panes_per_window or 4,
                notify=self.notify,
                files=tuple(self.files),
            ),
            tuple(w for r in self.readers for w in r.warnings),
        )

    def check_prompt_fields(self, tasks: list[Task]) -> None:
        """``{results.ID}`` needs ID upstream of the task; ``{parent_result}`` a follow-up."""
        deps = {task.id: task.depends_on for task in tasks}

        def upstream(task_id: str) -> set[str]:
            seen: set[str] = set()
            stack = list(deps.get(task_id, ()))
            while stack:
                current = stack.pop()
                if current not in seen:
                    seen.add(current)
                    stack.extend(deps.get(current, ()))
            return seen

        for task in tasks:
            if not task.prompt_fields:
                continue
            reader, node, where = self.prompt_nodes[task.id]
            for name in task.prompt_fields:
                if name == "parent_result" and task.follows is None:
                    reader.error(node, where, "{parent_result} is for follow-ups (then:) only")
                if not name.startswith("results."):
                    continue
                source = name.split(".")[1]
                if source not in upstream(task.id):
                    reader.error(
                        node,
                        where,
                        f"{{{name}}}: {source!r} is not a task {task.id} depends on",
                        "a prompt can use the results of the tasks it depends on",
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


__all__ = ["Collector", "LoadedTasks", "load_tasks", "run_field"]
