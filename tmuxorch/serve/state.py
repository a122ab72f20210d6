"""What the handlers of ``serve`` share (``request.app[SERVE]``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

TYPE_CHECKING = False
if TYPE_CHECKING:
    import asyncio

    from tmuxorch.channels.router import Router
    from tmuxorch.serve.feed import Feed
    from tmuxorch.serve.hub import Hub
    from tmuxorch.serve.jobs import Jobs
    from tmuxorch.serve.runs import Runs
    from tmuxorch.spec.channels import ChannelSpec
    from tmuxorch.tmux.client import Client


@dataclass
class Serve:
    token: str
    clients: list[Client]
    runs: Runs
    feed: Feed
    hub: Hub | None = None
    jobs: Jobs | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    sockets: set[web.WebSocketResponse] = field(default_factory=set)
    """The pane streams open now (closed when ``serve`` stops)."""
    channels: tuple[ChannelSpec, ...] = ()
    """The user config's channels (those that post, and the hooks that take requests)."""
    router: Router | None = None
    url: str | None = None
    """Where serve is reached (known once it listens): for links to the web mirror."""


SERVE = web.AppKey("serve", Serve)
