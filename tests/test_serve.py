"""``tmuxorch serve`` on a real loopback port, with real HTTP, SSE and WebSocket clients,
against real runs on real tmux."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import stat
import subprocess
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlparse

import aiohttp
import pytest

from tests.conftest import eventually, tmux_env, tmuxorch_argv
from tests.serve_helpers import Served
from tests.test_run import start, states, tasks_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from tests.conftest import Server


@pytest.fixture
def served(tmux_server: Server, tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def make(*extra: str) -> Served:
        one = Served(tmux_server, tmp_path / "home", *extra)
        started.append(one)
        return one

    yield make
    for one in started:
        if one.proc.poll() is None:
            one.stop()


def sse(
    one: Served, until: Callable[[list[dict[str, object]]], bool], last: str | None = None
) -> list[tuple[str, dict[str, object]]]:
    """Events from ``/api/events`` (after ``last``) until ``until(events)`` says enough."""
    where = urlparse(one.url)
    conn = http.client.HTTPConnection(str(where.hostname), where.port, timeout=60)
    headers = {"Authorization": f"Bearer {one.token}"}
    if last:
        headers["Last-Event-ID"] = last
    conn.request("GET", "/api/events", headers=headers)
    response = conn.getresponse()
    assert response.status == 200
    got: list[tuple[str, dict[str, object]]] = []
    ident = ""
    try:
        while not until([e for _, e in got]):
            line = response.fp.readline().decode()
            assert line, "the stream ended"
            if line.startswith("id: "):
                ident = line[4:].strip()
            elif line.startswith("data: "):
                got.append((ident, json.loads(line[6:])))
    finally:
        conn.close()
    return got


def test_every_request_needs_the_token_and_the_token_is_private(
    served: Callable[..., Served], tmp_path: Path
) -> None:
    one = served()
    assert "?token=" in one.first_line  # printed once, as a URL to open
    token_file = tmp_path / "home" / "config" / "tmuxorch" / "serve-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    for path in ("/api/runs", "/api/events", "/api/openapi.json", "/"):
        assert one.call("GET", path, token=None)[0] == 401
        assert one.call("GET", path, token="wrong-" + one.token)[0] == 401
    assert one.call("POST", "/api/send", {"target": "x", "text": "y"}, token=None)[0] == 401
    assert one.call("GET", "/api/runs")[0] == 200
    one.stop()
    again = served()
    assert "?token=" not in again.first_line and again.token == one.token


def test_a_remote_address_needs_saying_so(tmux_server: Server, tmp_path: Path) -> None:
    env = tmux_env(XDG_CONFIG_HOME=str(tmp_path / "c"), XDG_STATE_HOME=str(tmp_path / "s"))
    refused = subprocess.run(
        tmuxorch_argv("serve", "-L", tmux_server.name, "--host", "0.0.0.0", "--port", "0"),
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2 and "--allow-remote" in refused.stderr


def test_runs_and_tasks_as_status_json_shows_them(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    gate = tmp_path / "go"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: a, command: 'while [ ! -e {gate} ]; do sleep 0.05; done; echo alpha; echo beta'}}
          - {{id: b, command: 'exit 3', depends_on: [a]}}
        """,
    )
    proc = start(tmux_server, file)
    one = served()
    run = one.run_id()  # serve finds runs by their sessions: it has seen this one
    gate.touch()
    proc.communicate(timeout=120)
    shown = one.get(f"/api/runs/{run}")
    status = subprocess.run(
        tmuxorch_argv("status", "--json", "--file", file), capture_output=True, text=True
    )
    expected = json.loads(status.stdout)
    assert isinstance(shown, dict)
    assert shown == expected
    assert one.call("GET", f"/api/runs/{run}/tasks/a/log") == (200, "alpha\nbeta\n")
    assert one.call("GET", f"/api/runs/{run}/tasks/a/log?attempt=2")[0] == 404
    assert one.call("GET", "/api/runs/nosuch")[0] == 404
    listed = one.get("/api/runs")
    assert isinstance(listed, dict)
    assert listed["runs"][0]["states"] == {"succeeded": 1, "failed": 1}
    document = one.get("/api/openapi.json")
    assert isinstance(document, dict)
    assert {
        "/api/runs",
        "/api/runs/{run}",
        "/api/runs/{run}/tasks/{task}/log",
        "/api/events",
        "/api/panes/{pane}/stream",
        "/api/send",
        "/api/runs/{run}/stop",
        "/api/runs/{run}/retry",
        "/api/runs/{run}/tasks",
    } <= set(document["paths"])


