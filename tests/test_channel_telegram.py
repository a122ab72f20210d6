"""The Telegram channel (python-telegram-bot, unchanged) against a local stand-in of the
Bot API (tests/fakes/telegram_api.py): what it posts, what it hands in, how it fails."""

from __future__ import annotations

import asyncio
import os
import stat
import time
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import pytest

from tests.fakes.telegram_api import CHAT, TOKEN, TelegramAPI
from tmuxorch.channels.base import (
    Button,
    Channel,
    Conflict,
    Incoming,
    Message,
    Rejected,
    Throttled,
    Unreachable,
)
from tmuxorch.channels.receiver_lock import lock_path
from tmuxorch.channels.telegram import make
from tmuxorch.spec.user_config import load_user_config

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from pathlib import Path

ADA = 1001
YES_NO = (Button("yes", "y"), Button("no", "n"))


def waiting(text: str = "Continue? (y/n)", thread: str | None = None) -> Message:
    return Message(text=text, key="r1/build", what="waiting", buttons=YES_NO, thread=thread)


def channel(
    api: TelegramAPI, tmp: Path, *extra: str, token: str = TOKEN, chat: object = CHAT
) -> Channel:
    os.environ["TEST_TELEGRAM_TOKEN"] = token
    config = tmp / "config.yaml"
    config.write_text(
        "channels:\n  telegram:\n    token_env: TEST_TELEGRAM_TOKEN\n"
        f"    chat: {chat}\n    api_url: {api.url}\n    allow: [{ADA}]\n"
        + "".join(f"    {line}\n" for line in extra)
    )
    (spec,) = load_user_config(str(config)).channels
    return make(spec)


@asynccontextmanager
async def stand_in(**kwargs: object) -> AsyncIterator[TelegramAPI]:
    api = TelegramAPI(**kwargs)  # type: ignore[arg-type]
    try:
        yield api
    finally:
        api.close()


