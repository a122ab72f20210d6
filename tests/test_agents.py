"""Agent presets (pure): launch command lines and prompt delivery per mode, resuming, state
patterns and dialog answers against screens recorded from the real CLIs, profiles."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import tmuxorch_argv
from tmuxorch.agents import dialogs, presets
from tmuxorch.agents.launch import WRAPPER, AttemptFiles, launch, needs_session
from tmuxorch.agents.patterns import PATTERNS
from tmuxorch.bridge.detect import Detector
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.task_model import Dialog, Origin, Task, TaskSet
from tmuxorch.spec.workspace import load_workspace

SCREENS = Path(__file__).parent / "screens"
SID = "11111111-2222-4333-8444-555555555555"
FILES = AttemptFiles.of("/s/.tmuxorch/runs/R", "t", 2)
SETTINGS = "/s/.tmuxorch/runs/R/hooks/t.2.settings.json"

# preset, mode -> (first attempt's argv, resumed attempt's argv); P = the prompt or its file
EXPECTED = {
    ("claude", "interactive"): (
        ["claude", "--session-id", SID, "--settings", SETTINGS, "P"],
        ["claude", "--resume", SID, "--settings", SETTINGS, "P"],
    ),
    ("claude", "headless"): (
        ["claude", "-p", "--session-id", SID, "P"],
        ["claude", "-p", "--resume", SID, "P"],
    ),
    ("codex", "interactive"): (["codex", "P"], ["codex", "resume", SID, "P"]),
    ("codex", "headless"): (["codex", "exec", "P"], ["codex", "exec", "resume", SID, "P"]),
    ("aider", "interactive"): (["aider"], ["aider", "--restore-chat-history"]),
    ("aider", "headless"): (
        ["aider", "--yes-always", "--message-file", FILES.prompt],
        ["aider", "--yes-always", "--restore-chat-history", "--message-file", FILES.prompt],
    ),
    ("gemini", "interactive"): (
        ["gemini", "--session-id", SID, "--prompt-interactive", "P"],
        ["gemini", "--resume", SID, "--prompt-interactive", "P"],
    ),
    ("gemini", "headless"): (
        ["gemini", "--session-id", SID, "--prompt", "P"],
        ["gemini", "--resume", SID, "--prompt", "P"],
    ),
    ("goose", "interactive"): (
        ["goose", "session", "--name", SID],
        ["goose", "session", "--resume", "--name", SID],
    ),
    ("goose", "headless"): (
        ["goose", "run", "--name", SID, "--instructions", FILES.prompt],
        ["goose", "run", "--resume", "--name", SID, "--instructions", FILES.prompt],
    ),
    ("opencode", "interactive"): (
        ["opencode", "--prompt", "P"],
        ["opencode", "--session", SID, "--prompt", "P"],
    ),
    ("opencode", "headless"): (
        ["opencode", "run", "P"],
        ["opencode", "run", "--session", SID, "P"],
    ),
}


def task(**fields: object) -> Task:
    values: dict[str, object] = {"id": "t", "origin": Origin("f", 1, 1, "tasks[0]"), "agent": "x"}
    values.update(fields)
    return Task(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "mode"), sorted(EXPECTED), ids="-".join)
def test_launch_command_lines(name: str, mode: str) -> None:
    profile = presets.find(name).profile(mode)  # type: ignore[union-attr]
    first, resumed = EXPECTED[(name, mode)]
    for resume, expected in ((False, first), (True, resumed)):
        spec = launch(
            task(prompt="P"),
            profile,
            run_id="R",
            attempt=2,
            files=FILES,
            prompt="P",
            cwd="/w",
            session=SID,
            resume=resume,
        )
        assert spec.argv[:4] == ("sh", "-c", WRAPPER, "tmuxorch-task:R/t/2")
        assert list(spec.argv[4:]) == expected
        env = dict(spec.env)
        assert env["TMUXORCH_RESULT"] == FILES.result and env["TMUXORCH_SESSION"] == SID
        assert spec.cwd == "/w"
        if profile.prompt == "file":
            assert spec.prompt_file == FILES.prompt and spec.type_prompt is None
        elif profile.prompt == "type":
            assert spec.type_prompt == "P" and spec.prompt_file is None
        else:
            assert spec.prompt_file is None and spec.type_prompt is None


def test_the_layouts_args_and_odd_prompts_stay_whole() -> None:
    """Extra args go before the prompt; a prompt that looks like a placeholder stays as is."""
    profile = presets.find("claude").profile("headless")  # type: ignore[union-attr]
    profile = type(profile)(**{**profile.__dict__, "args": ("--model", "opus")})
    spec = launch(
        task(prompt="x"),
        profile,
        run_id="R",
        attempt=1,
        files=FILES,
        prompt="use {python} and {session}; $HOME",
        session=SID,
    )
    assert list(spec.argv[4:]) == [
        "claude",
        "-p",
        "--session-id",
        SID,
        "--model",
        "opus",
        "use {python} and {session}; $HOME",
    ]


def test_who_needs_a_session_id() -> None:
    """tmuxorch names the conversation when the command line takes an id; codex and
    opencode say theirs (captured from the screen), aider keeps history in its folder."""
    named = {p.name for p in presets.PRESETS if needs_session(p.profile(), resume=False)}
    assert named == {"demo", "claude", "gemini", "goose"}
    assert presets.find("codex").session_capture  # type: ignore[union-attr]
    assert presets.find("opencode").session_capture  # type: ignore[union-attr]
    aider = presets.find("aider").profile()  # type: ignore[union-attr]
    assert aider.resume_argv and not needs_session(aider, resume=True)


RECORDED = sorted((path.parent.name, path.stem) for path in SCREENS.glob("*/*.txt"))


@pytest.mark.parametrize(("agent", "name"), RECORDED, ids="-".join)
def test_patterns_on_screens_recorded_from_the_real_clis(agent: str, name: str) -> None:
    """Screens captured with tmux from Claude Code 2.1.197, Codex 0.169.0, Gemini CLI
    0.61.0, OpenCode 1.18.33 and Aider 0.86.2 (no network: what they show before and while
    they fail to reach their model). A dialog is waiting_input until answered."""
    text = (SCREENS / agent / f"{name}.txt").read_text()
    expected = "waiting_input" if name.startswith("dialog") else name.split("-")[0]
    profile = presets.find(agent).profile()  # type: ignore[union-attr]
    assert Detector(profile.patterns).classify(text) == expected


@pytest.mark.parametrize(
    ("agent", "screen", "keys"),
    [
        ("claude", "dialog-trust", ("Enter",)),  # the accepting option is highlighted
        ("codex", "dialog-trust", ("Enter",)),
        ("gemini", "dialog-trust", ("Enter",)),
        ("aider", "waiting_input-gitignore", ("y", "Enter")),
    ],
)
def test_start_up_dialogs_recorded_are_answered(
    agent: str, screen: str, keys: tuple[str, ...]
) -> None:
    text = (SCREENS / agent / f"{screen}.txt").read_text() + "\n" * 40  # as a 50-row pane
    preset = presets.find(agent)
    assert preset is not None
    showing = [d for d in preset.dialogs if dialogs.showing(d, text)]
    assert len(showing) == 1 and dialogs.answer(showing[0], text) == keys
    for other in ("idle", "busy"):
        path = SCREENS / agent / f"{other}.txt"
        if path.exists():
            assert not any(dialogs.showing(d, path.read_text()) for d in preset.dialogs)


TRUST = presets.TRUST_CLAUDE


@pytest.mark.parametrize(
    ("screen", "keys"),
    [
        # Claude Code 2.1.252 highlights "No, exit"
        (
            "Do you trust the files in this folder?\n\n ❯ No, exit\n   Yes, I trust this folder\n",
            ("Down", "Enter"),
        ),
        (
            "Is this a project you created or one you trust?\n  1. Yes, I trust this folder\n❯ 2. No, exit",
            ("Up", "Enter"),
        ),
        ("Do you trust the files in this folder?\n❯ 1. Yes, proceed\n  2. No, exit", ("Enter",)),
        # an old "> ..." line higher up is not the menu's highlight
        (
            "> fix it\nDo you trust the files in this folder?\n  No, exit\n❯ Yes, proceed",
            ("Enter",),
        ),
        # nothing highlighted: no guessing
        ("Do you trust the files in this folder?\n  1. Yes, proceed\n  2. No, exit", None),
        ("Do you trust the files in this folder?\n❯ Leave", None),
    ],
)
def test_menu_answers(screen: str, keys: tuple[str, ...] | None) -> None:
    assert dialogs.answer(TRUST, screen) == keys


def test_menus_with_description_lines_and_keys_dialogs() -> None:
    screen = textwrap.dedent(
        """\
        Choose how you want to use Codex.
        > 1. Sign in with ChatGPT
             Usage included with Plus, Pro, Business, and Enterprise plans
          2. Sign in with Device Code
             Sign in from another device with a one-time code
          3. Sign in another way
        """
    )
    assert dialogs.answer(Dialog("x", "Codex", choose="another way"), screen) == (
        "Down",
        "Down",
        "Enter",
    )
    gitignore = presets.AIDER_DIALOGS[0]
    question = "Add .aider* to .gitignore (recommended)? (Y)es/(N)o [Yes]:"
    assert dialogs.showing(gitignore, question) and dialogs.answer(gitignore, question) == (
        "y",
        "Enter",
    )


def load(tmp_path: Path, text: str) -> TaskSet:
    path = tmp_path / "tasks.yaml"
    path.write_text(textwrap.dedent(text))
    tasks = load_workspace(str(path)).workspace.tasks
    assert tasks is not None
    return tasks


def test_profiles_override_presets(tmp_path: Path) -> None:
    tasks = load(
        tmp_path,
        """
        agents:
          coder:
            preset: claude
            mode: headless
            program: /opt/claude/bin/claude
            args: [--model, opus]
            patterns: {busy: "Thinking hard", idle: "READY"}
            dialogs: ask
            done_when: result
          plain: {preset: codex, resume: false}
        tasks:
          - {id: a, agent: coder, prompt: "do it"}
          - {id: b, agent: plain, prompt: "do it"}
          - {id: c, agent: gemini, prompt: "do it"}
          - {id: d, agent: gemini, prompt: "do it", done_when: exit}
        """,
    )
    coder = tasks.agent("coder")
    assert coder.mode == "headless" and coder.argv[0] == "/opt/claude/bin/claude"
    assert coder.resume_argv is not None and coder.resume_argv[0] == "/opt/claude/bin/claude"
    assert coder.args == ("--model", "opus")
    assert coder.patterns[:2] == (("busy", "Thinking hard"), ("idle", "READY"))
    assert ("waiting_input", PATTERNS["claude"][0][1]) in coder.patterns
    assert coder.dialog_policy == "ask"
    plain = tasks.agent("plain")
    assert plain.resume_argv is None and plain.session_capture is None
    by_id = {t.id: t for t in tasks.tasks}
    assert by_id["a"].done_when.kind == "result"  # the profile's
    assert by_id["c"].done_when.kind == "idle"  # an interactive preset's default
    assert by_id["d"].done_when.kind == "exit"  # the task's own


def test_bad_profiles(tmp_path: Path) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            agents:
              a: {preset: claude, mode: batch}
              b: {preset: codex, dialogs: sometimes}
              c: {preset: aider, patterns: {sleepy: "z"}}
              d: {preset: goose, prompt: telepathy}
            tasks:
              - {id: t, agent: a, prompt: x}
            """
        )
    )
    with pytest.raises(SpecError) as caught:
        load_workspace(str(path))
    lines = [str(p).splitlines()[0] for p in caught.value.problems]
    assert lines == [
        f"{path}:2:29: agents.a.mode: preset 'claude' has no mode 'batch'",
        f"{path}:3:31: agents.b.dialogs: unknown dialog policy 'sometimes'",
        f"{path}:4:33: agents.c.patterns.sleepy: unknown state 'sleepy'",
        f"{path}:5:30: agents.d.prompt: unknown prompt delivery 'telepathy'",
    ]


