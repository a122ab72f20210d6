"""What a line-oriented program printed, as text, from every byte it wrote to its terminal.

Escape sequences (colours, titles, modes) are dropped; a carriage return goes back to the
start of the line and a backspace one column (so progress bars end as their last state);
erase-line erases. A program that draws a screen (the alternate screen, or the cursor
moved up or placed) is not line-oriented: its text is read off the screen instead (see the
poller), and :func:`text` says so with None.
"""

from __future__ import annotations

import re

_SCREEN = re.compile(rb"\x1b\[\?(?:1049|1047|47)h|\x1b\[[0-9;]*[AHfd]")
"""Drawing a screen rather than printing lines."""
_ESCAPE = re.compile(
    rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[P^_][^\x1b]*\x1b\\|[()*+#].|.)"
)
_ERASE = re.compile(rb"\x1b\[[02]?K")
_EDIT = re.compile(r"(\r|\x08|\x00ERASE\x00)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def text(data: bytes) -> str | None:
    """The lines ``data`` prints (each ending in a newline but perhaps the last), or None
    if it draws a screen."""
    if _SCREEN.search(data):
        return None
    data = _ESCAPE.sub(_keep_erase, data)
    lines = data.decode("utf-8", "replace").replace("\r\n", "\n").split("\n")
    out = [_line(line) for line in lines]
    if out and out[-1] == "":
        out.pop()  # what ended with a newline
        return "".join(f"{line}\n" for line in out)
    return "".join(f"{line}\n" for line in out[:-1]) + out[-1] if out else ""


def _keep_erase(match: re.Match[bytes]) -> bytes:
    return b"\x00ERASE\x00" if _ERASE.fullmatch(match.group(0)) else b""


def _line(line: str) -> str:
    if "\r" not in line and "\x08" not in line and "\x00" not in line:
        return _CONTROL.sub("", line)
    cells: list[str] = []
    at = 0
    for part in _EDIT.split(line):
        if part == "\r":
            at = 0
        elif part == "\x08":
            at = max(0, at - 1)
        elif part == "\x00ERASE\x00":
            del cells[at:]
        else:
            for ch in _CONTROL.sub("", part):
                if at < len(cells):
                    cells[at] = ch
                else:
                    cells.append(ch)
                at += 1
    return "".join(cells)
