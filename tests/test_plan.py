"""``tmuxorch plan``: a scripted stand-in for a headless agent (a profile of the user config
whose program it is) writes the tasks file; real subprocesses, real tmux for ``--run``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tmuxorch.spec import planning

if TYPE_CHECKING:
    from pathlib import Path

VALID = """\
tasks:
  - id: one
    command: echo one > one.txt
  - id: two
    depends_on: [one]
    command: cat one.txt > two.txt
"""
INVALID = """\
tasks:
  - id: one
    agent: wizard
    prompt: do it
  - id: two
    depends_on: [three]
    command: "true"
"""
ASKED_AGAIN = "unknown agent 'wizard'"
"""Only the second prompt holds this: the first answer's problems."""

FIXES_IT = f"""
if {ASKED_AGAIN!r} in prompt:
    print("Here it is, fixed:\\n```yaml\\n" + {VALID!r} + "```\\nGood luck.")
else:
    print({INVALID!r})
"""
ALWAYS_WRONG = f"print({INVALID!r})"


def stand_in(tmp_path: Path, body: str) -> Path:
    """A headless agent: records each call (argv, stdin, cwd) in ``calls.jsonl``, then runs
    ``body`` with the prompt (stdin, else its last argument) in ``prompt``."""
    script = tmp_path / "stand-in"
    log = tmp_path / "calls.jsonl"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "stdin = sys.stdin.read()\n"
        "prompt = stdin or sys.argv[-1]\n"
        f"with open({str(log)!r}, 'a') as log:\n"
        "    log.write(json.dumps({'argv': sys.argv[1:], 'stdin': stdin, 'cwd': os.getcwd()}) + '\\n')\n"
        + textwrap.dedent(body)
    )
    script.chmod(0o755)
    return script


def calls(tmp_path: Path) -> list[dict[str, object]]:
    log = tmp_path / "calls.jsonl"
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def user_config(agents: str) -> None:
    """The user config of this test (its own ``$XDG_CONFIG_HOME``, see conftest)."""
    folder = os.path.join(os.environ["XDG_CONFIG_HOME"], "tmuxorch")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.yaml"), "w") as handle:
        handle.write(textwrap.dedent(agents))


