"""One question to an agent in headless mode; its answer is what it prints on stdout.

The command is the agent profile's headless form: a profile in ``mode: headless`` as it is
(its ``program``, ``args``, ``env`` and ``prompt`` delivery); any other profile as its
preset's ``headless`` mode with the profile's ``program``, ``args`` and ``env`` (see
:mod:`tmuxorch.agents.presets`: ``claude -p``, ``codex exec``, ``gemini --prompt``...).
It runs as an argv list, never through a shell, in a process group of its own (its whole
tree is stopped when time is up), with its stderr on ours so a person sees its progress.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, replace

from tmuxorch.agents.presets import find

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.task_model import AgentProfile

STOP_GRACE = 3.0
"""Seconds between SIGTERM and SIGKILL to an agent stopped at its timeout."""
ASKABLE = ("argument", "file", "stdin")
"""Prompt deliveries a one-shot command can take (``type`` needs a screen)."""


class CannotAsk(Exception):
    """The profile has no headless form that takes a prompt."""


@dataclass(frozen=True)
class Answer:
    text: str
    """What it printed on stdout."""
    code: int | None
    """Its exit status; ``None`` when it was stopped at its timeout."""


def headless(profile: AgentProfile) -> AgentProfile:
    """``profile`` as a one-shot command taking a prompt; raises :class:`CannotAsk`."""
    asking = profile
    if profile.mode != "headless":
        base = find(profile.preset)
        if base is None or "headless" not in base.mode_names:
            raise CannotAsk(f"agent {profile.name!r} ({profile.preset}) has no headless mode")
        asking = base.profile("headless", profile.name)
        changes: dict[str, object] = {"args": profile.args, "env": profile.env}
        if profile.program and profile.program != base.program:  # the profile's `program:`
            changes["argv"] = (profile.program, *asking.argv[1:])
            changes["program"] = profile.program
        asking = replace(asking, **changes)  # type: ignore[arg-type]
    if asking.takes_command or asking.prompt not in ASKABLE:
        raise CannotAsk(
            f"agent {profile.name!r} ({profile.preset}) takes no prompt in headless mode"
            f" (prompt: {asking.prompt})"
        )
    return asking


def command(profile: AgentProfile, prompt: str, prompt_file: str) -> list[str]:
    """The argv asking ``profile`` (a :func:`headless` one) ``prompt``; with file
    delivery the prompt is to be in ``prompt_file``, with stdin delivery on stdin."""
    tail: tuple[str, ...] = ()
    if profile.prompt == "argument":
        tail = profile.prompt_args or ("{prompt}",)
    elif profile.prompt == "file":
        tail = profile.prompt_args or ("{prompt_file}",)
    values = {
        "{prompt}": prompt,
        "{prompt_file}": prompt_file,
        "{python}": sys.executable,
        "{session}": str(uuid.uuid4()),  # a conversation of its own
        "{command}": "",
    }
    argv = [
        _PLACEHOLDER.sub(lambda m: values[m.group(0)], a)
        for a in (*profile.argv, *profile.args, *tail)
    ]
    argv[0] = os.path.expanduser(argv[0])
    return argv


def ask(profile: AgentProfile, prompt: str, *, cwd: str, timeout: float) -> Answer:
    """Run ``profile`` (a :func:`headless` one) on ``prompt`` in ``cwd``; its stdout once it
    exits, or ``code=None`` if it was still running after ``timeout`` seconds (then its
    process group was stopped). Raises :class:`OSError` if it cannot start."""
    fd, prompt_file = tempfile.mkstemp(prefix="tmuxorch-ask-", suffix=".md")  # 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(prompt)
        on_stdin = profile.prompt == "stdin"
        proc = subprocess.Popen(
            command(profile, prompt, prompt_file),
            stdin=subprocess.PIPE if on_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            cwd=cwd,
            env={**os.environ, **dict(profile.env)},
            start_new_session=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        try:
            out, _ = proc.communicate(prompt if on_stdin else None, timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(proc)
            return Answer("", None)
        except BaseException:  # Ctrl-C: nothing of it outlives us
            _stop(proc)
            raise
        return Answer(out, proc.returncode)
    finally:
        os.unlink(prompt_file)


def _stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM to its process group, SIGKILL to what is left of it a moment later."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(STOP_GRACE)
    with contextlib.suppress(ProcessLookupError):  # what it started that shrugged TERM off
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


_PLACEHOLDER = re.compile(r"\{(?:command|prompt|prompt_file|python|session)\}")
"""Filled in one pass (as :mod:`tmuxorch.agents.launch` does): a prompt that mentions
``{python}`` stays as is."""
