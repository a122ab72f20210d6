"""``tmuxorch mcp`` driven by the MCP SDK's own client over stdio (``python -m tmuxorch mcp``
as a real child process), against real runs on real tmux."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import anyio
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from tests.conftest import ROOT, tmux_env
from tests.test_run import states, tasks_file

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from tests.conftest import Server

TOOLS = {
    "list_runs",
    "run_status",
    "task_output",
    "send_input",
    "stop_tasks",
    "retry_tasks",
    "add_task",
    "start_run",
}


class Lead:
    """A lead agent's side of the conversation: call a tool, get its JSON or its error."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session

    async def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        result = await self.session.call_tool(tool, arguments)
        text = "".join(getattr(c, "text", "") for c in result.content)
        assert not result.is_error, f"{tool}: {text}"
        structured: dict[str, Any] | None = result.structured_content
        assert structured is not None
        assert json.loads(text) == structured  # the same for a client that reads text only
        return structured

    async def refused(self, tool: str, **arguments: Any) -> str:
        result = await self.session.call_tool(tool, arguments)
        text = "".join(getattr(c, "text", "") for c in result.content)
        assert result.is_error, f"{tool} was not refused: {text}"
        assert "Traceback" not in text
        return text

    async def soon(
        self, check: Callable[[], Awaitable[Any]], what: str, timeout: float = 30.0
    ) -> Any:
        """Poll ``check`` until it returns something truthy (a deadline only so a broken
        test ends)."""
        deadline = time.monotonic() + timeout
        while not (value := await check()):
            assert time.monotonic() < deadline, f"never became true: {what}: {value!r}"
            await anyio.sleep(0.05)
        return value


def lead_on(server: Server, tmp_path: Path, script: Callable[[Lead], Awaitable[None]]) -> None:
    """Run ``script`` against ``tmuxorch mcp -L SERVER``, a child process of the SDK's
    stdio client; its stderr is shown if the script fails."""
    errors = tmp_path / "mcp-stderr.txt"

    async def main() -> None:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "tmuxorch", "mcp", "-L", server.name],
            env=tmux_env(),
            cwd=str(ROOT),
        )
        with errors.open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                await script(Lead(session))

    try:
        anyio.run(main)
    except BaseException:
        print(errors.read_text() if errors.exists() else "(no stderr)", file=sys.stderr)
        raise


def test_tools_are_described_and_nothing_to_list_is_said(
    idle_server: Server, tmp_path: Path
) -> None:
    async def script(lead: Lead) -> None:
        listed = await lead.session.list_tools()
        tools = {tool.name: tool for tool in listed.tools}
        assert set(tools) == TOOLS
        for tool in tools.values():
            assert tool.description and len(tool.description) > 80, tool.name
        send = tools["send_input"].input_schema
        assert send["required"] == ["target"]
        assert "byte for byte" in send["properties"]["text"]["description"]
        assert await lead.call("list_runs") == {"runs": []}
        assert "no runs yet" in await lead.refused("run_status")
        assert "no run 'nosuch'" in await lead.refused("task_output", task="t", run="nosuch")

    lead_on(idle_server, tmp_path, script)


def test_a_bad_file_starts_nothing_and_says_where(idle_server: Server, tmp_path: Path) -> None:
    bad = tasks_file(tmp_path, "tasks:\n  - {id: a, command: 'true', depends_on: [nope]}\n")

    async def script(lead: Lead) -> None:
        said = await lead.refused("start_run", file=bad)
        assert f"{bad}:2:" in said and "nope" in said
        missing = await lead.refused("start_run", file=str(tmp_path / "missing.yaml"))
        assert "no such file" in missing

    lead_on(idle_server, tmp_path, script)
    assert not (tmp_path / ".tmuxorch" / "state.db").exists()
    assert not idle_server.running()  # not even a tmux server was started


