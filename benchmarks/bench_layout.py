"""How fast ``tmuxorch layout`` builds sessions, against ``tmuxp load``.

Whole process: ``tmuxorch layout -d`` vs ``tmuxp load -d -y`` on the same workspaces (one
window with 3 panes; 30 panes across 5 windows), runs interleaved, on a private tmux
server that is already running (both tools pay the same). In-process, for 3 and 30 panes:
"open" is the one tmux invocation that creates every pane; "ready" adds waiting for each
shell's prompt and typing its command. The same for panes whose program is ``sleep``
instead of a login shell shows the tmux floor (no shell start-up competing for the CPU).
Prints a table, writes JSON.

Run with ``./dev bench`` (a virtualenv that also has tmuxp). ``--runs N`` (default 15).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

from tmuxorch.spec.workspace import load_workspace
from tmuxorch.tmux.build import build
from tmuxorch.tmux.plan import plan

WORKSPACES = {
    "3 panes": (
        "session_name: bench3\n"
        "windows:\n"
        "  - window_name: main\n"
        "    layout: main-vertical\n"
        "    panes: [echo one, echo two, echo three]\n"
    ),
    "30 panes": "session_name: bench30\nwindows:\n"
    + "".join(
        f"  - window_name: w{w}\n    layout: tiled\n    panes: ["
        + ", ".join(f"echo w{w}p{p}" for p in range(6))
        + "]\n"
        for w in range(5)
    ),
}


def tool(name: str) -> str:
    found = Path(sys.prefix) / "bin" / name
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if not which:
        raise SystemExit(f"{name} is not installed here; run ./dev bench")
    return which


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def whole_process(runs: int, files: dict[str, Path], env: dict[str, str]) -> dict[str, object]:
    socket, server = common.server()
    commands = {
        "tmuxorch": lambda f: [tool("tmuxorch"), "layout", "-d", "-L", socket, str(f)],
        "tmuxp": lambda f: [tool("tmuxp"), "load", "-d", "-y", "-L", socket, str(f)],
    }
    results: dict[str, object] = {}
    try:
        for label, path in files.items():
            session = load_workspace(str(path)).workspace.session_name
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(runs):
                for name, argv in commands.items():  # interleaved: drift hits both alike
                    started = time.perf_counter()
                    done = subprocess.run(argv(path), env=env, capture_output=True, check=False)
                    samples[name].append(time.perf_counter() - started)
                    if done.returncode != 0:
                        raise SystemExit(f"{name} failed on {label}: {done.stderr.decode()}")
                    server.cmd("kill-session", "-t", f"={session}")
            ours, theirs = median_ms(samples["tmuxorch"]), median_ms(samples["tmuxp"])
            results[label] = {
                "tmuxorch_ms": round(ours, 1),
                "tmuxp_ms": round(theirs, 1),
                "ratio": round(theirs / ours, 2),
                "runs": runs,
                "samples_ms": {k: [round(v * 1000, 1) for v in s] for k, s in samples.items()},
            }
    finally:
        server.cmd("kill-server")
    return results


def in_process(runs: int, files: dict[str, Path], env: dict[str, str]) -> dict[str, object]:
    _, client = common.server()
    results: dict[str, object] = {}
    try:
        for label, path in files.items():
            ready: list[float] = []
            opened: list[float] = []
            loads: list[float] = []
            for _ in range(runs):
                started = time.perf_counter()
                ws = load_workspace(str(path)).workspace
                the_plan = plan(ws)
                planned = time.perf_counter()
                build(client, the_plan)
                ready.append(time.perf_counter() - planned)
                loads.append(planned - started)
                client.cmd("kill-session", "-t", f"={ws.session_name}")
                started = time.perf_counter()
                client.run(the_plan.structure)  # step 1 alone: every pane created
                opened.append(time.perf_counter() - started)
                client.cmd("kill-session", "-t", f"={ws.session_name}")
            results[label] = {
                "open_ms": round(median_ms(opened), 1),
                "ready_ms": round(median_ms(ready), 1),
                "load_and_plan_ms": round(median_ms(loads), 2),
                "runs": runs,
            }
    finally:
        client.cmd("kill-server")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = common.env()
    with tempfile.TemporaryDirectory() as tmp:
        files = {}
        for label, text in WORKSPACES.items():
            files[label] = Path(tmp) / f"{label.replace(' ', '-')}.yaml"
            files[label].write_text(text)
        programs = {}
        for label, text in WORKSPACES.items():
            programs[label] = Path(tmp) / f"{label.replace(' ', '-')}-sleep.yaml"
            programs[label].write_text(
                text.replace("session_name: bench", "session_name: sleep")
                .replace("[echo ", "[{shell: sleep 600, title: ")
                .replace(", echo ", "}, {shell: sleep 600, title: ")
                .replace("]\n", "}]\n")
            )
        whole = whole_process(args.runs, files, env)
        inside = in_process(args.runs, files, env)
        floor = in_process(args.runs, programs, env)
    version = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=True).stdout
    report = {
        "benchmark": "layout",
        "machine": {
            "tmux": version.strip(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
        },
        "whole_process": whole,
        "in_process": inside,
        "in_process_sleep_panes": floor,
        "goals": {
            "whole_process_ratio": {"3 panes": 3.0, "30 panes": 8.0},
            "in_process_open_ms": {"3 panes": 15.0, "30 panes": 100.0},
        },
    }
    print(
        f"layout benchmark: median of {args.runs} runs, {version.strip()}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    ratio_goal = {"3 panes": 3, "30 panes": 8}
    open_goal = {"3 panes": 15, "30 panes": 100}
    print("whole process (tmuxorch layout -d / tmuxp load -d -y):")
    print(f"  {'workspace':<10} {'tmuxorch':>9} {'tmuxp':>9} {'ratio':>7} {'goal':>6}")
    for label in WORKSPACES:
        w = whole[label]
        assert isinstance(w, dict)
        print(
            f"  {label:<10} {w['tmuxorch_ms']:>7.1f}ms {w['tmuxp_ms']:>7.1f}ms "
            f"{w['ratio']:>6.2f}x {ratio_goal[label]:>5}x"
        )
    print("in process:")
    print(f"  {'workspace':<10} {'panes are':<12} {'open':>8} {'goal':>6} {'ready+typed':>12}")
    for label in WORKSPACES:
        for kind, table in (("login shells", inside), ("sleep", floor)):
            i = table[label]
            assert isinstance(i, dict)
            ready = f"{i['ready_ms']:>10.1f}ms" if kind == "login shells" else f"{'-':>12}"
            print(
                f"  {label:<10} {kind:<12} {i['open_ms']:>6.1f}ms {open_goal[label]:>4}ms {ready}"
            )
    common.write_results("bench_layout", report)


if __name__ == "__main__":
    main()