def test_follow_ups_and_result_fields_are_checked_when_read(tmp_path: Path) -> None:
    tasks = load(
        tmp_path,
        """
        worktree: true
        tasks:
          - id: code
            command: "true"
            then:
              - id: "{parent}-review"
                agent: demo
                prompt: "Review {parent}: {parent_result} {results.code.summary} -> {result_file}"
                then: [{id: "{parent}-fix", command: "true", worktree: false}]
          - {id: other, command: "true", worktree: {after: merge, merge: squash, failed: keep}}
        """,
    )
    by_id = {t.id: t for t in tasks.tasks}
    review, fix = by_id["code-review"], by_id["code-review-fix"]
    assert review.follows == "code" and review.depends_on == ("code",)
    assert fix.follows == "code-review" and fix.worktree is None
    assert review.prompt == ("Review code: {parent_result} {results.code.summary} -> {result_file}")
    assert review.prompt_fields == ("parent_result", "results.code.summary", "result_file")
    assert by_id["code"].worktree is not None and by_id["code"].worktree.after == "merge"
    other = by_id["other"].worktree
    assert other is not None and (other.merge, other.failed) == ("squash", "keep")
    path = tmp_path / "bad.yaml"
    path.write_text(
        textwrap.dedent(
            """\
            tasks:
              - {id: a, command: "true"}
              - {id: b, agent: demo, prompt: "{results.a} {parent_result}"}
              - {id: c, command: "true", then: [{id: "{child}", command: "true"}]}
              - {id: d, command: "true", worktree: sometimes}
            """
        )
    )
    with pytest.raises(SpecError) as caught:
        load_workspace(str(path))
    lines = [str(p).splitlines()[0] for p in caught.value.problems]
    assert lines == [
        f"{path}:3:34: tasks[1].prompt: {{results.a}}: 'a' is not a task b depends on",
        f"{path}:3:34: tasks[1].prompt: {{parent_result}} is for follow-ups (then:) only",
        f"{path}:4:42: tasks[2].then[0].id: only {{parent}} can be used in an id, not {{child}}",
        f"{path}:5:40: tasks[3].worktree: unknown worktree policy 'sometimes'",
    ]


