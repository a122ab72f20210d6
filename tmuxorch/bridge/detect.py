"""Agent state from what a pane shows: patterns on the last lines, debounced, plus liveness.

``starting`` until the first recognisable screen; ``busy``, ``waiting_input`` or ``idle``
from the agent's patterns (idle only once the screen has been still for a moment); ``done``
or ``error`` when the process ends (or says so). A screen that matches nothing is ``busy``
while it changes and ``unknown`` once it stops: silence alone never means idle or failure.
"""

from __future__ import annotations

import re

from tmuxorch.agents.patterns import BUSY, DONE, ERROR, IDLE, STARTING, UNKNOWN, Patterns

TAIL = 15
"""How many of the last non-empty lines a screen is judged by."""


class Detector:
    def __init__(self, patterns: Patterns, *, settle: float = 0.5, confirm: float = 0.2) -> None:
        self.patterns = [(state, re.compile(p, re.MULTILINE)) for state, p in patterns]
        self.settle = settle
        """Idle needs the screen unchanged for this long (agents pause between steps)."""
        self.confirm = confirm
        """Any other change of state must hold this long (spinners flicker)."""
        self.state = STARTING
        self._screen: str | None = None
        self._changed_at = 0.0
        self._candidate: str | None = None
        self._since = 0.0
        self._observed = 0.0

    def classify(self, screen: str) -> str | None:
        """The state ``screen``'s last lines show, by pattern; None if no pattern matches."""
        lines = [line for line in screen.splitlines() if line.strip()][-TAIL:]
        if not lines:
            return None
        tail = "\n".join(line.rstrip() for line in lines)
        for state, pattern in self.patterns:
            if pattern.search(tail):
                return state
        return None

    def observe(
        self, screen: str, now: float, *, alive: bool = True, exit_code: int | None = None
    ) -> str | None:
        """Take a screen; return the new state if the state changed."""
        if not alive:
            final = ERROR if exit_code not in (0, None) else DONE
            return self._set(final)
        self._observed = now
        if screen != self._screen:
            self._screen, self._changed_at = screen, now
        seen = self.classify(screen)
        still = now - self._changed_at >= self.settle
        if seen is None:
            if not screen.strip():
                return None  # nothing drawn yet
            seen = BUSY if not still else UNKNOWN
        elif seen == IDLE and not still:
            return None  # a prompt that may be redrawn in a moment
        if seen == self.state:
            self._candidate = None
            return None
        if seen in (DONE, ERROR) or self.state == STARTING:
            return self._set(seen)
        if seen != self._candidate:
            self._candidate, self._since = seen, now
        if now - self._since >= self.confirm:
            return self._set(seen)
        return None

    def due(self) -> float | None:
        """When looking again at an unchanged screen could change the state (debouncing,
        settling), so the caller can come back then; None if it cannot."""
        times = []
        if self._candidate is not None:
            times.append(self._since + self.confirm)
        if self._screen is not None and self.state not in (DONE, ERROR):
            times.append(self._changed_at + self.settle)
        later = [t for t in times if t > self._observed]
        return min(later, default=None)

    def _set(self, state: str) -> str | None:
        self._candidate = None
        if state == self.state:
            return None
        self.state = state
        return state


__all__ = ["BUSY", "DONE", "ERROR", "IDLE", "STARTING", "UNKNOWN", "Detector"]
