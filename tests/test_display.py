"""What a person sees of a run: the live table of ``tmuxorch run`` and of a session's
``tmuxorch`` window, ``tmuxorch status`` (and ``--follow``) — run for real in tmux panes
of the sizes people's terminals have (80x24, 200x50), read back with capture-pane."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from tests.conftest import Server, eventually, tmuxorch_argv
from tests.test_run import start, tasks_file
from tmuxorch.run import events, words
from tmuxorch.run.notify import message

if TYPE_CHECKING:
    from pathlib import Path


def test_a_killed_screen_programs_transcript_ends_with_its_last_line(
    tmux_server: Server, tmp_path: Path
) -> None:
    """A program that draws a screen and has scrolled it away into empty rows (as some
    agents do as they are stopped) when it is killed: its transcript ends with its last
    line, not with a screenful of blank ones."""
    ready = tmp_path / "READY"
    scroll = "i=0; while [ $i -lt 120 ]; do echo; i=$((i+1)); done"
    command = f"printf '\\033[Hdrawn at the top\\n'; {scroll}; touch {ready}; sleep 600"
    file = tasks_file(tmp_path, f"tasks:\n  - id: tui\n    command: |-\n      {command}\n")
    proc = start(tmux_server, file)
    eventually(ready.exists, what="the screen scrolled away")
    stop = subprocess.run(
        tmuxorch_argv("stop", "tui", "--file", file), capture_output=True, text=True
    )
    assert stop.returncode == 0, stop.stderr
    assert proc.wait(timeout=60) == 1
    transcript = next((tmp_path / ".tmuxorch" / "transcripts").glob("*/tui.1.txt")).read_text()
    assert transcript == "drawn at the top\n"


def test_the_end_of_a_run_never_says_finished_with_nothing_after() -> None:
    event: dict[str, object] = {"type": events.RUN_FINISHED, "run": "r1", "state": "finished"}
    event["summary"] = ""
    assert words.lines(event) == ["run r1 finished"]
    assert message({"event": "run_finished", "run": "r1", "summary": ""}) == (
        "tmuxorch: run r1 finished"
    )
    event["summary"] = "2 succeeded"
    assert words.lines(event) == ["run r1 finished: 2 succeeded"]
