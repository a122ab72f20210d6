"""Failure classes (pure): each class from screens written from each CLI's documented and
commonly reported messages (``tests/screens/AGENT/failures/CLASS-*.txt``), the screens
recorded from the real CLIs, and reset times."""

from __future__ import annotations

import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from tmuxorch.agents import failures
from tmuxorch.agents.resets import reset_at

if TYPE_CHECKING:
    from tmuxorch.agents.failures import Failure

SCREENS = Path(__file__).parent / "screens"
WRITTEN = sorted((p.parent.parent.name, p.stem) for p in SCREENS.glob("*/failures/*.txt"))
RECORDED = sorted((p.parent.name, p.stem) for p in SCREENS.glob("*/*.txt"))
NOW = datetime(2026, 3, 10, 13, 20).timestamp()
"""Tuesday 10 March 2026, 13:20 on this machine's clock."""


def local(hour: int, minute: int = 0, days: int = 0) -> float:
    return (datetime(2026, 3, 10, hour, minute) + timedelta(days=days)).timestamp()


def screen(agent: str, name: str) -> str:
    return (SCREENS / agent / "failures" / f"{name}.txt").read_text()


def failed(agent: str, name: str, **how: object) -> Failure:
    fields: dict[str, object] = {"ended": failures.EXITED, "code": 1, "reason": "exit status 1"}
    fields.update(how)
    found = failures.classify(screen(agent, name), agent=agent, now=NOW, **fields)  # type: ignore[arg-type]
    assert found is not None
    return found


@pytest.mark.parametrize(("agent", "name"), WRITTEN, ids="-".join)
def test_each_class_from_each_clis_messages(agent: str, name: str) -> None:
    """The class is the file's name up to its first dash."""
    assert failed(agent, name).kind == name.split("-")[0]


def test_every_class_and_every_agent_has_screens() -> None:
    shown = {name.split("-")[0] for _, name in WRITTEN}
    assert {failures.RATE_LIMITED, failures.USAGE_LIMIT, failures.AUTH, failures.NETWORK} <= shown
    assert {agent for agent, _ in WRITTEN} >= {"claude", "codex", "gemini", "aider", "goose"}
    assert "opencode" in {agent for agent, _ in WRITTEN}


@pytest.mark.parametrize(("agent", "name"), WRITTEN, ids="-".join)
def test_an_agent_that_seemed_done_failed_only_at_a_limit_or_a_lost_login(
    agent: str, name: str
) -> None:
    """An interactive agent never exits at a limit: it sits at its prompt, which looks
    idle (done). Its own last lines undo that success for limits and logins only."""
    kind = name.split("-")[0]
    found = failures.classify(screen(agent, name), agent=agent, ended=failures.EXITED, ok=True)
    if agent != "shell" and kind in (failures.AUTH, *failures.LIMITS):
        assert found is not None and found.kind == kind
    else:
        assert found is None


@pytest.mark.parametrize(("agent", "name"), RECORDED, ids="-".join)
def test_screens_recorded_from_the_real_clis_are_no_failure_of_a_done_agent(
    agent: str, name: str
) -> None:
    text = (SCREENS / agent / f"{name}.txt").read_text()
    found = failures.classify(text, agent=agent, ended=failures.EXITED, ok=True)
    if (agent, name) == ("codex", "waiting_input-login"):
        assert found is not None and found.kind == failures.AUTH  # it asks for a login
    else:
        assert found is None


@pytest.mark.parametrize(
    ("agent", "name", "kind"),
    [
        ("codex", "waiting_input-login", failures.AUTH),  # sat at its sign-in menu
        ("gemini", "waiting_input-auth", failures.AUTH),
        ("claude", "busy-retrying", failures.NETWORK),  # its API could not be reached
        ("aider", "busy", failures.NETWORK),  # "Connection error." above "...overloaded"
        ("claude", "busy", failures.TIMED_OUT),
        ("opencode", "idle", failures.TIMED_OUT),
    ],
)
def test_timed_out_agents_on_real_screens(agent: str, name: str, kind: str) -> None:
    """What an agent shows says why it ran out of time, when it says; else: timed out."""
    text = (SCREENS / agent / f"{name}.txt").read_text()
    found = failures.classify(
        text, agent=agent, ended=failures.TIMEOUT, reason="timed out after 60s", now=NOW
    )
    assert found is not None and found.kind == kind
    assert "timed out after 60s" in found.reason


@pytest.mark.parametrize(
    ("agent", "name", "todo"),
    [
        ("claude", "auth-invalid-key", "run `claude /login`"),
        ("claude", "auth-oauth-expired", "run `claude /login`"),
        ("codex", "auth-missing-env", "set OPENAI_API_KEY"),
        ("codex", "auth-refresh-token", "run `codex login`"),
        ("gemini", "auth-no-key", "set GEMINI_API_KEY"),
        ("aider", "auth-missing-env", "set ANTHROPIC_API_KEY"),
        ("aider", "auth-litellm", "set the API key of its model"),
        ("goose", "auth-not-configured", "run `goose configure`"),
        ("opencode", "auth-missing-key", "set ANTHROPIC_API_KEY"),
    ],
)
def test_an_auth_failure_says_what_to_do(agent: str, name: str, todo: str) -> None:
    found = failed(agent, name)
    assert found.kind == failures.AUTH and todo in found.reason.split("; ")[-1]
    assert "(exit status 1)" in found.reason  # and how it ended


