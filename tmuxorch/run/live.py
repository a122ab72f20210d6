"""A table kept at the bottom of a terminal and redrawn in place, with lines printed above
it (into the terminal's scrollback): ``tmuxorch run``'s and ``status --follow``'s.

When the terminal narrows (a person attaches from a smaller one, or resizes it), the
terminal rewraps what was drawn wider and the table's old rows would be left behind in
pieces: the screen is cleared then, and the latest lines printed again above the table.
rich is imported on the first line or table, not before."""

from __future__ import annotations

from collections import deque

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from rich.console import RenderableType
    from rich.live import Live
    from rich.text import Text

KEPT = 200
"""Lines kept to print again after the screen is cleared (no more than fit show anyway)."""


class LiveTable:
    def __init__(self) -> None:
        self.live: Live | None = None
        self.width = 0
        """The terminal's width when the table was last drawn."""
        self.said: deque[Text] = deque(maxlen=KEPT)

    def _live(self) -> Live:
        if self.live is None:
            from rich.live import Live

            from tmuxorch.run.display import console

            self.live = Live(console=console(), auto_refresh=False, transient=False)
            self.live.start()
            self.width = self.live.console.width
        return self.live

    def say(self, stamp: str, text: str) -> None:
        """``stamp`` (dim) and ``text`` on a line above the table."""
        from rich.text import Text

        line = Text.assemble((stamp, "dim"), text)
        self.said.append(line)
        self._live().console.print(line)

    def draw(self, table: RenderableType) -> None:
        live = self._live()
        console = live.console
        if console.width < self.width:
            console.clear()  # what was drawn wider is in pieces: start again from the top
            live.update(table)  # the lines printed again go above the new table
            room = console.height - len(console.render_lines(table, pad=False)) - 1
            for line in list(self.said)[-room:] if room > 0 else []:
                console.print(line)
        self.width = console.width
        live.update(table)
        live.refresh()

    def stop(self) -> None:
        if self.live is not None:
            self.live.stop()
