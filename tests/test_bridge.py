"""The bridge against real panes: send fidelity, frames, lines, viewers, states."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from functools import partial
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Server, eventually, screen, tmux_env, tmuxorch_argv, wait_for_text
from tmuxorch.agents import patterns
from tmuxorch.agents.patterns import SHELL
from tmuxorch.bridge.detect import Detector
from tmuxorch.bridge.frames import apply_patch, make_patch
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.send import deliver
from tmuxorch.bridge.sinks import Transcripts
from tmuxorch.tmux.client import TmuxError

if TYPE_CHECKING:
    from pathlib import Path

    from tmuxorch.bridge.poller import Event

READER = r"""
import os, sys, time, tty
folder = sys.argv[1]
tty.setraw(0)
open(os.path.join(folder, "ready"), "w").close()
n = 0
while True:
    want = os.path.join(folder, f"{n}.len")
    while not os.path.exists(want):
        time.sleep(0.002)
    size = int(open(want).read())
    data = b""
    while len(data) < size:
        data += os.read(0, size - len(data))
    with open(os.path.join(folder, f"{n}.tmp"), "wb") as out:
        out.write(data)
    os.rename(os.path.join(folder, f"{n}.tmp"), os.path.join(folder, f"{n}.out"))
    n += 1
"""


def new_pane(server: Server, *argv: str, session: str = "b", history: int = 2000) -> str:
    """A pane running ``argv`` (kept when it ends) in session ``session``."""
    c = server.client
    if session not in server.sessions():
        c.run(
            [
                ("set-option", "-g", "history-limit", str(history)),
                ("new-session", "-d", "-s", session, "-x", "220", "-y", "50"),
                ("set-option", "-g", "remain-on-exit", "on"),
            ]
        )
    return c.cmd("new-window", "-d", "-t", f"={session}:", "-P", "-F", "#{pane_id}", "--", *argv)[0]


def dead_by(server: Server, pane: str) -> str | None:
    """The signal that ended the pane's program ("" if it exited), None while it runs.

    Debian's tmux 3.3a (built with libutempter) misses a pane's SIGCHLD now and then, most
    often under load: the pane shows dead, with no status, until the server is told to
    look again by a SIGCHLD of its own (see FACTS.md).
    """
    dead, signal_number, status, server_pid = server.client.cmd(
        "display-message",
        "-p",
        "-t",
        pane,
        "#{pane_dead}\n#{pane_dead_signal}\n#{pane_dead_status}\n#{pid}",
    )
    if dead != "1":
        return None
    if not (signal_number or status):
        os.kill(int(server_pid), signal.SIGCHLD)  # our own test server
        return None
    return signal_number


class Reader:
    """A program that reads its terminal raw and writes each payload to a file."""

    def __init__(self, server: Server, folder: Path) -> None:
        self.server = server
        self.folder = folder
        script = folder / "reader.py"
        script.write_text(READER)
        self.pane = new_pane(server, sys.executable, str(script), str(folder))
        self.count = 0
        eventually((folder / "ready").exists, what="the reader in raw mode")

    def roundtrip(self, text: str) -> bytes:
        data = text.encode("utf-8", "surrogateescape")
        n = self.count
        self.count += 1
        (self.folder / "len.tmp").write_text(str(len(data)))
        (self.folder / "len.tmp").rename(self.folder / f"{n}.len")  # whole, for the reader
        why = deliver(self.server.client, self.pane, text, enter=False)
        assert why is None, why
        out = self.folder / f"{n}.out"
        eventually(out.exists, what=f"payload {n} read back ({len(data)} bytes)", timeout=60)
        return out.read_bytes()


payloads = st.one_of(
    st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        min_size=1,
        max_size=300,
    ),
    st.lists(
        st.sampled_from(
            [
                "Enter",
                "C-c",
                "M-x",
                "Escape",
                ";",
                "a;",
                "\\;",
                "-n",
                "--",
                "--help",
                "'",
                '"',
                "\\",
                "\t",
                "\n",
                "é",
                "日本",
                "🙂",
                " ",
                "$HOME",
                "#{pane_id}",
                "{",
                "}",
                "~",
                "\r",
                "\x1b[A",
                "\x7f",
                "\x03",
            ]
        ),
        min_size=1,
        max_size=30,
    ).map("".join),
)


@pytest.fixture
def reader(tmux_server: Server, tmp_path: Path) -> Reader:
    return Reader(tmux_server, tmp_path)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payloads)
@example(";")
@example("-n --help ;")
@example("Enter")
@example("C-c")
@example("line one\nline two\n\ttabbed;")
def test_send_is_byte_exact(reader: Reader, text: str) -> None:
    assert reader.roundtrip(text) == text.encode("utf-8", "surrogateescape")


def test_send_a_megabyte(reader: Reader) -> None:
    block = "".join(
        f"{i:06d} the quick brown fox; jumps -over \\ 'the' \"lazy\" dog\n" for i in range(16_000)
    )
    text = block[: 1024 * 1024]
    assert reader.roundtrip(text) == text.encode()


# -- frames -----------------------------------------------------------------------------------
screens = st.lists(st.text("ab xyz\t", max_size=60), min_size=1, max_size=40).map("\n".join)


@settings(max_examples=300)
@given(st.lists(screens, min_size=2, max_size=10))
def test_patch_stream_reproduces_every_screen(sequence: list[str]) -> None:
    shown = sequence[0]
    for new in sequence[1:]:
        shown = apply_patch(shown, make_patch(shown, new))
        assert shown == new


class RecordingPoller(Poller):
    """Remembers every screen it captured, to check what subscribers rebuild from patches."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.captured: list[str] = []

    def _frame(self, ps: object, screen: str, now: float, *, key: bool) -> list[Event]:
        events = super()._frame(ps, screen, now, key=key)  # type: ignore[arg-type]
        if events:
            self.captured.append(screen)
        return events


