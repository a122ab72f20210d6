"""What the poller knows of each pane it follows, and how it emits every history line
once and in order: by the history size tmux reports, checked against the last lines it
emitted, and found again when tmux trims, clears or reflows the history (or a growing
screen takes lines back from it). Pure bookkeeping: the captures come from the poller."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from tmuxorch.bridge.frames import make_patch

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.bridge.detect import Detector

Event = dict[str, object]
_SEP = "\t"
FACTS = _SEP.join(
    (
        "#{pane_id}",
        "#{history_size}",
        "#{cursor_x}",
        "#{cursor_y}",
        "#{pane_width}",
        "#{pane_height}",
        "#{pane_dead}",
        "#{pane_dead_status}",
        "#{alternate_on}",
        "#{pane_pid}",
        "#{session_name}",
        "#{pane_current_command}",
        "#{history_limit}",
    )
)
"""What one look reads of a pane (one ``display-message``), parsed by :meth:`Facts.parse`."""
LOOKBACK = 64
"""History lines fetched with each look beyond what the last look says is new."""


@dataclass
class Facts:
    pane: str
    history: int
    cursor: tuple[int, int]
    size: tuple[int, int]
    dead: bool
    dead_status: int | None
    alternate: bool
    pid: int
    session: str
    command: str
    limit: int

    @classmethod
    def parse(cls, line: str) -> Facts:
        f = line.split(_SEP)
        return cls(
            f[0],
            int(f[1]),
            (int(f[2]), int(f[3])),
            (int(f[4]), int(f[5])),
            f[6] == "1",
            int(f[7]) if f[7] else None,
            f[8] == "1",
            int(f[9] or 0),
            f[10],
            f[11],
            int(f[12] or 0),
        )


@dataclass
class PaneState:
    pane: str
    label: str
    detector: Detector
    from_start: bool
    facts: Facts | None = None
    emitted: int = -1
    """Absolute number of the next history line to emit (-1: not looked at yet)."""
    base: int = 0
    """Absolute number of the first line of tmux's history now (trims move it)."""
    frame: str | None = None
    key_at: float = 0.0
    seq: int = 0
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=8))
    margin: int = LOOKBACK
    dead_seen: tuple[int, str] | None = None
    settle_at: float | None = None
    """When to look again at a pane just found dead."""
    short: bool = False
    """The last look did not reach all new history: look again at once."""
    ending: bool = False
    """Its program is ending (:meth:`Poller.expect_end`): look often until it is dead."""
    ended: bool = False

    def event(self, kind: str, **data: object) -> Event:
        self.seq += 1
        return {
            "type": kind,
            "pane": self.pane,
            "label": self.label,
            "seq": self.seq,
            "t": time.time(),
            **data,
        }

    def frame_event(self, screen: str, now: float, *, key: bool, every: float) -> list[Event]:
        """The screen as a frame: a patch against the last one, or a keyframe (``key``,
        the first, or ``every`` seconds); none if it did not change."""
        key = key or self.frame is None or now - self.key_at >= every
        if not key and screen == self.frame:
            return []
        data = self.frame_facts()
        if key:
            data.update(key=True, text=screen)
            self.key_at = now
        else:
            data.update(key=False, patch=make_patch(self.frame or "", screen))
        self.frame = screen
        return [self.event("frame", **data)]

    def frame_facts(self) -> Event:
        facts = self.facts
        assert facts is not None
        return {
            "cursor": list(facts.cursor),
            "size": list(facts.size),
            "history": self.base + facts.history,
            "alternate": facts.alternate,
        }

    def final_lines(self, facts: Facts, screen_lines: list[str]) -> list[str]:
        """The program ended: its last screen as lines (the transcript's end), without the
        rows emitted already (taken back from history onto the screen)."""
        lines = list(screen_lines[max(0, self.emitted - (self.base + facts.history)) :])
        while lines and not lines[-1].strip():
            lines.pop()
        return lines


BANNER = "Pane is dead"
"""How tmux's line on a dead pane kept by ``remain-on-exit`` begins (its default
``remain-on-exit-format``): tmux's words, not the program's."""