def test_a_lead_starts_reads_answers_stops_retries_and_adds(
    tmux_server: Server, tmp_path: Path
) -> None:
    answer = tmp_path / "answer"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - id: ask
            command: >-
              echo ready; read -r answer; printf '%s\\n' "got [$answer]" > {answer};
              echo done-asking
          - id: long
            command: touch {tmp_path}/long.$TMUXORCH_ATTEMPT; echo long-$TMUXORCH_ATTEMPT; sleep 300
          - {{id: after, command: 'true', depends_on: [long]}}
          - {{id: keeper, command: 'sleep 300'}}
        """,
    )
    payload = "--help a;b $HOME 'q' \"x\" \\n é;"  # flags, quotes, $, \, a trailing ;

    async def script(lead: Lead) -> None:
        started = await lead.call("start_run", file=file)
        run = started["run"]
        assert started["file"] == file and started["resumed"] is False
        assert stat.S_IMODE(os.stat(started["log"]).st_mode) == 0o600
        assert "already runs" in await lead.refused("start_run", file=file)

        listed = await lead.call("list_runs")
        assert [(r["run"], r["file"]) for r in listed["runs"]] == [(run, file)]
        status = await lead.call("run_status", run=run)
        assert status["run"] == run and status["supervised"] is True
        assert [t["task"] for t in status["tasks"]] == ["ask", "long", "after", "keeper"]

        async def shows(task: str, text: str) -> dict[str, Any] | None:
            out = await lead.call("task_output", run=run, task=task)
            return out if text in out["text"] else None

        seen = await lead.soon(lambda: shows("ask", "ready"), "ask shows ready")
        assert seen["source"] == "pane" and seen["attempt"] == 1
        assert "unknown key" in await lead.refused("send_input", target="ask", keys=["Nope"])
        assert "nosuch" in await lead.refused("send_input", target="nosuch", text="x")
        sent = await lead.call("send_input", target="ask", text=payload)
        assert sent["delivered"] is True and sent["pane"].startswith("%")
        await lead.soon(lambda: shows("ask", "done-asking"), "ask answered")

        async def over(task: str, state: str) -> bool:
            return states(file).get(task) == state

        await lead.soon(lambda: over("ask", "succeeded"), "ask succeeded")
        done = await lead.call("task_output", task="ask", lines=1)  # the newest run
        assert done == {
            "run": run,
            "task": "ask",
            "state": "succeeded",
            "attempt": 1,
            "source": "transcript",
            "text": "done-asking\n",
        }

        assert "no task 'nosuch'" in await lead.refused("stop_tasks", run=run, tasks=["nosuch"])
        assert "give tasks" in await lead.refused("stop_tasks", run=run)
        await lead.soon(lambda: shows("long", "long-1"), "long runs")
        stopped = await lead.call("stop_tasks", run=run, tasks=["long"])
        assert stopped == {"run": run, "action": "stop", "tasks": ["long"]}
        await lead.soon(lambda: over("long", "stopped"), "long stopped")
        await lead.call("retry_tasks", run=run, tasks=["long"])
        await lead.soon(lambda: shows("long", "long-2"), "long again")

        added = await lead.call("add_task", run=run, task={"id": "extra", "command": "echo hi"})
        assert added["ok"] is True and added["task"] == "extra" and added["live"] is True
        await lead.soon(lambda: over("extra", "succeeded"), "extra ran")
        assert (await lead.call("task_output", run=run, task="extra"))["text"] == "hi\n"
        bad = await lead.refused(
            "add_task", run=run, task={"id": "worse", "agent": "nosuchagent", "prompt": "x"}
        )
        assert "task.agent" in bad and "nosuchagent" in bad
        needs = await lead.refused(
            "add_task", run=run, task={"id": "w", "command": "true", "depends_on": ["zz"]}
        )
        assert "task.depends_on" in needs

        await lead.call("stop_tasks", run=run, all_tasks=True)

        async def ended() -> bool:
            return (await lead.call("run_status", run=run))["supervised"] is False

        await lead.soon(ended, "the run is over")
        assert "not live" in await lead.refused("retry_tasks", run=run, tasks=["long"])

    lead_on(tmux_server, tmp_path, script)
    assert answer.read_text() == f"got [{payload}]\n"
    assert (tmp_path / "long.2").exists() and not (tmp_path / "long.3").exists()
    assert states(file)["after"] in ("skipped", "stopped")


def test_no_other_command_imports_the_mcp_sdk() -> None:
    """The MCP SDK pulls pydantic (slow to import): only ``tmuxorch mcp`` may load it."""
    code = (
        "import sys, tmuxorch.cli.app;"
        "print(sorted(m for m in ('mcp', 'pydantic') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=tmux_env(), check=True
    )
    assert result.stdout.strip() == "[]"
