"""Transcripts under load: 20 agents each printing 10,000 numbered lines a second for 10 s
under ``tmuxorch run``, and each one's last line printed right before it exits.

Measures how many transcripts are whole and in order (every line, once, in order, and the
last one), how long the run took, and the tmux server's memory (VmRSS, before and at its
largest during the run). Prints a table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import common

PRINTER = """
import sys, time
rate, seconds, name = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
out = sys.stdout
began = time.monotonic()
n = 0
total = int(rate * seconds)
while n < total:
    chunk = min(rate // 100, total - n)
    out.write("".join(f"{name} {i:07d}\\n" for i in range(n, n + chunk)))
    out.flush()
    n += chunk
    ahead = began + n / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
out.write(f"{name} last line\\n")
out.flush()
"""


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def whole(path: Path, name: str, total: int) -> bool:
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return False
    expected = [f"{name} {i:07d}" for i in range(total)] + [f"{name} last line"]
    return lines == expected


def load(folder: Path, panes: int, rate: int, seconds: float) -> dict[str, object]:
    script = folder / "printer.py"
    script.write_text(PRINTER)
    lines = ["tasks:"] + [
        f"  - {{id: p{i}, command: '{sys.executable} {script} {rate} {seconds} p{i}'}}"
        for i in range(panes)
    ]
    file = folder / "load.yaml"
    file.write_text("\n".join(lines) + "\n")
    socket, client = common.server()
    server_pid = int(client.cmd("display-message", "-p", "#{pid}")[0])
    before = rss_kb(server_pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kb(server_pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    began = time.monotonic()
    try:
        code = subprocess.run(
            [sys.executable, "-m", "tmuxorch", "run", "-L", socket, str(file)],
            env=common.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            timeout=900,
        ).returncode
        took = time.monotonic() - began
    finally:
        done.set()
        sampler.join()
        client.cmd("kill-server")
    total = int(rate * seconds)
    transcripts = list((folder / ".tmuxorch" / "transcripts").glob("*/*.1.txt"))
    complete = sum(whole(p, p.name.split(".")[0], total) for p in transcripts)
    return {
        "panes": panes,
        "lines_per_second_each": rate,
        "seconds": seconds,
        "run_exit": code,
        "run_seconds": round(took, 1),
        "transcripts_whole": complete,
        "transcripts": len(transcripts),
        "tmux_rss_mb_before": round(before / 1024, 1),
        "tmux_rss_mb_peak": round(peak[0] / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--panes", type=int, default=20)
    parser.add_argument("--rate", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=0, help="(ignored: one load run)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        report = load(Path(name), args.panes, args.rate, args.seconds)
    print(
        f"load benchmark: {args.panes} panes x {args.rate} lines/s x {args.seconds:g} s, "
        "then each pane's last line"
    )
    print(f"  {'what':<44} {'measured':>12} {'goal':>8}")
    print(
        f"  {'transcripts whole and in order':<44} "
        f"{report['transcripts_whole']:>6}/{report['transcripts']:<5} {args.panes:>5}/{args.panes}"
    )
    print(f"  {'the run took':<44} {report['run_seconds']:>11}s")
    print(
        f"  {'tmux server RSS before -> at its largest':<44} "
        f"{report['tmux_rss_mb_before']:>5} -> {report['tmux_rss_mb_peak']} MB"
    )
    common.write_results("bench_load", {"benchmark": "load", **report})


if __name__ == "__main__":
    main()
