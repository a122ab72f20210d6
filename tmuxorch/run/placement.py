"""Where a run's panes go: its session (made, with a status window, if missing; made again
if someone closes it), marked for other commands to find, and task windows of at most
``panes_per_window`` panes each."""

from __future__ import annotations

import os
import sys

from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.build import session_exists
from tmuxorch.tmux.client import quote

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Run
    from tmuxorch.tmux.client import Client

STATUS_WINDOW = "tmuxorch"
HISTORY = 10_000
"""Lines of history each agent pane keeps (tmux's default is 2,000): room for the poller to
fall behind a burst without a gap (the transcript itself comes whole from each pane's byte
record). Memory: 20 panes printing 10,000 lines/s peaked tmux at 20 MB with 2,000 lines, 103
MB with 20,000 (200,000 made it ~200 MB larger)."""


STATUS_DELAY = "0.3"
"""Seconds the status window's table waits before it starts: a Python process starting
beside the first agents would slow them down."""


class SessionTaken(Exception):
    """The session is another run's (its ``@tmuxorch-file`` names another file)."""


class Placement:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.windows: dict[str, int] = {}
        """Task window name → how many panes it holds."""

    def prepare(self) -> None:
        """The session exists, keeps long histories, and names the run's file — in one tmux
        invocation when the session is made (it is on the way to the first agents). A
        session another run's file named is never used (SessionTaken)."""
        run = self.run
        target = f"={run.session}:"
        file = os.path.abspath(run.ws.file)
        # raised to HISTORY, never lowered (tmux compares; its value may be inherited)
        history = (
            "if-shell", "-F", "-t", target, f"#{{e|<:#{{history-limit}},{HISTORY}}}",
            f"set-option -t {quote(target)} history-limit {HISTORY}",
        )  # fmt: skip
        # @tmuxorch-file on the session: ``status``, ``logs``... find the run from it
        mark = ("set-option", "-t", target, "@tmuxorch-file", file)
        made = None if run.inside else self._make([history, mark])
        if made is not None:
            return
        listing = tmux_panes.list_windows(run.session)
        owner, _, windows = run.client.run_each(
            [("display-message", "-p", "-t", target, "#{@tmuxorch-file}"), history, listing]
        )
        if not run.inside and owner and owner[0] and owner[0] != file:
            raise SessionTaken(
                f"session {run.session!r} belongs to the run of {owner[0]}: tmuxorch never "
                f"touches another run's panes; give {run.ws.file} another session_name"
            )
        run.client.run_each([mark])
        if windows is not None and not run.inside:
            self._count(windows)

    def ensure_session(self) -> None:
        """Make the session unless it is there (or the run lives inside a layout's), and
        learn its task windows."""
        if not self.run.inside and self._make([]) is None:
            self.count_windows()

    def _make(self, then: list[tuple[str, ...]]) -> list[list[str] | None] | None:
        """Make the session (and run ``then`` on it); None if it was there."""
        run = self.run
        file = os.path.abspath(run.ws.file)
        table = (sys.executable, "-m", "tmuxorch", "status", "--follow", "--file", file)
        argv = ("sh", "-c", f'sleep {STATUS_DELAY}; exec "$@"', "tmuxorch-status", *table)
        made = tmux_panes.ensure_session(run.client, run.session, STATUS_WINDOW, argv, then)
        if made is not None:
            self.windows = {}
        return made

    def gone(self) -> bool:
        """The session was closed under us (not when the run lives inside a layout's)."""
        run = self.run
        return not run.inside and not session_exists(run.client, run.session)

    def make_again(self) -> None:
        self.run.note(f"session {self.run.session!r} is gone: making it again")
        self.ensure_session()

    def count_windows(self, client: Client | None = None) -> None:
        """Learn the task windows of the run's session (on ``client``'s server: a host's)."""
        client = client or self.run.client
        self._count(client.cmd(*tmux_panes.list_windows(self.run.session)))

    def _count(self, rows: list[str]) -> None:
        self.windows = {
            name: count
            for name, count in tmux_panes.parse_windows(rows).items()
            if name == "tasks" or name.startswith("tasks-")
        }

    def place(self) -> tuple[str, bool]:
        """A task window with room for one more pane, or a new one."""
        for name, count in self.windows.items():
            if count < self.run.taskset.panes_per_window:
                self.windows[name] = count + 1
                return name, False
        n = 1
        while (name := "tasks" if n == 1 else f"tasks-{n}") in self.windows:
            n += 1
        self.windows[name] = 1
        return name, True

    def pane_closed(self, window: str) -> None:
        """One pane fewer in ``window`` (tmux closes a window with its last pane)."""
        if window in self.windows:
            self.windows[window] -= 1
            if self.windows[window] <= 0:
                del self.windows[window]
