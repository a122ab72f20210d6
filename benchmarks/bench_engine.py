"""How fast a run gets its first agents going.

1. in process: a supervisor whose session exists already, three tasks ready at once: from
   the call to ``run()`` until all three agents' processes run (each task's command notes
   the clock first thing), median of runs;
2. whole process: ``tmuxorch run FILE`` of three tasks on a fresh tmux server (no session
   yet): from starting the command until all three agents' processes run, median of runs.

Prints a table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import common

if TYPE_CHECKING:
    from tmuxorch.run.display import Display
    from tmuxorch.spec.model import Workspace
    from tmuxorch.tmux.client import Client

STAMP = "date +%s.%N > {log}.$TMUXORCH_TASK; "


def three_tasks(folder: Path, name: str) -> tuple[Path, Path]:
    log = folder / f"{name}.log"
    hold = folder / f"{name}.release"
    wait = f"while [ ! -e {hold} ]; do sleep 0.05; done"
    lines = ["tasks:"] + [
        f"  - {{id: t{i}, command: '{STAMP.format(log=log)}{wait}'}}" for i in range(3)
    ]
    file = folder / f"{name}.yaml"
    file.write_text("\n".join(lines) + "\n")
    return file, log


def all_running(log: Path, started: float, deadline: float = 30.0) -> float:
    """Seconds from ``started`` (wall clock) until the last of the three noted its start."""
    stamps: list[float] = []
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            stamps = [float(Path(f"{log}.t{i}").read_text()) for i in range(3)]
            break
        except (OSError, ValueError):
            time.sleep(0.005)
    if len(stamps) != 3:
        raise SystemExit(f"the three agents did not all start ({log})")
    return max(stamps) - started


def in_process(folder: Path, runs: int) -> dict[str, object]:
    from tmuxorch.run.supervisor import Supervisor
    from tmuxorch.spec.workspace import load_workspace

    os.environ.update(common.env())
    times = []
    for n in range(runs):
        file, log = three_tasks(folder, f"in{n}")
        ws = load_workspace(str(file)).workspace
        _, client = common.server()
        try:
            client.cmd("new-session", "-d", "-s", ws.session_name, "-x", "220", "-y", "50")
            result: list[int] = []

            def run(ws: Workspace = ws, client: Client = client, out: list[int] = result) -> None:
                out.append(Supervisor(ws, client, quiet_display(), fresh=True).run())

            thread = threading.Thread(target=run)
            started = time.time()
            thread.start()
            times.append(all_running(log, started))
            Path(f"{folder}/in{n}.release").touch()
            thread.join(timeout=60)
            if result != [0]:
                raise SystemExit(f"the in-process run failed: {result}")
        finally:
            client.cmd("kill-server")
    return {"median_ms": round(statistics.median(times) * 1000, 1), "runs": runs}


def quiet_display() -> Display:
    """A display that shows nothing (the benchmark's table is what it prints)."""
    from tmuxorch.run.display import Display

    class Quiet(Display):
        def event(self, text: str) -> None:
            del text

        def close(self, rows: object, title: str) -> None:
            del rows, title

    return Quiet()


def whole_process(folder: Path, runs: int) -> dict[str, object]:
    times = []
    for n in range(runs):
        file, log = three_tasks(folder, f"cli{n}")
        socket, client = common.server()
        try:
            started = time.time()
            proc = subprocess.Popen(
                [sys.executable, "-m", "tmuxorch", "run", "-L", socket, str(file)],
                env=common.env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                stdin=subprocess.DEVNULL,
            )
            times.append(all_running(log, started))
            Path(f"{folder}/cli{n}.release").touch()
            if proc.wait(timeout=60) != 0:
                raise SystemExit("the whole-process run failed")
        finally:
            client.cmd("kill-server")
    return {"median_ms": round(statistics.median(times) * 1000, 1), "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--whole", action="store_true", help="only the whole-process figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        inside = {"median_ms": float("nan")} if args.whole else in_process(folder, args.runs)
        whole = whole_process(folder, args.runs)
    report = {
        "benchmark": "engine",
        "three_ready_tasks_to_running_in_process": inside,
        "tmuxorch_run_three_tasks_to_running": whole,
        "goals": {"in_process_ms": 50, "whole_process_ms": 250},
    }
    print(f"engine benchmark (median of {args.runs} runs)")
    print(f"  {'what':<52} {'measured':>10} {'goal':>8}")
    print(
        f"  {'3 ready tasks -> 3 agents running (in process)':<52} "
        f"{inside['median_ms']:>8.1f}ms {50:>6}ms"
    )
    print(
        f"  {'tmuxorch run, 3 tasks, fresh server -> 3 running':<52} "
        f"{whole['median_ms']:>8.1f}ms {250:>6}ms"
    )
    common.write_results("bench_engine", report)


if __name__ == "__main__":
    main()
