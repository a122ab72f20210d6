"""Pane titles as a subscriber of a run's bus: each agent pane's border says its task and
what its agent is doing (``api · waiting for input``), or that it failed, for a person who
attaches with tmux."""

from __future__ import annotations

from tmuxorch.agents.patterns import WAITING
from tmuxorch.run import events
from tmuxorch.tmux import panes as tmux_panes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.bus import Event
    from tmuxorch.tmux.client import Client


class Titles:
    def __init__(self, client: Client) -> None:
        self.client = client

    def __call__(self, event: Event) -> None:
        kind, task = event["type"], event.get("task")
        if kind == events.ACTIVITY:
            activity = event["activity"]
            doing = "waiting for input" if activity == WAITING else activity
            tmux_panes.set_titles(self.client, [(str(event["pane"]), f"{task} · {doing}")])
        elif kind == events.PANE_KEPT:
            tmux_panes.set_titles(self.client, [(str(event["pane"]), f"{task} · ✗ failed")])
