"""The Discord channel (discord.py) against a local stand-in of Discord's API and gateway
(tests/fakes/discord_api.py): the real library runs, only the far end is local."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

from tests.fakes.discord_api import FakeDiscord
from tmuxorch.channels import discord_text
from tmuxorch.channels.base import Button, Incoming, Message, Rejected, Throttled, Unreachable
from tmuxorch.channels.discord_bot import DiscordChannel, make
from tmuxorch.spec.channels import ChannelSpec, Secret
from tmuxorch.spec.task_model import Origin

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Iterator

T = TypeVar("T")

TOKEN_ENV = "TMUXORCH_TEST_DISCORD_TOKEN"
PERSON = "424242"
WAITING = Message(
    "Continue? (y/n) *now* @everyone",
    "run1/ask",
    "waiting",
    title="ask is waiting",
    buttons=(Button("yes", "y"), Button("no", "n")),
    urgent=True,
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscord]:
    found = FakeDiscord()
    monkeypatch.setenv(TOKEN_ENV, found.token)
    try:
        yield found
    finally:
        found.close()
    assert found.unknown == [], "discord.py called routes the stand-in does not know"


def channel(fake: FakeDiscord) -> DiscordChannel:
    spec = ChannelSpec(
        name="discord",
        kind="discord",
        origin=Origin("config.yaml", 1, 1, "channels.discord"),
        settings=(("api_url", fake.api_url), ("channel", fake.channel)),
        secrets=(("token", Secret(env=TOKEN_ENV)),),
    )
    made = make(spec)
    assert isinstance(made, DiscordChannel)
    return made


def run(scenario: Callable[[DiscordChannel], Coroutine[Any, Any, T]], fake: FakeDiscord) -> T:
    """``scenario`` with a channel on ``fake``, closed after."""

    async def main() -> T:
        made = channel(fake)
        try:
            return await scenario(made)
        finally:
            await made.close()

    return asyncio.run(main())


async def until(check: Callable[[], T | None], what: str = "") -> T:
    """Wait for ``check`` to hold (the time limit only ends a broken test)."""
    for _ in range(1500):
        value = check()
        if value:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError(f"never became true: {what or check}")


class Receiving:
    """The channel's receive() running in a task, what it handed in collected."""

    def __init__(self, made: DiscordChannel) -> None:
        self.got: list[Incoming] = []
        self.task = asyncio.create_task(made.receive(self.inbox))

    async def inbox(self, incoming: Incoming) -> None:
        self.got.append(incoming)

    async def stop(self) -> None:
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


async def nowhere(incoming: Incoming) -> None:
    raise AssertionError(f"nothing should come in: {incoming}")


def components(post: dict[str, Any]) -> list[tuple[str, str]]:
    return [(b["label"], b["custom_id"]) for row in post["components"] for b in row["components"]]


def test_a_waiting_message_has_its_buttons_and_the_next_goes_in_its_thread(
    fake: FakeDiscord,
) -> None:
    async def scenario(made: DiscordChannel) -> tuple[Any, Any]:
        first = await made.post(WAITING)
        second = await made.post(Message("got:y", "run1/ask", "output", thread=first.thread))
        return first, second

    first, second = run(scenario, fake)
    assert len(fake.posts) == 2
    post = fake.posts[0]
    assert post["channel_id"] == fake.channel
    assert components(post) == [("yes", "y"), ("no", "n")]
    assert post["content"] == "**ask is waiting**\nContinue? (y/n) \\*now\\* @everyone"
    assert post["allowed_mentions"] == {"parse": []}  # nothing printed pings anyone
    assert [t["id"] for t in fake.threads] == [post["id"]]  # a thread from the message
    assert first.thread == post["id"] and first.ids == (post["id"],)
    assert fake.posts[1]["channel_id"] == first.thread
    assert fake.posts[1]["content"] == "got:y"
    assert second.thread == first.thread and second.ids == (fake.posts[1]["id"],)


