"""The Slack channel against a local stand-in of Slack (tests/fakes/slack_api.py): the
real slack-sdk posts over HTTP and receives over a Socket Mode WebSocket."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.slack_api import BOT_ID, BOT_USER, SlackAPI
from tmuxorch.channels.base import Button, Incoming, Message, Rejected, Throttled, Unreachable
from tmuxorch.channels.slack import SlackChannel, make
from tmuxorch.spec.user_config import load_user_config

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator
    from pathlib import Path


@pytest.fixture
def api() -> Iterator[SlackAPI]:
    stand_in = SlackAPI()
    yield stand_in
    stand_in.close()


def slack(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    api: SlackAPI,
    *,
    bot: str = "xoxb-test-bot",
    app: str = "xapp-test-app",
    channel: str = "C0TEST",
) -> SlackChannel:
    """The channel as serve makes it: from the user config, its secrets from the env."""
    monkeypatch.setenv("T_SLACK_BOT", bot)
    monkeypatch.setenv("T_SLACK_APP", app)
    path = tmp_path / "config.yaml"
    path.write_text(
        "channels:\n"
        f"  slack: {{channel: {channel}, api_url: '{api.api_url}', allow: [U1],\n"
        "          bot_token_env: T_SLACK_BOT, app_token_env: T_SLACK_APP}\n"
    )
    (spec,) = load_user_config(str(path)).channels
    made = make(spec)
    assert isinstance(made, SlackChannel)
    return made


async def until(check: Callable[[], object], what: str) -> None:
    """Wait (without holding up the loop) until ``check()`` is true; the deadline only
    ends a broken test."""
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        await asyncio.sleep(0.02)


class Listening:
    """``channel.receive`` running in a task, what it hands in queued."""

    def __init__(self, channel: SlackChannel, api: SlackAPI) -> None:
        self.channel, self.api = channel, api
        self.came: asyncio.Queue[Incoming] = asyncio.Queue()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Listening:
        self.task = asyncio.create_task(self.channel.receive(self.came.put))
        opened = self.api.connections
        await until(lambda: self.api.connections > opened or self.task.done(), "connected")  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.channel.close()

    async def next(self) -> Incoming:
        return await asyncio.wait_for(self.came.get(), 30)


def run(work: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(work())


def waiting(thread: str | None = None, text: str = "Deploy now? (y/n)") -> Message:
    return Message(
        text=text,
        key="R1/deploy",
        what="waiting",
        title="deploy is waiting for you",
        buttons=(Button("y", "qab12.0"), Button("n", "qab12.1")),
        thread=thread,
        urgent=True,
    )


def buttons(post: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (b["text"]["text"], b["value"], b["action_id"])
        for block in post["blocks"]
        if block["type"] == "actions"
        for b in block["elements"]
    ]


def test_a_waiting_message_is_one_post_with_its_buttons_and_the_next_is_in_its_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)

    async def work() -> None:
        first = await channel.post(waiting())
        (taken,) = api.taken()
        assert taken["channel"] == "C0TEST" and "thread_ts" not in taken
        assert buttons(taken) == [("y", "qab12.0", "qab12.0"), ("n", "qab12.1", "qab12.1")]
        assert "Deploy now? (y/n)" in taken["text"]  # the fallback, always there
        assert first.thread == taken["ts"] and first.ids == (taken["ts"],)
        again = await channel.post(
            Message("deploy failed", "R1/deploy", "failed", thread=first.thread)
        )
        second = api.taken()[1]
        assert second["thread_ts"] == first.thread
        assert again.thread == first.thread and again.ids == (second["ts"],)
        assert len(api.taken()) == 2

    run(work)


def test_what_an_agent_printed_is_shown_as_it_is_never_as_slack_markup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)
    printed = "<!channel> *rm -rf* & <@U1|boss> `x`\nmore: http://127.0.0.1:8/#run=R1&task=deploy"
    message = Message(printed, "R1/deploy", "output", link="http://127.0.0.1:8/#run=R1&task=deploy")

    async def work() -> None:
        await channel.post(message)

    run(work)
    (taken,) = api.taken()
    assert taken["mrkdwn"] is False
    assert taken["text"].startswith("&lt;!channel&gt; *rm -rf* &amp; &lt;@U1|boss&gt; `x`")
    section, more = taken["blocks"]
    assert section["text"] == {
        "type": "plain_text",
        "text": "&lt;!channel&gt; *rm -rf* &amp; &lt;@U1|boss&gt; `x`",
        "emoji": False,
    }
    assert more["elements"][0]["text"] == (
        "<http://127.0.0.1:8/#run=R1&amp;task=deploy|more on the web>"
    )


def test_a_reply_in_the_thread_and_a_button_press_come_in_once_each_and_are_answered_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)

    async def work() -> None:
        thread = (await channel.post(waiting())).thread
        assert thread is not None
        async with Listening(channel, api) as listening:
            pushed = [
                api.say(BOT_USER, "my own message", thread=thread, bot_id=BOT_ID),
                api.say("U1", "fixed typo", thread=thread, subtype="message_changed"),
                api.say("U1", "yes & <go> ", thread=thread, event_id="EvONCE"),
                api.say("U1", "yes & <go> ", thread=thread, event_id="EvONCE"),  # redelivered
                api.press("U2", "qab12.1", thread, username="ann"),
                api.say("U3", f"<@{BOT_USER}> /status", channel="C0ELSE"),
            ]
            reply = await listening.next()
            assert (reply.user, reply.chat, reply.refs, reply.text, reply.button) == (
                "U1",
                "C0TEST",
                (thread,),
                "yes & <go> ",
                None,
            )
            press = await listening.next()
            assert (press.user, press.name, press.chat, press.refs, press.button) == (
                "U2",
                "ann",
                "C0TEST",
                (thread,),
                "qab12.1",
            )
            elsewhere = await listening.next()  # the router refuses it; it still comes in
            assert (elsewhere.chat, elsewhere.refs, elsewhere.text) == ("C0ELSE", (), "/status")
            await until(lambda: set(api.acks) == set(pushed), "every envelope acked")
            assert listening.came.empty()
            assert reply.answer is not None and press.answer is not None
            await reply.answer("sent to deploy")
            await press.answer("answered: n <sure>")
        answers = api.taken()[1:]
        assert [(a["thread_ts"], a["text"], a["mrkdwn"]) for a in answers] == [
            (thread, "sent to deploy", False),
            (thread, "answered: n &lt;sure&gt;", False),
        ]

    run(work)


def test_slack_asking_for_a_new_connection_is_followed_without_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)

    async def work() -> None:
        async with Listening(channel, api) as listening:
            api.refresh()
            await until(lambda: api.connections == 2, "connected anew")
            api.say("U1", "still here")
            came = await listening.next()
            assert came.text == "still here"
            assert listening.task is not None and not listening.task.done()

    run(work)


def test_a_slash_command_of_the_app_is_a_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)

    async def work() -> None:
        async with Listening(channel, api) as listening:
            api.push(
                "slash_commands",
                {"command": "/tmuxorch", "text": "stop deploy", "user_id": "U1"}
                | {"user_name": "bob", "channel_id": "C0TEST"},
            )
            came = await listening.next()
            assert (came.user, came.chat, came.text, came.refs) == (
                "U1",
                "C0TEST",
                "/stop deploy",
                (),
            )
            assert came.answer is not None
            await came.answer("stopping deploy")
        (said,) = api.taken()
        assert (said["channel"], said["text"], "thread_ts" in said) == (
            "C0TEST",
            "stopping deploy",
            False,
        )

    run(work)


def test_a_429_is_throttled_for_the_wait_slack_names_and_a_5xx_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)
    api.refuse = [(429, 7), (503, 0)]

    async def work() -> None:
        with pytest.raises(Throttled) as throttled:
            await channel.post(waiting())
        assert throttled.value.after == 7
        with pytest.raises(Unreachable):
            await channel.post(waiting())
        assert api.calls == ["chat.postMessage"] * 2  # the SDK tried nothing again itself
        await channel.post(waiting())
        assert len(api.taken()) == 1

    run(work)


def test_a_network_cut_is_unreachable_and_nothing_said_meanwhile_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)

    async def work() -> None:
        thread = (await channel.post(waiting())).thread
        async with Listening(channel, api) as listening:
            api.cut()
            with pytest.raises(Unreachable):
                await channel.post(waiting(thread))
            assert listening.task is not None
            with pytest.raises(Unreachable):
                await asyncio.wait_for(listening.task, 60)
            with pytest.raises(Unreachable):  # as the router would: it tries again
                await channel.receive(listening.came.put)
            api.say("U1", "y", thread=thread)  # Slack keeps it for the next connection
            api.up()
            await channel.post(waiting(thread))
        async with Listening(channel, api) as again:
            came = await again.next()
            assert (came.text, came.refs) == ("y", (thread,))
        assert len(api.taken()) == 2

    run(work)


def test_a_websocket_that_does_not_open_is_unreachable_not_a_wait_for_ever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    channel = slack(tmp_path, monkeypatch, api)
    channel.connect_seconds = 1  # the SDK would try again every 5 s, for ever
    api.sockets_refused = True

    async def work() -> None:
        with pytest.raises(Unreachable, match="cannot open"):
            await asyncio.wait_for(channel.receive(asyncio.Queue[Incoming]().put), 60)
        api.sockets_refused = False
        async with Listening(channel, api) as listening:  # as the router: again, later
            api.say("U1", "back")
            assert (await listening.next()).text == "back"

    run(work)


@pytest.mark.parametrize(
    ("bot", "app", "where", "error"),
    [
        ("xoxb-wrong", "xapp-test-app", "C0TEST", "invalid_auth"),
        ("xoxb-test-bot", "xapp-wrong", "C0TEST", "invalid_auth"),
        ("xoxb-test-bot", "xapp-test-app", "C0NONE", "channel_not_found"),
    ],
)
def test_a_wrong_token_or_channel_is_rejected(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    api: SlackAPI,
    bot: str,
    app: str,
    where: str,
    error: str,
) -> None:
    channel = slack(tmp_path, monkeypatch, api, bot=bot, app=app, channel=where)

    async def work() -> None:
        if app == "xapp-wrong":
            await channel.post(waiting())  # posting needs only the bot token
            with pytest.raises(Rejected, match=error):
                await channel.receive(asyncio.Queue[Incoming]().put)
            return
        with pytest.raises(Rejected, match=error):
            await channel.post(waiting())
        if bot == "xoxb-wrong":
            with pytest.raises(Rejected, match=error):
                await channel.receive(asyncio.Queue[Incoming]().put)

    run(work)
    assert api.connections == 0


def test_a_missing_secret_is_said_when_the_channel_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, api: SlackAPI
) -> None:
    slack(tmp_path, monkeypatch, api)
    monkeypatch.delenv("T_SLACK_APP")
    (spec,) = load_user_config(str(tmp_path / "config.yaml")).channels
    with pytest.raises(Rejected, match=r"app_token: \$T_SLACK_APP is not set"):
        make(spec)
