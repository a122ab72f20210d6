"""Failure classes in real runs: stand-in agents (small scripts named as an agent's
``program``) print a CLI's message in a real tmux pane and exit — or sit at their prompt, as
an interactive agent does at a usage limit. The run says the class in its lines, ``status``
(table and ``--json``) and the notify hook, and retries as the class says."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from datetime import datetime
from typing import TYPE_CHECKING

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.test_engine import Quiet
from tests.test_run import attempts, run, states, tasks_file
from tmuxorch.run import events
from tmuxorch.run.notify import literal, message
from tmuxorch.run.supervisor import Supervisor
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

    from tmuxorch.run.bus import Event

RULE = "─" * 100


def stand_in(tmp_path: Path, name: str, script: str) -> str:
    """An executable ``name`` in ``tmp_path`` running ``script`` (sh); each call of it is
    logged, one line per call, in ``name.calls``."""
    path = tmp_path / name
    path.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path}/{name}.calls\n{script}\n')
    path.chmod(0o755)
    return str(path)


def says(text: str, code: int) -> str:
    """A script that prints ``text`` (as it is) and exits with ``code``."""
    return f"cat <<'SAID'\n{text}\nSAID\nexit {code}"


def status_json(file: str) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return {str(t["task"]): t for t in json.loads(out.stdout)["tasks"]}


def notified(path: Path) -> list[dict[str, object]]:
    text = path.read_text() if path.exists() else ""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_auth_fails_at_once_and_says_what_to_do_network_is_retried(
    tmux_server: Server, tmp_path: Path
) -> None:
    """A lost login and a missing key are never retried (``retries: 3`` or not), and say
    what a person should do; an unreachable API uses the task's retries."""
    login = stand_in(tmp_path, "claude", says("Invalid API key · Please run /login", 1))
    key = stand_in(
        tmp_path,
        "codex",
        says("ERROR: Missing environment variable: `OPENAI_API_KEY`. Create an API key.", 1),
    )
    net = stand_in(tmp_path, "netclaude", says("API Error: Connection error.", 1))
    told = tmp_path / "told.jsonl"
    file = tasks_file(
        tmp_path,
        f"""
        notify: 'line=$(cat); printf "%s\\n" "$line" >> {told}'
        agents:
          lost-login: {{preset: claude, mode: headless, program: {login}}}
          no-key: {{preset: codex, mode: headless, program: {key}}}
          offline: {{preset: claude, mode: headless, program: {net}}}
        tasks:
          - {{id: login, agent: lost-login, prompt: "do it", retries: 3, retry_delay: 50ms}}
          - {{id: key, agent: no-key, prompt: "do it", retries: 3, retry_delay: 50ms}}
          - {{id: net, agent: offline, prompt: "do it", retries: 1, retry_delay: 50ms}}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1, result.stdout + result.stderr
    assert attempts(file) == {"login": 1, "key": 1, "net": 2}
    assert states(file) == {"login": "failed", "key": "failed", "net": "failed"}
    todo = "run `claude /login` (or set ANTHROPIC_API_KEY)"
    assert (
        f"login: failed [auth] (Invalid API key · Please run /login (exit status 1); {todo})"
        in result.stdout
    )
    assert "login: Invalid" not in result.stdout  # no retry was announced
    assert "key: failed [auth] (" in result.stdout and "; set OPENAI_API_KEY)" in result.stdout
    assert "net: API Error: Connection error. (exit status 1) [network]; retrying in" in (
        result.stdout
    )
    assert "net: failed [network] (API Error: Connection error. (exit status 1))" in (result.stdout)
    report = status_json(file)
    assert report["login"]["failure"] == "auth" and todo in str(report["login"]["reason"])
    assert report["key"]["failure"] == "auth"
    assert str(report["key"]["reason"]).endswith("; set OPENAI_API_KEY")
    assert report["net"]["failure"] == "network"
    failed = {e["task"]: e for e in notified(told) if e["event"] == "failed"}
    assert set(failed) == {"login", "key", "net"}
    assert failed["login"]["failure"] == "auth" and todo in str(failed["login"]["reason"])
    assert failed["net"]["failure"] == "network"


class Clock:
    """A wall clock that runs with the real one from ``start``, and jumps when told."""

    def __init__(self, start: float) -> None:
        self.offset = start - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset

    def jump_to(self, when: float) -> None:
        self.offset = when - time.time()


def test_an_interactive_agent_at_a_usage_limit_waits_until_the_reset_without_using_retries(
    tmux_server: Server, tmp_path: Path
) -> None:
    """Claude Code at its 5-hour limit does not exit: it sits at its prompt, which looks
    done. The run sees the limit, waits until the reset it states (3pm, on the run's clock:
    injected here, at 2:50pm) and a margin, then resumes the conversation — ``retries: 0``
    notwithstanding. Meanwhile ``status`` says when, the notify hook was told, and the
    task waits, even past 3pm, until the margin is over."""
    limited = f"""⏺ I'll start by reading the form component.

  ⎿  5-hour limit reached ∙ resets 3pm
     /upgrade to increase your usage limit.

{RULE}
❯
{RULE}
  ? for shortcuts"""
    done = f"""⏺ Added validation to the signup form.

{RULE}
❯
{RULE}
  ? for shortcuts"""
    script = f"""case "$*" in
  *--resume*) cat <<'SAID'
{done}
SAID
  ;;
  *) cat <<'SAID'
{limited}
SAID
  ;;