@pytest.mark.parametrize(
    ("agent", "name", "resets"),
    [
        ("claude", "usage_limit-5-hour", local(15)),  # "resets 3pm"
        ("claude", "usage_limit-headless", 1773154800.0),  # "...reached|1773154800"
        ("codex", "usage_limit-try-again-at", local(16, 5)),  # "try again at 4:05 PM."
        ("codex", "usage_limit-try-again-in", NOW + 2 * 86400 + 3 * 3600 + 5 * 60),
        ("gemini", "usage_limit-capacity", NOW + 3600 + 49 * 60 + 8),  # "after 1h49m8s"
        ("gemini", "usage_limit-daily-quota", None),
        ("aider", "rate_limited-litellm", None),
    ],
)
def test_a_limit_says_when_it_resets(agent: str, name: str, resets: float | None) -> None:
    assert failed(agent, name).resets_at == resets


def test_reset_times_in_a_named_zone() -> None:
    berlin = datetime(2026, 3, 10, 15, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()
    assert failed("claude", "usage_limit-session-zone").resets_at == berlin
    new_york = datetime(2026, 3, 10, 15, 0, tzinfo=ZoneInfo("America/New_York")).timestamp()
    assert failed("claude", "usage_limit-will-reset").resets_at == new_york


def test_how_an_attempt_ended_decides_when_its_screen_says_nothing() -> None:
    def kind(**how: object) -> tuple[str, str]:
        found = failures.classify("working...\n$ ", agent="claude", now=NOW, **how)  # type: ignore[arg-type]
        assert found is not None
        return found.kind, found.reason

    assert kind(ended=failures.TIMEOUT, reason="timed out after 5s") == (
        failures.TIMED_OUT,
        "timed out after 5s",
    )
    assert kind(ended=failures.STALL, reason="no output for 10m")[0] == failures.STALLED
    assert kind(ended=failures.LOST, reason="its pane was closed")[0] == failures.CRASHED
    assert kind(ended=failures.EXITED, code=137, reason="exit status 137") == (
        failures.CRASHED,
        "exit status 137 (killed by SIGKILL)",
    )
    assert kind(ended=failures.EXITED, code=127)[0] == failures.NOT_INSTALLED
    missing = "claude: not found (install: npm install -g @anthropic-ai/claude-code)"
    assert kind(ended=failures.MISSING, reason=missing) == (failures.NOT_INSTALLED, missing)
    assert kind(ended=failures.EXITED, code=1, reason="exit status 1")[0] == failures.TASK_FAILED
    assert kind(ended=failures.STOPPED, reason="stopped at its trust dialog")[0] == (
        failures.TASK_FAILED
    )


def test_a_plain_command_is_judged_by_its_last_words_only() -> None:
    """A test suite about rate limits that fails is a failed task, not a rate limit; a
    traceback of a command is its task failing; its last line may still name the network."""
    assert failed("shell", "task_failed-tests").kind == failures.TASK_FAILED
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad\n'
    found = failures.classify(traceback, agent="shell", ended=failures.EXITED, code=1)
    assert found is not None and found.kind == failures.TASK_FAILED
    found = failures.classify(
        traceback, agent="aider", ended=failures.EXITED, code=1, reason="exit status 1"
    )
    assert found == failures.Failure(failures.CRASHED, "ValueError: bad (exit status 1)")
    assert failed("shell", "network-curl").reason.startswith("curl: (6) Could not resolve host")


def test_a_cli_that_retried_and_went_on_did_not_fail() -> None:
    """Aider retries a rate limit itself: the error stays on its screen above its answer."""
    text = textwrap.dedent(
        """\
        litellm.RateLimitError: AnthropicException - rate_limit_error
        The API provider has rate limited you. Try again later or check your quotas.
        Retrying in 0.2 seconds...
        Added validation to signup.py
        Applied edit to signup.py
        > \
        """
    )
    assert failures.classify(text, agent="aider", ended=failures.EXITED, ok=True) is None
    gave_up = text.replace("Retrying in 0.2 seconds...\n", "").split("Added")[0] + "> "
    found = failures.classify(gave_up, agent="aider", ended=failures.EXITED, ok=True)
    assert found is not None and found.kind == failures.RATE_LIMITED


def test_tmuxs_dead_pane_line_is_not_what_the_agent_said() -> None:
    text = (
        "Invalid API key · Please run /login\n\nPane is dead (status 1, Tue Mar 10 13:20:00 2026)"
    )
    found = failures.classify(text, agent="shell", ended=failures.EXITED, code=1)
    assert found is not None and found.kind == failures.AUTH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5-hour limit reached ∙ resets 3pm", local(15)),
        ("Session limit reached ∙ resets 9:30pm", local(21, 30)),
        ("resets 11am", local(11, days=1)),  # passed hours ago: tomorrow's
        ("resets 12:30pm", local(12, 30)),  # passed minutes ago: today's (read late)
        ("resets 15:05", local(15, 5)),
        ("Weekly limit reached ∙ resets Mar 14, 5pm", local(17, days=4)),
        ("Try again at Mar 12th, 2026 4:05 PM.", local(16, 5, days=2)),
        ("Please retry in 12.5s", NOW + 12.5),
        ("Please try again in 6ms", NOW + 0.006),
        ("Your quota will reset after 39s", NOW + 39),
        ('"retryDelay": "34s"', NOW + 34),
        ("Try again in 3 hours.", NOW + 3 * 3600),
        ("resets 5", None),  # not a time
        ("Try again at Sep 12th, 2026 4:05 PM.", None),  # months away: a misreading
        ("Claude AI usage limit reached|1773154800", 1773154800.0),
    ],
)
def test_reset_time_formats(text: str, expected: float | None) -> None:
    assert reset_at(text, NOW) == expected


def test_reset_time_in_a_given_zone() -> None:
    now = datetime(2026, 3, 10, 13, 20, tzinfo=timezone.utc).timestamp()
    expected = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc).timestamp()
    assert reset_at("resets 3pm", now, timezone.utc) == expected
    assert reset_at("resets 3pm (UTC)", NOW) == expected
