"""Which agent runs each attempt (issue 14, items 3 and 9): per-agent caps, breakers,
fallbacks, and routes — the pure rules, then real runs with stand-in agents."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import tmuxorch_argv
from tests.test_run import run, states, tasks_file
from tmuxorch.run.agent_choice import CLOSED, HALF_OPEN, OPEN, Breaker, Chooser
from tmuxorch.run.retry_policy import RetryPolicy, decide
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.task_model import AgentProfile, Origin, Task
from tmuxorch.spec.tasks import load_tasks

if TYPE_CHECKING:
    from tests.conftest import Server

STANDIN = Path(__file__).parent / "standins" / "named_agent.py"
HERE = Origin("t.yaml", 1, 1, "tasks[0]")


def _task(tid: str, agent: str, *fallback: str) -> Task:
    return Task(tid, HERE, agent, prompt="p", fallback=fallback)


def _chooser(**caps: int) -> Chooser:
    def profile(name: str) -> AgentProfile:
        return AgentProfile(name, "demo", ("x",), max_parallel=caps.get(name), breaker=(2, 60, 30))

    return Chooser(profile)


def test_a_capped_agent_passes_its_tasks_to_their_fallback_or_makes_them_wait() -> None:
    chooser = _chooser(coder=1)
    first, second, third = _task("a", "coder"), _task("b", "coder", "codex"), _task("c", "coder")
    assert chooser.choose(first, 0) is not None
    chooser.started("coder", 0)
    choice = chooser.choose(second, 0)
    assert choice is not None and choice.agent == "codex"
    assert choice.why == "fallback: coder is at its max_parallel"
    assert chooser.choose(third, 0) is None  # no fallback: it waits
    chooser.ended(first, "coder", None, 1)
    assert chooser.choose(third, 1) is not None


def test_a_breaker_opens_after_limits_lets_one_trial_through_and_closes() -> None:
    breaker = Breaker(failures=2, window=60, cooldown=30)
    assert breaker.failed(0) is False and breaker.state(0) == CLOSED
    assert breaker.failed(10) is True and breaker.state(10) == OPEN
    assert not breaker.allows(39) and breaker.state(40) == HALF_OPEN and breaker.allows(40)
    breaker.trial = True
    assert not breaker.allows(41)  # one trial at a time
    assert breaker.failed(42) is True and breaker.state(50) == OPEN  # the trial failed
    assert breaker.succeeded() is True and breaker.state(100) == CLOSED
    old = Breaker(failures=2, window=60, cooldown=30)
    old.failed(0)
    assert old.failed(61) is False  # the first one is out of the window


def test_an_agent_failing_for_itself_hands_the_task_to_the_next_at_once() -> None:
    chooser = _chooser()
    task = _task("a", "claude", "codex")
    chooser.started("claude", 0)
    assert chooser.ended(task, "claude", "auth", 1) is None  # one failure: still closed
    assert chooser.elsewhere(task, "claude", "auth")
    assert not chooser.elsewhere(task, "claude", "task_failed")  # the task's own failure
    choice = chooser.choose(task, 2)
    assert choice is not None and (choice.agent, choice.why) == (
        "codex",
        "fallback: claude failed it",
    )
    now = decide(
        "auth",
        attempts=1,
        waits=0,
        retries=0,
        retry_delay=1,
        resets_at=None,
        now=5.0,
        rng=__import__("random").Random(1),
        policy=RetryPolicy(),
        elsewhere=True,
    )
    assert (now.retry_at, now.wait) == (5.0, True)  # at once, not counted as a retry


def test_routes_choose_the_agents_of_tasks_that_name_none(tmp_path: Path) -> None:
    loaded = load_tasks(
        tasks_file(
            tmp_path,
            """
            route:
              - {labels: [frontend], agent: gemini}
              - {paths: ["docs/*"], agent: [aider, claude]}
              - {keywords: [pytest], agent: codex}
              - {agent: claude}
            tasks:
              - {id: ui, labels: [frontend], prompt: "Build the page"}
              - {id: doc, paths: [docs/api.md], prompt: "Write it"}
              - {id: test, prompt: "Run PyTest and fix it", fallback: [gemini]}
              - {id: other, prompt: "Anything"}
              - {id: own, agent: aider, prompt: "Mine"}
            """,
        )
    )
    got = {t.id: (t.agent, t.fallback, t.routed) for t in loaded.tasks.tasks}
    assert got == {
        "ui": ("gemini", (), "route: labels frontend"),
        "doc": ("aider", ("claude",), "route: paths docs/*"),
        "test": ("codex", ("gemini",), "route: keywords pytest"),
        "other": ("claude", (), "route: the default rule"),
        "own": ("aider", (), None),
    }
    assert {p.name for p in loaded.tasks.agents} >= {"gemini", "aider", "claude", "codex"}


def test_a_task_no_route_matches_and_unknown_agents_are_said(tmp_path: Path) -> None:
    path = tasks_file(
        tmp_path,
        """
        route:
          - {labels: [x], agent: nosuch}
        tasks:
          - {id: a, labels: [x], prompt: p}
          - {id: b, labels: [y], prompt: p}
          - {id: c, agent: claude, prompt: p, fallback: [nobody]}
        """,
    )
    with pytest.raises(SpecError) as raised:
        load_tasks(path)
    said = str(raised.value)
    assert f"{path}:3:5: route[0]: unknown agent 'nosuch'" in said  # at the rule
    assert "(its route)" not in said  # said once
    assert f"{path}:6:5: tasks[1]: no route rule matches it (labels y)" in said
    assert "tasks[2]: unknown agent 'nobody' (fallback)" in said


def _log(tmp_path: Path) -> list[dict[str, str]]:
    path = tmp_path / "agents.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _agents(tmp_path: Path, **extra: dict[str, object]) -> str:
    """Stand-in agent profiles: ``primary`` and ``backup``, and more (name → its env and
    settings: ``{"env": {...}, "max_parallel": 1, ...}``)."""
    log = tmp_path / "agents.jsonl"
    rows = []
    for name in {"primary": {}, "backup": {}, **extra}:
        given = dict(extra.get(name, {}))
        env = {"WHO": name, "STANDIN_LOG": str(log), **given.pop("env", {})}  # type: ignore[dict-item]
        settings = {"preset": "claude", "program": str(STANDIN), "env": env, **given}
        rows.append(f"  {name}: {json.dumps(settings)}")
    return "agents:\n" + "\n".join(rows) + "\n"


def test_a_lost_login_hands_the_task_to_its_fallback(tmux_server: Server, tmp_path: Path) -> None:
    file = tasks_file(
        tmp_path,
        _agents(tmp_path, primary={"env": {"STANDIN_FAIL": "auth"}})
        + textwrap.dedent(
            """
            tasks:
              - {id: fix, agent: primary, fallback: [backup], prompt: fix it, done_when: exit}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout
    assert [(e["who"], e["at"]) for e in _log(tmp_path)] == [
        ("primary", "start"),
        ("backup", "start"),
        ("backup", "end"),
    ]
    assert "fix: runs on backup (fallback: primary failed it)" in result.stdout
    assert states(file) == {"fix": "succeeded"}
    status = subprocess.run(
        tmuxorch_argv("status", "--json", "-f", file), capture_output=True, text=True
    )
    (row,) = json.loads(status.stdout)["tasks"]
    assert row["agent_choice"] == {"agent": "backup", "why": "fallback: primary failed it"}