def without_banner(screen_lines: list[str]) -> list[str]:
    """A dead pane's screen with tmux's banner blanked (the last line with text)."""
    for i in range(len(screen_lines) - 1, -1, -1):
        if screen_lines[i].strip():
            if screen_lines[i].startswith(BANNER):
                return [*screen_lines[:i], "", *screen_lines[i + 1 :]]
            break
    return screen_lines


def lookback(ps: PaneState) -> int:
    """History lines to capture above the screen: what is new since the last look, the
    lines just before it (to check the alignment), and a margin for what comes meanwhile."""
    if ps.facts is None:
        return 10**9 if ps.from_start else 0
    unseen = max(0, ps.base + ps.facts.history - ps.emitted)
    return unseen + len(ps.tail) + ps.margin


def new_lines(
    ps: PaneState,
    facts: Facts,
    history_part: list[str],
    screen_lines: list[str],
    capture_all: Callable[[], list[str]],
) -> list[Event]:
    """Emit history lines [emitted, base + history), in order, each once."""
    ps.short = False
    events: list[Event] = []
    top = ps.base + facts.history
    back = ps.emitted - top  # > 0: lines emitted already are on the screen again (it grew)
    if 0 < back <= len(screen_lines) and ps.tail:
        last = min(back, len(ps.tail))
        if screen_lines[back - last : back] == list(ps.tail)[-last:]:
            return events
    first = top - len(history_part)
    overlap = min(len(ps.tail), ps.emitted - first)
    known = list(ps.tail)[-overlap:] if overlap > 0 else []
    seen = history_part[ps.emitted - overlap - first : ps.emitted - first] if overlap > 0 else []
    if top < ps.emitted or seen != known:
        # history shrank (trimmed at its limit, cleared, reflowed): find our place again
        events += realign(ps, facts, capture_all)
        top = ps.base + facts.history
        if top <= ps.emitted:
            return events
        ps.short = True  # look again with the new alignment
        return events
    if ps.emitted < first:  # a burst outran this look: look again, reaching further
        ps.short = True
        ps.margin *= 2
        return events
    ps.margin = LOOKBACK
    new = history_part[ps.emitted - first :]
    if new and not ps.tail and facts.limit and facts.history >= facts.limit * 9 // 10:
        # tmux drops the oldest tenth at its limit: with nothing read yet to align on,
        # there is no telling what went before
        reason = f"history reached its limit ({facts.limit} lines) before it was read"
        events.append(ps.event("gap", reason=reason))
    if new:
        events.append(ps.event("lines", start=ps.emitted, lines=new))
        ps.emitted += len(new)
        ps.tail.extend(new)
    return events


def realign(ps: PaneState, facts: Facts, capture_all: Callable[[], list[str]]) -> list[Event]:
    """History shrank or moved (trimmed at its limit, cleared, reflowed, or lines taken
    back onto a screen that grew): find where we are in it, by the last lines emitted
    (in the history or at the top of the screen), or by the top of the last screen seen
    (the lines that come next); failing both, skip what is there now and say so."""
    everything = capture_all()
    height = facts.size[1]
    history = everything[: max(0, len(everything) - height)]
    tail = list(ps.tail)
    if tail and ps.emitted == len(tail) and everything[: len(tail)] == tail:
        ps.base = 0  # every line since the pane began is known: they are all still here
        return []
    for size in (len(tail), 3):
        probe = tail[-size:]
        if size >= 2 and size <= len(tail) and any(line.strip() for line in probe):
            at = _find(everything, probe)
            if at is not None:
                ps.base = ps.emitted - (at + size)
                return []
    screen = (ps.frame or "").split("\n")
    for size in (3, 2):
        probe = screen[:size]
        if len(probe) == size and all(line.strip() for line in probe):
            at = _find(history, probe)
            if at is not None:
                ps.base = ps.emitted - at
                return []
    ps.base = ps.emitted - len(history)
    ps.tail.clear()
    ps.tail.extend(history[-ps.tail.maxlen :] if ps.tail.maxlen else [])
    lost = "history trimmed, cleared or reflowed before it was read"
    return [ps.event("gap", reason=lost)]


def _find(lines: list[str], probe: list[str]) -> int | None:
    """Where ``probe`` last occurs in ``lines``."""
    for j in range(len(lines) - len(probe), -1, -1):
        if lines[j : j + len(probe)] == probe:
            return j
    return None
