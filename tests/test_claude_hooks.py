"""Claude Code's hooks as a first-hand source of what it does (issue 14, item 7): the
agent's own Notification hook makes its task wait for a person, with what it said, though
nothing on its screen looks like a question."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import eventually, tmux_env, tmuxorch_argv
from tests.test_run import start, tasks_file
from tmuxorch.agents.hooks import claude_settings, read_events, state_of

if TYPE_CHECKING:
    from tests.conftest import Server

STANDIN = Path(__file__).parent / "standins" / "claude_hooks.py"


def test_hook_events_are_read_whole_and_an_unfinished_one_waits() -> None:
    data = '{"hook_event_name": "Stop"}\n{"hook_event_name": "Notif'
    found, used = read_events(data)
    assert [state_of(e) for e in found] == ["idle"]
    assert data[used:].startswith('{"hook_event_name": "Notif')
    found, used = read_events('not json\n{"hook_event_name": "Notification"}\n')
    assert [state_of(e) for e in found] == ["waiting_input"]
    hooks = json.loads(claude_settings())["hooks"]
    assert set(hooks) == {"Notification", "Stop", "UserPromptSubmit", "PreToolUse"}


def test_claude_says_through_its_hook_that_it_waits(tmux_server: Server, tmp_path: Path) -> None:
    told = tmp_path / "told.jsonl"
    file = tasks_file(
        tmp_path,
        f'notify: \'line=$(cat); printf "%s\\n" "$line" >> {told}\'\n'
        + textwrap.dedent(
            f"""
            agents:
              claude: {{preset: claude, program: {STANDIN}}}
            tasks:
              - {{id: edit, agent: claude, prompt: "change the file", done_when: exit}}
            """
        ),
    )
    proc = start(tmux_server, file)

    def notified() -> dict[str, object] | None:
        if not told.exists():
            return None
        said = [json.loads(x) for x in told.read_text().splitlines() if x.strip()]
        return next((e for e in said if e["event"] == "waiting_input"), None)

    waiting = eventually(notified, timeout=60, what="the hook's wait is told")
    assert waiting["task"] == "edit"
    assert "Claude needs your permission to use Bash" in waiting["last_lines"]  # type: ignore[operator]
    # (send may say the pane went before it could check the Enter landed: the agent ends at once)
    subprocess.run(tmuxorch_argv("send", "-L", tmux_server.name, "edit", "yes"), env=tmux_env())
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    events = [
        json.loads(x) for x in (tmp_path / ".tmuxorch" / "events.jsonl").read_text().splitlines()
    ]
    doing = [e["activity"] for e in events if e["type"] == "task-activity"]
    assert "waiting_input" in doing and doing[-1] == "idle"  # Stop: its turn is over