def test_frames_of_the_demo_spinner(tmux_server: Server, tmp_path: Path) -> None:
    prompt = tmp_path / "p.md"
    prompt.write_text("spin for a while\n@steps 4\n@delay 0.15\n")
    pane = new_pane(
        tmux_server, sys.executable, "-m", "tmuxorch.demo_agent", "--prompt-file", str(prompt)
    )
    rebuilt: list[str] = []
    poller = RecordingPoller(tmux_server.client, keyframe_every=1.0)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe(maxsize=100_000)
    with poller:
        shown = ""
        for event in sub:
            if event["type"] == "frame":
                shown = (
                    str(event["text"]) if event["key"] else apply_patch(shown, str(event["patch"]))
                )
                rebuilt.append(shown)
            if event["type"] == "exit":
                break
    assert len(rebuilt) > 10  # the spinner was seen turning
    assert any("⠋" in s or "⠙" in s for s in rebuilt)
    assert rebuilt == poller.captured


# -- lines ------------------------------------------------------------------------------------
def test_100k_lines_each_once_in_order(tmux_server: Server, tmp_path: Path) -> None:
    # the pause after seq: tmux 3.3 can drop a dying program's last output under load (it
    # closes the pane before the kernel hands it over); tmuxorch's task wrapper pauses too
    pane = new_pane(tmux_server, "sh", "-c", "sleep 0.3; seq 1 100000; sleep 0.2", history=200_000)
    transcripts = Transcripts()
    path = tmp_path / "t.txt"
    transcripts.assign(pane, str(path))
    poller = Poller(tmux_server.client)
    poller.add_sink(transcripts)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe(frames=False)
    kinds = []
    with poller:
        for event in sub:
            kinds.append(event["type"])
            if event["type"] == "exit":
                break
    assert "gap" not in kinds
    assert path.read_text().split() == [str(i) for i in range(1, 100_001)]


def test_history_limit_overflow_is_reported_not_hidden(tmux_server: Server, tmp_path: Path) -> None:
    """A pane keeping 2,000 lines that prints 100k in a burst: the poller says that it lost
    lines (a gap) and never invents or repeats one."""
    pane = new_pane(tmux_server, "sh", "-c", "sleep 0.3; seq 1 100000; sleep 0.2", session="small")
    got: list[str] = []
    gaps = 0
    poller = Poller(tmux_server.client)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe(frames=False)
    with poller:
        for event in sub:
            if event["type"] == "lines":
                got += [str(x) for x in event["lines"]]  # type: ignore[attr-defined]
            gaps += event["type"] == "gap"
            if event["type"] == "exit":
                break
    numbers = [int(x) for x in got if x.strip()]
    assert numbers == sorted(set(numbers))  # in order, none twice
    assert numbers[-1] == 100_000
    assert gaps >= 1 and len(numbers) < 100_000


