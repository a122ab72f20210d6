"""Outcomes from the agent (issue 14, item 6): a result's ``status`` — ``blocked`` and
``needs_review`` are task states that wait for a person (``unblock``, ``approve``,
``reject``) — and a ``result_schema`` the result must satisfy."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import eventually, tmux_env, tmuxorch_argv
from tests.test_run import run, start, states, tasks_file

if TYPE_CHECKING:
    from tests.conftest import Server

STANDIN = Path(__file__).parent / "standins" / "outcome_agent.py"


def _file(tmp_path: Path, env: dict[str, str], extra: str = "") -> str:
    env = {"STANDIN_LOG": str(tmp_path / "prompts.jsonl"), **env}
    return tasks_file(
        tmp_path,
        textwrap.dedent(
            f"""
            agents:
              agent: {{preset: claude, program: {STANDIN}}}
            tasks:
              - id: edit
                agent: agent
                prompt: change the file
                done_when: exit
                env: {json.dumps(env)}
            {extra}
              - {{id: after, depends_on: [edit], command: "echo after ran"}}
            """
        ),
    )


def _ask(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args, "-L", server.name),
        env=tmux_env(),
        capture_output=True,
        text=True,
        check=False,
    )


def _prompts(tmp_path: Path) -> list[str]:
    lines = (tmp_path / "prompts.jsonl").read_text().splitlines()
    return [json.loads(x)["prompt"] for x in lines]


def _waiting(file: str, state: str) -> None:
    eventually(lambda: states(file).get("edit") == state or None, timeout=60, what=state)


def test_work_that_needs_review_waits_then_is_approved(tmux_server: Server, tmp_path: Path) -> None:
    file = _file(tmp_path, {"STANDIN_STATUS": "needs_review"})
    proc = start(tmux_server, file)
    _waiting(file, "needs_review")
    assert states(file)["after"] == "pending"  # what needs it waits too
    early = _ask(tmux_server, "approve", "after")
    assert early.returncode == 2 and "after is pending, not needs_review" in early.stderr
    status = _ask(tmux_server, "status", "--json")
    (edit,) = [t for t in json.loads(status.stdout)["tasks"] if t["task"] == "edit"]
    assert edit["state"] == "needs_review" and edit["reason"] == "attempt 1"
    asked = _ask(tmux_server, "approve", "edit")
    assert asked.returncode == 0, asked.stderr
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "edit: needs review: attempt 1 (tmuxorch approve edit" in out
    assert "edit: approved" in out
    assert states(file) == {"edit": "succeeded", "after": "succeeded"}
    assert len(_prompts(tmp_path)) == 1  # approved as it was: not run again


def test_rejected_work_runs_again_with_the_reviewers_words(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = _file(tmp_path, {"STANDIN_STATUS": "needs_review"})
    proc = start(tmux_server, file)
    _waiting(file, "needs_review")
    refused = _ask(tmux_server, "reject", "edit", "--reason", " ")
    assert refused.returncode == 2 and "say why" in refused.stderr
    asked = _ask(tmux_server, "reject", "edit", "--reason", "Use tabs, not spaces.")
    assert asked.returncode == 0, asked.stderr
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    first, second = _prompts(tmp_path)
    assert "Use tabs, not spaces." not in first
    assert "A reviewer did not approve your last attempt" in second
    assert "Use tabs, not spaces." in second


def test_a_blocked_agent_is_unblocked_with_a_note(tmux_server: Server, tmp_path: Path) -> None:
    told = tmp_path / "told.jsonl"
    file = _file(tmp_path, {"STANDIN_STATUS": "blocked"})
    text = Path(file).read_text()
    Path(file).write_text(f'notify: \'line=$(cat); printf "%s\\n" "$line" >> {told}\'\n' + text)
    proc = start(tmux_server, file)
    _waiting(file, "blocked")
    said = eventually(lambda: (told.exists() and told.read_text().strip()) or None, what="told")
    first = json.loads(said.splitlines()[0])
    assert (first["event"], first["reason"]) == ("blocked", "the API key is missing")
    asked = _ask(tmux_server, "unblock", "edit", "--note", "It is in $VAULT/key.")
    assert asked.returncode == 0, asked.stderr
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "It is in $VAULT/key." in _prompts(tmp_path)[1]
    assert "edit: blocked: the API key is missing" in out


def test_a_result_that_breaks_its_schema_is_a_failure(tmux_server: Server, tmp_path: Path) -> None:
    schema = tmp_path / "result.schema.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "required": ["summary", "files"],
                "properties": {"summary": {"type": "string"}, "files": {"type": "array"}},
            }
        )
    )
    file = _file(
        tmp_path,
        {"STANDIN_RESULT": json.dumps({"summary": 3, "files": []})},
        extra="    result_schema: result.schema.json",
    )
    result = run(tmux_server, file)
    assert result.returncode == 1, result.stdout
    assert (
        f"edit: failed [task_failed] (its result does not match {schema}: at $.summary: "
        "3 is not of type 'string')" in result.stdout
    )
    assert states(file) == {"edit": "failed", "after": "skipped"}
