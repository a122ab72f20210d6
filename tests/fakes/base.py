"""What every stand-in shares: an aiohttp app served on 127.0.0.1 from a thread of its
own (so tests stay synchronous), a way to cut the network (stop listening and drop every
connection) and to come back on the same port."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Coroutine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StandIn:
    """Subclasses fill :meth:`routes`; ``url`` is where the service is."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.routes(self.app)
        self.up()

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def call(self, work: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def up(self) -> None:
        """Listen (again, on the same port)."""

        async def start() -> None:
            self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True).start()

        self.call(start())

    def cut(self) -> None:
        """The network goes away: nothing listens, open connections are closed."""
        if self._runner is not None:
            self.call(self._runner.cleanup())
            self._runner = None

    def close(self) -> None:
        self.cut()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
