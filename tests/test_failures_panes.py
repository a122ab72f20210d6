"""Every recorded failure screen (tests/screens/AGENT/failures/CLASS-*.txt), shown by a
stand-in of its CLI in a real pane of one run: each task's failure gets that class in
``status --json`` (limits wait, the others fail)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

from tests.conftest import eventually, tmux_env, tmuxorch_argv
from tests.test_run import start, tasks_file

if TYPE_CHECKING:
    from tests.conftest import Server

SCREENS = Path(__file__).parent / "screens"
STANDIN = Path(__file__).parent / "standins" / "show_screen.py"
CLIS = ("claude", "codex", "gemini", "aider", "goose", "opencode")


def test_each_clis_failure_screens_get_their_class_in_a_real_run(
    tmux_server: Server, tmp_path: Path
) -> None:
    expected: dict[str, str] = {}
    tasks = []
    for cli in CLIS:
        for screen in sorted((SCREENS / cli / "failures").glob("*.txt")):
            task = f"{cli}-{screen.stem}"
            expected[task] = screen.stem.split("-")[0]
            env = json.dumps({"SCREEN_FILE": str(screen)})
            tasks.append(
                f"  - {{id: {task}, agent: {cli}, prompt: go, done_when: exit, env: {env}}}"
            )
    agents = "\n".join(f"  {c}: {{preset: {c}, program: {STANDIN}}}" for c in CLIS)
    file = tasks_file(
        tmp_path,
        textwrap.dedent(
            """
            max_parallel: 40
            panes_per_window: 8
            """
        )
        + f"agents:\n{agents}\ntasks:\n"
        + "\n".join(tasks)
        + "\n",
    )
    proc = start(tmux_server, file)
    seen: dict[str, str] = {}  # a task's class when first seen (limits come and go: retried)
    try:

        def classes() -> dict[str, str] | None:
            out = subprocess.run(
                tmuxorch_argv("status", "-L", tmux_server.name, "--json", "-f", file),
                env=tmux_env(),
                capture_output=True,
                text=True,
            )
            if out.returncode not in (0, 1) or not out.stdout.strip():
                return None
            for row in json.loads(out.stdout)["tasks"]:
                if row.get("failure"):
                    seen.setdefault(row["task"], row["failure"])
            return seen if len(seen) == len(expected) else None

        got = eventually(classes, timeout=300, what="every task's failure classified")
        assert got == expected
    finally:
        proc.kill()
        proc.wait(timeout=30)