def test_three_watchers_see_the_same_stream(tmux_server: Server) -> None:
    pane = new_pane(
        tmux_server,
        "sh",
        "-c",
        'sleep 1; i=0; while [ $i -lt 300 ]; do i=$((i+1)); echo "line $i"; sleep 0.005; done',
    )
    viewers = [
        subprocess.Popen(
            tmuxorch_argv("watch", "-L", tmux_server.name, "--from-start", pane),
            env=tmux_env(),
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [v.communicate(timeout=60)[0] for v in viewers]
    assert all(v.returncode == 0 for v in viewers)
    expected = [f"line {i}" for i in range(1, 301)]
    for out in outputs:
        assert [ln for ln in out.splitlines() if ln.startswith("line ")] == expected
    assert outputs[0] == outputs[1] == outputs[2]


def test_watch_from_start_shows_what_was_already_on_screen(tmux_server: Server) -> None:
    pane = new_pane(tmux_server, "sh", "-c", "echo early; read go; echo late; sleep 0.2")
    wait_for_text(tmux_server, pane, "early")
    viewer = subprocess.Popen(
        tmuxorch_argv("watch", "-L", tmux_server.name, "--from-start", pane),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert viewer.stdout is not None
    guard = threading.Timer(30, viewer.kill)  # a broken watch fails the test, not hangs it
    guard.start()
    # "early" sits on the screen, not in history: it is printed all the same
    assert viewer.stdout.readline() == "early\n"
    tmux_server.client.cmd("send-keys", "-t", pane, "x", "Enter")
    out, _ = viewer.communicate(timeout=60)
    guard.cancel()
    assert [ln for ln in out.splitlines() if ln in ("early", "late")] == ["late"]


def test_watch_json(tmux_server: Server) -> None:
    pane = new_pane(tmux_server, "sh", "-c", "sleep 2; echo hello; echo world")  # after watch is on
    out = subprocess.run(
        tmuxorch_argv("watch", "-L", tmux_server.name, "--json", pane),
        env=tmux_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    events = [json.loads(line) for line in out.stdout.splitlines()]
    kinds = {e["type"] for e in events}
    assert {"frame", "lines", "exit"} <= kinds
    assert events[0]["type"] == "frame" and events[0]["key"] is True
    lines = [ln for e in events if e["type"] == "lines" for ln in e["lines"]]
    assert lines == ["hello", "world"]
    # (an unknown target: test_person's test_an_unknown_target_says_which_server…)


def test_slow_subscriber_gets_a_gap_and_a_keyframe(tmux_server: Server) -> None:
    pane = new_pane(tmux_server, "sh", "-c", "sleep 0.5; seq 1 3000; sleep 30", history=10_000)
    poller = Poller(tmux_server.client)
    poller.watch(pane, from_start=True)
    slow = poller.subscribe(maxsize=3)
    fast = poller.subscribe(maxsize=100_000)
    fast_lines: list[str] = []

    def fast_has_the_burst() -> bool:
        while (event := fast.get(0)) is not None:
            if event["type"] == "lines":
                fast_lines.extend(event["lines"])  # type: ignore[arg-type]
        return len(fast_lines) >= 2900

    with poller:
        eventually(fast_has_the_burst, what="the fast subscriber kept up")
        seen = []
        while (event := slow.get(0.5)) is not None:
            seen.append(event)
    kinds = [e["type"] for e in seen]
    # the slow one lost events, was told so, and got the screen as it is now
    assert "gap" in kinds
    gap = kinds.index("gap")
    assert seen[gap]["dropped"] > 0  # type: ignore[operator]
    assert kinds[gap + 1] == "frame" and seen[gap + 1]["key"] is True
    assert "2971" in str(seen[gap + 1]["text"]) or "3000" in str(seen[gap + 1]["text"])
    assert fast_lines[:3] == ["1", "2", "3"]  # the fast one was never held back


# -- agent states -------------------------------------------------------------------------------
def test_demo_agent_states(tmux_server: Server, tmp_path: Path) -> None:
    prompt = tmp_path / "p.md"
    prompt.write_text("work then ask\n@steps 2\n@delay 0.2\n@ask Go on?\n")
    pane = new_pane(
        tmux_server, sys.executable, "-m", "tmuxorch.demo_agent", "--prompt-file", str(prompt)
    )
    poller = Poller(tmux_server.client)
    poller.watch(pane, patterns=patterns.for_agent("demo"))
    sub = poller.subscribe(frames=False)
    states: list[str] = []
    with poller:
        for event in sub:
            if event["type"] == "state":
                states.append(str(event["state"]))
                if event["state"] == "waiting_input":
                    assert deliver(tmux_server.client, pane, "y") is None
            if event["type"] == "exit":
                break
    assert states[0] in ("starting", "busy")
    assert "busy" in states and "waiting_input" in states
    assert states.index("busy") < states.index("waiting_input")
    assert states[-1] == "done"


SCREENS = {
    (
        "claude",
        "busy",
    ): "╭───╮\n│ > fix the tests │\n╰───╯\n✶ Cogitating… (12s · ↑ 1.2k tokens · esc to interrupt)",
    (
        "claude",
        "waiting_input",
    ): "Bash command\n  rm -rf build\nDo you want to proceed?\n❯ 1. Yes\n  2. No, and tell Claude what to do differently (esc)",
    (
        "claude",
        "idle",
    ): "● Done. The tests pass.\n╭──────────────╮\n│ >            │\n╰──────────────╯\n  ? for shortcuts",
    (
        "claude",
        "waiting_input",
        "trust",
    ): "Do you trust the files in this folder?\n❯ 1. Yes, proceed\n  2. No, exit",
    ("codex", "busy"): "• Working (4s • esc to interrupt)",
    ("codex", "idle"): "▌ codex\n\n› Ask Codex to do anything\n  ? for shortcuts",
    ("codex", "waiting_input"): "Allow command?\n  git push\n[y/n]",
    ("aider", "idle"): "Tokens: 2.1k sent, 300 received.\naider> ",
    ("aider", "waiting_input"): "Add src/app.py to the chat? (Y)es/(N)o [Yes]:",
    ("gemini", "waiting_input"): "Allow execution of: 'ls'?\n● 1. Yes, allow once\n  2. No",
    ("gemini", "busy"): "⠼ Thinking about it (esc to cancel, 3s)",
    ("gemini", "idle"): "Using 1 GEMINI.md file\n> Type your message or @path/to/file",
    ("opencode", "busy"): "Working…  esc interrupt",
    ("opencode", "idle"): "  Ask anything...",
    ("goose", "busy"): "◓ goose is working on it… (Ctrl+C to interrupt)",
    ("shell", "idle"): "$ make test\nok\n$ ",
    ("shell", "waiting_input"): "Do you want to continue? [Y/n]",
    ("shell", "waiting_input", "sudo"): "[sudo] password for dev: ",
}


@pytest.mark.parametrize("case", sorted(SCREENS), ids=lambda c: "-".join(c))
def test_recorded_screens(case: tuple[str, ...]) -> None:
    agent, expected = case[0], case[1]
    assert Detector(patterns.for_agent(agent)).classify(SCREENS[case]) == expected


def test_detector_debounces_and_never_calls_silence_idle() -> None:
    d = Detector(patterns.for_agent("shell"), settle=0.5, confirm=0.2)
    assert d.observe("compiling...", 0.0) == "busy"
    assert d.observe("compiling...", 1.0) is None  # quiet, but nothing says idle...
    assert d.observe("compiling...", 1.3) == "unknown"  # ...so: unknown, not idle
    assert d.observe("done\n$ ", 1.4) is None  # a prompt that just appeared: not yet
    assert d.observe("done\n$ ", 2.0) is None  # settled, but the change must hold a moment
    assert d.observe("done\n$ ", 2.3) == "idle"
    assert d.observe("done\n$ ", 2.0, alive=False, exit_code=0) == "done"
    e = Detector(patterns.for_agent("demo"), confirm=0.2)
    e.observe("⠋ Thinking… (1s · esc to interrupt)", 0.0)
    assert e.observe("Proceed? (y/n)", 0.05) is None  # must hold a moment
    assert e.observe("Proceed? (y/n)", 0.3) == "waiting_input"


# -- send into real programs ------------------------------------------------------------------------
def test_send_into_a_python_repl(tmux_server: Server) -> None:
    pane = new_pane(tmux_server, sys.executable, "-q")
    wait_for_text(tmux_server, pane, ">>>")
    assert deliver(tmux_server.client, pane, "x = 6 * 7") is None
    assert deliver(tmux_server.client, pane, "print(f'answer={x}')") is None
    wait_for_text(tmux_server, pane, "answer=42")


def test_send_into_a_bash_read_loop(tmux_server: Server) -> None:
    pane = new_pane(
        tmux_server,
        "bash",
        "--noprofile",
        "--norc",
        "-c",
        'while IFS= read -r line; do printf "got[%s]\\n" "$line"; done',
    )
    time.sleep(0.3)
    for text in ("plain", "semi;", "-n --help", "quotes ' \" \\ $HOME", "unicode é 日本"):
        assert deliver(tmux_server.client, pane, text) is None
        wait_for_text(tmux_server, pane, f"got[{text}]")


def test_send_command(tmux_server: Server, tmp_path: Path) -> None:
    pane = new_pane(
        tmux_server,
        "sh",
        "-c",
        # the pane's death by SIGINT (the default action: no trap) proves the C-c was pressed
        'while read -r l; do echo "got:$l"; done',
    )
    time.sleep(0.3)
    send = tmuxorch_argv("send", "-L", tmux_server.name)
    ok = subprocess.run(
        [*send, pane, "hello", "world"], env=tmux_env(), capture_output=True, text=True
    )
    assert (ok.returncode, ok.stderr) == (0, "")
    wait_for_text(tmux_server, pane, "got:hello world")
    piped = subprocess.run(
        [*send, pane, "-"], input="from stdin", env=tmux_env(), capture_output=True, text=True
    )
    assert piped.returncode == 0
    wait_for_text(tmux_server, pane, "got:from stdin")
    typed = subprocess.run(
        [*send, "--no-enter", pane, "partial"], env=tmux_env(), capture_output=True, text=True
    )
    assert typed.returncode == 0
    time.sleep(0.2)
    assert "got:partial" not in screen(tmux_server, pane)
    key = subprocess.run(
        [*send, "--key", "C-c", pane], env=tmux_env(), capture_output=True, text=True
    )
    assert key.returncode == 0
    eventually(lambda: dead_by(tmux_server, pane) == "2", what="the pane's program ended by SIGINT")
    dead = subprocess.run([*send, pane, "anyone?"], env=tmux_env(), capture_output=True, text=True)
    assert dead.returncode == 1 and "not delivered" in dead.stderr and "ended" in dead.stderr
    unknown = subprocess.run([*send, "nope", "x"], env=tmux_env(), capture_output=True, text=True)
    assert unknown.returncode == 2 and "no task or pane 'nope' on tmux server" in unknown.stderr
    nothing = subprocess.run([*send, pane], env=tmux_env(), capture_output=True, text=True)
    assert nothing.returncode == 2


FAKE_AGENT = r"""
import os, sys, tty
swallow = int(sys.argv[1])
tty.setraw(0)
buf = ""
def draw():
    sys.stdout.write("\r\x1b[2K│ > " + buf)
    sys.stdout.flush()
draw()
while True:
    ch = os.read(0, 1).decode()
    if ch in "\r\n":
        if swallow:
            swallow -= 1
            continue
        sys.stdout.write("\r\n● submitted: " + buf + "\r\n")
        buf = ""
    else:
        buf += ch
    draw()
"""


@pytest.mark.parametrize(("swallowed", "delivered"), [(0, True), (1, True), (5, False)])
def test_enter_is_checked_and_rescued_once(
    tmux_server: Server, tmp_path: Path, swallowed: int, delivered: bool
) -> None:
    """An agent with an input box that ignores Enter presses: one rescue Enter, no more."""
    script = tmp_path / "agent.py"
    script.write_text(FAKE_AGENT)
    pane = new_pane(tmux_server, sys.executable, str(script), str(swallowed))
    tmux_server.client.cmd("set-option", "-p", "-t", pane, "@tmuxorch-agent", "claude")
    wait_for_text(tmux_server, pane, "│ >")
    why = deliver(tmux_server.client, pane, "please fix the build", delay=0.05)
    if delivered:
        assert why is None
        wait_for_text(tmux_server, pane, "● submitted: please fix the build")
    else:
        assert why is not None and "still in the input box" in why


def _start_run(server: Server, tmp_path: Path, tasks: str) -> tuple[Path, subprocess.Popen[str]]:
    """``tmuxorch run`` of a tasks file written from ``tasks``, in the background (its output
    and errors together on ``stdout``)."""
    file = tmp_path / "tasks.yaml"
    file.write_text(textwrap.dedent(tasks))
    run = subprocess.Popen(
        tmuxorch_argv("run", "-L", server.name, str(file)),
        env=tmux_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return file, run


def test_waiting_input_in_status_titles_and_notify(tmux_server: Server, tmp_path: Path) -> None:
    notified = tmp_path / "notified.json"
    file, run = _start_run(
        tmux_server,
        tmp_path,
        f"""
        notify: 'cat > {notified}'
        agents:
          asker: {{preset: demo, args: [--fast]}}
        tasks:
          - {{id: q, agent: asker, prompt: "@ask Deploy?"}}
        """,
    )
    eventually(notified.exists, what="the notify hook ran")
    event = json.loads(eventually(lambda: notified.read_text() or None))
    assert (event["event"], event["task"]) == ("waiting_input", "q")
    status = json.loads(
        subprocess.run(
            tmuxorch_argv("status", "--json", "--file", str(file)), capture_output=True, text=True
        ).stdout
    )
    assert status["tasks"][0]["state"] == "waiting_input"
    titles = tmux_server.client.cmd("list-panes", "-a", "-F", "#{pane_title}")
    assert "q · waiting for input" in titles
    answer = subprocess.run(
        tmuxorch_argv("send", "-L", tmux_server.name, "q", "y"),
        env=tmux_env(),
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 0, answer.stderr
    out, _ = run.communicate(timeout=60)
    assert run.returncode == 0, out
    logs = subprocess.run(
        tmuxorch_argv("logs", "q", "--file", str(file)), capture_output=True, text=True
    )
    assert "Deploy? (y/n) y" in logs.stdout and "● Proceeding." in logs.stdout
    assert os.path.exists(os.path.join(tmp_path, ".tmuxorch", "events.jsonl"))


def _events_until(sub: object, stop: str, timeout: float = 30) -> list[Event]:
    got: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = sub.get(0.2)  # type: ignore[attr-defined]
        if event is None:
            continue
        got.append(event)
        lines = event.get("lines", [])
        assert isinstance(lines, list)
        if event["type"] == stop or stop in [str(line) for line in lines]:
            return got
    raise AssertionError(f"never saw {stop!r}: {[e['type'] for e in got]}")


def test_clear_history_resize_alternate_screen_and_respawn(
    tmux_server: Server, tmp_path: Path
) -> None:
    """What resets a pane's screen or history: a keyframe follows, and no line is repeated."""
    script = tmp_path / "steps.sh"
    script.write_text(
        textwrap.dedent(
            """\
            for i in $(seq 1 150); do echo "before $i"; done
            while [ ! -e go1 ]; do sleep 0.05; done
            for i in $(seq 1 150); do echo "after $i"; done
            printf '\\033[?1049h'; echo "in the alternate screen"
            while [ ! -e go2 ]; do sleep 0.05; done
            printf '\\033[?1049l'; echo "back"
            sleep 300
            """
        )
    )
    c = tmux_server.client
    pane = new_pane(tmux_server, "sh", "-c", f"cd {tmp_path} && sh steps.sh", history=10_000)
    poller = Poller(c)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe()
    lines: list[str] = []
    with poller:
        seen = _events_until(sub, "before 50")  # scrolled into history
        c.cmd("clear-history", "-t", pane)
        (tmp_path / "go1").touch()
        seen += _events_until(sub, "after 50")
        seen += _events_until(sub, "frame")
        c.cmd("resize-window", "-t", pane, "-x", "100", "-y", "25")
        around: list[Event] = []

        def new_size() -> Event | None:  # (a frame of what came before may come first)
            around.extend(_events_until(sub, "frame"))
            return next((e for e in around if e.get("size") == [100, 25]), None)

        resized = eventually(new_size, what="a frame of the new size")
        assert resized["key"] is True
        alt = eventually(
            lambda: next((e for e in _events_until(sub, "frame") if e.get("alternate")), None),
            what="the alternate screen",
        )
        assert alt["key"] is True and "in the alternate screen" in str(alt["text"])
        (tmp_path / "go2").touch()
        eventually(
            lambda: any(
                not e.get("alternate") and e.get("key") for e in _events_until(sub, "frame")
            )
        )
        c.cmd("respawn-pane", "-k", "-t", pane, "sh", "-c", "echo respawned; sleep 300")
        respawned = eventually(
            lambda: next(
                (
                    e
                    for e in _events_until(sub, "frame")
                    if e.get("key") and "respawned" in str(e.get("text"))
                ),
                None,
            ),
            what="a keyframe after respawn",
        )
        assert respawned
        seen += around
    for event in seen:
        if event["type"] == "lines":
            lines += [str(x) for x in event["lines"]]  # type: ignore[attr-defined]
    numbered = [ln for ln in lines if ln.startswith(("before ", "after "))]
    assert len(numbered) == len(set(numbered))  # none twice, history cleared or not
    after = [ln for ln in numbered if ln.startswith("after")]
    assert after[:50] == [f"after {i}" for i in range(1, 51)]  # the cleared history lost none


def test_lines_taken_back_onto_a_growing_screen_are_not_repeated(
    tmux_server: Server, tmp_path: Path
) -> None:
    """A pane that grows takes lines back from its history onto the screen: history
    shrinks, but nothing was lost, so no gap, and no line twice (the transcript's end)."""
    script = tmp_path / "grow.sh"
    script.write_text(
        textwrap.dedent(
            """\
            for i in $(seq 1 30); do echo "line $i"; done
            while [ ! -e go ]; do sleep 0.05; done
            for i in $(seq 31 35); do echo "line $i"; done
            """
        )
    )
    c = tmux_server.client
    pane = new_pane(tmux_server, "sh", "-c", f"cd {tmp_path} && sh grow.sh")
    other = c.cmd("split-window", "-d", "-t", pane, "-v", "-l", "40", "-P", "-F", "#{pane_id}")[0]
    poller = Poller(c)
    poller.watch(pane, from_start=True)
    sub = poller.subscribe()
    with poller:
        wait_for_text(tmux_server, pane, "line 30")
        history = int(c.cmd("display-message", "-p", "-t", pane, "#{history_size}")[0])
        assert history > 0  # some lines scrolled into history while the pane was small
        seen = _events_until(sub, f"line {history}")  # each emitted, as history
        c.cmd("kill-pane", "-t", other)
        eventually(
            lambda: c.cmd("display-message", "-p", "-t", pane, "#{history_size}")[0] == "0",
            what="the lines taken back onto the grown screen",
        )
        seen += _events_until(sub, "frame")
        (tmp_path / "go").touch()
        seen += _events_until(sub, "exit")
    assert not [e for e in seen if e["type"] == "gap"]
    lines = [str(x) for e in seen if e["type"] == "lines" for x in e["lines"]]  # type: ignore[attr-defined]
    assert lines == [f"line {i}" for i in range(1, 36)]


def test_send_when_idle_and_to_all(tmux_server: Server, tmp_path: Path) -> None:
    """--when-idle waits for the agent's prompt; --all reaches every task pane."""
    c = tmux_server.client
    prompt = tmp_path / "p.md"
    prompt.write_text("@steps 2\n@delay 0.3\n@interactive\n")
    panes = []
    for task in ("one", "two"):
        pane = new_pane(
            tmux_server, sys.executable, "-m", "tmuxorch.demo_agent", "--prompt-file", str(prompt)
        )
        for option, value in (
            ("@tmuxorch-run", "r"),
            ("@tmuxorch-task", task),
            ("@tmuxorch-agent", "demo"),
        ):
            c.cmd("set-option", "-p", "-t", pane, option, value)
        panes.append(pane)
    send = [*tmuxorch_argv("send", "-L", tmux_server.name)]
    started = time.monotonic()
    waited = subprocess.run(
        [*send, "--when-idle", "one", "@steps 0"], env=tmux_env(), capture_output=True, text=True
    )
    assert waited.returncode == 0, waited.stderr
    assert time.monotonic() - started > 0.3  # it did wait for the first turn to end
    wait_for_text(tmux_server, panes[0], "> @steps 0")
    everyone = subprocess.run(
        [*send, "--when-idle", "--all", "/exit"], env=tmux_env(), capture_output=True, text=True
    )
    assert everyone.returncode == 0, everyone.stderr

    def all_dead() -> bool:
        return all(c.cmd("display-message", "-p", "-t", p, "#{pane_dead}") == ["1"] for p in panes)

    eventually(all_dead, what="both exited")


def _task_panes(server: Server) -> list[str]:
    try:
        return server.client.cmd("list-panes", "-a", "-F", "#{@tmuxorch-task}")
    except TmuxError:  # no session yet
        return []


def test_watch_and_send_follow_tasks_not_panes(tmux_server: Server, tmp_path: Path) -> None:
    """A task target is followed through its life: waited for while pending, each retry's
    pane from its first line, and a finished task is named as such (not "no pane")."""
    _, run = _start_run(
        tmux_server,
        tmp_path,
        """
        tasks:
          - {id: gate, command: 'read go; echo gate-open'}
          - {id: after, depends_on: [gate], command: 'echo after-1; echo after-2'}
          - id: flaky
            depends_on: [gate]
            command: 'echo "try $TMUXORCH_ATTEMPT"; sleep 0.5; [ $TMUXORCH_ATTEMPT -ge 2 ]'
            retries: 1
            retry_delay: 300ms
          - {id: hold, depends_on: [after, flaky], command: 'printf "Go on? (y/n) "; read go'}
          - {id: last, depends_on: [hold], command: 'read go'}
        """,
    )
    send = [*tmuxorch_argv("send", "-L", tmux_server.name)]
    watch = [*tmuxorch_argv("watch", "-L", tmux_server.name)]

    def cli(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, env=tmux_env(), capture_output=True, text=True, timeout=60)

    try:
        eventually(lambda: "gate" in _task_panes(tmux_server), what="gate has started")
        early = cli(*send, "after", "hello")
        assert (early.returncode, early.stderr) == (
            1,
            "tmuxorch: not delivered: after is pending (not started yet)"
            " (--when-idle waits for it)\n",
        )
        viewer = subprocess.Popen(
            [*watch, "after", "flaky"],
            env=tmux_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert viewer.stderr is not None
        notices = [viewer.stderr.readline(), viewer.stderr.readline()]
        assert sorted(notices) == [
            "after is pending (not started yet): following it once it has a pane\n",
            "flaky is pending (not started yet): following it once it has a pane\n",
        ]
        answer = subprocess.Popen(  # hold is pending: --when-idle waits for its prompt
            [*send, "--when-idle", "hold", "y"], env=tmux_env(), stderr=subprocess.PIPE, text=True
        )
        assert cli(*send, "gate", "go").returncode == 0
        out, _ = viewer.communicate(timeout=60)
        assert viewer.returncode == 0
        shown = [ln for ln in out.splitlines() if " │ " in ln and "[" not in ln]
        assert [ln for ln in shown if ln.startswith("after")] == [
            "after │ after-1",
            "after │ after-2",
        ]
        assert [ln for ln in shown if ln.startswith("flaky")] == [
            "flaky │ try 1",
            "flaky │ try 2",
        ], out
        ended = cli(*watch, "gate")
        assert (ended.returncode, ended.stderr) == (
            1,
            "gate has succeeded (exit 0); its output: tmuxorch logs gate\n",
        )
        late = cli(*send, "flaky", "hello")
        assert late.returncode == 1 and "not delivered: flaky has succeeded" in late.stderr
        assert answer.wait(timeout=60) == 0, answer.communicate()[1]
        eventually(lambda: "last" in _task_panes(tmux_server), what="last has started")
        assert cli(*send, "last", "go").returncode == 0
        ran, _ = run.communicate(timeout=60)
        assert run.returncode == 0, ran
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()


def test_send_and_watch_use_the_profile_of_a_run_pane(tmux_server: Server, tmp_path: Path) -> None:
    """A profile's own patterns and Enter delay reach ``send``/``watch`` in other processes
    through the pane's options: here only the profile's pattern sees the prompt as idle."""
    got = tmp_path / "got"
    _, run = _start_run(
        tmux_server,
        tmp_path,
        rf"""
        agents:
          custom: {{preset: shell, enter_delay: 0.25, patterns: {{idle: 'READY>\s*\Z'}}}}
        tasks:
          - {{id: t, agent: custom, command: 'printf "READY> "; read line; echo "$line" > {got}'}}
        """,
    )
    try:
        eventually(lambda: "t" in _task_panes(tmux_server), what="t has started")
        options = tmux_server.client.cmd(
            "display-message",
            "-p",
            "-t",
            tmux_server.client.cmd("list-panes", "-a", "-F", "#{pane_id}")[-1],
            "#{@tmuxorch-agent}|#{@tmuxorch-enter-delay}|#{@tmuxorch-patterns}",
        )
        agent, delay, patterns = options[0].split("|", 2)
        assert (agent, delay) == ("shell", "0.25")
        assert json.loads(patterns) == [  # the profile's first, then the rest of the preset's
            ["idle", r"READY>\s*\Z"],
            ["waiting_input", dict(SHELL)["waiting_input"]],
        ]
        sent = subprocess.run(
            tmuxorch_argv(
                "send", "-L", tmux_server.name, "--when-idle", "--timeout", "30", "t", "hi"
            ),
            env=tmux_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        ran, _ = run.communicate(timeout=60)
        assert run.returncode == 0, ran
        assert got.read_text() == "hi\n"
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()


INTERRUPTS = r"""
import os, sys, time, tty
tty.setraw(0)
with open(sys.argv[1], "a") as log:
    print("ready", file=log, flush=True)
    while True:
        for byte in os.read(0, 64):
            if byte == 3:
                print(f"{time.time():.6f}", file=log, flush=True)
"""


def _has(path: Path, text: str) -> bool:
    return path.exists() and text in path.read_text()


def test_no_two_interrupts_close_together_to_an_agent(tmux_server: Server, tmp_path: Path) -> None:
    """A second C-c soon after the first quits agent TUIs: ``send`` spaces them (even when
    they come from two processes); to a shell they go at once."""
    from tmuxorch.bridge.send import INTERRUPT_GAP

    c = tmux_server.client
    script = tmp_path / "interrupts.py"
    script.write_text(INTERRUPTS)
    logs = {agent: tmp_path / f"{agent}.log" for agent in ("claude", "shell")}
    panes = {}
    for agent, log in logs.items():
        panes[agent] = new_pane(tmux_server, sys.executable, str(script), str(log))
        c.cmd("set-option", "-p", "-t", panes[agent], "@tmuxorch-agent", agent)
        eventually(partial(_has, log, "ready"), what="the reader")
    send = tmuxorch_argv("send", "-L", tmux_server.name)
    for pane in panes.values():
        for keys in (["--key", "C-c", "--key", "C-c"], ["--key", "C-c"]):  # then another process
            done = subprocess.run([*send, *keys, pane], env=tmux_env(), capture_output=True)
            assert done.returncode == 0, done.stderr

    def times(agent: str) -> list[float] | None:
        stamps = [float(x) for x in logs[agent].read_text().split()[1:]]
        return stamps if len(stamps) == 3 else None

    claude = eventually(lambda: times("claude"), what="three interrupts to claude")
    # send spaces them by INTERRUPT_GAP when it sends them; the program notes when each
    # arrives, and on a loaded machine the first may arrive late (seen: CI with a benchmark
    # beside it), so the gaps it sees may be a little shorter, never near none
    assert all(b - a >= INTERRUPT_GAP - 0.5 for a, b in itertools.pairwise(claude)), claude
    assert eventually(lambda: times("shell"), what="three interrupts to the shell")
