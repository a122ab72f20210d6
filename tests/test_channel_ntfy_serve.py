"""ntfy end to end: a real ``tmuxorch serve`` with ntfy channels pointed at a local ntfy
stand-in, a real run whose tasks wait for a person, and the phone's side played by the
test (tapping an action button, publishing to the reply topic)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.channel_helpers import ChannelServed, wait_file, waiting_command
from tests.conftest import eventually
from tests.fakes.ntfy_api import NtfyApi, Record
from tests.test_run import start, tasks_file

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server

TOKEN = "tk_phone_token"


@pytest.fixture
def api() -> Iterator[NtfyApi]:
    server = NtfyApi(token=TOKEN)
    yield server
    server.close()


def titled(api: NtfyApi, topic: str, title: str) -> Record:
    def found() -> Record | None:
        return next((m for m in api.on(topic) if m.get("title") == title), None)

    return eventually(found, timeout=60, what=f"{title!r} on {topic}")


def button(message: Record, label: str) -> Record:
    return next(a for a in message["actions"] if a["label"] == label)


def test_a_phone_answers_by_button_and_by_text_through_a_429_and_a_cut_network(
    tmux_server: Server, tmp_path: Path, api: NtfyApi
) -> None:
    first, second, gate = tmp_path / "first", tmp_path / "second", tmp_path / "gate"
    typed = f"while [ ! -e {gate} ]; do sleep 0.1; done; " + waiting_command(
        second, "Type it? (y/n) "
    )
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: ask
            command: {json.dumps(waiting_command(first))}
          - id: typed
            command: {json.dumps(typed)}
            depends_on: [ask]
        """,
    )
    served = ChannelServed(
        tmux_server,
        tmp_path / "home",
        f"""
        channels:
          phone:
            kind: ntfy
            url: {api.url}/jobs
            token_env: NTFY_TOKEN
            reply_topic: answers
            allow: ["*"]
          stranger:
            kind: ntfy
            url: {api.url}/other
            token_env: NTFY_TOKEN
            reply_topic: other-answers
            allow: [alice]
        """,
        env={"NTFY_TOKEN": TOKEN},
    )
    api.throttle(1, retry_after=1)  # the first publish: 429, then the same again
    try:
        proc = start(tmux_server, file)
        asked = titled(api, "jobs", "ask is waiting for input")
        assert asked["priority"] == 5 and "Deploy now? (y/n)" in asked["message"]
        assert [a["label"] for a in asked["actions"]] == ["y", "n"]
        assert str(asked["click"]).startswith(served.url)
        served.wait_logged(r"channel (phone|stranger): rate limited")
        # on the channel that allows only alice, the phone's tap is refused (and logged)
        elsewhere = titled(api, "other", "ask is waiting for input")
        assert api.press(button(elsewhere, "n")) == 200
        served.wait_logged(r"channel stranger: refused user ntfy .*: not allowed")
        eventually(lambda: any("not allowed" in m["message"] for m in api.on("other")))
        assert not first.exists()
        # the tap on the phone: its data comes back on the reply topic, into the pane
        assert api.press(button(asked, "y")) == 200
        assert wait_file(first) == "[y]"
        eventually(lambda: any(m["message"] == "sent to ask" for m in api.on("jobs")))
        # the network goes while the next task starts waiting; nothing is lost
        api.cut()
        gate.touch()
        served.wait_logged(r"channel phone: unreachable")
        api.up()
        waiting = titled(api, "jobs", "typed is waiting for input")
        text = "a;b $HOME 'q' ünï"
        api.inject("answers", text)  # typed on the phone: answers the latest question
        assert wait_file(second) == f"[{text}]"
        proc.communicate(timeout=120)
        run = served.run_id()
        titled(api, "jobs", f"run {run} finished")
        shown = [(m.get("title"), m["message"]) for m in api.on("jobs")]
        assert [title for title, _ in shown] == [
            "ask is waiting for input",
            None,  # "sent to ask": the answer to the tap
            "typed is waiting for input",
            f"run {run} finished",
        ]  # each once: no repeat after the 429 nor the cut
        assert waiting["actions"][0]["url"] == f"{api.url}/answers"
        assert [s for s, _ in api.refused] == [429]
        assert TOKEN not in served.output()
    finally:
        served.stop()
