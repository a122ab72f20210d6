"""The ntfy channel against a local stand-in of ntfy's HTTP API (tests/fakes/ntfy_api.py):
the real channel code, real HTTP; only the server is local."""

from __future__ import annotations

import asyncio
import textwrap
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from tests.fakes.ntfy_api import NtfyApi
from tmuxorch.channels.base import Button, Incoming, Message, Rejected, Throttled, Unreachable
from tmuxorch.channels.ntfy import ACTIONS, BUTTON_TAG, THROTTLED_FOR, Ntfy, make
from tmuxorch.spec.user_config import load_user_config

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from pathlib import Path

TOKEN = "tk_good"
WAITING = Message(
    text="Continue? (y/n)",
    key="run1/ask",
    what="waiting",
    title="ask is waiting — ¿sí o no? ✓",
    buttons=(Button("yes", "y-data"), Button("no", "n-data")),
    link="http://127.0.0.1:8765/#run1/ask",
    urgent=True,
)


@pytest.fixture
def api() -> Iterator[NtfyApi]:
    server = NtfyApi(token=TOKEN)
    yield server
    server.close()


def channel(
    tmp_path: Path,
    api: NtfyApi,
    monkeypatch: pytest.MonkeyPatch,
    *,
    extra: str = "",
    token: str = TOKEN,
    env: str = "TEST_NTFY_TOKEN",
) -> Ntfy:
    """The channel as the user config makes it (the token from an environment variable)."""
    monkeypatch.setenv(env, token)
    config = tmp_path / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""
            channels:
              phone:
                kind: ntfy
                url: {api.url}/jobs
                token_env: {env}
                allow: ["*"]
            """
        )
        + textwrap.indent(extra, " " * 4)
    )
    (spec,) = load_user_config(str(config)).channels
    made = make(spec)
    assert isinstance(made, Ntfy)
    return made


async def until(check: Callable[[], object], what: str) -> None:
    """Wait (in the loop) for ``check``: the deadline only ends a broken test."""
    deadline = time.monotonic() + 15
    while not check():
        assert time.monotonic() < deadline, f"never: {what}"
        await asyncio.sleep(0.02)


async def receiving(
    chan: Ntfy, api: NtfyApi, act: Callable[[], Awaitable[None]], count: int
) -> list[Incoming]:
    """Follow the reply topic, do ``act``, and collect ``count`` things handed in."""
    got: list[Incoming] = []

    async def inbox(incoming: Incoming) -> None:
        got.append(incoming)

    before = len(api.subscriptions)
    task = asyncio.create_task(chan.receive(inbox))
    await until(lambda: len(api.subscriptions) > before or task.done(), "the reply topic followed")
    await act()
    await until(lambda: len(got) >= count or task.done(), f"{count} incoming")
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return got


def test_a_waiting_message_is_one_notification_whose_buttons_answer_on_the_reply_topic(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch, extra="reply_topic: answers\n")
    assert chan.receives

    async def go() -> tuple[Incoming, tuple[str, ...]]:
        posted = await chan.post(WAITING)
        assert posted.thread is None  # ntfy has no threads
        again = await chan.post(
            Message("still waiting", key="run1/ask", what="note", thread=posted.thread)
        )
        assert again.thread is None
        made = api.on("jobs")[0]
        assert posted.ids[0] == made["id"]

        async def press() -> None:
            assert await asyncio.to_thread(api.press, made["actions"][1]) == 200

        (got,) = await receiving(chan, api, press, 1)
        assert got.answer is not None
        await got.answer("sent n to ask")
        await chan.close()
        return got, posted.ids

    incoming, ids = asyncio.run(go())
    made, second, answer = api.on("jobs")
    assert made["form"] == "json" and made["auth"] == f"Bearer {TOKEN}"
    assert made["message"] == "Continue? (y/n)"
    assert made["title"] == WAITING.title  # any script, no header escaping
    assert made["priority"] == 5 and made["click"] == WAITING.link
    assert second["message"] == "still waiting" and "priority" not in second
    actions = made["actions"]
    assert [a["label"] for a in actions] == ["yes", "no"]
    for action, data in zip(actions, ("y-data", "n-data"), strict=True):
        assert action["action"] == "http" and action["method"] == "POST"
        assert action["url"] == f"{api.url}/answers"
        assert action["body"] == data
        assert action["headers"]["Authorization"] == f"Bearer {TOKEN}"
    # the tap published the button's data on the reply topic; it came in as a press
    (tap,) = api.on("answers")
    assert tap["message"] == "n-data" and BUTTON_TAG in tap["tags"]
    assert incoming.user == "ntfy" and incoming.channel == "phone"
    assert incoming.button == "n-data" and incoming.text == ""
    assert incoming.refs and set(incoming.refs) <= set(ids)  # the post it was on
    assert answer["message"] == "sent n to ask" and answer["priority"] == 2  # quiet


def test_text_published_on_the_reply_topic_is_an_answer_and_nothing_is_handed_in_twice(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch, extra="reply_topic: answers\n")

    async def go() -> list[Incoming]:
        asked = await chan.post(replace(WAITING, id="q1"))
        assert asked.ids[1] == "tmuxorch-ref-q1"

        async def write() -> None:
            await asyncio.to_thread(api.inject, "answers", "y-data")  # no button tag: typed
            await asyncio.to_thread(api.inject, "answers", "ünïcode ; $HOME")

        first = await receiving(chan, api, write, 2)
        # the stream is cut; meanwhile someone answers; then the network is back
        before = len(api.subscriptions)
        task = asyncio.create_task(chan.receive(_drop))
        await until(lambda: len(api.subscriptions) > before, "followed again")
        await asyncio.to_thread(api.cut)
        with pytest.raises(Unreachable):
            await task
        await asyncio.to_thread(api.inject, "answers", "while you were away")
        await asyncio.to_thread(api.up)

        async def nothing() -> None:
            return None

        second = await receiving(chan, api, nothing, 1)
        await chan.close()
        return first + second

    got = asyncio.run(go())
    assert [(i.text, i.button) for i in got] == [
        ("y-data", None),
        ("ünïcode ; $HOME", None),
        ("while you were away", None),
    ]
    # no threads on ntfy: typed text answers the latest question asked
    assert all(i.user == "ntfy" and i.refs == ("tmuxorch-ref-q1",) for i in got)
    since = [s["query"].get("since") for s in api.subscriptions]
    assert since[0].isdigit()  # the first look: from when the channel was made
    assert since[-1] == api.on("answers")[1]["id"]  # after the last one seen


async def _drop(incoming: Incoming) -> None:
    raise AssertionError(f"nothing should come in: {incoming}")


def test_more_buttons_than_ntfy_shows_are_named_in_the_text(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch, extra="reply_topic: answers\n")
    buttons = tuple(Button(f"option {n}", str(n)) for n in range(1, 6))
    asyncio.run(chan.post(Message("Pick one", key="r/t", what="waiting", buttons=buttons)))
    (made,) = api.on("jobs")
    assert [a["body"] for a in made["actions"]] == ["1", "2", "3"][:ACTIONS]
    assert made["message"].endswith("Also: option 4, option 5 (publish the answer to answers)")


def test_without_a_reply_topic_nothing_comes_back_and_buttons_are_left_out(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch)
    assert not chan.receives
    asyncio.run(chan.post(WAITING))
    (made,) = api.on("jobs")
    assert "actions" not in made and made["message"] == WAITING.text
    asyncio.run(chan.receive(_drop))  # returns at once: there is nothing to follow
    assert api.subscriptions == []


def test_429_is_throttled_for_what_ntfy_says_then_delivered_once(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch)
    api.throttle(1, retry_after=7)
    api.throttle(1, retry_after=None)

    async def go() -> None:
        with pytest.raises(Throttled) as said:
            await chan.post(WAITING)
        assert said.value.after == 7
        with pytest.raises(Throttled) as said:
            await chan.post(WAITING)
        assert said.value.after == THROTTLED_FOR
        posted = await chan.post(replace(WAITING, id="same-on-each-try"))
        assert posted.ids[1] == "tmuxorch-ref-same-on-each-try"
        await chan.close()

    asyncio.run(go())
    assert len(api.on("jobs")) == 1
    assert [s for s, _ in api.refused] == [429, 429]


def test_a_network_cut_is_unreachable_and_a_bad_token_is_rejected(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch, extra="reply_topic: answers\n")
    bad = channel(
        tmp_path, api, monkeypatch, extra="reply_topic: answers\n", token="tk_wrong", env="OTHER"
    )

    async def go() -> None:
        await asyncio.to_thread(api.cut)
        with pytest.raises(Unreachable):
            await chan.post(WAITING)
        with pytest.raises(Unreachable):
            await chan.receive(_drop)
        await asyncio.to_thread(api.up)
        await chan.post(WAITING)
        with pytest.raises(Rejected):
            await bad.post(WAITING)
        with pytest.raises(Rejected):
            await bad.receive(_drop)
        for one in (chan, bad):
            await one.close()

    asyncio.run(go())
    assert len(api.on("jobs")) == 1
    assert [s for s, _ in api.refused] == [401, 401]


def test_a_token_named_but_not_set_is_rejected_without_a_request(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    chan = channel(tmp_path, api, monkeypatch)
    monkeypatch.delenv("TEST_NTFY_TOKEN")
    with pytest.raises(Rejected, match=r"\$TEST_NTFY_TOKEN is not set"):
        asyncio.run(chan.post(WAITING))
    assert api.messages == [] and api.refused == []


def test_a_channel_without_a_topic_or_its_token_cannot_be_made(
    tmp_path: Path, api: NtfyApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = channel(tmp_path, api, monkeypatch).spec
    monkeypatch.delenv("TEST_NTFY_TOKEN")
    with pytest.raises(Rejected, match=r"\$TEST_NTFY_TOKEN is not set"):
        make(spec)
    monkeypatch.setenv("TEST_NTFY_TOKEN", TOKEN)
    settings = tuple((k, api.url + "/" if k == "url" else v) for k, v in spec.settings)
    with pytest.raises(Rejected, match="url must be the topic's"):
        make(replace(spec, settings=settings))
