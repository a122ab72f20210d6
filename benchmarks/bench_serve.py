"""``tmuxorch serve`` under watch: what viewers cost, and what an idle serve costs.

1. 50 SSE viewers of one busy pane (a task printing 200 lines a second): the CPU of the
   run's supervisor with no viewer and with 50 (the same: viewers hang off serve, which
   reads the run's files), and serve's own CPU with the 50;
2. serve idle beside a run of 20 idle panes: its CPU with no viewer, and with a WebSocket
   viewer on each of the 20 panes.

CPU is read from /proc (user + system time of the process over the window). Prints a
table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import common

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def share(pid: int, seconds: float) -> float:
    """Percent of one core ``pid`` used over the next ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / seconds


def start_serve(name: str, home: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = common.env() | {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tmuxorch", "serve", "-L", name, "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    found = re.search(r"(http://127\.0\.0\.1:\d+/)", first)
    if not found:
        raise SystemExit(f"serve did not start: {first}")
    token = (home / "config" / "tmuxorch" / "serve-token").read_text().strip()
    return proc, found.group(1), token


def start_run(name: str, folder: Path, tasks: list[str]) -> subprocess.Popen[bytes]:
    file = folder / "tasks.yaml"
    file.write_text("tasks:\n" + "".join(f"  - {t}\n" for t in tasks))
    return subprocess.Popen(
        [sys.executable, "-m", "tmuxorch", "run", "-L", name, str(file)],
        env=common.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def supervisor_pid(folder: Path) -> int:
    from tmuxorch.run.store import Store

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if (folder / ".tmuxorch" / "state.db").exists():
            store = Store(str(folder / ".tmuxorch"))
            try:
                runs = store.runs()
                if runs and runs[0].supervisor_pid:
                    return runs[0].supervisor_pid
            finally:
                store.close()
        time.sleep(0.1)
    raise SystemExit("no supervisor")


async def sse_viewers(url: str, token: str, n: int, seconds: float) -> int:
    """``n`` SSE viewers reading for ``seconds``; events they got in all."""
    got = 0

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal got
        async with session.get(url + "api/events") as response:
            async for line in response.content:
                if line.startswith(b"data: "):
                    got += 1

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        viewers = [asyncio.create_task(one(session)) for _ in range(n)]
        await asyncio.sleep(seconds)
        for viewer in viewers:
            viewer.cancel()
        await asyncio.gather(*viewers, return_exceptions=True)
    return got


async def ws_viewers(url: str, token: str, panes: list[str], seconds: float) -> int:
    got = 0

    async def one(session: aiohttp.ClientSession, pane: str) -> None:
        nonlocal got
        async with session.ws_connect(url + f"api/panes/{pane.lstrip('%')}/stream") as ws:
            async for _ in ws:
                got += 1

    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        viewers = [asyncio.create_task(one(session, p)) for p in panes]
        await asyncio.sleep(seconds)
        for viewer in viewers:
            viewer.cancel()
        await asyncio.gather(*viewers, return_exceptions=True)
    return got


def busy_pane(seconds: float) -> dict[str, float]:
    name, client = common.server()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        printer = "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.005; done"
        run = start_run(name, folder, [f"{{id: busy, command: '{printer}'}}"])
        serve, url, token = start_serve(name, folder / "home")
        try:
            supervisor = supervisor_pid(folder)
            time.sleep(1.0)
            alone = share(supervisor, seconds)
            before = {p: cpu_seconds(p) for p in (supervisor, serve.pid)}
            began = time.monotonic()
            events = asyncio.run(sse_viewers(url, token, 50, seconds))
            took = time.monotonic() - began
            used = {p: 100 * (cpu_seconds(p) - before[p]) / took for p in before}
        finally:
            serve.terminate()
            serve.wait()
            run.terminate()
            run.wait()
            client.cmd("kill-server")
    return {
        "supervisor_alone_pct": alone,
        "supervisor_with_50_viewers_pct": used[supervisor],
        "serve_with_50_viewers_pct": used[serve.pid],
        "events_delivered": events,
    }


def idle_panes(seconds: float) -> dict[str, float]:
    name, client = common.server()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run = start_run(name, folder, [f"{{id: t{i}, command: 'sleep 600'}}" for i in range(20)])
        serve, url, token = start_serve(name, folder / "home")
        try:
            supervisor_pid(folder)
            deadline = time.monotonic() + 30
            panes: list[str] = []
            while len(panes) < 20 and time.monotonic() < deadline:
                time.sleep(0.2)
                panes = [p for p in client.cmd("list-panes", "-a", "-F", "#{pane_id}")][1:]
            time.sleep(2.0)  # serve has found the run
            idle = share(serve.pid, seconds)
            before = cpu_seconds(serve.pid)
            began = time.monotonic()
            asyncio.run(ws_viewers(url, token, panes[-20:], seconds))
            watched = 100 * (cpu_seconds(serve.pid) - before) / (time.monotonic() - began)
        finally:
            serve.terminate()
            serve.wait()
            run.terminate()
            run.wait()
            client.cmd("kill-server")
    return {"serve_idle_20_panes_pct": idle, "serve_20_ws_viewers_idle_panes_pct": watched}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args, _ = parser.parse_known_args()
    busy = busy_pane(args.seconds)
    idle = idle_panes(args.seconds)
    print("serve benchmark (CPU as % of one core)")
    print(f"  {'what':<52}{'measured':>10}{'goal':>10}")
    rows = [
        ("supervisor, busy pane, no viewer", busy["supervisor_alone_pct"], ""),
        ("supervisor, busy pane, 50 SSE viewers", busy["supervisor_with_50_viewers_pct"], "same"),
        ("serve, 50 SSE viewers of the busy pane", busy["serve_with_50_viewers_pct"], "10%"),
        ("serve idle beside 20 idle panes", idle["serve_idle_20_panes_pct"], "1%"),
        (
            "serve, 20 WebSocket viewers of idle panes",
            idle["serve_20_ws_viewers_idle_panes_pct"],
            "",
        ),
    ]
    for what, value, goal in rows:
        print(f"  {what:<52}{value:>9.1f}%{goal:>10}")
    print(f"  (events delivered to the 50 SSE viewers: {busy['events_delivered']:.0f})")
    common.write_results("bench_serve", {"busy": busy, "idle": idle, "seconds": args.seconds})


if __name__ == "__main__":
    main()
