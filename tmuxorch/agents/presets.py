"""Built-in agent presets. Data only: a new agent is a new entry, not a new code path.

A layout's ``agents:`` section makes profiles from these: ``{preset: demo, args: [...],
env: {...}, prompt: stdin}`` (``args`` are appended to the preset's command line).
"""

from __future__ import annotations

from tmuxorch.spec.task_model import AgentProfile

PRESETS: tuple[AgentProfile, ...] = (
    AgentProfile(
        name="shell",
        preset="shell",
        argv=("sh", "-c", "{command}"),
        takes_command=True,
        description="runs the task's command with sh -c",
    ),
    AgentProfile(
        name="demo",
        preset="demo",
        argv=("{python}", "-m", "tmuxorch.demo_agent", "--prompt-file", "{prompt_file}"),
        prompt="file",
        ready=r"^❯ ",
        description="the bundled demo agent (no API key): streams work, asks, writes files",
    ),
)


def preset(name: str) -> AgentProfile | None:
    return next((p for p in PRESETS if p.name == name), None)
