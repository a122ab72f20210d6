"""A stand-in for an AI coding agent, for the demo and for tests (no API key, no network).

``python -m tmuxorch.demo_agent --prompt-file PROMPT`` prints a banner, echoes the prompt,
then works through a few steps at a human pace: "thinking" with a spinner redrawn in place,
tool calls (``● Read(...)``, ``● Edit(...)``), optionally a question it waits on
(``Proceed? (y/n)``), the files it was asked to write, and an exit code of your choosing.

Behaviour comes from flags, or from directives in the prompt (a directive wins)::

    @steps 3            how many work steps (--steps)
    @delay 0.2          seconds between lines (--delay; --fast is 0)
    @ask Deploy now?    ask and wait for y/n (--ask); "n" ends with exit status 1
    @write docs/plan.md write this file, relative to the working directory (--write)
    @exit 2             exit status at the end (--exit)
    @interactive        stay at an idle "❯" prompt, taking more prompts (--interactive)
    @trust              first ask whether to trust the folder, as Claude Code does, with
                        "No, exit" highlighted (arrows and Enter answer; --trust-dialog)

Like a real agent it keeps conversations: ``--session-id ID`` names a new one,
``--resume ID`` continues it (and fails if there is none), and on exit it says how to resume.
They live in ``$TMUXORCH_DEMO_STATE`` (default: a folder in the temp directory), as does
the list of trusted folders.

When ``$TMUXORCH_RESULT`` is set (tmuxorch sets it), a successful turn ends by writing a
JSON summary there, as the prompt templates ask real agents to.

Everything it prints depends only on the prompt and the options, so tests are repeatable.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Sequence

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
FILES = ("src/app.py", "src/api.py", "src/models.py", "tests/test_api.py", "README.md")
THOUGHTS = (
    "I'll start by reading the relevant code.",
    "The handler needs input validation before it touches the store.",
    "Let me check how the existing tests are organised.",
    "A small helper keeps this readable.",
    "Now the edge cases: empty input and duplicates.",
    "Running the tests to confirm.",
)


class Script:
    """What the agent will do, from options and prompt directives."""

    def __init__(self, args: argparse.Namespace, prompt: str) -> None:
        self.prompt = prompt
        self.steps: int = args.steps
        self.delay: float = 0.0 if args.fast else args.delay
        self.ask: str | None = args.ask
        self.writes: list[str] = list(args.write or [])
        self.exit: int = args.exit
        self.interactive: bool = args.interactive
        self.trust: bool = args.trust_dialog
        self.directives(prompt)

    def directives(self, prompt: str) -> None:
        for line in prompt.splitlines():
            word, _, value = line.strip().partition(" ")
            value = value.strip()
            if word == "@steps":
                self.steps = int(value)
            elif word == "@delay":
                self.delay = float(value)
            elif word == "@ask":
                self.ask = value or "Proceed?"
            elif word == "@write":
                self.writes.append(value)
            elif word == "@exit":
                self.exit = int(value)
            elif word == "@interactive":
                self.interactive = True
            elif word == "@trust":
                self.trust = True


class Screen:
    """Lines, and one status line redrawn in place under them."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.out = sys.stdout

    def line(self, text: str = "") -> None:
        self.out.write(f"\r\x1b[2K{text}\n")
        self.out.flush()
        self.pause()

    def pause(self, factor: float = 1.0) -> None:
        if self.delay:
            time.sleep(self.delay * factor)

    def spin(self, label: str, seconds: float) -> None:
        """A spinner redrawn in place for ``seconds`` (at least one frame)."""
        started = time.monotonic()
        frame = 0
        while True:
            elapsed = time.monotonic() - started
            glyph = SPINNER[frame % len(SPINNER)]
            self.out.write(f"\r\x1b[2K{glyph} {label}… ({int(elapsed)}s · esc to interrupt)")
            self.out.flush()
            frame += 1
            if elapsed >= seconds:
                break
            time.sleep(min(0.1, seconds))
        self.out.write("\r\x1b[2K")
        self.out.flush()


def banner(screen: Screen, prompt: str) -> None:
    task = os.environ.get("TMUXORCH_TASK", "-")
    width = 58
    screen.line("╭" + "─" * width + "╮")
    screen.line("│" + " ✻ demo-agent · a stand-in coding agent (no API key)".ljust(width) + "│")
    screen.line("│" + f"   task: {task}   cwd: {os.getcwd()}"[:width].ljust(width) + "│")
    screen.line("╰" + "─" * width + "╯")
    for text in [ln for ln in prompt.strip().splitlines() if not ln.startswith("@")][:6]:
        screen.line(f"> {text}")
    screen.line()


