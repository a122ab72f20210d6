"""The web page: a keystroke typed into a pane's mirror, until the page shows it echoed.

A run's task is ``cat`` (its terminal echoes what it is typed); ``tmuxorch serve`` serves
the page, opened in headless Chromium (Debian's ``chromium``, driven by Playwright) on that
task. For each keystroke the page notes the time of its ``keydown`` and the time xterm.js
has drawn the mirror's row with it: the whole trip (the page's WebSocket, ``send-keys``,
tmux, the terminal's echo, the poller's capture, the screen diff, back over the WebSocket,
xterm.js drawing it). p50 and p99 over ``--keys`` keystrokes, typed one after the other.

Prints a table, writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import common

from tmuxorch.tmux.client import TmuxError

if TYPE_CHECKING:
    from collections.abc import Callable

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LINE = 40
"""Keystrokes typed on one line before an (unmeasured) Enter starts the next."""
WATCH = """() => {
  const bench = window.__bench = { t0: 0, want: null, took: null, parsed: null };
  document.addEventListener("keydown", () => { bench.t0 = performance.now(); }, true);
  const term = window.tmuxorch.mirror.term;
  const shows = () => {
    const y = term.buffer.active.cursorY;
    const row = term.buffer.active.getLine(y)?.translateToString(true) ?? "";
    return bench.want !== null && row.endsWith(bench.want);
  };
  term.onWriteParsed(() => {
    if (bench.parsed === null && shows()) bench.parsed = performance.now() - bench.t0;
  });
  term.onRender(() => {
    if (shows()) { bench.took = performance.now() - bench.t0; bench.want = null; }
  });
}"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def api(url: str, token: str, path: str, body: object = None) -> object:
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def wait(check: Callable[[], object], what: str, timeout: float = 60) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise SystemExit(f"bench_web: {what} did not happen within {timeout}s")


def measure(keys: int) -> dict[str, object]:
    from playwright.sync_api import sync_playwright

    name, client = common.server()
    home = Path(tempfile.mkdtemp(prefix="tmuxorch-bench-web-"))
    env = {
        **common.env(),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
    }
    (home / "tasks.yaml").write_text("tasks:\n  - {id: echo, command: cat}\n")
    tmuxorch = [sys.executable, "-m", "tmuxorch"]
    run = subprocess.Popen(
        [*tmuxorch, "run", "-L", name, str(home / "tasks.yaml")],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    serve = subprocess.Popen(
        [*tmuxorch, "serve", "-L", name, "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert serve.stdout is not None
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", serve.stdout.readline())
        assert found, "serve did not say where it listens"
        url = found.group(1)
        token = (home / "config" / "tmuxorch" / "serve-token").read_text().strip()

        def running() -> str | None:
            listed = api(url, token, "/api/runs")
            runs = listed["runs"] if isinstance(listed, dict) else []
            return runs[0]["run"] if runs and runs[0]["state"] == "running" else None

        run_id = str(wait(running, "the run"))
        times: list[float] = []
        arrived: list[float] = []  # until xterm.js has it, before it draws it
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}?token={token}")
            page.goto(f"{url}#run={run_id}&task=echo")
            page.wait_for_function(
                "() => window.tmuxorch.mirror && window.tmuxorch.mirror.size[0] > 0"
            )
            page.evaluate(WATCH)
            page.click("#mirror")
            typed = ""
            for i in range(keys):
                if i and i % LINE == 0:
                    page.keyboard.press("Enter")  # cat says the line back: a fresh row
                    typed = ""
                    time.sleep(0.1)
                char = "abcdefghijklmnopqrstuvwxyz"[i % 26]
                typed += char
                page.evaluate(
                    "(want) => Object.assign(window.__bench, { want, took: null, parsed: null })",
                    typed,
                )
                page.keyboard.press(char)
                page.wait_for_function("() => window.__bench.took !== null", timeout=10_000)
                took, parsed = page.evaluate("() => [window.__bench.took, window.__bench.parsed]")
                times.append(float(took))
                arrived.append(float(parsed if parsed is not None else took))
            browser.close()
        api(url, token, f"/api/runs/{run_id}/stop", {"all": True})
        run.wait(timeout=60)
    finally:
        for proc in (serve, run):
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=30)
        with contextlib.suppress(TmuxError):
            client.cmd("kill-server")
        shutil.rmtree(home, ignore_errors=True)
    return {
        "keys": len(times),
        "p50_ms": round(statistics.median(times), 1),
        "p99_ms": round(percentile(times, 0.99), 1),
        "mean_ms": round(statistics.fmean(times), 1),
        "max_ms": round(max(times), 1),
        "received_p50_ms": round(statistics.median(arrived), 1),
        "received_p99_ms": round(percentile(arrived, 0.99), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=300)
    args, _ = parser.parse_known_args()  # ./dev bench hands every benchmark the same options
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("web benchmark: skipped (playwright is not installed: pip install -e '.[test]')")
        return
    if not os.access(CHROMIUM, os.X_OK):
        print(f"web benchmark: skipped (no {CHROMIUM}: apt-get install chromium)")
        return
    echo = measure(args.keys)
    report: dict[str, object] = {
        "benchmark": "web",
        "echo": echo,
        "goals": {"echo_p50_ms": 30, "echo_p99_ms": 100},
    }
    print("web benchmark")
    print(f"  {'what':<52} {'measured':>12} {'goal':>10}")
    what = f"key typed -> its echo drawn in the mirror, p50 ({echo['keys']})"
    print(f"  {what:<52} {echo['p50_ms']:>10}ms {30:>8}ms")
    print(f"  {'  ... p99':<52} {echo['p99_ms']:>10}ms {100:>8}ms")
    print(f"  {'  ... mean':<52} {echo['mean_ms']:>10}ms")
    print(f"  {'  ... max':<52} {echo['max_ms']:>10}ms")
    print(
        f"  {'  until xterm.js has it (before drawing), p50':<52} {echo['received_p50_ms']:>10}ms"
    )
    print(f"  {'  ... p99':<52} {echo['received_p99_ms']:>10}ms")
    common.write_results("bench_web", report)


if __name__ == "__main__":
    main()
