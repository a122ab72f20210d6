"""Agent profiles (``agents:``): a preset with overrides, read and checked (pure)."""

from __future__ import annotations

from dataclasses import replace

from tmuxorch.agents.patterns import STATES
from tmuxorch.agents.presets import PRESETS, find
from tmuxorch.spec.errors import Problem
from tmuxorch.spec.keys import AGENT_KEYS
from tmuxorch.spec.source import ScalarNode, did_you_mean, join
from tmuxorch.spec.task_model import DELIVERIES, DIALOG_POLICIES
from tmuxorch.spec.task_values import done_when, env, regex, seconds

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node, Reader
    from tmuxorch.spec.task_model import AgentProfile, Task


def profile(reader: Reader, name: str, node: Node, where: str) -> AgentProfile | None:
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
        changes["ready"] = regex(reader, entries["ready"][1], join(where, "ready"))
    if "ready_timeout" in entries:
        wait = seconds(reader, entries["ready_timeout"][1], join(where, "ready_timeout"))
        if wait is not None:
            changes["ready_timeout"] = wait
    if "enter_delay" in entries:
        delay = seconds(reader, entries["enter_delay"][1], join(where, "enter_delay"))
        if delay is not None:
            changes["enter_delay"] = delay
    if "env" in entries:
        merged = dict(profile.env)
        merged.update(env(reader, entries["env"][1], join(where, "env")))
        changes["env"] = tuple(merged.items())
    if "patterns" in entries:
        changes["patterns"] = patterns(
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
        changes["done_when"] = done_when(reader, entries["done_when"][1], join(where, "done_when"))
    if "max_parallel" in entries:
        cap = reader.integer(entries["max_parallel"][1], join(where, "max_parallel"), minimum=1)
        changes["max_parallel"] = cap
    if "breaker" in entries:
        changes["breaker"] = breaker(reader, entries["breaker"][1], join(where, "breaker"))
    if "resume" in entries:
        resume = reader.boolean(entries["resume"][1], join(where, "resume"))
        if resume is False:
            changes["resume_argv"] = None
            changes["session_capture"] = None
    return replace(profile, **changes)  # type: ignore[arg-type]


BREAKER_KEYS = frozenset({"failures", "window", "cooldown"})


def breaker(reader: Reader, node: Node, where: str) -> tuple[int, float, float] | None:
    """``false`` (none), or ``{failures: 3, window: 10m, cooldown: 5m}`` (each optional)."""
    if isinstance(node, ScalarNode) and node.tag.endswith(":bool"):
        if reader.boolean(node, where):
            reader.error(node, where, "give {failures, window, cooldown}, or false for none")
        return None
    entries = reader.mapping(node, where, BREAKER_KEYS)
    failures, window, cooldown = 3, 600.0, 300.0
    if entries is None:
        return (failures, window, cooldown)
    if "failures" in entries:
        node_f = entries["failures"][1]
        failures = reader.integer(node_f, join(where, "failures"), minimum=1) or failures
    if "window" in entries:
        window = seconds(reader, entries["window"][1], join(where, "window")) or window
    if "cooldown" in entries:
        cooldown = seconds(reader, entries["cooldown"][1], join(where, "cooldown")) or cooldown
    return (failures, window, cooldown)


def patterns(
    reader: Reader, node: Node, where: str, base: tuple[tuple[str, str], ...]
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
        pattern = regex(reader, value, join(where, state))
        if pattern is not None:
            given[state] = pattern
    return (*given.items(), *((s, p) for s, p in base if s not in given))


def check_task(reader: Reader, task: Task, profile: AgentProfile, *, named: bool) -> None:
    """A task and its agent agree (a command for agents that run one, a prompt for those
    that take one); ``named``: the task names its agent."""
    where = task.origin.where
    if profile.takes_command and task.command is None and named:
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
