"""Channels in serve (issue 13): the config, what is said and how it is cut, and the
outgoing webhook end to end — a real run, a real serve, a local receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING

import pytest

from tests.channel_helpers import ChannelServed, wait_file, waiting_command
from tests.conftest import eventually
from tests.fakes.webhook_sink import WebhookSink
from tests.test_run import start, tasks_file
from tmuxorch.channels import messages
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.user_config import load_user_config

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server


def config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return str(path)


def test_a_channel_config_is_read_with_its_kind_people_and_secrets(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "channels:\n"
        "  telegram: {token_env: TG, chat: -100123, allow: [42, bob], live_output: true}\n"
        "  ops: {kind: webhook, url: 'https://example.com/h', secret_file: s.txt}\n",
    )
    telegram, ops = load_user_config(path).channels
    assert (telegram.kind, telegram.allow, telegram.live_output) == (
        "telegram",
        ("42", "bob"),
        True,
    )
    assert telegram.text("chat") == "-100123"
    assert str(telegram.secret("token")) == "$TG"
    assert (ops.kind, ops.text("url")) == ("webhook", "https://example.com/h")
    assert ops.secret("secret").file == str(tmp_path / "s.txt")  # type: ignore[union-attr]


def test_bad_channel_settings_are_each_said_with_their_place(tmp_path: Path) -> None:
    path = config(
        tmp_path,
        "channels:\n"
        "  telegram: {token: '123:abc', chat: 1}\n"
        "  slack: {channel: C1, bot_token_env: 1bad}\n"
        "  pigeon: {url: 'http://x'}\n"
        "  ops: {kind: webhook, url: 'ftp://x', allow: [1]}\n",
    )
    with pytest.raises(SpecError) as raised:
        load_user_config(path)
    said = str(raised.value)
    assert f"{path}:2:21: channels.telegram.token: a secret is never written in the config" in said
    assert "channels.slack: app_token is needed: give app_token_env or app_token_file" in said
    assert "channels.slack.bot_token_env: '1bad' is not a variable name" in said
    assert f"{path}:4:3: channels.pigeon: unknown channel kind 'pigeon'" in said
    assert "channels.ops.url: expected an http:// or https:// URL, got 'ftp://x'" in said
    assert "channels.ops.allow: a webhook channel has no people" in said
    assert "channels.telegram: token is needed" not in said  # said once, as above
    assert "123:abc" not in said  # the secret is never repeated


def test_a_waiting_agent_is_said_with_its_screen_and_its_answers() -> None:
    lines = ["working...", "Apply the patch? (y/n)"]
    draft = messages.draft(
        {"type": "task-waiting", "run": "R1", "task": "api", "seq": 4, "last_lines": lines}
    )
    assert draft is not None
    assert (draft.key, draft.what, draft.urgent) == ("R1/api", "waiting", True)
    assert "Apply the patch? (y/n)" in draft.text
    assert [c.label for c in draft.choices] == ["y", "n"]
    assert messages.draft({"type": "task-activity", "run": "R1", "task": "api"}) is None


def test_long_text_is_cut_to_the_channel_and_keeps_its_end() -> None:
    text = "\n".join(f"line {i}" for i in range(2000))
    pieces = messages.split(text, 4096)
    assert all(len(p) <= 4096 for p in pieces)
    assert "\n".join(pieces) == text
    assert messages.split("x" * 10, 4) == ["xxxx", "xxxx", "xx"]
    cut = messages.cut(text, 100, "\nmore: L")
    assert len(cut) <= 100 and cut.endswith("line 1999\nmore: L") and cut.startswith("…")
    drafts = messages.output("R", "t", text.split("\n"), 4096)
    assert len(drafts) == messages.MORE_PIECES
    assert drafts[0].text.startswith("… ") and drafts[-1].text.endswith("line 1999")
    assert all(len(d.text) <= 4096 for d in drafts)


def test_an_event_read_twice_is_said_once() -> None:
    said = messages.Said()
    event = {"type": "task-waiting", "run": "R", "seq": 7}
    assert said.first(event) and not said.first(event)
    assert said.first({**event, "run": "other"})


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    receiver = WebhookSink()
    yield receiver
    receiver.close()


def _served(tmux_server: Server, tmp_path: Path, sink: WebhookSink) -> ChannelServed:
    return ChannelServed(
        tmux_server,
        tmp_path / "home",
        f"""
        channels:
          ops:
            kind: webhook
            url: {sink.url}/hook
            secret_env: HOOK_SECRET
        """,
        env={"HOOK_SECRET": "s3cret"},
    )


def test_the_webhook_is_told_once_of_a_wait_a_failure_and_the_end_signed(
    tmux_server: Server, tmp_path: Path, sink: WebhookSink
) -> None:
    served = _served(tmux_server, tmp_path, sink)
    out = tmp_path / "answer"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: ask
            command: {json.dumps(waiting_command(out))}
          - id: bad
            command: "exit 3"
        """,
    )
    try:
        proc = start(tmux_server, file)
        eventually(lambda: "waiting" in sink.events() or None, what="the wait is told")
        waiting = next(m for m in sink.received if m["event"] == "waiting")
        assert waiting["task"] == "ask" and waiting["urgent"] is True
        assert "Deploy now? (y/n)" in str(waiting["text"])
        buttons = waiting["buttons"]
        assert isinstance(buttons, list) and [b["label"] for b in buttons] == ["y", "n"]
        assert str(waiting["link"]).startswith(served.url) and "task=ask" in str(waiting["link"])
        # answered from the terminal side; the run then ends
        served.call("POST", "/api/send", {"target": "ask", "text": "y"})
        assert wait_file(out) == "[y]"
        proc.wait(timeout=60)
        eventually(lambda: "finished" in sink.events() or None, what="the end is told")
        assert sorted(sink.events()) == ["failed", "finished", "waiting"]  # each once
        failed = next(m for m in sink.received if m["event"] == "failed")
        assert failed["task"] == "bad" and "exit 3" in str(failed["text"])
        for raw, headers in zip(sink.raw, sink.headers, strict=True):
            mac = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
            assert headers["X-Tmuxorch-Signature-256"] == f"sha256={mac}"
        assert "s3cret" not in served.output()
    finally:
        served.stop()


