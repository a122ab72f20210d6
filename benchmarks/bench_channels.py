"""Channels under watch: how long a person waits on tmuxorch, through Telegram.

A real ``tmuxorch serve`` with a Telegram channel (python-telegram-bot) pointed at the local
stand-in of the Bot API (tests/fakes/telegram_api.py), and a real run whose one task asks
a yes/no question ``--rounds`` times (the screen cleared and a second of work between
questions, so each is a new wait). Each round:

1. waiting -> message: the run's ``task-waiting`` event (its ``t`` in ``events.jsonl``)
   to the stand-in having accepted the ``sendMessage`` of that question;
2. reply -> pane: the stand-in handing the person's reply to serve's poll (``getUpdates``)
   to the task's ``read`` having the line (the task stamps it the moment ``read`` returns).

Prints a table (p50/p95 in ms), writes JSON. Run with ``./dev bench``.
"""

from __future__ import annotations

import argparse
import glob
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import common

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.fakes

from tests.fakes.telegram_api import CHAT, TOKEN, Call, TelegramAPI

if TYPE_CHECKING:
    from collections.abc import Callable

T = TypeVar("T")
PERSON = 1001


def start_serve(name: str, home: Path, api: TelegramAPI) -> subprocess.Popen[str]:
    folder = home / "config" / "tmuxorch"
    folder.mkdir(parents=True)
    (folder / "config.yaml").write_text(
        "channels:\n  telegram:\n    token_env: TG_TOKEN\n"
        f"    chat: {CHAT}\n    api_url: {api.url}\n    allow: [{PERSON}]\n"
    )
    env = common.env() | {
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_STATE_HOME": str(home / "state"),
        "TG_TOKEN": TOKEN,
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
    if not re.search(r"http://127\.0\.0\.1:\d+/", first):
        raise SystemExit(f"serve did not start: {first}")
    return proc


def asking(rounds: int, stamps: Path) -> str:
    """A command asking ``rounds`` questions; each answer and when it came go to ``stamps``."""
    return (
        f"sleep 1; i=0; while [ $i -lt {rounds} ]; do i=$((i+1)); "
        "printf 'Continue %s? (y/n) ' $i; IFS= read -r a; "
        f'printf "%s %s\\n" "$a" "$(date +%s.%N)" >> {stamps}; '
        "printf '\\033[H\\033[2J'; echo working; sleep 1; done"
    )


def until(check: Callable[[], T | None], timeout: float = 60.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.005)
    return value


def waits(folder: Path) -> dict[int, float]:
    """Round -> the ``t`` of its ``task-waiting`` event."""
    found: dict[int, float] = {}
    for path in glob.glob(str(folder / ".tmuxorch" / "**" / "events.jsonl"), recursive=True):
        for line in Path(path).read_text().splitlines():
            event = json.loads(line)
            if event.get("type") != "task-waiting":
                continue
            asked = re.findall(r"Continue (\d+)\?", "\n".join(event.get("last_lines", [])))
            if asked:
                found.setdefault(int(asked[-1]), float(event["t"]))
    return found


def rounds_of(n: int) -> dict[str, list[float]]:
    name, client = common.server()
    api = TelegramAPI()
    to_message: list[float] = []
    to_pane: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        stamps = folder / "stamps"
        serve = start_serve(name, folder / "home", api)
        run = None
        try:
            until(lambda: api.called("getUpdates"), what="serve polls")
            file = folder / "tasks.yaml"
            file.write_text(f"tasks:\n  - id: ask\n    command: {json.dumps(asking(n, stamps))}\n")
            run = subprocess.Popen(
                [sys.executable, "-m", "tmuxorch", "run", "-L", name, str(file)],
                env=common.env(),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            replies: dict[int, int] = {}  # round -> the update of its reply
            for i in range(1, n + 1):
                call = until(lambda i=i: question(api, i), what=f"question {i}")
                written = api.user_message(PERSON, f"a{i}", reply_to=call.result["message_id"])
                replies[i] = next(
                    u["update_id"] for u in api.history if u.get("message") == written
                )
                until(lambda i=i: f"a{i} " in read(stamps), what=f"answer {i}")
            run.wait(timeout=60)
            events = waits(folder)
            answered = {int(a[1:]): float(t) for a, t in map(str.split, read(stamps).splitlines())}
            for i in range(1, n + 1):
                accepted = question(api, i)
                assert accepted is not None
                to_message.append(1000 * (accepted.answered - events[i]))
                to_pane.append(1000 * (answered[i] - api.handed[replies[i]]))
        finally:
            serve.terminate()
            serve.wait()
            if run is not None and run.poll() is None:
                run.terminate()
                run.wait()
            client.cmd("kill-server")
            api.close()
    return {"waiting_to_message_ms": to_message, "reply_to_pane_ms": to_pane}


def question(api: TelegramAPI, i: int) -> Call | None:
    """The accepted ``sendMessage`` asking question ``i``."""
    return next(
        (
            c
            for c in api.called("sendMessage")
            if c.status == 200 and f"Continue {i}?" in c.params["text"]
        ),
        None,
    )


def read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args, _ = parser.parse_known_args()
    measured = rounds_of(args.rounds)
    print(f"channels benchmark (Telegram, local Bot API stand-in; {args.rounds} rounds, ms)")
    print(f"  {'what':<44}{'p50':>8}{'p95':>8}{'goal p50':>10}")
    goals = {"waiting_to_message_ms": 500, "reply_to_pane_ms": 100}
    names = {
        "waiting_to_message_ms": "waiting detected -> message accepted",
        "reply_to_pane_ms": "reply handed to serve -> bytes in the pane",
    }
    report: dict[str, object] = {"rounds": args.rounds}
    for key, values in measured.items():
        p50, p95 = statistics.median(values), percentile(values, 95)
        print(f"  {names[key]:<44}{p50:>8.0f}{p95:>8.0f}{goals[key]:>10}")
        report[key] = {"p50": p50, "p95": p95, "goal_p50": goals[key], "all": values}
    common.write_results("bench_channels", report)


if __name__ == "__main__":
    main()
