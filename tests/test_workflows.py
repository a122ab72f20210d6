"""Issue-5 workflows in real runs: resumed conversations, start-up dialogs, the result-file
contract, git worktrees, hot reload of the task file, follow-ups."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import threading
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually, tmuxorch_argv
from tests.test_run import run, start, states, tasks_file
from tmuxorch.run.store import Store, state_dir

if TYPE_CHECKING:
    from pathlib import Path


def demo_agents(tmp_path: Path, **extra: str) -> str:
    """An ``agents:`` section: demo agents keeping their state in ``tmp_path``."""
    state = tmp_path / "demo-state"
    lines = ["agents:"]
    for name, more in {"d": "", **extra}.items():
        lines.append(
            f"  {name}: {{preset: demo, args: [--fast], env: {{TMUXORCH_DEMO_STATE: {state}}}{more}}}"
        )
    return "\n".join(lines) + "\n"


def latest_run(file: str) -> str:
    store = Store(state_dir(file))
    try:
        return store.runs(file)[0].id
    finally:
        store.close()


def rows(file: str) -> dict[str, dict[str, object]]:
    out = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file), capture_output=True, text=True
    )
    return {t["task"]: t for t in json.loads(out.stdout)["tasks"]}


def transcript(file: str, task: str, attempt: int) -> str:
    path = os.path.join(state_dir(file), "transcripts", latest_run(file), f"{task}.{attempt}.txt")
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def test_a_retry_resumes_the_agents_conversation(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        demo_agents(tmp_path)
        + textwrap.dedent(
            """
            tasks:
              - {id: flaky, agent: d, prompt: "@exit 3\\nfix the parser", retries: 1, retry_delay: 0}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout[-3000:]
    first, second = transcript(file, "flaky", 1), transcript(file, "flaky", 2)
    session = first.split("demo --resume ")[-1].split()[0]
    store = Store(state_dir(file))
    assert store.tasks(latest_run(file))["flaky"].session == session
    store.close()
    assert rows(file)["flaky"]["session"] == session
    # the second attempt continued that conversation, told why the first ended
    assert f"↻ Resumed conversation {session} (1 earlier prompt(s))" in second
    assert "attempt 2 of task flaky" in second and "exit status 3" in second
    assert "resuming its conversation" in result.stdout


def test_start_up_dialogs_answered_or_failed_by_policy(tmux_server: Server, tmp_path: Path) -> None:
    """The demo agent asks to trust its folder with "No, exit" highlighted, as Claude Code
    2.1.252 does: accepting it takes Down, then Enter."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
    file = tasks_file(
        tmp_path,
        demo_agents(tmp_path, strict=", dialogs: fail")
        + textwrap.dedent(
            """
            tasks:
              - {id: trusting, agent: d, prompt: "@trust\\nwork", cwd: a}
              - {id: wary, agent: strict, prompt: "@trust\\nwork", cwd: b}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    report = rows(file)
    assert report["trusting"]["state"] == "succeeded"
    assert report["wary"]["state"] == "failed"
    assert report["wary"]["reason"] == "stopped at its trust dialog (dialogs: fail)"
    assert result.stdout.count("answered its trust dialog") == 1
    assert "trusting: answered its trust dialog (Down Enter)" in result.stdout
    trusted = (tmp_path / "demo-state" / "trusted").read_text().splitlines()
    assert trusted == [str((tmp_path / "a").resolve())]