async def until(check: Callable[[], object], timeout: float = 15.0) -> None:
    """Let the channel work until ``check()`` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never happened: {check}"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def receiving(ch: Channel) -> AsyncIterator[asyncio.Queue[Incoming]]:
    """``ch.receive`` running; what it hands in lands in the queue."""
    got: asyncio.Queue[Incoming] = asyncio.Queue()
    task = asyncio.create_task(ch.receive(got.put))
    try:
        yield got
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def next_in(got: asyncio.Queue[Incoming]) -> Incoming:
    return await asyncio.wait_for(got.get(), 15)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


def test_a_waiting_message_carries_its_buttons_and_later_ones_reply_to_it(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            ch = channel(api, tmp_path)
            text = "Continue? *bold* <b>x</b> [a](b) (y/n)"
            first = await ch.post(waiting(text))
            (sent,) = api.sent()
            assert sent["text"] == text and "parse_mode" not in sent  # plain text
            assert str(sent["chat_id"]) == str(CHAT)
            keys = [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]
            assert [(b["text"], b["callback_data"]) for b in keys] == [("yes", "y"), ("no", "n")]
            assert "reply_parameters" not in sent
            made = api.calls[-1].result["message_id"]
            assert first.thread == str(made) and first.ids == (str(made),)

            second = await ch.post(Message("got:y", "r1/build", "finished", thread=first.thread))
            later = api.sent()[1]
            assert later["reply_parameters"]["message_id"] == made
            assert "reply_markup" not in later
            assert second.thread == first.thread
            assert second.ids == (str(api.calls[-1].result["message_id"]),) != first.ids
            await ch.close()

    run(test)


def test_the_text_is_said_as_the_router_made_it(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            ch = channel(api, tmp_path)
            link = "http://127.0.0.1:8765/#run=r1"
            text = f"run r1 finished\nmore: {link}"  # the router adds the link
            await ch.post(Message(text, "r1", "finished", title="run r1 finished", link=link))
            await ch.post(Message("", "r1", "note", title="a title alone"))
            assert [m["text"] for m in api.sent()] == [text, "a title alone"]
            astral = "🙂" * 3000  # 6000 UTF-16 units: Telegram's count
            await ch.post(Message(astral, "r1", "output"))
            said = api.sent()[-1]
            assert said["disable_notification"] is True
            assert said["text"].startswith("🙂") and said["text"].endswith("…")
            assert len(said["text"].encode("utf-16-le")) <= 2 * 4096
            await ch.close()

    run(test)


def test_with_topics_each_key_gets_a_forum_topic_made_once(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in(forums=(CHAT,)) as api:
            ch = channel(api, tmp_path, "topics: true")
            first = await ch.post(waiting())
            (topic,) = api.sent("createForumTopic")
            assert topic["name"] == "r1/build"
            thread = api.calls[-2].result["message_thread_id"]
            assert api.sent()[0]["message_thread_id"] == thread
            assert first.thread == str(thread)
            assert first.ids == (str(api.calls[-1].result["message_id"]),)

            again = await ch.post(Message("got:y", "r1/build", "finished", thread=first.thread))
            assert again.thread == first.thread and api.sent()[1]["message_thread_id"] == thread
            # a retry of a first post whose topic was made (its message throttled) reuses it
            api.throttle(retry_after=1, method="sendMessage")
            with pytest.raises(Throttled):
                await ch.post(Message("a", "r1/test", "waiting"))
            retried = await ch.post(Message("a", "r1/test", "waiting"))
            assert len(api.sent("createForumTopic")) == 2
            assert retried.thread == str(api.sent()[-1]["message_thread_id"]) != first.thread

            del api.topics[(CHAT, thread)]  # someone deleted the first topic
            moved = await ch.post(Message("b", "r1/build", "waiting", thread=first.thread))
            assert len(api.sent("createForumTopic")) == 3
            assert moved.thread == str(api.sent()[-1]["message_thread_id"]) != first.thread
            await ch.close()

    run(test)


def test_a_reply_and_a_button_press_are_handed_in_and_answered(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            ch = channel(api, tmp_path)
            posted = await ch.post(waiting())
            on = int(posted.ids[0])
            async with receiving(ch) as got:
                written = api.user_message(ADA, "y", reply_to=on, name="Ada")
                reply = await next_in(got)
                assert (reply.channel, reply.user, reply.name, reply.chat) == (
                    "telegram",
                    str(ADA),
                    "Ada",
                    str(CHAT),
                )
                assert reply.text == "y" and reply.button is None
                assert reply.refs == (str(on),)
                assert reply.answer is not None
                await reply.answer("sent to build")
                said = api.sent()[-1]
                assert said["text"] == "sent to build"
                assert said["reply_parameters"]["message_id"] == written["message_id"]

                query = api.press(ADA, on, "n")
                pressed = await next_in(got)
                assert (pressed.user, pressed.button, pressed.refs) == (str(ADA), "n", (str(on),))
                assert pressed.text == "" and pressed.answer is not None
                await pressed.answer("n sent to build")
                (ack,) = api.sent("answerCallbackQuery")
                assert ack["callback_query_id"] == query and ack["text"] == "n sent to build"
                assert api.sent()[-1]["reply_parameters"]["message_id"] == on
                assert got.empty()
            await ch.close()

    run(test)


def test_in_a_topic_a_message_refers_to_its_topic(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in(forums=(CHAT,)) as api:
            ch = channel(api, tmp_path, "topics: true")
            posted = await ch.post(waiting())
            assert posted.thread is not None
            topic = int(posted.thread)
            async with receiving(ch) as got:
                api.user_message(ADA, "y", thread=topic)
                written = await next_in(got)
                assert written.refs == (str(topic),)
                assert written.answer is not None
                await written.answer("ok")
                assert api.sent()[-1]["message_thread_id"] == topic
                api.press(ADA, int(posted.ids[0]), "y")
                pressed = await next_in(got)
                assert pressed.refs == (posted.ids[0], str(topic))
            await ch.close()

    run(test)


def test_its_own_messages_are_not_handed_in_other_chats_are(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in(chats=(CHAT, 555)) as api:
            ch = channel(api, tmp_path)
            async with receiving(ch) as got:
                api.user_message(api.bot["id"], "from the bot itself")
                api.user_message(ADA, "hello", chat=555)
                incoming = await next_in(got)
                assert (incoming.text, incoming.chat) == ("hello", "555")
                assert got.empty()
            await ch.close()

    run(test)


def test_a_chat_named_by_its_username_is_that_chat(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in(names={"ops_room": CHAT}) as api:
            ch = channel(api, tmp_path, chat="'@ops_room'")
            posted = await ch.post(waiting())
            assert api.sent()[0]["chat_id"] == "@ops_room"
            async with receiving(ch) as got:
                api.user_message(ADA, "y", reply_to=int(posted.ids[0]))
                assert (await next_in(got)).chat == "@ops_room"  # as the config says it
            await ch.close()

    run(test)


def test_receiving_again_goes_on_after_what_was_handed_in(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            ch = channel(api, tmp_path)
            api.user_message(ADA, "one")
            async with receiving(ch) as got:
                assert (await next_in(got)).text == "one"
            api.user_message(ADA, "two")
            async with receiving(ch) as got:
                assert (await next_in(got)).text == "two"
                await asyncio.sleep(0.3)
                assert got.empty()
            await ch.close()

    run(test)


def test_a_429_is_throttled_for_the_services_retry_after(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            ch = channel(api, tmp_path)
            api.throttle(retry_after=7, method="sendMessage")
            with pytest.raises(Throttled) as raised:
                await ch.post(waiting())
            assert raised.value.after == 7
            assert api.sent() == []
            await ch.post(waiting())
            assert len(api.sent()) == 1
            await ch.close()

    run(test)


def test_a_network_cut_is_unreachable_and_passes(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            ch = channel(api, tmp_path)
            await ch.post(waiting())
            got: asyncio.Queue[Incoming] = asyncio.Queue()
            polling = asyncio.create_task(ch.receive(got.put))
            await until(lambda: api.called("getUpdates"))
            api.cut()
            with pytest.raises(Unreachable):
                await asyncio.wait_for(polling, 15)
            with pytest.raises(Unreachable):
                await ch.post(waiting())
            api.up()
            await ch.post(waiting())
            assert len(api.sent()) == 2
            await ch.close()

    run(test)


def test_a_wrong_token_or_chat_is_rejected_without_the_token(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            wrong = "999:not-the-token"
            ch = channel(api, tmp_path, token=wrong)
            with pytest.raises(Rejected) as posting:
                await ch.post(waiting())
            with pytest.raises(Rejected):
                await ch.receive(lambda incoming: asyncio.sleep(0))
            assert "token was refused" in str(posting.value)
            assert wrong not in str(posting.value)
            await ch.close()

            spec = channel(api, tmp_path).spec
            os.environ.pop("TEST_TELEGRAM_TOKEN")
            with pytest.raises(Rejected, match=r"\$TEST_TELEGRAM_TOKEN is not set"):
                make(spec)

        async with stand_in(chats=()) as api:
            ch = channel(api, tmp_path)
            with pytest.raises(Rejected, match=r"(?i)chat not found"):
                await ch.post(waiting())
            await ch.close()

    run(test)


def test_another_poller_on_the_token_is_a_conflict(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            api.refuse_polls()
            ch = channel(api, tmp_path)
            with pytest.raises(Conflict, match="another program polls this bot"):
                await asyncio.wait_for(ch.receive(lambda incoming: asyncio.sleep(0)), 15)
            await ch.close()

    run(test)


def test_one_serve_receives_per_bot_token_a_second_only_posts(tmp_path: Path) -> None:
    async def test() -> None:
        async with stand_in() as api:
            first, second = channel(api, tmp_path), channel(api, tmp_path)
            async with receiving(first) as got:
                await until(lambda: api.called("getUpdates"))
                with pytest.raises(Conflict, match=rf"another tmuxorch serve \(pid {os.getpid()}"):
                    await second.receive(lambda incoming: asyncio.sleep(0))
                await second.post(waiting())
                assert len(api.sent()) == 1
                api.user_message(ADA, "y")
                assert (await next_in(got)).text == "y"
            path = lock_path("telegram", TOKEN)
            assert TOKEN not in path
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
            assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
            await first.close()  # lets go of the bot
            async with receiving(second) as got:
                api.user_message(ADA, "n")
                assert (await next_in(got)).text == "n"
            await second.close()

    run(test)