def test_events_resume_across_a_restart_of_serve_with_nothing_lost(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    """A client that comes back with Last-Event-ID, to a serve restarted meanwhile, gets
    exactly the events it had not seen (the run wrote them while serve was down)."""
    gate = tmp_path / "gate"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: first, command: 'echo one'}}
          - {{id: second, command: 'while [ ! -e {gate} ]; do sleep 0.1; done; echo two',
              depends_on: [first]}}
          - {{id: third, command: 'echo three', depends_on: [second]}}
        """,
    )
    one = served()
    proc = start(tmux_server, file)
    seen = sse(
        one, lambda evs: any(e["type"] == "task-started" and e["task"] == "second" for e in evs)
    )
    last = seen[-1][0]
    one.stop()
    gate.touch()  # the run goes on while serve is down
    proc.communicate(timeout=120)
    again = served()
    rest = sse(again, lambda evs: any(e["type"] == "run-finished" for e in evs), last=last)
    log = [
        json.loads(line)
        for line in (tmp_path / ".tmuxorch" / "events.jsonl").read_text().splitlines()
    ]
    got = [e for _, e in seen] + [e for _, e in rest]
    assert got == log[len(log) - len(got) :]  # in order, none twice, none missing
    assert got[0] == log[0] or len(got) < len(log)
    kinds = [(e["type"], e.get("task")) for e in got]
    assert ("task-ended", "third") in kinds and kinds[-1] == ("run-finished", None)


def test_the_pane_stream_mirrors_the_screen_and_takes_keystrokes_byte_for_byte(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    out = tmp_path / "typed"
    program = "import sys,tty; tty.setraw(0); print('ready', flush=True); "
    program += f"open({str(out)!r}, 'wb').write(sys.stdin.buffer.read(12))"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: reader
            command: {json.dumps(sys.executable + " -c " + json.dumps(program))}
        """,
    )
    proc = start(tmux_server, file)
    one = served()
    eventually(lambda: states(file).get("reader") == "running")
    payload = "é;\x1b[A\t\r\x7fxy#"  # 12 bytes a terminal might send
    assert len(payload.encode()) == 12

    async def talk() -> list[dict[str, object]]:
        got: list[dict[str, object]] = []
        headers = {"Authorization": f"Bearer {one.token}"}
        url = one.url + "api/panes/reader/stream"
        async with aiohttp.ClientSession(headers=headers) as session, session.ws_connect(url) as ws:
            async for message in ws:
                event = json.loads(message.data)
                got.append(event)
                rows = event.get("rows")
                if event["type"] == "screen" and "ready" in json.dumps(rows):
                    await ws.send_json({"type": "input", "data": payload})
                if event["type"] in ("exit", "gone"):
                    break
        return got

    got = asyncio.run(asyncio.wait_for(talk(), 120))
    assert got[0]["type"] == "hello"
    first = next(e for e in got if e["type"] == "screen")
    assert first["key"] is True and first["size"] == [220, 49]  # 50 rows less the status line
    assert out.read_bytes() == payload.encode()
    proc.communicate(timeout=120)