def test_results_complete_tasks_and_feed_the_prompts_after(
    tmux_server: Server, tmp_path: Path
) -> None:
    (tmp_path / "result.json").write_text('{"summary": "made the schema", "files": 3}')
    file = tasks_file(
        tmp_path,
        demo_agents(tmp_path)
        + textwrap.dedent(
            """
            tasks:
              - id: a
                command: 'cp result.json "$TMUXORCH_RESULT"; sleep 300'
                done_when: result
              - id: b
                depends_on: [a]
                agent: d
                prompt: "Summary: {results.a.summary}; files {results.a.files}; to {result_file}"
              - id: c
                depends_on: [a]
                agent: d
                prompt: "{results.a.missing}"
              - id: e
                command: 'printf "{\\"x\\":" > out.json; sleep 0.5; echo "1}" >> out.json; sleep 300'
                done_when: {file: out.json}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    report = rows(file)
    assert report["a"]["state"] == "succeeded"  # by its result: it never exited
    assert report["a"]["result"] == {"summary": "made the schema", "files": 3}
    assert report["e"]["result"] is None
    assert report["e"]["state"] == "succeeded"  # once out.json was whole
    assert report["b"]["state"] == "succeeded"
    assert report["c"]["state"] == "failed"
    assert report["c"]["reason"] == "its prompt needs a result: the result of a has no 'missing'"
    run_dir = os.path.join(state_dir(file), "runs", latest_run(file))
    prompt = (tmp_path / run_dir / "prompts" / "b.1.md").read_text()
    assert prompt == f"Summary: made the schema; files 3; to {run_dir}/results/b.json"
    assert json.loads((tmp_path / run_dir / "results" / "a.json").read_text())["files"] == 3


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "dev@example.com")
    git(path, "config", "user.name", "Dev")
    (path / "shared.txt").write_text("base\n")
    git(path, "add", "shared.txt")
    git(path, "commit", "-qm", "base")
    return path


def test_worktrees_merge_keep_and_clean_up(tmux_server: Server, repo: Path) -> None:
    file = tasks_file(
        repo,
        """
        worktree: true
        tasks:
          - id: feature
            command: 'echo feature > feature.txt && git add feature.txt && git commit -qm "add feature" && echo extra > extra.txt'
          - id: docs
            depends_on: [feature]
            command: 'test -f feature.txt && test -f extra.txt && echo docs > docs.txt'
            worktree: squash
          - {id: scratch, command: 'echo junk > junk.txt; exit 1'}
          - {id: keepme, command: 'echo kept > kept.txt', worktree: keep}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1, result.stdout[-3000:]
    assert states(file) == {
        "feature": "succeeded",
        "docs": "succeeded",
        "scratch": "failed",
        "keepme": "succeeded",
    }
    run_id = latest_run(file)
    log = git(repo, "log", "--format=%s", "main").splitlines()
    assert log == [
        f"tmuxorch: docs (run {run_id}, attempt 1)",  # squashed into one
        f"tmuxorch: feature (run {run_id}, attempt 1)",  # what it left uncommitted
        "add feature",
        "base",
    ]
    assert sorted(p.name for p in repo.iterdir() if p.suffix == ".txt") == [
        "docs.txt",
        "extra.txt",
        "feature.txt",
        "shared.txt",
    ]
    assert git(repo, "status", "--porcelain") == "?? tasks.yaml"  # .tmuxorch/ ignores itself
    branches = git(repo, "branch", "--format=%(refname:short)").splitlines()
    assert sorted(branches) == ["main", f"tmuxorch/{run_id}/keepme"]
    worktrees = [
        line.split()[1]
        for line in git(repo, "worktree", "list", "--porcelain").splitlines()
        if line.startswith("worktree ")
    ]
    kept = os.path.join(state_dir(file), "worktrees", run_id, "keepme")
    assert worktrees == [str(repo), kept]
    assert (repo / ".tmuxorch" / "worktrees" / run_id / "keepme" / "kept.txt").exists()
    assert "scratch: removing its worktree" in result.stdout
    assert "worktree kept: keepme" in result.stdout


def test_a_merge_conflict_is_reported_and_undone(tmux_server: Server, repo: Path) -> None:
    file = tasks_file(
        repo,
        """
        worktree: true
        tasks:
          - {id: one, command: 'echo one > shared.txt'}
          - {id: two, command: 'sleep 0.5; echo two > shared.txt'}
        """,
    )
    result = run(tmux_server, file)
    assert result.returncode == 1
    report = rows(file)
    merged, conflicted = sorted(report, key=lambda t: report[t]["state"] == "failed")
    assert report[merged]["state"] == "succeeded"
    reason = str(report[conflicted]["reason"])
    assert reason.startswith("its work could not be merged: ")
    assert "conflicts with main in shared.txt" in reason
    run_id = latest_run(file)
    assert f"branch tmuxorch/{run_id}/{conflicted} kept" in reason
    assert (repo / "shared.txt").read_text() == f"{merged}\n"
    assert git(repo, "status", "--porcelain") == "?? tasks.yaml"  # nothing half-merged
    kept = repo / ".tmuxorch" / "worktrees" / run_id / conflicted
    assert git(kept, "status", "--porcelain") == ""  # no rebase left half-done
    assert (kept / "shared.txt").read_text() == f"{conflicted}\n"


def test_hot_reload_of_the_task_file(tmux_server: Server, tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            tasks:
              - {id: gate, command: 'while [ ! -e FLAG ]; do sleep 0.1; done'}
              - {id: after, command: 'echo old > after.out', depends_on: [gate]}
              - {id: doomed, command: 'echo doomed > doomed.out', depends_on: [gate]}
            """
        )
    )
    file = str(path)
    proc = start(tmux_server, file)
    lines = _collect(proc)
    eventually(lambda: states(file).get("gate") == "running", what="gate running")
    path.write_text(
        textwrap.dedent(
            """\
            tasks:
              - {id: gate, command: 'echo edited'}
              - {id: after, command: 'echo new > after.out', depends_on: [gate]}
              - {id: extra, command: 'echo extra > extra.out'}
            """
        )
    )
    eventually(lambda: states(file).get("extra") == "succeeded", what="the added task ran")
    assert "doomed" not in states(file)
    path.write_text("tasks:\n  - {id: gate, comand: 'x'}\n")  # a typo: reported, ignored
    eventually(lambda: any("goes on with its tasks as they were" in ln for ln in lines))
    (tmp_path / "FLAG").touch()
    proc.wait(timeout=60)
    out = "".join(lines)
    assert proc.returncode == 0, out[-3000:]
    assert states(file) == {"gate": "succeeded", "after": "succeeded", "extra": "succeeded"}
    assert (tmp_path / "after.out").read_text() == "new\n"  # the edit before it started
    assert not (tmp_path / "doomed.out").exists()
    assert "tasks reloaded: added extra; changed after; removed doomed" in out
    assert "edits to gate ignored: they have started" in out
    assert f"edit ignored: {file}:2:16: tasks[0].comand: unknown key" in out


def _collect(proc: subprocess.Popen[str]) -> list[str]:
    """The lines ``proc`` prints, gathered by a thread as they come."""
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def test_follow_ups_exist_only_after_success(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - id: good
            command: 'echo good'
            then:
              - {id: "{parent}-review", command: 'echo reviewed > review.out'}
          - id: bad
            command: 'exit 1'
            then:
              - {id: "{parent}-review", command: 'echo never > never.out'}
        """,
    )
    graph = subprocess.run(tmuxorch_argv("graph", file), capture_output=True, text=True)
    assert "good-review (shell)  ← good  [created when good succeeds]" in graph.stdout
    result = run(tmux_server, file)
    assert result.returncode == 1
    assert states(file) == {"good": "succeeded", "good-review": "succeeded", "bad": "failed"}
    assert (tmp_path / "review.out").exists() and not (tmp_path / "never.out").exists()
    assert set(rows(file)) == {"good", "good-review", "bad"}
    assert "good-review: follows good, which succeeded" in result.stdout


def test_a_resumed_supervisor_creates_follow_ups_it_missed(
    tmux_server: Server, tmp_path: Path
) -> None:
    """Killed right after a task succeeded, before its follow-up joined the run: the next
    supervisor adds it."""
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - id: first
            command: 'true'
            then: [{id: "{parent}-next", command: 'echo next > next.out'}]
          - {id: hold, command: 'while [ ! -e FLAG ]; do sleep 0.1; done'}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("first-next") == "succeeded", what="follow-up ran")
    proc.kill()
    proc.wait()
    store = Store(state_dir(file))
    store.remove_tasks(latest_run(file), ["first-next"], "test: as if never created")
    store.close()
    (tmp_path / "next.out").unlink()
    (tmp_path / "FLAG").touch()
    again = run(tmux_server, file)
    assert again.returncode == 0, again.stdout[-2000:]
    assert states(file) == {"first": "succeeded", "hold": "succeeded", "first-next": "succeeded"}
    assert (tmp_path / "next.out").exists()