def work(screen: Screen, script: Script, rng: random.Random) -> None:
    for step in range(script.steps):
        screen.spin("Thinking", script.delay * 2)
        screen.line(f"● {THOUGHTS[step % len(THOUGHTS)]}")
        path = rng.choice(FILES)
        tool = ("Read", "Edit", "Bash")[step % 3]
        if tool == "Bash":
            screen.line("● Bash(pytest -q)")
            screen.line(f"  ⎿  {rng.randint(3, 40)} passed in {rng.uniform(0.2, 2.5):.2f}s")
        else:
            screen.line(f"● {tool}({path})")
            change = (
                f"Read {rng.randint(20, 300)} lines"
                if tool == "Read"
                else (f"Updated {path} with {rng.randint(1, 30)} additions")
            )
            screen.line(f"  ⎿  {change}")


def ask(screen: Screen, question: str) -> bool:
    while True:
        screen.out.write(f"\r\x1b[2K{question} (y/n) ")
        screen.out.flush()
        answer = sys.stdin.readline()
        if not answer:  # end of input: nobody will answer
            screen.line()
            return False
        answer = answer.strip().lower()
        if answer in ("y", "yes"):
            screen.line("● Proceeding.")
            return True
        if answer in ("n", "no"):
            screen.line("● Stopping here, as you asked.")
            return False


def write_files(screen: Screen, paths: list[str], prompt: str) -> None:
    task = os.environ.get("TMUXORCH_TASK", "-")
    first = next((ln for ln in prompt.splitlines() if ln.strip() and not ln.startswith("@")), "")
    for path in paths:
        directory = os.path.dirname(path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(f"# {path}\n\nWritten by demo-agent for task {task}.\n\n> {first}\n")
        screen.line(f"● Write({path})")
        screen.line(f"  ⎿  Wrote {path}")


def state_dir() -> str:
    default = os.path.join(tempfile.gettempdir(), f"tmuxorch-demo-{os.getuid()}")
    path = os.environ.get("TMUXORCH_DEMO_STATE") or default
    os.makedirs(os.path.join(path, "sessions"), exist_ok=True)
    return path


def trust_folder(screen: Screen) -> bool:
    """Ask whether to trust the working directory (once per folder): a menu answered with
    the arrow keys and Enter, "No, exit" highlighted first."""
    here = os.path.realpath(os.getcwd())
    trusted = os.path.join(state_dir(), "trusted")
    if os.path.exists(trusted):
        with open(trusted, encoding="utf-8") as handle:
            if here in handle.read().splitlines():
                return True
    options = ["No, exit", "Yes, I trust this folder"]
    chosen = 0
    head = ["Do you trust the files in this folder?", here, ""]
    drawn = 0

    def draw() -> None:
        nonlocal drawn
        lines = [*head] + [f"{'❯' if i == chosen else ' '} {o}" for i, o in enumerate(options)]
        lines += ["", "Enter to confirm · Esc to cancel"]
        up = f"\x1b[{drawn}A" if drawn else ""
        screen.out.write(up + "\r\x1b[J" + "\r\n".join(lines) + "\r\n")
        screen.out.flush()
        drawn = len(lines)

    with RawTerminal():
        draw()
        while True:
            key = read_key()
            if key in ("up", "down"):
                chosen = (chosen + (1 if key == "down" else -1)) % len(options)
                draw()
            elif key == "enter":
                break
            elif key in ("esc", ""):
                chosen = 0
                break
    screen.out.write(f"\x1b[{drawn}A\r\x1b[J")  # the dialog goes, as in a real TUI
    if chosen == 0:
        screen.line("● Not trusted: exiting.")
        return False
    with open(trusted, "a", encoding="utf-8") as handle:
        handle.write(here + "\n")
    screen.line(f"● Trusted {here}.")
    return True


class RawTerminal:
    """Keys as they are pressed (no line editing, no echo), when stdin is a terminal."""

    def __enter__(self) -> None:
        self.saved = None
        if sys.stdin.isatty():
            import termios
            import tty

            self.saved = termios.tcgetattr(sys.stdin.fileno())
            tty.setcbreak(sys.stdin.fileno())

    def __exit__(self, *exc: object) -> None:
        if self.saved is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self.saved)