def test_a_429_and_a_cut_network_lose_nothing_and_repeat_nothing(
    tmux_server: Server, tmp_path: Path, sink: WebhookSink
) -> None:
    served = _served(tmux_server, tmp_path, sink)
    sink.refuse = [429]
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: one, command: "exit 1"}
          - {id: two, command: "sleep 3; exit 2"}
        """,
    )
    try:
        proc = start(tmux_server, file)
        eventually(lambda: len(sink.received) == 1 or None, what="the first after a 429")
        assert sink.tries == 2  # the 429, then the same message again
        sink.cut()
        proc.wait(timeout=60)
        served.wait_logged(r"channel ops: unreachable")
        sink.up()
        eventually(lambda: len(sink.received) == 3 or None, timeout=90, what="all delivered")
        assert sorted(sink.events()) == ["failed", "failed", "finished"]
        ids = [h["X-Tmuxorch-Delivery"] for h in sink.headers]
        assert len(set(ids)) == 3
        served.wait_logged(r"channel ops: rate limited")
        (status,) = served.channels()
        assert status["delivered"] == 3 and status["dropped"] == 0 and status["queued"] == 0
    finally:
        served.stop()


def test_serve_refuses_to_start_when_a_channel_secret_is_missing(
    tmux_server: Server, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError, match=r"HOOK_SECRET is not set"):
        ChannelServed(
            tmux_server,
            tmp_path / "home",
            """
            channels:
              ops: {kind: webhook, url: "http://127.0.0.1:9/h", secret_env: HOOK_SECRET}
            """,
        )


def test_work_that_needs_review_is_said_with_an_approve_button() -> None:
    event = {
        "type": "task-ended",
        "run": "R",
        "task": "api",
        "outcome": "needs_review",
        "reason": "touches the schema",
        "seq": 3,
    }
    draft = messages.draft(event)
    assert draft is not None and draft.what == "needs_review" and draft.urgent
    assert "touches the schema" in draft.text and "/reject api REASON" in draft.text
    assert draft.actions == (("Approve", "/approve api"),)
    blocked = messages.draft({**event, "outcome": "blocked"})
    assert blocked is not None and blocked.actions == () and "/unblock api NOTE" in blocked.text


def test_live_output_is_gathered_and_cut_to_the_channel(
    tmux_server: Server, tmp_path: Path, sink: WebhookSink
) -> None:
    served = ChannelServed(
        tmux_server,
        tmp_path / "home",
        f"""
        channels:
          ops: {{kind: webhook, url: "{sink.url}/hook", live_output: true, output_every: 1s}}
        """,
    )
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: talk, command: "for i in $(seq 1 40); do echo line $i; done; sleep 2"}
        """,
    )
    try:
        proc = start(tmux_server, file)
        proc.wait(timeout=60)
        eventually(lambda: "finished" in sink.events() or None, what="the end is told")
        shown = eventually(
            lambda: [m for m in sink.received if m["event"] == "output"] or None,
            what="the task's output",
        )
        text = "\n".join(str(m["text"]) for m in shown)
        assert "line 1" in text and "line 40" in text
        assert all(m["task"] == "talk" and m["link"] for m in shown)
        assert all(len(str(m["text"])) <= 16_000 for m in shown)
    finally:
        served.stop()