def plan(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv("plan", *args),
        env=tmux_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


def test_an_invalid_answer_goes_back_once_with_its_problems(tmp_path: Path) -> None:
    script = stand_in(tmp_path, FIXES_IT)
    user_config(
        f"""
        agents:
          coder: claude
          planner: {{preset: claude, mode: headless, program: {script}}}
        """
    )
    project = tmp_path / "project"
    project.mkdir()
    done = plan("Count to two, in files", "-o", "tasks.yaml", cwd=project)  # planner: default
    assert done.returncode == 0, done.stderr
    assert (project / "tasks.yaml").read_text() == VALID
    made = calls(tmp_path)
    assert len(made) == 2
    first, second = (str(c["argv"][-1]) for c in made)  # type: ignore[index]
    # claude's headless command, with the profile's program: `claude -p --session-id ID PROMPT`
    assert made[0]["argv"][:2] == ["-p", "--session-id"]  # type: ignore[index]
    assert made[0]["cwd"] == str(project)
    assert "Count to two, in files" in first
    assert "- planner: the user's profile" in first and "- coder: the user's profile" in first
    assert "- codex: Codex CLI (OpenAI)" in first
    assert "pytest -x" in first  # the example
    assert ASKED_AGAIN not in first
    # the second: the first prompt, the first answer, and its problems as file:line:col
    assert first.rstrip() in second
    assert INVALID.rstrip() in second
    assert "tasks.yaml:3:12: tasks[0].agent: unknown agent 'wizard'" in second
    assert "tasks.yaml:6:18: tasks[1].depends_on[0]: unknown task 'three'" in second
    assert "level 0:\n  one (shell)\nlevel 1:\n  two (shell)  ← one\n" in done.stdout
    assert "tmuxorch run tasks.yaml" in done.stderr
    assert not (project / "one.txt").exists()  # not run: no --run
    valid = subprocess.run(
        tmuxorch_argv("validate", "tasks.yaml"), env=tmux_env(), cwd=project, capture_output=True
    )
    assert valid.returncode == 0


def test_a_second_invalid_answer_writes_nothing(tmp_path: Path) -> None:
    script = stand_in(tmp_path, ALWAYS_WRONG)
    user_config(
        f"""
        agents:
          wrong: {{preset: codex, mode: headless, program: {script}, prompt: stdin}}
        """
    )
    project = tmp_path / "project"
    project.mkdir()
    done = plan("Count to two", "--agent", "wrong", "-o", "plan.yml", cwd=project)
    assert done.returncode == 2
    assert os.listdir(project) == []
    made = calls(tmp_path)
    assert [c["argv"] for c in made] == [["exec"], ["exec"]]  # `codex exec`, prompt on stdin
    assert ASKED_AGAIN in str(made[1]["stdin"])
    kept = done.stderr.rsplit("it is kept in ", 1)[1].strip()
    assert os.path.dirname(kept) == os.path.join(os.environ["XDG_STATE_HOME"], "tmuxorch", "plans")
    with open(kept) as handle:
        assert handle.read() == INVALID
    assert os.stat(kept).st_mode & 0o777 == 0o600
    # its problems are said of the kept text, where their lines and columns are
    assert f"{kept}:3:12: tasks[0].agent: unknown agent 'wizard'" in done.stderr
    assert "plan.yml not written" in done.stderr


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    script = stand_in(tmp_path, FIXES_IT)
    user_config(f"agents: {{planner: {{preset: claude, mode: headless, program: {script}}}}}\n")
    (tmp_path / "tasks.yaml").write_text("mine\n")
    done = plan("Count to two", cwd=tmp_path)  # -o tasks.yaml by default
    assert done.returncode == 2
    assert "tasks.yaml exists: not overwritten (--force replaces it)" in done.stderr
    assert (tmp_path / "tasks.yaml").read_text() == "mine\n"
    assert calls(tmp_path) == []  # the agent was not even asked
    forced = plan("Count to two", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert (tmp_path / "tasks.yaml").read_text() == VALID


def test_run_yes_runs_the_planned_file(tmux_server: Server, tmp_path: Path) -> None:
    script = stand_in(tmp_path, f"print({VALID!r})")
    # an interactive profile: asked with its preset's headless command, its program and args
    user_config(f"agents: {{gem: {{preset: gemini, program: {script}, args: [-m, fast]}}}}\n")
    done = plan(
        "Count to two", "--agent", "gem", "--run", "--yes", "-L", tmux_server.name, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (argv,) = (c["argv"] for c in calls(tmp_path))
    # gemini's headless command: `gemini --session-id ID [args] --prompt PROMPT`
    assert argv[0] == "--session-id" and argv[2:5] == ["-m", "fast", "--prompt"]  # type: ignore[index]
    assert (tmp_path / "two.txt").read_text() == "one\n"


def test_run_without_a_terminal_asks_for_yes(tmp_path: Path) -> None:
    script = stand_in(tmp_path, f"print({VALID!r})")
    user_config(f"agents: {{planner: {{preset: claude, mode: headless, program: {script}}}}}\n")
    done = plan("Count to two", "--run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "tasks.yaml").read_text() == VALID
    assert "not started: no terminal to confirm on" in done.stderr
    assert not (tmp_path / ".tmuxorch").exists() and not (tmp_path / "one.txt").exists()


def test_an_agent_that_fails_or_hangs_writes_nothing(tmp_path: Path) -> None:
    failing = stand_in(tmp_path, "sys.exit(3)")
    user_config(f"agents: {{planner: {{preset: claude, mode: headless, program: {failing}}}}}\n")
    done = plan("Count to two", cwd=tmp_path)
    assert done.returncode == 1
    assert "planner failed (exit status 3)" in done.stderr
    assert not (tmp_path / "tasks.yaml").exists()
    pid_file = tmp_path / "child.pid"
    stand_in(  # it hangs, and so does a process it started
        tmp_path,
        f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", "300"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(300)
        """,
    )
    done = plan("Count to two", "--timeout", "2", cwd=tmp_path)
    assert done.returncode == 1
    assert "planner gave no answer within 2 s" in done.stderr
    assert not (tmp_path / "tasks.yaml").exists()
    child = int(pid_file.read_text())
    eventually(lambda: not _alive(child), what="the agent's child stopped")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_the_example_shown_to_the_planner_is_valid(tmp_path: Path) -> None:
    with open(planning.EXAMPLE) as handle:
        example = handle.read()
    assert planning.check(str(tmp_path / "tasks.yaml"), example) == ()
    assert example in planning.request("a goal", "tasks.yaml", ["claude: ..."])


def test_the_file_is_taken_out_of_a_fence() -> None:
    inner = (
        "tasks:\n  - id: a\n    command: |\n      cat <<EOF\n      ```yaml\n      x\n      ```\n"
    )
    assert planning.extract(f"Sure:\n```yaml\n{inner}```\nDone.") == inner
    assert planning.extract(inner) == inner  # no fence of its own: its inner one stays
    assert planning.extract("```\na: 1\n```") == "a: 1\n"
    assert planning.extract("  \n") == ""
