"""Hosts: a tmux server on another machine, over one ssh connection, against a local one.

The "other machine" is a real OpenSSH sshd on loopback (tests/sshd.py: throwaway keys, a
private tmux socket folder), reached through tmuxorch's ssh master and tmux control mode:

1. print → subscriber latency of a pane (the bridge benchmark's ticker), local vs remote:
   p50 and p95;
2. opening 10 panes with ``open_panes`` (in one new task window), local vs remote, medians;
   and one round trip over the link (a trivial command);
3. idle CPU of the local side (this process, its ssh clients and the ssh master, from
   /proc) while a poller watches 20 idle remote panes.

Prints a table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import common
from bench_bridge import latency_on

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # for tests/sshd.py

from tests.sshd import Sshd, missing
from tmuxorch.bridge.poller import Poller
from tmuxorch.hosts.ssh import Connection
from tmuxorch.tmux.panes import PaneRequest, open_panes
from tmuxorch.tmux.remote import RemoteClient

if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

SETUP = (
    ("set-option", "-g", "remain-on-exit", "on"),
    ("new-session", "-d", "-s", "bench", "-x", "220", "-y", "50"),
)


def open_ten(client: Client, trials: int) -> float:
    """Median ms to open 10 panes (one new window, then 9 splits) with ``open_panes``."""
    times = []
    for trial in range(trials):
        requests = [
            PaneRequest(
                task=f"t{i}",
                attempt=1,
                argv=("sleep", "600"),
                env=(),
                cwd="/tmp",
                window=f"w{trial}",
                new_window=i == 0,
            )
            for i in range(10)
        ]
        started = time.perf_counter()
        opened = open_panes(client, "bench", f"run{trial}", requests)
        times.append((time.perf_counter() - started) * 1000)
        assert all(not isinstance(o, Exception) for o in opened), opened
        client.cmd("kill-window", "-t", f"=bench:=w{trial}")
    return statistics.median(times)


def round_trip(client: Client, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.cmd("display-message", "-p", "x")
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                found.append(int(entry))
    return found


def idle_cpu(
    client: RemoteClient, master: int, panes: int, seconds: float, server: int
) -> dict[str, object]:
    """CPU of the local side; ``server`` (the test sshd, a child here too) is the host's."""
    ids = [
        client.cmd(
            "new-window", "-d", "-t", "=bench:", "-P", "-F", "#{pane_id}", "--", "sleep", "600"
        )[0]
        for _ in range(panes)
    ]
    poller = Poller(client)
    for pane in ids:
        poller.watch(pane)
    with poller:
        time.sleep(2.0)  # settled: first looks done, control clients attached over ssh
        ssh = [p for p in _children() if p != server]
        wall, ours = time.monotonic(), sum(os.times()[:2])
        theirs, mast = sum(_cpu(p) for p in ssh), _cpu(master)
        time.sleep(seconds)
        wall = time.monotonic() - wall
        ours = sum(os.times()[:2]) - ours
        theirs = sum(_cpu(p) for p in ssh) - theirs
        mast = _cpu(master) - mast
    return {
        "panes": panes,
        "seconds": seconds,
        "this_process_cpu_percent": round(100 * ours / wall, 2),
        "ssh_clients": len(ssh),
        "ssh_clients_cpu_percent": round(100 * theirs / wall, 2),
        "ssh_master_cpu_percent": round(100 * mast / wall, 2),
        "local_side_cpu_percent": round(100 * (ours + theirs + mast) / wall, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=7)
    args, _ = parser.parse_known_args()
    why = missing()
    if why is not None:
        print(f"hosts benchmark skipped: {why}")
        common.write_results("bench_hosts", {"benchmark": "hosts", "skipped": why})
        return
    _, local = common.server(*SETUP)
    sshd = Sshd()
    folder = tempfile.mkdtemp(prefix="tsock")
    try:
        sshd.start()
        conn = Connection("good", sshd.ssh_options, socket_dir=folder)
        remote = RemoteClient(conn.command, host="good", tmux=("tmux", "-f", "/dev/null"))
        remote.run(SETUP)
        lat_local = latency_on(local, "bench", args.lines)
        lat_remote = latency_on(remote, "bench", args.lines)
        open_local = open_ten(local, args.trials)
        open_remote = open_ten(remote, args.trials)
        rtt = round_trip(remote, 101)
        master = conn.master_pid()
        assert master is not None
        assert sshd.proc is not None
        cpu = idle_cpu(remote, master, 20, args.idle, sshd.proc.pid)
        logins = sshd.accepted()
        remote.close()
        conn.close()
    finally:
        sshd.stop()
        local.cmd("kill-server")
    report = {
        "benchmark": "hosts",
        "latency_local": lat_local,
        "latency_remote": lat_remote,
        "open_10_panes_ms": {"local": round(open_local, 2), "remote": round(open_remote, 2)},
        "round_trip_ms": round(rtt, 3),
        "idle_cpu": cpu,
        "ssh_logins": logins,
        "goals": {
            "latency_p50_ms": round(float(lat_local["p50_ms"]) + 5, 2),  # type: ignore[arg-type]
            "open_10_panes_ms": round(2 * open_local + rtt, 2),
            "idle_cpu_percent": 1.0,
        },
    }
    goals = report["goals"]
    assert isinstance(goals, dict)
    print("hosts benchmark (remote = loopback sshd, one ssh connection)")
    print(f"  {'what':<52} {'measured':>12} {'goal':>10}")

    def row(what: str, measured: object, goal: object = None) -> str:
        end = f" {goal:>8}ms" if goal is not None else ""
        return f"  {what:<52} {measured:>10}ms{end}"

    print(row("print -> subscriber, p50, local", lat_local["p50_ms"]))
    print(row("print -> subscriber, p50, remote", lat_remote["p50_ms"], goals["latency_p50_ms"]))
    print(row("print -> subscriber, p95, local", lat_local["p95_ms"]))
    print(row("print -> subscriber, p95, remote", lat_remote["p95_ms"]))
    print(row("open 10 panes, local (median)", round(open_local, 2)))
    print(row("open 10 panes, remote (median)", round(open_remote, 2), goals["open_10_panes_ms"]))
    print(row("one round trip over the link (median)", round(rtt, 3)))
    print(
        f"  {'CPU watching 20 idle remote panes (local side)':<52} "
        f"{cpu['local_side_cpu_percent']:>11}% {1.0:>9}%"
    )
    print(f"  {'  this process':<52} {cpu['this_process_cpu_percent']:>11}%")
    print(
        f"  {'  its ' + str(cpu['ssh_clients']) + ' ssh clients':<52} {cpu['ssh_clients_cpu_percent']:>11}%"
    )
    print(f"  {'  the ssh master':<52} {cpu['ssh_master_cpu_percent']:>11}%")
    print(f"  {'ssh logins for all of it':<52} {logins:>12}")
    common.write_results("bench_hosts", report)


if __name__ == "__main__":
    main()