def test_agents_command_lists_every_preset(tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    claude = fake / "claude"
    claude.write_text("#!/bin/sh\necho '9.9.9 (Claude Code)'\n")
    claude.chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:/usr/bin:/bin"}
    out = subprocess.run(
        tmuxorch_argv("agents", "--json"), capture_output=True, text=True, env=env, check=True
    )
    rows = {row["preset"]: row for row in json.loads(out.stdout)}
    assert set(rows) == {p.name for p in presets.PRESETS}
    assert (
        rows["claude"]["path"] == str(claude) and rows["claude"]["version"] == "9.9.9 (Claude Code)"
    )
    assert rows["codex"]["path"] is None and "npm install" in rows["codex"]["install"]
    assert rows["demo"]["version"] == "built in"
    table = subprocess.run(
        tmuxorch_argv("agents"), capture_output=True, text=True, env=env, check=True
    ).stdout
    assert "9.9.9" in table and "not installed" in table and "to install:" in table


def test_shipped_layouts_and_prompt_templates(tmp_path: Path) -> None:
    """Every layout in layouts/ loads; the prompt templates, filled at start as a run
    would, leave no field unfilled and keep their literal braces and dollars."""
    from tmuxorch.run import results

    root = Path(__file__).resolve().parent.parent
    for layout in sorted((root / "layouts").glob("*.yaml")):
        load_workspace(str(layout))
    tasks = load_workspace(str(root / "layouts" / "feature.yaml")).workspace.tasks
    assert tasks is not None
    assert [t.id for t in tasks.tasks] == [
        "implement",
        "implement-review",
        "implement-review-tests",
    ]
    done = tmp_path / "implement.json"
    done.write_text('{"summary": "added --json", "files": ["tmuxorch/cli/tasks.py"]}')
    fixed = {"result_file": "/r/x.json", "run": "R", "attempt": "1", "worktree": "", "branch": ""}
    for task in tasks.tasks:
        text = results.fill(task, fixed, lambda _: str(done))
        assert "{result_file}" not in text and "/r/x.json" in text
        assert "$TMUXORCH_RESULT" in text and "$$" not in text
    review = results.fill(tasks.task("implement-review"), fixed, lambda _: str(done))
    assert '"summary": "added --json"' in review  # what the work reported
    assert '{"file": ..., "line": ...' in review  # a literal brace, written {{ in the file


def test_send_knows_each_presets_enter_delay_and_a_panes_own_patterns() -> None:
    from tmuxorch.agents.patterns import for_agent, of_pane
    from tmuxorch.bridge.send import ENTER_DELAYS

    assert {p.name: p.enter_delay for p in presets.PRESETS} == ENTER_DELAYS
    assert of_pane("claude") == for_agent("claude")
    assert of_pane("claude", '[["idle", "READY"]]') == (("idle", "READY"),)
    assert of_pane("claude", "not json") == for_agent("claude")
