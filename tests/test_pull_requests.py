"""``worktree: {merge: pr}`` in real runs: the task's branch pushed to a local bare
repository (the test repository's ``origin``), and a stand-in ``gh`` first on PATH that
records how it was called and prints a pull request's address."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.test_run import states, tasks_file
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

URL = "https://github.com/example/app/pull/7"
SUMMARY = "Add the feature file\\nand nothing else"
FEATURE = (
    "echo feature > feature.txt && "
    f'printf \'%s\' \'{{"summary": "{SUMMARY}"}}\' > "$TMUXORCH_RESULT"'
)


def git(directory: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(directory), *args], capture_output=True, text=True, check=True
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


@pytest.fixture
def remote(repo: Path, tmp_path: Path) -> Path:
    """A bare repository as ``origin``, holding ``main``."""
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return bare


def fake_gh(tmp_path: Path) -> Path:
    """A folder holding a ``gh`` that logs each call (argv, stdin) to ``gh-calls.jsonl``
    and answers ``pr create`` with :data:`URL` (``auth status`` fails if
    ``$FAKE_GH_LOGGED_OUT`` is set)."""
    folder = tmp_path / "fake-bin"
    folder.mkdir()
    gh = folder / "gh"
    log = tmp_path / "gh-calls.jsonl"
    gh.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "stdin = sys.stdin.read()\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    call = {'argv': sys.argv[1:], 'stdin': stdin, 'cwd': os.getcwd()}\n"
        "    log.write(json.dumps(call) + '\\n')\n"
        "if sys.argv[1:] == ['auth', 'status'] and os.environ.get('FAKE_GH_LOGGED_OUT'):\n"
        "    sys.exit('You are not logged into any GitHub hosts.')\n"
        "if sys.argv[1:3] == ['pr', 'create']:\n"
        "    print('Creating pull request for the branch')\n"
        f"    print({URL!r})\n"
    )
    gh.chmod(0o755)
    return folder


def gh_calls(tmp_path: Path) -> list[dict[str, object]]:
    log = tmp_path / "gh-calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def path_without_gh(tmp_path: Path) -> str:
    """``$PATH`` with no ``gh`` anywhere on it (a folder that has one is swapped for a
    folder of links to its other programs)."""
    parts = []
    for i, folder in enumerate(os.environ["PATH"].split(os.pathsep)):
        if not os.path.exists(os.path.join(folder, "gh")):
            parts.append(folder)
            continue
        stand_in = tmp_path / f"path-{i}"
        stand_in.mkdir()
        for name in os.listdir(folder):
            if name != "gh":
                (stand_in / name).symlink_to(os.path.join(folder, name))
        parts.append(str(stand_in))
    return os.pathsep.join(parts)


def run(server: Server, file: str, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv("run", "-L", server.name, file),
        env=tmux_env(PATH=path, **env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=180,
    )


def pr_file(repo: Path, worktree: str = "pr", notify: str = "") -> str:
    return tasks_file(
        repo,
        f"""
        {notify}
        tasks:
          - id: feature
            command: '{FEATURE.replace("'", "''")}'
            worktree: {worktree}
        """,
    )


def status(file: str) -> dict[str, object]:
    out = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file), capture_output=True, text=True
    )
    report: dict[str, object] = json.loads(out.stdout)
    return report


def only_task(file: str) -> dict[str, object]:
    tasks = status(file)["tasks"]
    assert isinstance(tasks, list) and len(tasks) == 1
    task: dict[str, object] = tasks[0]
    return task


def branch_of(file: str) -> str:
    return f"tmuxorch/{status(file)['run']}/feature"


def test_a_pr_task_pushes_its_branch_and_opens_a_pull_request(
    tmux_server: Server, repo: Path, remote: Path, tmp_path: Path
) -> None:
    notified = tmp_path / "notified.jsonl"
    hook = f'notify: \'printf "%s\\n" "$TMUXORCH_EVENT" >> {notified}\''
    file = pr_file(repo, notify=hook)
    path = f"{fake_gh(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    result = run(tmux_server, file, path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert states(file) == {"feature": "succeeded"}
    branch, run_id = branch_of(file), status(file)["run"]
    # the branch is in the remote, with the task's commit
    assert git(remote, "log", "--format=%s", branch).splitlines() == [
        f"tmuxorch: feature (run {run_id}, attempt 1)",
        "base",
    ]
    assert git(remote, "show", f"{branch}:feature.txt") == "feature"
    assert git(repo, "rev-parse", branch) == git(remote, "rev-parse", branch)
    assert git(repo, "rev-parse", "main") == git(remote, "rev-parse", "main")  # not merged
    # gh was asked whether it is logged in, then to open the pull request
    calls = gh_calls(tmp_path)
    assert len(calls) == 2 and calls[0]["argv"] == ["auth", "status"]
    argv = calls[1]["argv"]
    assert isinstance(argv, list)
    assert argv[:9] == [
        "pr",
        "create",
        "--base",
        "main",
        "--head",
        branch,
        "--title",
        "feature: Add the feature file",
        "--body",
    ]
    body = argv[9]
    assert len(argv) == 10  # no --repo: the remote is a folder, not a GitHub address
    assert body.startswith("Add the feature file\nand nothing else\n\n## Command\n")
    assert FEATURE in body and f"run `{run_id}`" in body
    assert calls[1]["stdin"] == "" and calls[1]["cwd"] == str(repo)
    # its address: in a note, the run's summary, status --json, the status table, notify:
    assert f"feature: pull request {URL} (branch {branch} pushed to origin)" in result.stdout
    assert f"pull request: feature: {URL}" in result.stdout
    assert only_task(file)["pull_request"] == URL
    table = subprocess.run(
        tmuxorch_argv("status", "--file", file),
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert URL in table.stdout
    told = eventually(
        lambda: (
            [
                event
                for event in map(json.loads, notified.read_text().splitlines())
                if event["event"] == "pull_request"
            ]
            if notified.exists()
            else None
        ),
        what="the pull_request notification",
    )
    assert told[0]["url"] == URL and told[0]["task"] == "feature"
    assert (told[0]["branch"], told[0]["base"], told[0]["remote"]) == (branch, "main", "origin")
    # its worktree is gone; its branch stays (the pull request's)
    assert git(repo, "worktree", "list", "--porcelain").count("worktree ") == 1
    assert branch in git(repo, "branch", "--format=%(refname:short)").splitlines()


def test_without_gh_the_branch_is_pushed_and_a_note_says_how(
    tmux_server: Server, repo: Path, remote: Path, tmp_path: Path
) -> None:
    # origin says GitHub; its pushes go to the bare repository
    git(repo, "remote", "set-url", "origin", "git@github.com:example/app.git")
    git(repo, "config", f"url.{remote}.pushInsteadOf", "git@github.com:example/app.git")
    file = pr_file(repo)
    result = run(tmux_server, file, path_without_gh(tmp_path))
    assert result.returncode == 0, result.stdout[-3000:]
    assert states(file) == {"feature": "succeeded"}
    branch, run_id = branch_of(file), status(file)["run"]
    assert git(remote, "show", f"{branch}:feature.txt") == "feature"
    body_file = repo / ".tmuxorch" / "runs" / str(run_id) / "pull-requests" / "feature.md"
    how = (
        f"cd {repo} && gh pr create --base main --head {branch}"
        f" --title 'feature: Add the feature file' --body-file {body_file} --repo example/app"
        f" (or at https://github.com/example/app/compare/main...{branch}?expand=1)"
    )
    assert (
        f"feature: branch {branch} pushed to origin; no pull request: gh is not installed:"
        f" open it with: {how}"
    ) in result.stdout
    assert body_file.read_text().startswith("Add the feature file\nand nothing else\n")
    assert only_task(file)["pull_request"] is None
    assert f"pull request: feature: not opened ({branch} pushed to origin)" in result.stdout


def test_with_gh_logged_out_the_branch_is_pushed_and_a_note_says_how(
    tmux_server: Server, repo: Path, remote: Path, tmp_path: Path
) -> None:
    file = pr_file(repo)
    path = f"{fake_gh(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    result = run(tmux_server, file, path, FAKE_GH_LOGGED_OUT="1")
    assert result.returncode == 0, result.stdout[-3000:]
    branch = branch_of(file)
    assert git(remote, "show", f"{branch}:feature.txt") == "feature"
    assert [call["argv"] for call in gh_calls(tmp_path)] == [["auth", "status"]]
    said = f"feature: branch {branch} pushed to origin; no pull request: gh is not logged in"
    assert said in result.stdout
    assert f"gh pr create --base main --head {branch} --title" in result.stdout
    assert only_task(file)["pull_request"] is None


def test_with_no_remote_nothing_is_pushed_and_the_branch_is_kept(
    tmux_server: Server, repo: Path, tmp_path: Path
) -> None:
    file = pr_file(repo)
    path = f"{fake_gh(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    result = run(tmux_server, file, path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert states(file) == {"feature": "succeeded"}
    branch, run_id = branch_of(file), status(file)["run"]
    kept = repo / ".tmuxorch" / "worktrees" / str(run_id) / "feature"
    assert (
        "feature: nothing pushed: no git remote (main tracks none, there is no origin;"
        " worktree: {merge: pr, remote: NAME} names one);"
        f" branch {branch} kept in {kept}"
    ) in result.stdout
    assert (kept / "feature.txt").read_text() == "feature\n"
    assert git(repo, "log", "--format=%s", "-1", branch).startswith("tmuxorch: feature")
    assert gh_calls(tmp_path) == []
    assert git(repo, "remote") == ""


def test_a_refused_push_fails_the_task_with_the_reason(
    tmux_server: Server, repo: Path, remote: Path, tmp_path: Path
) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'pushes here need a review first' >&2\nexit 1\n")
    hook.chmod(0o755)
    file = pr_file(repo)
    path = f"{fake_gh(tmp_path)}{os.pathsep}{os.environ['PATH']}"
    result = run(tmux_server, file, path)
    assert result.returncode == 1, result.stdout[-3000:]
    task = only_task(file)
    assert task["state"] == "failed"
    branch = branch_of(file)
    reason = str(task["reason"])
    assert reason.startswith(f"its branch could not be pushed: git push origin {branch}: ")
    assert "remote: pushes here need a review first" in reason
    assert "pre-receive hook declined" in reason
    assert f"branch {branch} kept in " in reason
    assert git(remote, "branch", "--list", branch) == ""
    assert gh_calls(tmp_path) == []
    assert branch in git(repo, "branch", "--format=%(refname:short)").splitlines()


def test_the_pr_policy_is_read_and_checked(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            tasks:
              - {id: a, command: "true", worktree: pr}
              - {id: b, command: "true", worktree: {merge: pr, remote: upstream}}
            """
        )
    )
    tasks = load_workspace(str(path)).workspace.tasks
    assert tasks is not None
    a, b = (task.worktree for task in tasks.tasks)
    assert a is not None and (a.after, a.merge, a.remote) == ("merge", "pr", None)
    assert b is not None and (b.merge, b.remote) == ("pr", "upstream")
    path.write_text(
        textwrap.dedent(
            """\
            tasks:
              - {id: a, command: "true", worktree: {merge: squash, remote: origin}}
              - {id: b, command: "true", worktree: {merge: pr, remote: --upload-pack=x}}
              - {id: c, command: "true", worktree: {remote: origin}}
            """
        )
    )
    with pytest.raises(SpecError) as caught:
        load_workspace(str(path))
    lines = [str(p).splitlines()[0] for p in caught.value.problems]
    assert lines == [
        f"{path}:2:56: tasks[0].worktree.remote: only with merge: pr (nothing else pushes)",
        f"{path}:3:60: tasks[1].worktree.remote: not a git remote's name: '--upload-pack=x'",
        f"{path}:4:41: tasks[2].worktree.remote: only with merge: pr (nothing else pushes)",
    ]
