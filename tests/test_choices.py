"""The answer buttons the web page offers: what a screen asks, from its last lines (pure),
on screens recorded from the real CLIs and on the demo agent's question."""

from __future__ import annotations

from pathlib import Path

import pytest

from tmuxorch.agents.choices import Choice, choices

SCREENS = Path(__file__).parent / "screens"


def sent(screen: str) -> list[tuple[str, object]]:
    """Each choice's button label and what it sends."""
    return [(c.label, c.as_json()["send"]) for c in choices(screen)]


@pytest.mark.parametrize(
    ("line", "yes", "no", "typed"),
    [
        ("Ship the login feature? (y/n) ", "y", "n", ("y", "n")),
        ("Overwrite it? [Y/n]", "Y", "n", ("y", "n")),
        ("Remove everything? [y/N]: ", "y", "N", ("y", "n")),
        ("Continue (yes/no)?", "yes", "no", ("yes", "no")),
        ("Overwrite? (y/n) [n]: ", "y", "n", ("y", "n")),
    ],
)
def test_a_yes_no_question_on_the_last_line(
    line: str, yes: str, no: str, typed: tuple[str, str]
) -> None:
    screen = f"some work\n\n{line}\n\n\n"
    assert choices(screen) == (Choice(yes, text=typed[0]), Choice(no, text=typed[1]))
    assert sent(screen)[0] == (yes, {"text": typed[0]})


def test_a_question_already_answered_or_further_up_offers_nothing() -> None:
    assert choices("Ship the login feature? (y/n) y\n● Proceeding.\n") == ()
    assert choices("Ship it? (y/n) y\n") == ()
    assert choices("Ship it? (y/n)\n$ ls\n") == ()
    assert choices("") == ()


def test_aider_asks_yes_no_in_its_own_way() -> None:
    screen = (SCREENS / "aider" / "waiting_input-gitignore.txt").read_text()
    assert sent(screen) == [("yes", {"text": "y"}), ("no", {"text": "n"})]


def test_a_highlighted_menu_is_answered_with_arrows_from_the_highlight() -> None:
    screen = (SCREENS / "claude" / "waiting_input-api-key.txt").read_text()
    assert sent(screen) == [
        ("1. Yes", {"keys": ["Up", "Enter"]}),
        ("2. No (recommended)", {"keys": ["Enter"]}),
    ]
    codex = (SCREENS / "codex" / "waiting_input-login.txt").read_text()
    assert sent(codex) == [
        ("1. Sign in with ChatGPT", {"keys": ["Enter"]}),
        ("2. Sign in with Device Code", {"keys": ["Down", "Enter"]}),
        ("3. Sign in another way", {"keys": ["Down", "Down", "Enter"]}),
    ]


def test_a_menu_in_a_box_loses_the_box() -> None:
    screen = (SCREENS / "gemini" / "dialog-trust.txt").read_text()
    assert [label for label, _ in sent(screen)] == [
        "1. Trust folder (repo)",
        "2. Trust parent folder (agh)",
        "3. Don't trust",
    ]
    auth = (SCREENS / "gemini" / "waiting_input-auth.txt").read_text()
    assert sent(auth)[0] == ("1. Sign in with Google", {"keys": ["Up", "Enter"]})


def test_an_unmarked_list_is_answered_by_its_number() -> None:
    screen = "Which one?\n  1. red\n  2) green\n  3. a very long option " + "x" * 80 + "\n> "
    got = sent(screen)
    assert got[:2] == [("1. red", {"text": "1"}), ("2. green", {"text": "2"})]
    assert got[2][0].endswith("…") and len(got[2][0]) == len("3. ") + 48


@pytest.mark.parametrize(
    "path", sorted(p for p in SCREENS.glob("*/*.txt") if p.stem.startswith(("idle", "busy")))
)
def test_an_idle_or_busy_agent_offers_nothing(path: Path) -> None:
    assert choices(path.read_text()) == ()


def test_a_list_far_above_the_bottom_or_not_counting_from_one_offers_nothing() -> None:
    assert choices("1. a\n2. b\n" + "more\n" * 7) == ()
    assert choices("2. a\n3. b\n") == ()
    assert choices("1. only one\n") == ()
