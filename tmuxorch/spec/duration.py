"""Durations as people write them: ``90``, ``90s``, ``30m``, ``1h30m``, ``1.5h``, ``250ms``."""

from __future__ import annotations

import math
import re
from functools import lru_cache

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


@lru_cache(maxsize=256)  # task files repeat the same few durations
def parse_duration(text: str) -> float | None:
    """Seconds, or ``None`` if ``text`` is not a duration."""
    text = text.strip().replace(" ", "")
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        pass
    else:  # nan never comes, inf and 1e400 never end, -3 has passed already
        return value if math.isfinite(value) and value >= 0 else None
    total = 0.0
    pos = 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _UNIT[match.group(2)]
        pos = match.end()
    return total if pos == len(text) else None


def format_duration(seconds: float) -> str:
    """``75.2`` → ``1m15s``; under a minute with one decimal (``3.4s``)."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def written(seconds: float) -> str:
    """A duration as a person writes it in a file: ``2700`` → ``45m``, ``5400`` →
    ``1h30m``, ``90`` → ``1m30s``, ``0.25`` → ``250ms``, ``2.5`` → ``2.5s``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    whole = round(seconds)
    if abs(seconds - whole) > 1e-9:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"
