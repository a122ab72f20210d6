"""What a person sees of a run: the live table of ``tmuxorch run`` and of a session's
``tmuxorch`` window, ``tmuxorch status`` (and ``--follow``) — run for real in tmux panes
of the sizes people's terminals have (80x24, 200x50), read back with capture-pane."""

from __future__ import annotations

import queue
import shlex
import subprocess
import threading
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tests.test_run import run, start, states, tasks_file
from tmuxorch.run import events, words
from tmuxorch.run.notify import message
from tmuxorch.run.table import Row, progress

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

STORY = " ".join(["the last line of a long story"] * 4)
"""A last line wider than an 80-column table has room for (119 characters)."""
GATE = "while [ ! -e {flag} ]; do sleep 0.1; done"
TOP = "┏┃┡│└"
"""How the lines of a table begin (an unwrapped one: every line)."""


@pytest.fixture
def terminals() -> Iterator[Server]:
    """A tmux server whose panes stand for people's terminals (kept apart from the server
    the runs use, as a person's terminal is)."""
    server = Server(tmux_env())
    server.start()
    yield server
    server.kill()


def terminal(server: Server, name: str, size: tuple[int, int], command: str) -> str:
    """A pane of ``size`` (columns, rows) running ``command`` (kept open after it); its id."""
    width, height = size
    line = f"env -u TMUX -u TMUX_PANE {command}; sleep 600"
    return server.client.cmd(
        "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height),
        "-P", "-F", "#{pane_id}", line,
    )[0]  # fmt: skip


def tmuxorch(*args: str) -> str:
    return shlex.join(tmuxorch_argv(*args))


def shown(server: Server, target: str, *, history: bool = False) -> str:
    """What the pane shows, row by row as on the screen (wrapped lines not joined)."""
    start = ("-S", "-") if history else ()
    return "\n".join(server.client.cmd("capture-pane", "-p", *start, "-t", target))


def shown_with(server: Server, target: str, text: str) -> str:
    """What the pane shows once ``text`` is among it."""

    def check() -> str | None:
        screen = shown(server, target)
        return screen if text in screen else None

    return eventually(check, what=f"{text!r} shown")


def table(screen: str) -> list[str]:
    """The lines of the (last) table on a screen, from its top border to its bottom one."""
    lines = screen.splitlines()
    top = max(i for i, line in enumerate(lines) if line.startswith("┏"))
    bottom = next(i for i in range(top, len(lines)) if lines[i].startswith("└"))
    return lines[top : bottom + 1]


def rows(screen: str) -> dict[str, str]:
    """Each task's row of the table, by task name (in the table's order)."""
    found = {}
    for line in table(screen):
        if line.startswith("│"):
            found[line[1:].split("│")[0].strip()] = line
    return found


def assert_whole(screen: str, width: int) -> None:
    """The table is drawn as it was meant to be: no line of it wrapped or cut."""
    for line in table(screen):
        assert line[:1] in TOP and line.rstrip()[-1:] in "┓┃┩│┘", line
        assert len(line.rstrip()) <= width


