"""Slack end to end: a real ``tmuxorch serve`` with a Slack channel pointed at the local
stand-in of Slack (tests/fakes/slack_api.py), a real run whose tasks wait for a person."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.channel_helpers import ChannelServed, wait_file, waiting_command
from tests.conftest import eventually
from tests.fakes.slack_api import SlackAPI
from tests.test_run import start, tasks_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server


@pytest.fixture
def api() -> Iterator[SlackAPI]:
    stand_in = SlackAPI()
    yield stand_in
    stand_in.close()


def served(tmux_server: Server, tmp_path: Path, api: SlackAPI) -> ChannelServed:
    return ChannelServed(
        tmux_server,
        tmp_path / "home",
        f"""
        channels:
          slack:
            channel: C0TEST
            api_url: {api.api_url}
            bot_token_env: SLACK_BOT
            app_token_env: SLACK_APP
            allow: [U1]
        """,
        env={"SLACK_BOT": api.bot_token, "SLACK_APP": api.app_token},
    )


def button(post: dict[str, Any], label: str) -> str:
    """The value of the button ``label`` on ``post``."""
    (value,) = [
        b["value"]
        for block in post["blocks"]
        if block["type"] == "actions"
        for b in block["elements"]
        if b["text"]["text"] == label
    ]
    return str(value)


def labels(post: dict[str, Any]) -> list[str]:
    return [
        b["text"]["text"]
        for block in post["blocks"]
        if block["type"] == "actions"
        for b in block["elements"]
    ]


def one(api: SlackAPI, title: str) -> dict[str, Any]:
    """The post titled ``title``, once it is there (there must be exactly one)."""
    eventually(lambda: api.titled(title) or None, what=title)
    (post,) = api.titled(title)
    return post


def test_a_wait_is_one_message_with_its_buttons_answered_by_a_press_or_a_reply(
    tmux_server: Server, tmp_path: Path, api: SlackAPI
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
        assert labels(ask) == ["y", "n"] and "thread_ts" not in ask
        assert "Continue? (y/n)" in ask["blocks"][1]["text"]["text"]
        talk = one(api, "talk is waiting for input")
        eventually(api.connected, what="serve receives from Slack")
        # someone who is not in allow: refused, logged, told so in the thread; nothing typed
        api.press("U9", button(ask, "y"), ask["ts"], username="mallory")
        serve.wait_logged(r"channel slack: refused user U9 \(mallory\) in C0TEST")
        (refused,) = eventually(
            lambda: [p for p in api.taken() if p.get("thread_ts") == ask["ts"]] or None,
            what="the refusal is answered in the thread",
        )
        assert refused["text"] == "You are not allowed to use this bot."
        # the person who is allowed: the press answers the question, byte-exact
        api.press("U1", button(ask, "n"), ask["ts"], username="bob")
        assert wait_file(pressed) == "[n]"
        api.say("U1", "Ann & <Bob> 'x'  $HOME", thread=talk["ts"])
        assert wait_file(replied) == "[Ann & <Bob> 'x'  $HOME]"
        proc.wait(timeout=60)
        one(api, _finished(api))
        assert len(api.titled("ask is waiting for input")) == 1  # said once
        assert len(api.titled("talk is waiting for input")) == 1
        assert api.bot_token not in serve.output() and api.app_token not in serve.output()
    finally:
        serve.stop()


def _finished(api: SlackAPI) -> str:
    """The title of the run's end (it names the run)."""

    def title() -> str | None:
        for post in api.taken():
            for block in post.get("blocks") or []:
                text = block["text"]["text"] if block.get("type") == "header" else ""
                if text.startswith("run ") and " finished" in text:
                    return str(text)
        return None

    return eventually(title, what="the run's end is told")


def test_a_429_and_a_cut_network_lose_nothing_and_repeat_nothing(
    tmux_server: Server, tmp_path: Path, api: SlackAPI
) -> None:
    api.refuse = [(429, 1)]
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
        serve.wait_logged(r"channel slack: rate limited")
        eventually(api.connected, what="serve receives from Slack")
        api.cut()
        # while Slack cannot be reached: a reply waits at Slack, a failure waits in serve
        api.say("U1", "y", thread=two["ts"])
        serve.call("POST", "/api/send", {"target": "one", "text": "y"})
        assert wait_file(first) == "[y]"
        serve.wait_logged(r"channel slack: unreachable")
        serve.wait_logged(r"channel slack: cannot receive")
        api.up()
        assert wait_file(second, timeout=120) == "[y]"
        proc.wait(timeout=60)
        eventually(lambda: api.titled("bad failed") or None, timeout=120, what="the failure")
        _finished(api)
        titles = [
            block["text"]["text"]
            for post in api.taken()
            for block in post.get("blocks") or []
            if block.get("type") == "header"
        ]
        assert sorted(titles) == sorted(
            ["one is waiting for input", "two is waiting for input", "bad failed", _finished(api)]
        )
        (status,) = serve.channels()
        assert (status["delivered"], status["dropped"], status["queued"]) == (4, 0, 0)
    finally:
        serve.stop()
