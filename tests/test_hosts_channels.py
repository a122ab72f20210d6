"""A chat channel and a task on another host: the task's question (seen by the run's
poller through the host's tmux) reaches the phone, and the phone's answer is typed into
the task's pane there, byte for byte, through a real ``tmuxorch serve`` and a real sshd."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.channel_helpers import ChannelServed, wait_file, waiting_command
from tests.fakes.ntfy_api import NtfyApi
from tests.sshd import missing
from tests.test_channel_ntfy_serve import TOKEN, titled
from tests.test_hosts_run import finish, host_yaml, start, write_tasks

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.conftest import Server
    from tests.sshd import Sshd

pytestmark = pytest.mark.skipif(missing() is not None, reason=str(missing()))


@pytest.fixture
def api() -> Iterator[NtfyApi]:
    server = NtfyApi(token=TOKEN)
    yield server
    server.close()


def test_a_phone_answers_a_task_waiting_on_another_host(
    tmux_server: Server, sshd: Sshd, tmp_path: Path, api: NtfyApi
) -> None:
    folder, answer = tmp_path / "on-a", tmp_path / "answer"
    file = write_tasks(
        tmp_path,
        host_yaml("a", sshd, folder),
        f"- {{id: ask, host: a, command: {json.dumps(waiting_command(answer))}}}\n",
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
        """,
        env={"NTFY_TOKEN": TOKEN},
    )
    try:
        proc = start(tmux_server, file)
        asked = titled(api, "jobs", "ask is waiting for input")
        assert "Deploy now? (y/n)" in asked["message"]
        text = "y; $(touch pwned) `touch pwned` 'q' ünï"
        api.inject("answers", text)  # typed on the phone: answers the latest question
        assert wait_file(answer) == f"[{text}]"
        code, out = finish(proc)
        assert code == 0, out
        assert "ask: started in %" in out and "@a" in out, out  # it ran there
        assert not list(tmp_path.rglob("pwned"))  # nothing of the text ran
    finally:
        served.stop()