def test_status_fits_the_terminal_task_and_state_whole_last_line_given_way(
    tmux_server: Server, terminals: Server, tmp_path: Path
) -> None:
    """At 80 columns every task's name and state are whole, on one line, in the file's
    order; the last line gives way (and the heading breaks between parts, never after a
    dot). At 200 columns the last line has the room."""
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: review-everything, command: 'echo reviewed', depends_on: [implement-api]}}
          - {{id: implement-api, command: 'echo "{STORY}"'}}
          - {{id: write-the-docs, command: 'echo it went wrong; exit 3'}}
          - {{id: after-docs, command: 'true', depends_on: [write-the-docs]}}
        """,
    )
    assert run(tmux_server, file).returncode == 1
    status = tmuxorch("status", "-L", tmux_server.name, "--file", file)
    narrow = terminal(terminals, "narrow", (80, 24), status)
    screen = shown_with(terminals, narrow, "└")
    assert_whole(screen, 80)
    found = rows(screen)
    assert list(found) == ["review-everything", "implement-api", "write-the-docs", "after-docs"]
    assert "✓ succeeded" in found["review-everything"] and "reviewed" in found["review-everything"]
    assert "✓ succeeded" in found["implement-api"]
    assert "the last line of" in found["implement-api"]
    assert found["implement-api"].rstrip().endswith("…│")  # cut, not wrapped
    assert "✗ failed" in found["write-the-docs"] and "exit status 3" in found["write-the-docs"]
    assert "⊘ skipped" in found["after-docs"]
    heading = screen[: screen.index("┏")]
    assert "4/4 done (1 failed, 1 skipped)" in heading
    assert not [line for line in heading.splitlines() if line.rstrip().endswith("·")]

    wide = terminal(terminals, "wide", (200, 50), status)
    screen = shown_with(terminals, wide, "└")
    assert_whole(screen, 200)
    assert STORY in rows(screen)["implement-api"]  # all 119 characters of it


def test_the_tmuxorch_window_at_80_columns(
    idle_server: Server, terminals: Server, tmp_path: Path
) -> None:
    """A session's ``tmuxorch`` window (the demo's), attached from an 80x24 terminal: the
    table keeps every task's name and state whole and its rows in the file's order, says
    how far the run is, keeps the last line of tasks that ended, and every event's line
    stays in the window's scrollback."""
    gate = GATE.format(flag=tmp_path / "FLAG")
    layout = tasks_file(
        tmp_path,
        f"""
        session_name: live80
        tasks:
          - {{id: reviewer, command: 'echo reviewed it all', depends_on: [builder]}}
          - {{id: builder, command: '{gate}; echo built every part of it'}}
          - {{id: writer, command: 'echo "{STORY}"; {gate}'}}
        """,
        "layout.yaml",
    )
    made = subprocess.run(
        tmuxorch_argv("layout", "-d", "-L", idle_server.name, layout),
        env=tmux_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    terminal(terminals, "person", (80, 24), f"tmux -L {idle_server.name} attach -t =live80")
    window = "=live80:=tmuxorch"
    eventually(
        lambda: idle_server.client.cmd("display", "-p", "-t", window, "#{window_width}") == ["80"],
        what="the window as wide as the person's terminal",
    )

    def running() -> str | None:
        screen = shown(idle_server, window)
        if "0/3 done · 2 running" not in screen or "└" not in screen:
            return None
        return screen if "the last line of" in rows(screen).get("writer", "") else None

    screen = eventually(running, what="two tasks running (one's last line shown), one pending")
    assert_whole(screen, 80)
    found = rows(screen)
    assert list(found) == ["reviewer", "builder", "writer"]
    assert "· pending" in found["reviewer"]
    assert "▶ running" in found["builder"] and "▶ running" in found["writer"]

    (tmp_path / "FLAG").touch()
    screen = shown_with(idle_server, window, "finished: 3 succeeded")
    assert "3/3 done" in screen
    assert_whole(screen, 80)
    found = rows(screen)
    assert list(found) == ["reviewer", "builder", "writer"]
    for task, last in (
        ("reviewer", "reviewed it all"),
        ("builder", "built every part of it"),
        ("writer", "the last line of"),
    ):
        assert "✓ succeeded" in found[task] and last in found[task], found[task]
    scrollback = shown(idle_server, window, history=True)
    for line in (
        "builder: started in",
        "writer: started in",
        "writer: succeeded in",
        "builder: succeeded in",
        "reviewer: started in",
        "reviewer: succeeded in",
        "finished: 3 succeeded",
    ):
        assert line in scrollback


def test_the_live_table_of_run_in_a_wide_terminal_gives_the_last_line_the_room(
    tmux_server: Server, terminals: Server, tmp_path: Path
) -> None:
    gate = GATE.format(flag=tmp_path / "FLAG")
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: quick, command: 'echo done at once'}}
          - {{id: wide, command: 'echo "{STORY}"; {gate}'}}
        """,
    )
    pane = terminal(terminals, "wide", (200, 50), tmuxorch("run", "-L", tmux_server.name, file))

    def whole() -> str | None:
        screen = shown(terminals, pane)
        if "1/2 done · 1 running" not in screen or "└" not in screen:
            return None
        found = rows(screen)
        # the whole last line of the one running, and that of the one that ended (read
        # from its transcript once that is complete)
        done = STORY in found.get("wide", "") and "done at once" in found.get("quick", "")
        return screen if done else None

    screen = eventually(whole, what="the whole last line in the table")
    assert_whole(screen, 200)
    assert "▶ running" in rows(screen)["wide"]
    (tmp_path / "FLAG").touch()
    shown_with(terminals, pane, "finished: 2 succeeded")


def test_status_follow_prints_lines_as_they_come_when_not_a_terminal(
    tmux_server: Server, tmp_path: Path
) -> None:
    """Piped (a log, a script), ``status --follow`` says each change as it happens, then
    the final table, and ends with the run."""
    gate = GATE.format(flag=tmp_path / "FLAG")
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: quick, command: 'true'}}
          - {{id: gated, command: '{gate}'}}
        """,
    )
    proc = start(tmux_server, file)
    eventually(lambda: states(file).get("gated") == "running", what="gated running")
    follow = subprocess.Popen(
        tmuxorch_argv("status", "--follow", "-L", tmux_server.name, "--file", file),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=tmux_env(),
    )
    said: queue.Queue[str] = queue.Queue()
    assert follow.stdout is not None

    def read() -> None:
        for line in follow.stdout or ():
            said.put(line)

    reader = threading.Thread(target=read)
    reader.start()
    heard: list[str] = []

    def hear(text: str) -> bool:
        while not said.empty():
            heard.append(said.get())
        return any(text in line for line in heard)

    eventually(lambda: hear("gated: started in %"), what="a line while the run goes on")
    assert hear("quick: succeeded")
    (tmp_path / "FLAG").touch()
    assert proc.wait(timeout=60) == 0
    assert follow.wait(timeout=30) == 0
    reader.join(timeout=10)
    hear("")
    text = "".join(heard)
    assert "gated: succeeded in" in text
    assert "finished: 2 succeeded" in text
    assert "2/2 done" in text and "┏" in text  # the final table
    assert text.count("gated: started") == 1  # each change said once


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


def test_progress_counts_what_is_done_and_what_goes_on() -> None:
    def row(state: str) -> Row:
        return Row("t", state, None, 0, None, "", None, None)

    states_now = ["succeeded", "failed", "running", "waiting_input", "pending", "skipped"]
    assert progress([row(s) for s in states_now]) == (
        "3/6 done (1 failed, 1 skipped) · 1 running · 1 waiting for input"
    )
    assert progress([row("pending")] * 2) == "0/2 done"