def test_a_reply_in_the_thread_and_a_button_press_come_in_and_are_answered(
    fake: FakeDiscord,
) -> None:
    async def scenario(made: DiscordChannel) -> list[Incoming]:
        receiving = Receiving(made)
        posted = await made.post(WAITING)
        await until(lambda: fake.connected, "the bot is on the gateway")
        assert posted.thread is not None
        fake.say(PERSON, "y", where=posted.thread)
        fake.press(PERSON, posted.ids[0], "n")
        await until(lambda: any(i.button for i in receiving.got), "the press")
        assert len(fake.callbacks) == 1  # acknowledged before it was handed in
        for incoming in list(receiving.got):
            assert incoming.answer is not None
            await incoming.answer("sent *y*")
        fake.say("777", "another bot: not handed in", bot=True)
        fake.say(PERSON, "elsewhere", where=fake.other)
        fake.say(PERSON, "on the message", reply_to=posted.ids[0])
        await until(lambda: any(i.text == "on the message" for i in receiving.got), "the last")
        await receiving.stop()
        return receiving.got

    got = run(scenario, fake)
    # the bot's own messages (Discord echoes them on the gateway), other bots', are not
    assert all(i.user == PERSON for i in got)
    reply, press, elsewhere, on_message = got
    thread = fake.threads[0]["id"]
    first = fake.posts[0]["id"]
    assert (reply.user, reply.chat, reply.refs, reply.text, reply.button) == (
        PERSON,
        fake.channel,
        (thread,),
        "y",
        None,
    )
    assert reply.name == f"Person {PERSON}"
    assert (press.user, press.chat, press.refs, press.button) == (
        PERSON,
        fake.channel,
        (first, fake.channel),
        "n",
    )
    assert (elsewhere.chat, elsewhere.refs) == (fake.other, (fake.other,))
    assert (on_message.chat, on_message.refs) == (fake.channel, (fake.channel, first))
    assert [body["type"] for _, body in fake.callbacks] == [6]  # a deferred update
    answer = fake.posts[-1]
    assert answer["channel_id"] == thread
    assert answer["content"] == "sent \\*y\\*"
    assert answer["message_reference"]["message_id"] == int(reply_id(fake, "y"))
    assert answer["allowed_mentions"]["replied_user"] is False
    [toast] = fake.followups
    assert toast["content"] == "sent \\*y\\*" and toast["flags"] & 64  # ephemeral
    intents = fake.identifies[0]["intents"]
    assert intents & (1 << 15), "the message content intent"


def reply_id(fake: FakeDiscord, text: str) -> str:
    [found] = [m["id"] for m in fake.messages.values() if m["content"] == text]
    return str(found)


def test_a_short_429_is_retried_and_posts_once(fake: FakeDiscord) -> None:
    async def scenario(made: DiscordChannel) -> None:
        await made.post(Message("warm-up", "run1", "note"))
        fake.throttle(1, 0.2)
        await made.post(Message("after a 429", "run1", "note", thread=fake.threads[0]["id"]))

    run(scenario, fake)
    assert [p["content"] for p in fake.posts] == ["warm-up", "after a 429"]
    thread = fake.threads[0]["id"]
    assert fake.requests.count(f"POST /api/v10/channels/{thread}/messages") == 2


def test_a_long_429_is_throttled_with_its_retry_after(fake: FakeDiscord) -> None:
    async def scenario(made: DiscordChannel) -> None:
        await made.post(Message("warm-up", "run1", "note"))
        fake.throttle(1, 45.0)
        with pytest.raises(Throttled) as caught:
            await made.post(Message("throttled", "run1", "note"))
        assert caught.value.after == 45.0

    run(scenario, fake)
    assert [p["content"] for p in fake.posts] == ["warm-up"]


def test_429s_until_the_deadline_are_throttled_not_waited_out(fake: FakeDiscord) -> None:
    async def scenario(made: DiscordChannel) -> None:
        await made.post(Message("warm-up", "run1", "note"))
        made.deadline = 1.0
        fake.throttle(1000, 0.6)
        with pytest.raises(Throttled) as caught:
            await made.post(Message("throttled", "run1", "note"))
        assert 0 <= caught.value.after <= 0.6

    run(scenario, fake)
    assert [p["content"] for p in fake.posts] == ["warm-up"]
    tries = fake.requests.count(f"POST /api/v10/channels/{fake.threads[0]['id']}/messages")
    tries += fake.requests.count(f"POST /api/v10/channels/{fake.channel}/messages") - 1
    assert 1 <= tries < 5  # discord.py alone tries five times (3 s here) before it gives up


def test_a_network_cut_is_unreachable_and_the_retry_posts_once(fake: FakeDiscord) -> None:
    async def scenario(made: DiscordChannel) -> None:
        first = await made.post(WAITING)
        fake.cut()
        later = Message("got:y", "run1/ask", "output", thread=first.thread)
        with pytest.raises(Unreachable):
            await made.post(later)
        fake.up()
        await made.post(later)

    run(scenario, fake)
    assert [p["content"] for p in fake.posts][1:] == ["got:y"]