def test_a_cross_origin_websocket_is_refused(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(tmp_path, "tasks:\n  - {id: s, command: 'sleep 60'}\n")
    proc = start(tmux_server, file)
    one = served()
    eventually(lambda: states(file).get("s") == "running")

    async def connect(origin: str) -> int:
        headers = {"Authorization": f"Bearer {one.token}", "Origin": origin}
        async with aiohttp.ClientSession(headers=headers) as session:
            try:
                async with session.ws_connect(one.url + "api/panes/s/stream"):
                    return 101
            except aiohttp.WSServerHandshakeError as exc:
                return exc.status

    assert asyncio.run(connect("http://evil.example")) == 403
    assert asyncio.run(connect(one.url.rstrip("/"))) == 101
    assert one.call("POST", "/api/send", {"target": "s", "text": "x"},
                    headers={"Origin": "http://evil.example"})[0] == 403  # fmt: skip
    subprocess.run(tmuxorch_argv("stop", "--all", "--file", file), env=tmux_env(), check=True)
    proc.communicate(timeout=120)


def test_send_stop_and_retry_over_http(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: ask, command: 'read answer; echo "got [$answer]" > {tmp_path}/answer'}}
          - {{id: long, command: 'touch {tmp_path}/long.$TMUXORCH_ATTEMPT; sleep 300'}}
          - {{id: keeper, command: 'sleep 300'}}
        """,
    )
    proc = start(tmux_server, file)
    one = served()
    run = one.run_id()
    eventually(lambda: (tmp_path / "long.1").exists(), what="long started")
    assert one.call("POST", "/api/send", {"target": "ask", "keys": ["Esc"]})[0] == 422
    assert one.call("POST", "/api/send", {"target": "nosuch", "text": "x"})[0] == 404
    assert one.call("POST", "/api/send", {"target": "ask"})[0] == 422
    text = "a;b $HOME 'q'"
    assert one.call("POST", "/api/send", {"target": "ask", "text": text})[0] == 200
    eventually(lambda: (tmp_path / "answer").exists(), what="the answer")
    assert (tmp_path / "answer").read_text() == f"got [{text}]\n"
    assert one.call("POST", f"/api/runs/{run}/stop", {"tasks": ["nosuch"]})[0] == 422
    assert one.call("POST", f"/api/runs/{run}/stop", {"tasks": ["long"]})[0] == 202
    eventually(lambda: states(file).get("long") == "stopped", what="long stopped")
    assert one.call("POST", f"/api/runs/{run}/retry", {"tasks": ["long"]})[0] == 202
    eventually(lambda: (tmp_path / "long.2").exists(), what="long again")
    assert one.call("POST", f"/api/runs/{run}/stop", {"all": True})[0] == 202
    proc.communicate(timeout=120)
    assert one.call("POST", f"/api/runs/{run}/retry", {"tasks": ["long"]})[0] == 409
    assert os.path.exists(tmp_path / "long.2")


def test_a_request_to_a_run_no_supervisor_runs_never_reaches_a_newer_run_of_its_file(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    """The supervisor of a file runs its latest run: a stop asked of an older run (its own
    supervisor gone) is refused, not carried out on the newer one's task of that name."""
    from tmuxorch.run.store import Store, state_dir

    file = tasks_file(tmp_path, "tasks: [{id: long, command: 'sleep 300'}]\n")
    first = start(tmux_server, file)
    eventually(lambda: states(file).get("long") == "running", what="long runs")
    first.kill()  # no goodbye: that run stays "running", with no supervisor
    first.wait(timeout=30)

    def latest() -> str:
        store = Store(state_dir(file))
        try:
            return store.runs(file)[0].id
        finally:
            store.close()

    old = latest()
    second = start(tmux_server, file, "--new")
    try:
        eventually(
            lambda: latest() != old and states(file).get("long") == "running",
            what="the new run's long",
        )
        one = served()
        status, body = one.call("POST", f"/api/runs/{old}/stop", {"tasks": ["long"]})
        assert status == 409 and "is not live" in str(body), (status, body)
        assert states(file).get("long") == "running"  # the newer run's task runs on
    finally:
        down = tmuxorch_argv("down", "-L", tmux_server.name, "-f", file)
        subprocess.run(down, env=tmux_env(), capture_output=True, check=False)
        second.communicate(timeout=60)
        tmux_server.client.cmd("kill-server")


def test_a_task_added_over_http_runs_and_bad_ones_get_422(
    served: Callable[..., Served], tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: keeper, command: 'while [ ! -e {tmp_path}/done ]; do sleep 0.1; done'}}
        """,
    )
    proc = start(tmux_server, file)
    one = served()
    run = one.run_id()
    eventually(lambda: states(file).get("keeper") == "running")
    status, body = one.call("POST", f"/api/runs/{run}/tasks", {"id": "late", "agent": "codr"})
    assert status == 422 and isinstance(body, dict)
    assert body["field"].endswith("agent") and "codr" in body["error"]
    bad = one.call("POST", f"/api/runs/{run}/tasks", {"id": "x", "depends_on": ["nosuch"],
                                                       "command": "true"})  # fmt: skip
    assert bad[0] == 422
    status, body = one.call(
        "POST",
        f"/api/runs/{run}/tasks",
        {"id": "late", "command": f"echo late > {tmp_path}/late; touch {tmp_path}/done"},
    )
    assert status == 201, body
    assert isinstance(body, dict) and body["task"] == "late"
    proc.communicate(timeout=120)
    assert states(file) == {"keeper": "succeeded", "late": "succeeded"}
    assert (tmp_path / "late").read_text() == "late\n"
    assert one.call("POST", "/api/runs/nosuch/tasks", {"id": "y", "command": "true"})[0] == 404
