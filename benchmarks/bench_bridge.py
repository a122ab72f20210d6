"""The bridge: output latency, the cost of watching idle panes, the cost of ``send``.

1. latency from a ``print`` in a pane to a subscriber of the poller (a program prints its
   clock every 20 ms; the subscriber notes when each line first shows): p50 and p99;
2. CPU while watching 20 idle panes for ``--idle`` seconds: this process, and the tmux
   server's share;
3. ``tmuxorch send --no-enter %pane x`` as a whole process, against ``python -c pass`` plus
   one ``tmux send-keys`` (the floor for a Python CLI that sends keys): medians.

Prints a table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import common

from tmuxorch.bridge.frames import apply_patch
from tmuxorch.bridge.poller import Poller

if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

TICKER = "import time\nfor _ in range({n}):\n    print(f'tick {{time.time():.6f}}', flush=True)\n    time.sleep(0.02)\ntime.sleep(1)\n"


def server() -> tuple[str, Client]:
    return common.server(
        ("new-session", "-d", "-s", "bench", "-x", "160", "-y", "40"),
        ("set-option", "-g", "remain-on-exit", "on"),
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def latency(lines: int) -> dict[str, object]:
    _, client = server()
    try:
        return latency_on(client, "bench", lines)
    finally:
        client.cmd("kill-server")


def latency_on(client: Client, session: str, lines: int) -> dict[str, object]:
    """Print → subscriber delays of a ticker in a new window of ``session`` on ``client``'s
    server (one whose ``remain-on-exit`` is on), in ms."""
    script = Path(f"/tmp/tmuxorch-ticker-{uuid.uuid4().hex[:6]}.py")
    script.write_text(TICKER.format(n=lines))
    pane = client.cmd(
        "new-window",
        "-d",
        "-t",
        f"={session}:",
        "-P",
        "-F",
        "#{pane_id}",
        "--",
        sys.executable,
        str(script),
    )[0]
    poller = Poller(client)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe(maxsize=1_000_000)
    seen: dict[str, float] = {}
    screen = ""
    with poller:
        for event in sub:
            now = time.time()
            if event["type"] == "frame":
                screen = (
                    str(event["text"]) if event["key"] else apply_patch(screen, str(event["patch"]))
                )
                text = screen.split("\n")
            elif event["type"] == "lines":
                text = [str(x) for x in event["lines"]]  # type: ignore[attr-defined]
            else:
                text = []
            for line in text:
                if line.startswith("tick ") and line not in seen:
                    seen[line] = now
            if event["type"] == "exit":
                break
    script.unlink()
    delays = [(at - float(line.split()[1])) * 1000 for line, at in seen.items()]
    return {
        "p50_ms": round(statistics.median(delays), 2),
        "p95_ms": round(percentile(delays, 0.95), 2),
        "p99_ms": round(percentile(delays, 0.99), 2),
        "max_ms": round(max(delays), 2),
        "lines": len(delays),
    }


def _cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(panes: int, seconds: float) -> dict[str, object]:
    _, client = server()
    try:
        ids = [
            client.cmd(
                "new-window", "-d", "-t", "=bench:", "-P", "-F", "#{pane_id}", "--", "sleep", "600"
            )[0]
            for _ in range(panes)
        ]
        tmux_pid = int(client.cmd("display-message", "-p", "#{pid}")[0])
        poller = Poller(client)
        for pane in ids:
            poller.watch(pane)
        with poller:
            time.sleep(2.0)  # settled: first looks done, control client attached
            wall, ours, theirs = time.monotonic(), sum(os.times()[:2]), _cpu_of(tmux_pid)
            time.sleep(seconds)
            wall = time.monotonic() - wall
            ours = sum(os.times()[:2]) - ours
            theirs = _cpu_of(tmux_pid) - theirs
        return {
            "panes": panes,
            "seconds": seconds,
            "watcher_cpu_percent": round(100 * ours / wall, 2),
            "tmux_server_cpu_percent": round(100 * theirs / wall, 2),
        }
    finally:
        client.cmd("kill-server")


def send_cost(runs: int) -> dict[str, object]:
    socket, client = server()
    try:
        pane = client.cmd(
            "new-window", "-d", "-t", "=bench:", "-P", "-F", "#{pane_id}", "--", "cat"
        )[0]
        tmuxorch = Path(sys.prefix) / "bin" / "tmuxorch"
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "tmux send-keys": ["tmux", "-L", socket, "send-keys", "-t", pane, "-l", "--", "x"],
            "tmuxorch send": [str(tmuxorch), "send", "-L", socket, "--no-enter", pane, "x"],
        }
        samples: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(runs):
            for name, argv in commands.items():  # interleaved
                started = time.perf_counter()
                subprocess.run(argv, env=common.env(), check=True, stdout=subprocess.DEVNULL)
                samples[name].append((time.perf_counter() - started) * 1000)
        medians = {k: round(statistics.median(v), 2) for k, v in samples.items()}
        floor = medians["python -c pass"] + medians["tmux send-keys"]
        return {
            **medians,
            "floor_ms": round(floor, 2),
            "ratio": round(medians["tmuxorch send"] / floor, 3),
            "runs": runs,
        }
    finally:
        client.cmd("kill-server")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=41)
    args = parser.parse_args()
    lat = latency(args.lines)
    cpu = idle_cpu(20, args.idle)
    send = send_cost(args.runs)
    report = {
        "benchmark": "bridge",
        "latency": lat,
        "idle_cpu": cpu,
        "send": send,
        "goals": {
            "latency_p50_ms": 15,
            "latency_p99_ms": 100,
            "idle_cpu_percent": 1.0,
            "send_ratio": 1.2,
        },
    }
    print("bridge benchmark")
    print(f"  {'what':<52} {'measured':>12} {'goal':>10}")
    print(
        f"  {'print -> subscriber latency, p50 (' + str(lat['lines']) + ' lines)':<52} {lat['p50_ms']:>10}ms {15:>8}ms"
    )
    print(f"  {'print -> subscriber latency, p99':<52} {lat['p99_ms']:>10}ms {100:>8}ms")
    print(
        f"  {'CPU watching 20 idle panes (this process)':<52} {cpu['watcher_cpu_percent']:>11}% {1.0:>9}%"
    )
    print(f"  {'  ... and the tmux server meanwhile':<52} {cpu['tmux_server_cpu_percent']:>11}%")
    print(f"  {'tmuxorch send (whole process, median)':<52} {send['tmuxorch send']:>10}ms")
    print(f"  {'  python -c pass + tmux send-keys':<52} {send['floor_ms']:>10}ms")
    print(f"  {'  ratio':<52} {send['ratio']:>11}x {1.2:>9}x")
    common.write_results("bench_bridge", report)


if __name__ == "__main__":
    main()