def test_an_answer_lost_after_the_message_was_made_does_not_make_it_twice(
    fake: FakeDiscord,
) -> None:
    async def scenario(made: DiscordChannel) -> tuple[Any, Any]:
        await made.post(Message("warm-up", "run1", "note"))
        made.deadline = 1.0
        fake.stall(1, 3.0)
        first = replace(WAITING, id="5e0d7c1a9b8f4e2d8c6a4b2f0e1d3c5a")  # as the outbox gives
        with pytest.raises(Unreachable):
            await made.post(first)
        made.deadline = 25.0
        again = await made.post(replace(first, text="(1 dropped)\n" + first.text))  # a retry
        other = await made.post(Message("a new message", "run1", "note"))
        return again, other

    again, other = run(scenario, fake)
    assert [p["content"] for p in fake.posts][1:] == [
        discord_text.content(WAITING),
        "a new message",
    ]
    assert fake.posts[1]["nonce"] == "7c1a9b8f4e2d8c6a4b2f0e1d3c5a"[-25:]
    assert again.ids == (fake.posts[1]["id"],) and again.thread == fake.posts[1]["id"]
    assert other.ids == (fake.posts[2]["id"],)


def test_a_server_error_is_unreachable(fake: FakeDiscord) -> None:
    async def scenario(made: DiscordChannel) -> None:
        await made.post(Message("warm-up", "run1", "note"))
        fake.fail(503, 1)
        with pytest.raises(Unreachable):
            await made.post(Message("lost", "run1", "note"))

    run(scenario, fake)
    assert [p["content"] for p in fake.posts] == ["warm-up"]


def test_a_wrong_token_is_rejected_for_posting_and_receiving(
    fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "not-the-token")

    async def scenario(made: DiscordChannel) -> None:
        with pytest.raises(Rejected, match="refused the bot token"):
            await made.post(WAITING)
        with pytest.raises(Rejected, match="refused the bot token"):
            await made.receive(nowhere)

    run(scenario, fake)
    assert fake.posts == []


def test_a_bot_without_the_message_content_intent_is_told_so(fake: FakeDiscord) -> None:
    fake.content_intent = False

    async def scenario(made: DiscordChannel) -> None:
        with pytest.raises(Rejected, match="turn on its Message Content Intent"):
            await made.receive(nowhere)

    run(scenario, fake)


def test_a_gone_thread_gets_a_new_message_and_thread(fake: FakeDiscord) -> None:
    async def scenario(made: DiscordChannel) -> Any:
        return await made.post(Message("still here", "run1/ask", "note", thread="123456789"))

    posted = run(scenario, fake)
    [post] = fake.posts
    assert post["channel_id"] == fake.channel
    assert posted.thread == post["id"] == fake.threads[0]["id"]


def test_a_cut_gateway_raises_then_resumes_with_what_was_said_meanwhile(
    fake: FakeDiscord,
) -> None:
    async def scenario(made: DiscordChannel) -> list[Incoming]:
        receiving = Receiving(made)
        await until(lambda: fake.connected, "the bot is on the gateway")
        fake.cut()
        with pytest.raises(Unreachable):
            await receiving.task
        fake.say(PERSON, "said during the cut")
        fake.up()
        again = Receiving(made)
        await until(lambda: again.got, "the missed message")
        await again.stop()
        return again.got

    got = run(scenario, fake)
    assert [i.text for i in got] == ["said during the cut"]
    assert fake.resumes == 1 and len(fake.identifies) == 1


def test_receiving_with_the_service_unreachable_raises(fake: FakeDiscord) -> None:
    fake.cut()

    async def scenario(made: DiscordChannel) -> None:
        with pytest.raises(Unreachable):
            await made.receive(nowhere)

    run(scenario, fake)
    fake.up()


@pytest.mark.parametrize("what", ["waiting", "note"])
def test_a_text_escaped_past_the_limit_is_cut_to_it(what: str) -> None:
    link = "http://127.0.0.1:1/run_1/a_b"
    text = "*" * 1500 + f"the end\nmore: {link}"
    message = Message(text, "run1/ask", what, title="t", link=link)
    found = discord_text.content(message)
    assert len(found) <= discord_text.LIMIT
    assert found.startswith("**t**\n") and found.endswith(f"\nmore: <{link}>")
    if what == "waiting":
        assert "…" in found and "the end" in found  # a screen keeps its last lines
    else:
        assert "the end" not in found and found.count("…") == 1
