"""Discord end to end: a real ``tmuxorch serve`` with a Discord channel pointed at the
local stand-in of Discord (tests/fakes/discord_api.py), a real run whose tasks wait for a
person."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.channel_helpers import ChannelServed, wait_file, waiting_command
from tests.conftest import eventually
from tests.fakes.discord_api import FakeDiscord
from tests.test_run import start, tasks_file
from tmuxorch.channels.discord_text import plain

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server

ALLOWED = "111111111111111111"
STRANGER = "999999999999999999"


@pytest.fixture
def api() -> Iterator[FakeDiscord]:
    stand_in = FakeDiscord()
    try:
        yield stand_in
    finally:
        stand_in.close()
    assert stand_in.unknown == [], "discord.py called routes the stand-in does not know"


def served(tmux_server: Server, tmp_path: Path, api: FakeDiscord) -> ChannelServed:
    return ChannelServed(
        tmux_server,
        tmp_path / "home",
        f"""
        channels:
          discord:
            channel: "{api.channel}"
            api_url: {api.api_url}
            token_env: DISCORD_TOKEN
            allow: ["{ALLOWED}"]
        """,
        env={"DISCORD_TOKEN": api.token},
    )


def title(post: dict[str, Any]) -> str:
    """A post's title (its first line, in bold), as written."""
    first = str(post["content"]).split("\n", 1)[0]
    return first[2:-2] if first.startswith("**") and first.endswith("**") else ""


def titled(api: FakeDiscord, wanted: str) -> list[dict[str, Any]]:
    return [p for p in list(api.posts) if title(p) == plain(wanted)]


def one(api: FakeDiscord, wanted: str) -> dict[str, Any]:
    """The post titled ``wanted``, once it is there (there must be exactly one)."""
    eventually(lambda: titled(api, wanted) or None, what=wanted)
    (post,) = titled(api, wanted)
    return post


def labels(post: dict[str, Any]) -> list[str]:
    return [b["label"] for row in post.get("components") or [] for b in row["components"]]


def button(post: dict[str, Any], label: str) -> str:
    (found,) = [
        b["custom_id"]
        for row in post["components"]
        for b in row["components"]
        if b["label"] == label
    ]
    return str(found)


def finished(api: FakeDiscord) -> str:
    """The title of the run's end (it names the run)."""

    def found() -> str | None:
        ends = [title(p) for p in list(api.posts) if " finished" in title(p)]
        return next((t for t in ends if t.startswith("run ")), None)

    return eventually(found, what="the run's end is told")


def test_a_wait_is_one_message_with_its_buttons_answered_by_a_press_or_a_reply(
    tmux_server: Server, tmp_path: Path, api: FakeDiscord
) -> None:
    serve = served(tmux_server, tmp_path, api)
    pressed, replied = tmp_path / "pressed", tmp_path / "replied"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: ask
            command: {json.dumps(waiting_command(pressed, "Continue? (y/n) "))}
          - id: talk
            command: {json.dumps(waiting_command(replied, "Say more? (yes/no) "))}
        """,
    )
    try:
        proc = start(tmux_server, file)
        ask = one(api, "ask is waiting for input")
        assert labels(ask) == ["y", "n"] and ask["channel_id"] == api.channel
        assert "Continue? (y/n)" in ask["content"]
        talk = one(api, "talk is waiting for input")
        thread = eventually(lambda: [t["id"] for t in api.threads if t["id"] == talk["id"]])[0]
        eventually(lambda: api.connected, what="serve is on Discord's gateway")
        # someone who is not in allow: refused, logged, told so (only they see it)
        api.press(STRANGER, ask["id"], button(ask, "y"))
        serve.wait_logged(rf"channel discord: refused user {STRANGER} \(Person \d+\) in \d+")
        (refused,) = eventually(lambda: list(api.followups), what="the refusal is answered")
        assert refused["content"] == "You are not allowed to use this bot."
        assert refused["flags"] & 64  # ephemeral
        # the person who is allowed: the press answers the question, byte-exact
        api.press(ALLOWED, ask["id"], button(ask, "n"))
        assert wait_file(pressed) == "[n]"
        api.say(ALLOWED, "Ann & <Bob> 'x'  $HOME *not bold*", where=thread)
        assert wait_file(replied) == "[Ann & <Bob> 'x'  $HOME *not bold*]"
        assert proc.wait(timeout=60) == 0
        one(api, finished(api))
        assert len(titled(api, "ask is waiting for input")) == 1  # said once
        assert len(titled(api, "talk is waiting for input")) == 1
        assert all(p["allowed_mentions"] == {"parse": []} for p in api.posts)
        assert api.token not in serve.output()
        assert len(api.callbacks) == 2  # both presses acknowledged
    finally:
        serve.stop()


def test_a_429_and_a_cut_network_lose_nothing_and_repeat_nothing(
    tmux_server: Server, tmp_path: Path, api: FakeDiscord
) -> None:
    # five 429s wear out discord.py's own tries (Throttled: the outbox waits), the sixth
    # is one discord.py waits out itself
    api.throttle(6, 0.2, method="POST")
    serve = served(tmux_server, tmp_path, api)
    first, second = tmp_path / "first", tmp_path / "second"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: one
            command: {json.dumps(waiting_command(first, "First? (y/n) "))}
          - id: two
            command: {json.dumps(waiting_command(second, "Second? (y/n) "))}
          - id: bad
            command: "exit 3"
            depends_on: [one]
        """,
    )
    try:
        proc = start(tmux_server, file)
        one(api, "one is waiting for input")
        two = one(api, "two is waiting for input")
        serve.wait_logged(r"channel discord: rate limited")
        eventually(lambda: api.connected, what="serve is on Discord's gateway")
        eventually(lambda: len(api.threads) == 2, what="both threads")
        api.cut()
        # while Discord cannot be reached: a reply waits at Discord (the gateway session
        # is resumed after), a failure waits in serve's outbox
        api.say(ALLOWED, "y", where=two["id"])
        serve.call("POST", "/api/send", {"target": "one", "text": "y"})
        assert wait_file(first) == "[y]"
        serve.wait_logged(r"channel discord: unreachable")
        serve.wait_logged(r"channel discord: cannot receive")
        api.up()
        assert wait_file(second, timeout=120) == "[y]"
        assert proc.wait(timeout=60) != 0
        eventually(lambda: titled(api, "bad failed") or None, timeout=120, what="the failure")
        end = finished(api)
        assert sorted(title(p) for p in api.posts if title(p)) == sorted(
            plain(t)
            for t in ["one is waiting for input", "two is waiting for input", "bad failed", end]
        )

        def counts() -> tuple[object, ...] | None:  # the outbox counts once Discord answered
            (status,) = serve.channels()
            found = (status["delivered"], status["dropped"], status["queued"])
            return found if found == (4, 0, 0) else None

        eventually(counts, what="4 delivered, none dropped or queued")
        assert api.resumes >= 1  # the reply came from the resumed session
    finally:
        serve.stop()
