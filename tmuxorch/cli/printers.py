"""How ``watch`` shows pane events: JSON lines, a pane as a log, or its screen mirrored."""

from __future__ import annotations

import json
import time

from tmuxorch.bridge.frames import apply_patch

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import TextIO

    from tmuxorch.bridge.poller import Event


class JsonPrinter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        self.out.write(json.dumps(event, ensure_ascii=False) + "\n")
        self.out.flush()


class LogPrinter:
    """A pane as a log: each line once, when it is complete (above the cursor, or scrolled
    into history); the line being redrawn (spinners, prompts) shows when it settles."""

    def __init__(self, out: TextIO, *, prefix: bool, from_start: bool = False) -> None:
        self.out = out
        self.prefix = prefix
        self.from_start = from_start
        self.whole: set[str] = set()
        """Panes to print from their first line whatever ``from_start`` says."""
        self.screens: dict[str, str] = {}
        self.printed: dict[str, int] = {}

    def _print(self, event: Event, lines: list[str]) -> None:
        label = f"{event['label']} │ " if self.prefix else ""
        self.out.write("".join(f"{label}{line}\n" for line in lines))
        self.out.flush()

    def __call__(self, event: Event) -> None:
        pane = str(event["pane"])
        kind = event["type"]
        if kind == "lines":
            start = int(event["start"])  # type: ignore[call-overload]
            lines = list(event["lines"])  # type: ignore[call-overload]
            done = self.printed.get(pane, start)
            self._print(event, lines[max(0, done - start) :])
            self.printed[pane] = max(done, start + len(lines))
        elif kind == "frame":
            screen = self._screen(pane, event)
            rows = screen.split("\n")
            history = int(event["history"])  # type: ignore[call-overload]
            cursor_row = int(event["cursor"][1])  # type: ignore[index]
            whole = self.from_start or pane in self.whole
            done = self.printed.setdefault(pane, 0 if whole else history + cursor_row)
            complete = rows[:cursor_row]
            while complete and not complete[-1].strip():
                complete.pop()  # blank rows wait for the text below them (or stay unprinted)
            first = max(0, done - history)
            if first < len(complete):
                self._print(event, complete[first:])
                self.printed[pane] = history + len(complete)
        elif kind == "state" and event["state"] in ("waiting_input", "idle", "error"):
            screen = self.screens.get(pane, "")
            last = next((ln for ln in reversed(screen.split("\n")) if ln.strip()), "")
            self._print(event, [f"[{event['state']}] {last.strip()}"])
        elif kind == "exit":
            code = event.get("code")
            self._print(event, [f"[exited{'' if code is None else f' with status {code}'}]"])
        elif kind == "gap":
            self._print(event, [f"[some output was not seen: {event.get('reason')}]"])
        elif kind == "gone":
            self._print(event, ["[pane closed]"])

    def rest(self, event: Event) -> None:
        """Print what is left of the screen (the cursor's line and below, up to the last
        line with text): for a log that stops here."""
        pane = str(event["pane"])
        rows = self.screens.get(pane, "").split("\n")
        history = int(event["history"])  # type: ignore[call-overload]
        first = max(0, self.printed.get(pane, history) - history)
        left = rows[first:]
        while left and not left[-1].strip():
            left.pop()
        self._print(event, left)
        self.printed[pane] = history + first + len(left)

    def _screen(self, pane: str, event: Event) -> str:
        if event.get("key"):
            screen = str(event["text"])
        else:
            screen = apply_patch(self.screens.get(pane, ""), str(event["patch"]))
        self.screens[pane] = screen
        return screen


class MirrorPrinter:
    """The panes' screens, redrawn in place (``--frames``), one block per label (a task's
    next attempt takes its place)."""

    def __init__(self, out: TextIO, labels: list[str]) -> None:
        self.out = out
        self.labels = labels
        self.screens: dict[str, str] = dict.fromkeys(labels, "")
        self.states: dict[str, str] = dict.fromkeys(labels, "")
        self.drawn = 0.0

    def __call__(self, event: Event) -> None:
        label = str(event["label"])
        if event["type"] == "frame":
            if event.get("key"):
                self.screens[label] = str(event["text"])
            else:
                self.screens[label] = apply_patch(self.screens[label], str(event["patch"]))
        elif event["type"] == "state":
            self.states[label] = str(event["state"])
        elif event["type"] not in ("exit", "gone"):
            return
        now = time.monotonic()
        if now - self.drawn < 0.05 and event["type"] == "frame":
            return  # at most 20 redraws a second
        self.drawn = now
        parts = ["\x1b[H\x1b[2J"]
        for shown in self.labels:
            parts.append(f"\x1b[7m {shown} · {self.states[shown] or '…'} \x1b[0m\n")
            parts.append(self.screens[shown].rstrip("\n") + "\n")
        self.out.write("".join(parts))
        self.out.flush()
