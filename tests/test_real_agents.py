"""Optional: the real agent CLIs, where installed (skipped where not), each launched by a
run in a pane with a home of its own and a fake key. There is no network here: no model
answers. What is checked is that tmuxorch sees each one start — its screens recognised,
its start-up dialogs answered.

To run them, put the CLIs on PATH, e.g. ``npm install --prefix /tmp/agents
@anthropic-ai/claude-code @openai/codex @google/gemini-cli opencode-ai`` and
``PATH=/tmp/agents/node_modules/.bin:$PATH``; ``pip install aider-chat`` in a virtualenv.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually
from tests.test_run import start, tasks_file
from tests.test_workflows import _collect
from tmuxorch.run.store import Store, state_dir

if TYPE_CHECKING:
    from pathlib import Path

KNOWN = ("busy", "waiting_input", "idle")

# preset -> (what the CLI needs in its home, env, the dialog tmuxorch should answer first)
SETUPS: dict[str, tuple[dict[str, str], dict[str, str], str | None]] = {
    "claude": (
        {".claude.json": json.dumps({"hasCompletedOnboarding": True})},
        {"ANTHROPIC_API_KEY": "sk-ant-not-a-real-key"},
        "trust",
    ),
    "codex": ({}, {"OPENAI_API_KEY": "sk-not-a-real-key"}, None),
    "gemini": ({}, {"GEMINI_API_KEY": "not-a-real-key"}, "trust"),
    "opencode": ({}, {"ANTHROPIC_API_KEY": "sk-ant-not-a-real-key"}, None),
    "aider": ({}, {"OPENAI_API_KEY": "sk-not-a-real-key"}, "gitignore"),
}


def activity(file: str, task: str) -> str | None:
    store = Store(state_dir(file))
    try:
        runs = store.runs(file)
        return store.tasks(runs[0].id)[task].activity if runs else None
    finally:
        store.close()


@pytest.mark.parametrize("preset", sorted(SETUPS))
def test_a_real_cli_starts_and_is_recognised(
    preset: str, tmux_server: Server, tmp_path: Path
) -> None:
    if shutil.which(preset) is None:
        pytest.skip(f"{preset} is not installed here")
    files, env, dialog = SETUPS[preset]
    home = tmp_path / "home"
    home.mkdir()
    for name, text in files.items():
        (home / name).write_text(text)
    work = tmp_path / "work"
    work.mkdir()
    subprocess.run(["git", "init", "-q", str(work)], check=True)
    (work / "app.py").write_text("print('hi')\n")
    env_yaml = ", ".join(f"{k}: {v}" for k, v in {"HOME": str(home), **env}.items())
    file = tasks_file(
        tmp_path,
        textwrap.dedent(
            f"""
            agents:
              agent: {{preset: {preset}, env: {{{env_yaml}}}}}
            tasks:
              - {{id: hello, agent: agent, prompt: "Say hello.", cwd: work, timeout: 5m}}
            """
        ),
    )
    proc = start(tmux_server, file)
    lines = _collect(proc)
    try:
        if dialog is not None:
            answered = f"hello: answered its {dialog} dialog"
            eventually(lambda: any(answered in ln for ln in lines), timeout=90, what=answered)
        seen = eventually(
            lambda: activity(file, "hello") in KNOWN and activity(file, "hello"),
            timeout=90,
            what=f"{preset} recognised",
        )
        assert seen in KNOWN
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "needs you" not in "".join(lines)