def test_an_agent_capped_at_one_runs_its_tasks_one_by_one(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        _agents(tmp_path, primary={"env": {"STANDIN_SLEEP": "0.5"}, "max_parallel": 1})
        + textwrap.dedent(
            """
            tasks:
              - {id: a, agent: primary, prompt: one, done_when: exit}
              - {id: b, agent: primary, prompt: two, done_when: exit}
              - {id: c, agent: primary, prompt: three, done_when: exit}
              - {id: d, agent: backup, prompt: four, done_when: exit}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout
    primary = [e["at"] for e in _log(tmp_path) if e["who"] == "primary"]
    assert primary == ["start", "end"] * 3  # never two at once
    assert len([e for e in _log(tmp_path) if e["who"] == "backup"]) == 2


def test_an_open_breaker_sends_the_next_task_to_its_fallback_and_says_so(
    tmux_server: Server, tmp_path: Path
) -> None:
    told = tmp_path / "told.jsonl"
    primary = {"env": {"STANDIN_FAIL": "auth"}, "breaker": {"failures": 2, "cooldown": "1h"}}
    file = tasks_file(
        tmp_path,
        f'notify: \'line=$(cat); printf "%s\\n" "$line" >> {told}\'\n'
        + _agents(tmp_path, primary=primary)
        + textwrap.dedent(
            """
            tasks:
              - {id: a, agent: primary, prompt: one, done_when: exit, allow_failure: true}
              - {id: b, agent: primary, prompt: two, done_when: exit, allow_failure: true}
              - id: c
                depends_on: [a, b]
                agent: primary
                fallback: [backup]
                prompt: three
                done_when: exit
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout
    assert "primary failed at its limits or login too often" in result.stdout
    assert "c: runs on backup (fallback: primary's breaker is open)" in result.stdout
    assert [e["who"] for e in _log(tmp_path) if e["task"] == "c"] == ["backup", "backup"]
    said = [json.loads(x) for x in told.read_text().splitlines() if x.strip()]
    (breaker,) = [e for e in said if e["event"] == "breaker"]
    assert (breaker["agent"], breaker["state"]) == ("primary", "open")


def test_routed_tasks_run_on_the_agent_their_rule_names(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        _agents(tmp_path, writer={})
        + textwrap.dedent(
            """
            route:
              - {labels: [docs], agent: writer}
              - {agent: backup}
            tasks:
              - {id: readme, labels: [docs], prompt: "Write the README", done_when: exit}
              - {id: fix, prompt: "Fix the bug", done_when: exit}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout
    ran = {e["task"]: e["who"] for e in _log(tmp_path)}
    assert ran == {"readme": "writer", "fix": "backup"}
    assert "readme: runs on writer (route: labels docs)" in result.stdout
    assert "fix: runs on backup (route: the default rule)" in result.stdout


ROUTER = Path(__file__).parent / "standins" / "router_agent.py"


@pytest.mark.parametrize(
    ("says", "runs_on", "why"),
    [
        ("I would pick **writer** for this.", "writer", "route: router chose it"),
        ("nobody", "backup", "route: router answered 'nobody', not one of its agents"),
    ],
)
def test_a_route_may_ask_an_agent_which_one_does_the_task(
    tmux_server: Server, tmp_path: Path, says: str, runs_on: str, why: str
) -> None:
    questions = tmp_path / "questions.txt"
    router = {
        "preset": "claude",
        "mode": "headless",
        "program": str(ROUTER),
        "env": {"ROUTER_SAYS": says, "ROUTER_LOG": str(questions)},
    }
    file = tasks_file(
        tmp_path,
        _agents(tmp_path, writer={})
        + f"  router: {json.dumps(router)}\n"
        + textwrap.dedent(
            """
            route:
              - {ask: router, agent: [backup, writer]}
            tasks:
              - {id: readme, prompt: "Write the README", done_when: exit}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout
    assert [e["who"] for e in _log(tmp_path)] == [runs_on, runs_on]
    assert f"readme: runs on {runs_on} ({why}" in result.stdout
    asked = questions.read_text()
    assert "Write the README" in asked and "- backup:" in asked and "- writer:" in asked


def test_a_route_with_several_agents_spreads_tasks_by_capacity(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        _agents(tmp_path, primary={"env": {"STANDIN_SLEEP": "1"}, "max_parallel": 1})
        + textwrap.dedent(
            """
            route:
              - {agent: [primary, backup]}
            tasks:
              - {id: a, prompt: one, done_when: exit}
              - {id: b, prompt: two, done_when: exit}
            """
        ),
    )
    result = run(tmux_server, file)
    assert result.returncode == 0, result.stdout
    ran = {e["task"]: e["who"] for e in _log(tmp_path) if e["at"] == "start"}
    assert ran == {"a": "primary", "b": "backup"}  # primary was busy: b went on
    assert "b: runs on backup (fallback: primary is at its max_parallel)" in result.stdout
