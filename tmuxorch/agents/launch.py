"""From a task and its agent profile to the pane's own command line (pure).

The pane runs a tiny ``sh`` wrapper around the agent. The wrapper records the agent's exit
status in a file of its own (``$TMUXORCH_EXIT``, written atomically), because tmux cannot
be trusted with it: on tmux 3.3 a pane's exit status is lost in a sizeable share of exits.
It survives Ctrl-C aimed at the agent (so a person interrupting an agent still gets its
status recorded), and passes the prompt on stdin when the profile says so.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass

from tmuxorch.agents.patterns import for_agent
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.panes import MARKER

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.model import Pairs
    from tmuxorch.spec.task_model import AgentProfile, Task

WRAPPER = (
    "trap : INT QUIT; "
    'if [ -n "$TMUXORCH_STDIN" ]; then "$@" < "$TMUXORCH_STDIN"; else "$@"; fi; '
    "rc=$?; "
    'printf "%s\\n" "$rc" > "$TMUXORCH_EXIT.tmp" && mv -f "$TMUXORCH_EXIT.tmp" "$TMUXORCH_EXIT"; '
    "sleep 0.1; "  # hold the terminal open: tmux 3.3 can lose the last output of a pane that dies at once
    'exit "$rc"'
)
"""``sh -c WRAPPER tmuxorch-task:RUN/TASK/N AGENT ARGS...`` (``$0`` names the attempt)."""


def attempt_id(run_id: str, task: str, attempt: int) -> str:
    """``RUN/TASK/N``: names one attempt, in its pane's command and in the environment
    (``$TMUXORCH_ATTEMPT_ID``) of every process it starts, so its whole tree can be found."""
    return f"{run_id}/{task}/{attempt}"


@dataclass(frozen=True)
class AttemptFiles:
    """Where one attempt's files live: ``.tmuxorch/runs/RUN/`` (exit status, prompt, the
    task's result) and ``.tmuxorch/transcripts/RUN/`` (what the pane showed)."""

    exit: str
    prompt: str
    transcript: str
    result: str
    """The task's result file (``$TMUXORCH_RESULT``): one per task, the last attempt's."""
    record: str = ""
    """Every byte the pane's program wrote (``pipe-pane``): the transcript's source."""
    hooks: str = ""
    """The agent's hook events, one JSON object a line (``$TMUXORCH_HOOKS``)."""

    @classmethod
    def of(cls, run_dir: str, task_id: str, attempt: int) -> AttemptFiles:
        name = f"{task_id}.{attempt}"
        state, run_id = os.path.split(os.path.dirname(run_dir))[0], os.path.basename(run_dir)
        return cls(
            exit=os.path.join(run_dir, "exits", name),
            prompt=os.path.join(run_dir, "prompts", f"{name}.md"),
            transcript=os.path.join(state, "transcripts", run_id, f"{name}.txt"),
            result=os.path.join(run_dir, "results", f"{task_id}.json"),
            record=os.path.join(state, "transcripts", run_id, f"{name}.log"),
            hooks=os.path.join(run_dir, "hooks", f"{name}.jsonl"),
        )


@dataclass(frozen=True)
class Launch:
    argv: tuple[str, ...]
    """The pane's command: the wrapper, then the agent's argv."""
    env: Pairs
    cwd: str
    prompt_file: str | None = None
    """Write the prompt here before the pane starts (file and stdin delivery)."""
    type_prompt: str | None = None
    """Paste this into the agent once its ``ready`` pattern shows (type delivery)."""
    settings: tuple[str, str] | None = None
    """Write this file (path, text) before the pane starts: the agent's hook settings."""


def launch(
    task: Task,
    profile: AgentProfile,
    *,
    run_id: str,
    attempt: int,
    files: AttemptFiles,
    prompt: str | None = None,
    cwd: str | None = None,
    session: str | None = None,
    resume: bool = False,
    python: str = sys.executable,
) -> Launch:
    """The pane command of one attempt. ``prompt``: the text to give (rendered; on a
    resumed attempt, what to say to the agent now); ``session``: the conversation's id;
    ``resume``: continue that conversation (``profile.resume_argv``)."""
    text = prompt or ""
    head = profile.resume_argv if resume and profile.resume_argv else profile.argv
    values = {
        "{command}": task.command or "",
        "{prompt}": text,
        "{prompt_file}": files.prompt,
        "{python}": python,
        "{session}": session or "",
        "{claude_settings}": settings_path(files),
    }
    delivery = profile.prompt
    tail: tuple[str, ...] = ()
    if delivery == "argument":
        tail = profile.prompt_args or ("{prompt}",)
    elif delivery == "file":
        tail = profile.prompt_args or ("{prompt_file}",)
    argv = [_fill(arg, values) for arg in (*head, *profile.args, *tail)]
    env = dict(profile.env)
    env.update(task.env)
    env.update(
        TMUXORCH_RUN=run_id,
        TMUXORCH_TASK=task.id,
        TMUXORCH_ATTEMPT=str(attempt),
        TMUXORCH_ATTEMPT_ID=attempt_id(run_id, task.id, attempt),
        TMUXORCH_EXIT=files.exit,
        TMUXORCH_RESULT=files.result,
        TMUXORCH_STDIN=files.prompt if delivery == "stdin" else "",
        TMUXORCH_HOOKS=files.hooks,
    )
    settings = None
    if any("{claude_settings}" in arg for arg in (*head, *profile.args)):
        from tmuxorch.agents.hooks import claude_settings

        settings = (settings_path(files), claude_settings())
    if session:
        env["TMUXORCH_SESSION"] = session
    return Launch(
        argv=("sh", "-c", WRAPPER, MARKER + attempt_id(run_id, task.id, attempt), *argv),
        env=tuple(env.items()),
        cwd=cwd or task.cwd or os.getcwd(),
        prompt_file=files.prompt if delivery in ("file", "stdin") else None,
        type_prompt=text if delivery == "type" else None,
        settings=settings,
    )


def settings_path(files: AttemptFiles) -> str:
    return files.hooks[: -len(".jsonl")] + ".settings.json" if files.hooks else ""


def pane_options(profile: AgentProfile) -> Pairs:
    """What a pane tells other processes (``send``, ``watch``) of how to talk to its agent."""
    options = [(tmux_panes.AGENT, profile.preset)]
    options.append((tmux_panes.ENTER_DELAY, f"{profile.enter_delay:g}"))
    if profile.patterns != for_agent(profile.preset):
        import json

        options.append((tmux_panes.PATTERNS, json.dumps(profile.patterns)))
    return tuple(options)


def needs_session(profile: AgentProfile, *, resume: bool) -> bool:
    """Whether the command line names the conversation (tmuxorch then chooses its id)."""
    head = profile.resume_argv if resume and profile.resume_argv else profile.argv
    return any("{session}" in arg for arg in head)


_PLACEHOLDER = re.compile(r"\{(?:command|prompt|prompt_file|python|session|claude_settings)\}")


def _fill(arg: str, values: dict[str, str]) -> str:
    """Placeholders filled in one pass: a prompt that mentions ``{python}`` stays as is."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(0)], arg)
