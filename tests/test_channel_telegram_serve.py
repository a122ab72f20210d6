"""The Telegram channel end to end: a real ``tmuxorch serve`` (python-telegram-bot inside)
pointed at the local Bot API stand-in, a real run whose task asks a question."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.channel_helpers import ChannelServed, wait_file, waiting_command
from tests.conftest import eventually
from tests.fakes.telegram_api import CHAT, TOKEN, TelegramAPI
from tests.test_run import start, tasks_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server
    from tests.fakes.telegram_api import JSON

ADA = 1001
MALLORY = 666


@pytest.fixture
def api() -> Iterator[TelegramAPI]:
    stand_in = TelegramAPI()
    yield stand_in
    stand_in.close()


def served(server: Server, home: Path, api: TelegramAPI, *extra: str) -> ChannelServed:
    return ChannelServed(
        server,
        home,
        f"""
        channels:
          telegram:
            token_env: TG_TOKEN
            chat: {CHAT}
            api_url: {api.url}
            allow: [{ADA}]
        """
        + "".join(f"    {line}\n" for line in extra),
        env={"TG_TOKEN": TOKEN},
    )


def said(api: TelegramAPI, words: str) -> list[JSON]:
    """The bot's accepted messages with ``words`` in them."""
    return [m for m in api.sent() if words in str(m.get("text"))]


def asked(api: TelegramAPI, task: str) -> JSON:
    """The one waiting message of ``task`` (once it is there, with its buttons)."""
    found = eventually(lambda: said(api, f"{task} (run "), timeout=60, what=f"{task} asks")
    (message,) = [m for m in found if "waiting for you" in str(m["text"])]
    return message


def made(api: TelegramAPI, params: JSON) -> int:
    """The id the stand-in gave the message sent with ``params``."""
    call = next(c for c in api.calls if c.params is params)
    return int(call.result["message_id"])


def buttons(message: JSON) -> list[tuple[str, str]]:
    rows = message["reply_markup"]["inline_keyboard"]
    return [(b["text"], b["callback_data"]) for row in rows for b in row]


def test_a_waiting_task_gets_one_message_and_a_pressed_button_reaches_its_pane(
    tmux_server: Server, tmp_path: Path, api: TelegramAPI
) -> None:
    serve = served(tmux_server, tmp_path / "home", api)
    out = tmp_path / "answer"
    file = tasks_file(
        tmp_path, f"tasks:\n  - id: ask\n    command: {json.dumps(waiting_command(out))}\n"
    )
    try:
        proc = start(tmux_server, file)
        message = asked(api, "ask")
        assert "Deploy now? (y/n)" in message["text"] and "parse_mode" not in message
        assert [label for label, _ in buttons(message)] == ["y", "n"]
        on = made(api, message)
        yes = dict(buttons(message))["y"]

        api.press(MALLORY, on, yes)  # not on the allow list
        serve.wait_logged(rf"channel telegram: refused user {MALLORY} \(user{MALLORY}\)")
        eventually(lambda: said(api, "not allowed"), what="the refusal is answered")
        assert not out.exists()

        api.press(ADA, on, yes)
        assert wait_file(out) == "[y]"
        proc.wait(timeout=60)
        eventually(lambda: said(api, "finished"), timeout=60, what="the end is told")
        assert len(said(api, "waiting for you")) == 1
        acks = api.sent("answerCallbackQuery")
        assert len(acks) == 2 and "not allowed" in acks[0]["text"]
        assert TOKEN not in serve.output()
    finally:
        serve.stop()


def test_a_reply_in_the_tasks_thread_is_typed_in_byte_for_byte(
    tmux_server: Server, tmp_path: Path, api: TelegramAPI
) -> None:
    serve = served(tmux_server, tmp_path / "home", api)
    out = tmp_path / "answer"
    file = tasks_file(
        tmp_path, f"tasks:\n  - id: ask\n    command: {json.dumps(waiting_command(out))}\n"
    )
    typed = '  it\'s "ok" $HOME `x` ; \\ é ✓ *not bold*'
    try:
        proc = start(tmux_server, file)
        message = asked(api, "ask")
        api.user_message(MALLORY, "y", reply_to=made(api, message))
        serve.wait_logged(rf"refused user {MALLORY}")
        api.user_message(ADA, typed, reply_to=made(api, message))
        assert wait_file(out) == f"[{typed}]"
        proc.wait(timeout=60)
        assert not said(api, "[y]") and len(said(api, "waiting for you")) == 1
    finally:
        serve.stop()


def test_a_429_and_a_network_cut_lose_nothing_and_repeat_nothing(
    tmux_server: Server, tmp_path: Path, api: TelegramAPI
) -> None:
    serve = served(tmux_server, tmp_path / "home", api)
    out = tmp_path / "answer"
    api.throttle(retry_after=1, method="sendMessage")
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: one, command: "exit 1"}}
          - id: ask
            command: {json.dumps("sleep 4; " + waiting_command(out))}
        """,
    )
    try:
        proc = start(tmux_server, file)
        eventually(lambda: said(api, "one (run "), timeout=60, what="the failure, after a 429")
        assert [c.status for c in api.called("sendMessage")] == [429, 200]
        serve.wait_logged(r"channel telegram: rate limited")
        api.cut()  # before ask waits: its message meets a dead network
        serve.wait_logged(r"channel telegram: unreachable")
        api.up()
        message = asked(api, "ask")
        eventually(lambda: api.called("getUpdates"), what="polling again")
        api.user_message(ADA, "n", reply_to=made(api, message))
        assert wait_file(out, timeout=90) == "[n]"
        proc.wait(timeout=60)
        eventually(lambda: said(api, "finished"), timeout=90, what="the end is told")
        for words in ("one (run ", "waiting for you", "finished"):
            assert len(said(api, words)) == 1, words
        (status,) = serve.channels()
        assert status["dropped"] == 0 and status["queued"] == 0
    finally:
        serve.stop()


def test_a_second_serve_on_the_bot_only_posts_and_says_who_receives(
    tmux_server: Server, tmp_path: Path, api: TelegramAPI
) -> None:
    home = tmp_path / "home"  # one user: one state folder
    first = served(tmux_server, home, api)
    try:
        eventually(lambda: api.called("getUpdates"), what="the first polls")
        second = served(tmux_server, home, api)
        try:
            second.wait_logged(
                rf"channel telegram: another tmuxorch serve "
                rf"\(pid {first.proc.pid}\) receives for this telegram bot"
            )
        finally:
            second.stop()
        api.refuse_polls()  # and someone else polls the bot elsewhere
        first.wait_logged(r"channel telegram: another program polls this bot's updates")
    finally:
        first.stop()
