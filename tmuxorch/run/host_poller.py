"""The run's poller, for panes here and on its hosts: a pane named ``%ID@HOST`` is
followed by that host's own poller (over its link), the others by this one — so the
engine asks one poller about any pane, and hears about every pane from one."""

from __future__ import annotations

from tmuxorch.bridge.poller import Poller
from tmuxorch.run.host_links import split

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.agents.patterns import Patterns
    from tmuxorch.bridge.poller import Event
    from tmuxorch.run.host_links import HostLinks


class RunPoller(Poller):
    links: HostLinks | None = None
    """The run's hosts (None: a run with no other machine)."""

    def _remote(self, pane: str) -> tuple[Poller, str] | None:
        raw, host = split(pane)
        link = self.links.find(host) if self.links is not None and host else None
        if host is None:
            return None
        if link is None or link.poller is None:
            return _NOWHERE, raw
        return link.poller, raw

    def watch(
        self,
        pane: str,
        *,
        label: str | None = None,
        patterns: Patterns | None = None,
        from_start: bool = False,
    ) -> None:
        there = self._remote(pane)
        if there is None:
            super().watch(pane, label=label, patterns=patterns, from_start=from_start)
        else:
            there[0].watch(there[1], label=label, patterns=patterns, from_start=from_start)

    def unwatch(self, pane: str) -> None:
        there = self._remote(pane)
        if there is None:
            super().unwatch(pane)
        else:
            there[0].unwatch(there[1])

    def screen(self, pane: str) -> str | None:
        there = self._remote(pane)
        return super().screen(pane) if there is None else there[0].screen(there[1])

    def finish(self, pane: str, timeout: float = 3.0) -> None:
        there = self._remote(pane)
        if there is None:
            super().finish(pane, timeout)
        else:
            there[0].finish(there[1], timeout)

    def expect_end(self, pane: str) -> bool:
        there = self._remote(pane)
        return super().expect_end(pane) if there is None else there[0].expect_end(there[1])

    def add_sink(self, sink: Callable[[Event], None]) -> None:
        super().add_sink(sink)
        if self.links is not None:
            self.links.sinks.append(sink)  # the hosts' events, their panes named %ID@HOST


class _Nowhere(Poller):
    """A host not reached (yet): nothing is followed there."""

    def __init__(self) -> None:
        super().__init__(None, control=False)  # type: ignore[arg-type]


_NOWHERE = _Nowhere()
