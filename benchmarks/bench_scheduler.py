"""How fast the scheduler decides and reacts, and how much memory it needs.

1. validate + plan a 1,000-task DAG (read and check the file, build the graph, first ready
   set), in process, median of runs;
2. dependency done → dependent's process running: a chain of tasks, each printing the time
   it ends and the next the time it starts (both read from the same clock), median gap;
3. supervisor RSS with 50 live panes (``VmRSS`` of the ``tmuxorch run`` process once all 50
   agents run).

Prints a table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common

from tmuxorch.run.scheduler import Scheduler
from tmuxorch.run.store import Store, state_dir
from tmuxorch.spec.workspace import load_workspace


def big_dag(path: Path, count: int = 1000, seed: int = 7) -> None:
    rng = random.Random(seed)
    lines = ["max_parallel: 8", "tasks:"]
    for i in range(count):
        deps = sorted({f"t{rng.randrange(i)}" for _ in range(rng.randint(0, 3))}) if i else []
        dep = f", depends_on: [{', '.join(deps)}]" if deps else ""
        lines.append(f"  - {{id: t{i}, command: 'make part{i}', timeout: 5m, retries: 1{dep}}}")
    path.write_text("\n".join(lines) + "\n")


def validate_and_plan(path: Path, runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        ws = load_workspace(str(path)).workspace
        assert ws.tasks is not None
        scheduler = Scheduler(ws.tasks, ws.tasks.graph)
        ready = scheduler.startable(time.time())
        times.append(time.perf_counter() - started)
        assert ready
    return {"median_ms": round(statistics.median(times) * 1000, 1), "runs": runs}


def run_cli(socket: str, file: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tmuxorch", "run", "-L", socket, str(file), *args],
        env=common.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )


def reaction(tmp: Path, links: int) -> dict[str, object]:
    """Gap between a task's end and its dependent's start, over a chain."""
    log = tmp / "chain.log"
    stamp = f"date +%s.%N >> {log}.$TMUXORCH_TASK"
    lines = ["tasks:"]
    for i in range(links):
        dep = f", depends_on: [c{i - 1}]" if i else ""
        # start stamp first thing, end stamp last thing
        lines.append(f"  - {{id: c{i}, command: '{stamp}.start; {stamp}.end'{dep}}}")
    file = tmp / "chain.yaml"
    file.write_text("\n".join(lines) + "\n")
    socket, client = common.server()
    try:
        proc = run_cli(socket, file)
        if proc.wait(timeout=300) != 0:
            raise SystemExit("the chain run failed")
    finally:
        client.cmd("kill-server")
    gaps = []
    for i in range(1, links):
        end = float(Path(f"{log}.c{i - 1}.end").read_text())
        start = float(Path(f"{log}.c{i}.start").read_text())
        gaps.append((start - end) * 1000)
    return {
        "median_ms": round(statistics.median(gaps), 1),
        "p90_ms": round(sorted(gaps)[int(len(gaps) * 0.9)], 1),
        "links": links,
        "gaps_ms": [round(g, 1) for g in gaps],
    }


def rss_with_live_panes(tmp: Path, count: int) -> dict[str, object]:
    flag = tmp / "release"
    lines = ["tasks:"] + [
        f"  - {{id: p{i}, command: 'while [ ! -e {flag} ]; do sleep 0.2; done'}}"
        for i in range(count)
    ]
    file = tmp / "wide.yaml"
    file.write_text("\n".join(lines) + "\n")
    socket, client = common.server()
    try:
        proc = run_cli(socket, file)
        deadline = time.monotonic() + 120
        running = 0
        while time.monotonic() < deadline:
            store = Store(state_dir(str(file)))
            try:
                runs = store.runs(str(file))
                if runs:
                    running = sum(t.state == "running" for t in store.tasks(runs[0].id).values())
            finally:
                store.close()
            if running == count:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # a few loop rounds with everything live
        rss_kb = 0
        with open(f"/proc/{proc.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    rss_kb = int(line.split()[1])
        panes = len(client.cmd("list-panes", "-a", "-f", "#{@tmuxorch-task}"))
        flag.touch()
        proc.wait(timeout=120)
    finally:
        client.cmd("kill-server")
    return {"rss_mb": round(rss_kb / 1024, 1), "live_panes": panes, "running_tasks": running}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--links", type=int, default=21)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        dag = tmp / "dag.yaml"
        big_dag(dag)
        plan = validate_and_plan(dag, args.runs)
        react = reaction(tmp, args.links)
        memory = rss_with_live_panes(tmp, 50)
    report = {
        "benchmark": "scheduler",
        "validate_and_plan_1000_tasks": plan,
        "dependency_done_to_dependent_running": react,
        "supervisor_rss_50_live_panes": memory,
        "goals": {"validate_and_plan_ms": 100, "reaction_median_ms": 50, "rss_mb": 80},
    }
    print(f"scheduler benchmark ({args.runs} runs, chain of {args.links})")
    print(f"  {'what':<46} {'measured':>10} {'goal':>8}")
    print(
        f"  {'1,000-task DAG: validate + plan (median)':<46} {plan['median_ms']:>8.1f}ms {100:>6}ms"
    )
    print(
        f"  {'dependency done -> dependent running (median)':<46} "
        f"{react['median_ms']:>8.1f}ms {50:>6}ms   (p90 {react['p90_ms']} ms)"
    )
    print(
        f"  {'supervisor RSS, 50 live panes':<46} {memory['rss_mb']:>8.1f}MB {80:>6}MB"
        f"   ({memory['live_panes']} panes)"
    )
    common.write_results("bench_scheduler", report)


if __name__ == "__main__":
    main()