esac
exec sleep 600"""
    agent = stand_in(tmp_path, "claude", script)
    told = tmp_path / "told.jsonl"
    file = tasks_file(
        tmp_path,
        f"""
        notify: 'line=$(cat); printf "%s\\n" "$line" >> {told}'
        agents:
          coder: {{preset: claude, program: {agent}}}
        tasks:
          - {{id: form, agent: coder, prompt: "Add validation", retries: 0,
              done_when: {{idle: 0.5}}}}
        """,
    )
    today = datetime.now()
    clock = Clock(today.replace(hour=14, minute=50, second=0, microsecond=0).timestamp())
    three_pm = today.replace(hour=15, minute=0, second=0, microsecond=0).timestamp()
    sup = Supervisor(
        load_workspace(file).workspace, tmux_server.client, Quiet(), fresh=True, clock=clock
    )
    starts: list[float] = []
    ended: list[Event] = []

    def watch(event: Event) -> None:
        if event["type"] == events.ATTEMPT_STARTING:
            starts.append(clock())  # on the run's own clock, as the engine decides
        elif event["type"] == events.ENDED:
            ended.append(event)

    sup.subscribe(watch, inline=True)
    code: list[int] = []
    thread = threading.Thread(target=lambda: code.append(sup.run()), daemon=True)
    thread.start()
    try:
        eventually(lambda: ended, timeout=60, what="the first attempt ended")
        first = ended[0]
        assert (first["outcome"], first["failure"]) == ("retrying", "usage_limit")
        retry_at = float(first["retry_at"])  # type: ignore[arg-type]
        margin = sup.engine.run.scheduler.policy.reset_margin
        assert three_pm + margin <= retry_at <= three_pm + 1.5 * margin
        assert first["reason"] == "5-hour limit reached ∙ resets 3pm"
        report = status_json(file)["form"]
        assert (report["state"], report["failure"]) == ("retrying", "usage_limit")
        assert report["retry_at"] == retry_at and report["attempt"] == 1
        table = subprocess.run(
            tmuxorch_argv("status", "--file", file),
            capture_output=True,
            text=True,
            env=tmux_env(COLUMNS="200"),
        )
        assert "retry at 15:00 (usage limit)" in table.stdout, table.stdout
        limited_told = eventually(
            lambda: [e for e in notified(told) if e["event"] == "limited"], what="told"
        )
        assert limited_told[0]["failure"] == "usage_limit"
        assert limited_told[0]["retry_at"] == retry_at
        time.sleep(2.5)  # the engine looks at its clock at least every 2 s
        assert len(starts) == 1 and attempts(file) == {"form": 1}
        clock.jump_to(three_pm + 1)  # the stated reset, but not its margin: still waiting
        time.sleep(2.5)
        assert len(starts) == 1 and states(file) == {"form": "retrying"}
        clock.jump_to(retry_at + 1)
        thread.join(timeout=60)
    finally:
        if thread.is_alive():
            sup.control.stop()
            thread.join(timeout=30)
    assert code == [0]
    assert len(starts) == 2 and starts[1] >= retry_at
    assert states(file) == {"form": "succeeded"}
    assert attempts(file) == {"form": 2}  # retries: 0, yet a second attempt: the wait
    calls = (tmp_path / "claude.calls").read_text().splitlines()
    assert "--resume" in calls[1]  # the same conversation, resumed
    told_all = eventually(  # the notify hook runs in the background: its last call may lag
        lambda: (said := [e["event"] for e in notified(told)]) and len(said) >= 2 and said
    )
    assert told_all == ["limited", "run_finished"]


def test_an_agents_words_on_tmux_clients_are_shown_never_run(
    tmux_server: Server, tmp_path: Path
) -> None:
    """A failure's reason is a line of an agent's screen: the message tmux clients get
    shows it as it is (tmux's display-message would start ``#(...)`` as a shell job and
    expand ``#{...}``)."""
    tmux_server.client.cmd("new-session", "-d", "sleep 60")
    planted = tmp_path / "planted"
    said = {"event": "failed", "task": "t", "failure": "auth"}
    text = message({**said, "reason": f"Invalid API key #(touch {planted}) #{{pane_id}}"})
    assert tmux_server.client.cmd("display-message", "-p", literal(text)) == [text]
    unescaped = tmux_server.client.cmd("display-message", "-p", text)  # what it would show
    assert unescaped != [text] and "#(" not in unescaped[0] and "pane_id" not in unescaped[0]