def read_key() -> str:
    """One key: "up", "down", "enter", "esc", another character, or "" at end of input."""
    char = os.read(sys.stdin.fileno(), 1).decode(errors="replace")
    if char in ("\r", "\n"):
        return "enter"
    if char != "\x1b":
        return char
    import select

    if not select.select([sys.stdin], [], [], 0.05)[0]:
        return "esc"
    rest = os.read(sys.stdin.fileno(), 2).decode(errors="replace")
    return {"[A": "up", "[B": "down", "OA": "up", "OB": "down"}.get(rest, "esc")


def conversation(args: argparse.Namespace, screen: Screen) -> tuple[str, list[str]] | None:
    """The conversation this run continues (``--resume``) or starts; None if the one to
    resume does not exist."""
    if args.resume:
        path = os.path.join(state_dir(), "sessions", args.resume)
        if not os.path.exists(path):
            screen.line(f"No conversation found with session ID: {args.resume}")
            return None
        with open(path, encoding="utf-8") as handle:
            earlier = [line for line in handle.read().split("\x00") if line]
        screen.line(f"↻ Resumed conversation {args.resume} ({len(earlier)} earlier prompt(s))")
        return args.resume, earlier
    return args.session_id or str(uuid.uuid4()), []


def remember(session: str, prompt: str) -> None:
    with open(os.path.join(state_dir(), "sessions", session), "a", encoding="utf-8") as handle:
        handle.write(prompt + "\x00")


def report(screen: Screen, script: Script) -> None:
    """Honour tmuxorch's result contract: a JSON summary in ``$TMUXORCH_RESULT``."""
    path = os.environ.get("TMUXORCH_RESULT")
    if not path:
        return
    first = next(
        (ln.strip() for ln in script.prompt.splitlines() if ln.strip() and not ln.startswith("@")),
        "",
    )
    result = {
        "task": os.environ.get("TMUXORCH_TASK", "-"),
        "summary": f"did: {first}" if first else "did what was asked",
        "files": script.writes,
        "steps": script.steps,
    }
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2)
    os.replace(path + ".tmp", path)  # whole or not at all: a watcher may be waiting on it
    screen.line("● Wrote the result for tmuxorch")


def run_turn(screen: Screen, script: Script) -> int:
    rng = random.Random(script.prompt)
    started = time.monotonic()
    work(screen, script, rng)
    if script.ask and not ask(screen, script.ask):
        return 1
    write_files(screen, script.writes, script.prompt)
    took = time.monotonic() - started
    if script.exit == 0:
        report(screen, script)
        screen.line(f"✓ Done in {took:.1f}s.")
    else:
        screen.line(f"✗ Failed with exit status {script.exit} after {took:.1f}s.")
    return script.exit


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tmuxorch.demo_agent", description=__doc__)
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--prompt-file", help="read the prompt from this file")
    source.add_argument("--prompt", help="the prompt itself")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.5)
    parser.add_argument("--fast", action="store_true", help="no pauses (tests)")
    parser.add_argument("--ask", metavar="QUESTION")
    parser.add_argument("--write", action="append", metavar="PATH")
    parser.add_argument("--exit", type=int, default=0)
    parser.add_argument("--interactive", action="store_true")
    parser.add_argument("--trust-dialog", action="store_true")
    conversation_group = parser.add_mutually_exclusive_group()
    conversation_group.add_argument("--session-id", metavar="ID", help="name a new conversation")
    conversation_group.add_argument("--resume", metavar="ID", help="continue a conversation")
    args = parser.parse_args(argv)
    if args.prompt_file:
        with open(args.prompt_file, encoding="utf-8") as handle:
            prompt = handle.read()
    elif args.prompt is not None:
        prompt = args.prompt
    elif not sys.stdin.isatty():
        prompt = sys.stdin.read()
    else:
        prompt = ""
    script = Script(args, prompt)
    screen = Screen(script.delay)
    session: str | None = None
    try:
        if script.trust and not trust_folder(screen):
            return 1
        found = conversation(args, screen)
        if found is None:
            return 1
        session = found[0]
        banner(screen, prompt)
        remember(session, prompt)
        status = run_turn(screen, script)
        while script.interactive:
            screen.out.write("\r\x1b[2K❯ ")
            screen.out.flush()
            line = sys.stdin.readline()
            if not line or line.strip() in ("/exit", "/quit"):
                break
            if line.strip():
                screen.line(f"> {line.strip()}")
                remember(session, line.strip())
                status = run_turn(screen, Script(args, line))
        return status
    except KeyboardInterrupt:
        sys.stdout.write("\r\x1b[2K⎿  Interrupted by user\n")
        return 130
    finally:
        if session is not None:
            sys.stdout.write(f"Resume this conversation with: demo --resume {session}\n")
            sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
