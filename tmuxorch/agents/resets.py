"""When a usage or rate limit lifts, as an agent's message says it (pure).

The CLIs say it in several ways, all handled here:

- an epoch (Claude Code's ``Claude AI usage limit reached|1751230800``);
- a clock time, maybe with a date and a time zone (Claude's ``5-hour limit reached ∙ resets
  3pm``, ``resets Oct 9, 5pm``, ``resets 3pm (Europe/Berlin)``, ``Your limit will reset at
  3pm``; Codex's ``try again at 4:05 PM.`` or ``Try again at Sep 12th, 2025 4:05 PM.``);
- a delay (Codex's ``Try again in 2 days 3 hours 5 minutes``, Gemini's ``Your quota will
  reset after 1h49m8s`` and ``Please retry in 12.5s``, OpenAI's ``Please try again in 6s``).

A clock time without a date is the next such time, unless it passed less than an hour ago
(the message was written a little before it was read): then it is today's. The time zone is
the one named, else this machine's (the agent runs here and wrote its own).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_UNIT = r"(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)(?![A-Za-z])"
_AMOUNT = rf"\d+(?:\.\d+)?\s*{_UNIT}"
EPOCH = re.compile(r"limit reached\|(\d{10})\b")
DELAY = re.compile(
    r"(?:try again|retry|resets?|reset|available again)\s+(?:in|after)\s+"
    rf"((?:{_AMOUNT}[\s,]*(?:and\s+)?)+)",
    re.IGNORECASE,
)
RETRY_DELAY = re.compile(r'"retryDelay":\s*"(\d+(?:\.\d+)?)s"')
CLOCK = re.compile(
    r"(?:resets?|reset at|again at|available at)\s+(?:at\s+)?"
    r"(?:(?P<month>[A-Za-z]{3})[a-z]*\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?:(?P<year>\d{4}),?\s+)?(?:at\s+)?)?"
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{2}))?\s*(?P<half>[ap]\.?m\b\.?)?"
    r"(?:\s*\((?P<zone>UTC|[A-Za-z_]+/[A-Za-z_+\-/]+)\))?",
    re.IGNORECASE,
)
LONGEST = 8 * 86400.0
"""A reset said to be further away than this is a misreading (weekly limits are the longest)."""


def reset_at(text: str, now: float, zone: tzinfo | None = None) -> float | None:
    """The wall-clock time ``text`` says a limit lifts, if it says; ``now``: the time it
    was read; ``zone``: the time zone of clock times that name none (default: local)."""
    found = [t for t in (_epoch(text), _delay(text, now), _clock(text, now, zone)) if t]
    sane = [t for t in found if now - 3600.0 <= t <= now + LONGEST]
    return sane[0] if sane else None


def _epoch(text: str) -> float | None:
    match = EPOCH.search(text)
    return float(match.group(1)) if match else None


def _delay(text: str, now: float) -> float | None:
    match = DELAY.search(text)
    if match:
        total = 0.0
        for amount, unit in re.findall(rf"(\d+(?:\.\d+)?)\s*({_UNIT})", match.group(1)):
            total += float(amount) * _unit(unit)
        return now + total
    match = RETRY_DELAY.search(text)
    return now + float(match.group(1)) if match else None


def _unit(word: str) -> float:
    """Seconds in one ``word`` (``ms``, ``sec``, ``minutes``, ``h``, ``days``...)."""
    word = word.lower()
    return 0.001 if word.startswith(("ms", "milli")) else SECONDS[word[0]]


def _clock(text: str, now: float, zone: tzinfo | None) -> float | None:
    for match in CLOCK.finditer(text):
        if match.group("half") is None and match.group("minute") is None:
            continue  # "resets 5" is not a time
        hour, minute = int(match.group("hour")), int(match.group("minute") or 0)
        half = (match.group("half") or "").lower()
        if half:
            if not 1 <= hour <= 12:
                continue
            hour = hour % 12 + (12 if half.startswith("p") else 0)
        if hour > 23 or minute > 59:
            continue
        where = _zone(match.group("zone")) or zone
        today = datetime.fromtimestamp(now, where) if where else datetime.fromtimestamp(now)
        if match.group("month"):
            month = match.group("month").lower()
            if month not in MONTHS:
                continue
            year = int(match.group("year") or today.year)
            try:
                when = today.replace(
                    year=year,
                    month=MONTHS.index(month) + 1,
                    day=int(match.group("day")),
                    hour=hour,
                    minute=minute,
                    second=0,
                    microsecond=0,
                )
            except ValueError:
                continue
            if match.group("year") is None and when < today - timedelta(days=1):
                when = when.replace(year=year + 1)
        else:
            when = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
            if when < today - timedelta(hours=1):
                when += timedelta(days=1)
        return when.timestamp()
    return None


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    if name.upper() == "UTC":
        from datetime import timezone

        return timezone.utc
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(name)
    except (ValueError, OSError, KeyError):
        return None  # a zone this machine does not know: its own
