"""Live pane streams for the web (``GET /api/panes/{pane}/stream``): one poller per tmux
server, shared by every viewer of every pane, each pane looked at once however many
people watch it. ``serve`` mirrors what capture-pane shows; it never attaches to a session
as a tmux client, so no viewer ever resizes anyone's window.

A viewer gets its pane's screen (every row at first, then the rows that changed, with the
cursor and size), the answers the screen offers when they change (``choices``, see
:mod:`tmuxorch.agents.choices`), its lines as they scroll by, its agent's state, and its
end. One that cannot keep up is told of a ``gap`` and given the whole screen again.
"""

from __future__ import annotations

import asyncio
import threading

from tmuxorch.bridge.poller import Poller

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.agents.patterns import Patterns
    from tmuxorch.bridge.poller import Event
    from tmuxorch.tmux.client import Client

Message = dict[str, object]
Server = tuple[str, ...]
"""A tmux server, as its clients name it (``-L``/``-S``/``-f``): one poller each."""
QUEUE = 256
"""Messages a viewer may fall behind by before it is resynced."""


class Viewer:
    def __init__(self, hub: Hub, key: tuple[Server, str]) -> None:
        self.hub = hub
        self.key = key
        self.queue: asyncio.Queue[Message] = asyncio.Queue(QUEUE)

    def put(self, message: Message) -> None:
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:  # too slow: drop what waits, say so, start again whole
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait({"type": "gap", "reason": "this viewer fell behind"})
            screen = self.hub.screens.get(self.key)
            if screen is not None:
                self.queue.put_nowait(screen.whole())
                self.queue.put_nowait(screen.offered())


class Screen:
    def __init__(self) -> None:
        self.rows: list[str] = []
        self.cursor: object = [0, 0]
        self.size: object = [0, 0]
        self.choices: list[dict[str, object]] = []

    def update(self, text: str, event: Event) -> Message | None:
        """The rows that changed (all of them on a new size), or None."""
        rows = text.split("\n")
        size, cursor = event.get("size", self.size), event.get("cursor", self.cursor)
        if size != self.size or len(rows) != len(self.rows):
            self.rows, self.size, self.cursor = rows, size, cursor
            return self.whole()
        changed = {
            str(i): row
            for i, (row, old) in enumerate(zip(rows, self.rows, strict=True))
            if row != old
        }
        if not changed and cursor == self.cursor:
            return None
        self.rows, self.cursor = rows, cursor
        return {"type": "screen", "key": False, "rows": changed, "cursor": cursor, "size": size}

    def whole(self) -> Message:
        return {
            "type": "screen",
            "key": True,
            "rows": list(self.rows),
            "cursor": self.cursor,
            "size": self.size,
        }

    def offer(self) -> Message | None:
        """The answers the screen offers now, if not the ones offered before."""
        from tmuxorch.agents.choices import choices

        now = [choice.as_json() for choice in choices("\n".join(self.rows))]
        if now == self.choices:
            return None
        self.choices = now
        return self.offered()

    def offered(self) -> Message:
        return {"type": "choices", "choices": list(self.choices)}


class Hub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._pollers: dict[Server, Poller] = {}
        self._clients: dict[Server, Client] = {}
        self.viewers: dict[tuple[Server, str], set[Viewer]] = {}
        self.screens: dict[tuple[Server, str], Screen] = {}
        self._lock = threading.Lock()

    def _poller(self, client: Client) -> tuple[Server, Poller]:
        key = client.server_args  # not the object: each request may make its own
        host = getattr(client, "host", None)
        if host is not None:  # a host's tmux (over ssh): not this machine's server
            key = (*key, f"@{host}")
        if key not in self._pollers:
            poller = Poller(client)
            poller.add_sink(lambda event: self._from_poller(key, event))
            poller.start()
            self._pollers[key], self._clients[key] = poller, client
        return key, self._pollers[key]

    def open(self, client: Client, pane: str, label: str, patterns: Patterns) -> Viewer:
        server, poller = self._poller(client)
        key = (server, pane)
        viewer = Viewer(self, key)
        first = key not in self.viewers
        self.viewers.setdefault(key, set()).add(viewer)
        if first:
            self.screens[key] = Screen()
            poller.watch(pane, label=label, patterns=patterns)
        else:
            viewer.put(self.screens[key].whole())
            viewer.put(self.screens[key].offered())
        return viewer

    def close(self, viewer: Viewer) -> None:
        viewers = self.viewers.get(viewer.key, set())
        viewers.discard(viewer)
        if not viewers:
            self.viewers.pop(viewer.key, None)
            self.screens.pop(viewer.key, None)
            server, pane = viewer.key
            self._pollers[server].unwatch(pane)

    def stop(self) -> None:
        for poller in self._pollers.values():
            poller.stop()

    def _from_poller(self, server: Server, event: Event) -> None:
        """(The poller's thread.) The screen text now, then on to the loop."""
        text = None
        if event["type"] == "frame":
            text = (
                str(event["text"])
                if event.get("key")
                else self._pollers[server].screen(str(event["pane"]))
            )
            if text is None:
                return
        self.loop.call_soon_threadsafe(self._dispatch, server, event, text)

    def _dispatch(self, server: Server, event: Event, text: str | None) -> None:
        key = (server, str(event["pane"]))
        viewers = self.viewers.get(key)
        if not viewers:
            return
        message: Message | None
        offer = None
        if text is not None:
            message = self.screens[key].update(text, event)
            offer = None if message is None else self.screens[key].offer()
        elif event["type"] in ("lines", "state", "exit", "gone", "gap"):
            message = {k: v for k, v in event.items() if k != "t"}
        else:
            message = None
        if message is None:
            return
        for viewer in list(viewers):
            viewer.put(message)
            if offer is not None:
                viewer.put(offer)
