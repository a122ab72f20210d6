"""Defaults that prevent hangs (issue 14, item 4): a file-wide and user-config ``timeout``
and ``stall``; an agent that shows nothing new is told of, then fails as stalled; one that
waits for a person is only reminded."""

from __future__ import annotations

import json
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.conftest import eventually
from tests.test_run import run, start, tasks_file
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.task_model import AGENT_STALL, Stall
from tmuxorch.spec.tasks import Collector, load_tasks
from tmuxorch.spec.user_config import load_user_config

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Server


def _tasks(tmp_path: Path, text: str) -> dict[str, object]:
    loaded = load_tasks(tasks_file(tmp_path, text))
    return {t.id: t for t in loaded.tasks.tasks}


def test_an_agent_has_a_stall_by_default_and_a_command_none(tmp_path: Path) -> None:
    tasks = _tasks(
        tmp_path,
        """
        agents: {a: {preset: demo}}
        tasks:
          - {id: agent, agent: a, prompt: hi}
          - {id: cmd, command: "true"}
          - {id: own, command: "true", stall: 10m, timeout: 1h}
          - {id: off, agent: a, prompt: hi, stall: false}
          - {id: full, command: "true", stall: {after: 1m, fail_after: never, remind: 5m}}
        """,
    )
    assert tasks["agent"].stall == AGENT_STALL  # type: ignore[attr-defined]
    assert tasks["cmd"].stall is None  # type: ignore[attr-defined]
    assert tasks["own"].stall == Stall(600, 1200, 1800)  # type: ignore[attr-defined]
    assert tasks["own"].timeout == 3600  # type: ignore[attr-defined]
    assert tasks["off"].stall is None  # type: ignore[attr-defined]
    assert tasks["full"].stall == Stall(60, None, 300)  # type: ignore[attr-defined]


def test_a_file_wide_timeout_and_stall_apply_to_its_tasks_over_the_user_config(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("defaults: {timeout: 2h, stall: 20m}\n")
    user = load_user_config(str(config))
    assert user.defaults.stall == Stall(1200, 2400, 3600)
    collector = Collector(user)
    collector.add_path(
        tasks_file(
            tmp_path,
            """
            timeout: 30m
            stall: 5m
            tasks:
              - {id: a, command: "true"}
              - {id: b, command: "true", timeout: 1m, stall: off}
            """,
        ),
        None,
        None,
    )
    a, b = collector.finish().tasks.tasks
    assert (a.timeout, a.stall) == (1800, Stall(300, 600, 900))
    assert (b.timeout, b.stall) == (60, None)
    collector = Collector(user)
    collector.add_path(tasks_file(tmp_path, "tasks: [{id: c, command: 'true'}]\n"), None, None)
    (c,) = collector.finish().tasks.tasks
    assert (c.timeout, c.stall) == (7200, Stall(1200, 2400, 3600))  # the user config's


def test_bad_stall_settings_say_where(tmp_path: Path) -> None:
    path = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: a, command: "true", stall: soon}
          - {id: b, command: "true", stall: {after: 5m, fail_after: 1m}}
          - {id: c, command: "true", stall: {fail_after: 1m}}
        """,
    )
    with pytest.raises(SpecError) as raised:
        load_tasks(path)
    said = str(raised.value)
    assert f"{path}:3:37: tasks[0].stall: not a duration: 'soon'" in said
    assert "tasks[1].stall.fail_after: must not be before after" in said
    assert "tasks[2].stall.after: required key is missing" in said


def _told(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_a_silent_task_is_told_of_then_fails_as_stalled(
    tmux_server: Server, tmp_path: Path
) -> None:
    told = tmp_path / "told.jsonl"
    file = tasks_file(
        tmp_path,
        f'notify: \'line=$(cat); printf "%s\\n" "$line" >> {told}\'\n'
        + textwrap.dedent(
            """
            tasks:
              - id: quiet
                command: "echo started; sleep 120"
                stall: {after: 1s, fail_after: 3s}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 1, result.stdout
    assert "quiet: has shown nothing new for 1s; it fails in 2s" in result.stdout
    assert "quiet: failed [stalled] (nothing new on its screen for 3s)" in result.stdout
    said = [(e["event"], e["task"]) for e in _told(told)]
    assert said == [("stalled", "quiet"), ("failed", "quiet"), ("run_finished", None)]
    stalled = _told(told)[0]
    assert stalled["waiting"] is False and "started" in stalled["last_lines"]  # type: ignore[operator]


def test_a_task_waiting_for_a_person_is_only_reminded(tmux_server: Server, tmp_path: Path) -> None:
    answer = tmp_path / "answer"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: ask
            command: "printf 'Go on? (y/n) '; read a; echo $a > {answer}"
            stall: {{after: 1s, fail_after: 2s, remind: 1s}}
        """,
    )
    proc = start(tmux_server, file)
    events = tmp_path / ".tmuxorch" / "events.jsonl"

    def reminders() -> int | None:
        if not events.exists():
            return None
        found = [json.loads(x) for x in events.read_text().splitlines() if '"task-stalled"' in x]
        assert all(e["waiting"] for e in found)  # never a stall: a person is needed
        return len(found) if len(found) >= 3 else None

    eventually(reminders, timeout=30, what="three reminders")
    import subprocess

    from tests.conftest import tmux_env, tmuxorch_argv

    subprocess.run(
        tmuxorch_argv("send", "-L", tmux_server.name, "ask", "y"), env=tmux_env(), check=True
    )
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert answer.read_text().strip() == "y"
    assert "ask: is still waiting for input" in out
