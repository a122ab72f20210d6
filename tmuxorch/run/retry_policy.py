"""What a failure's class means for its task (pure; the scheduler asks, with its own ``now``).

- ``rate_limited`` / ``usage_limit``: wait, and try again — until the time the agent said
  its limit lifts (and a small margin), else after a backoff that doubles with each wait
  (with jitter, so tasks held by one limit do not all come back at once). A wait does not
  use up the task's ``retries``; after :attr:`RetryPolicy.max_waits` of them the task fails.
- ``auth`` / ``not_installed``: never retried; the reason says what to do.
- everything else (``network``, ``crashed``, ``timed_out``, ``stalled``, ``task_failed``):
  retried while ``retries`` last, after ``retry_delay`` × 2^(n-1) with jitter.

A task with another agent to try (``fallback:``, or its route's other agents: ``elsewhere``)
tries it at once after the classes of :data:`failures.ELSEWHERE` — the agent's failures,
not the task's — instead of waiting or failing; that does not use up ``retries`` either.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.agents.failures import ELSEWHERE, LIMITS, NEVER_RETRIED, RATE_LIMITED

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    import random

MAX_BACKOFF = 300.0
"""The longest wait between ordinary retries (seconds)."""


@dataclass(frozen=True)
class RetryPolicy:
    rate_limit_wait: float = 30.0
    """The first wait after a rate limit that said no time (seconds); doubled each time."""
    usage_limit_wait: float = 600.0
    """The first wait after a usage limit that said no reset time; doubled each time."""
    longest_wait: float = 3600.0
    """The longest of those backoff waits (a stated reset is waited for however far)."""
    reset_margin: float = 30.0
    """Seconds past a stated reset before trying again (clocks and roundings differ)."""
    max_waits: int = 12
    """Limit waits a task may make; the next limit fails it."""


@dataclass(frozen=True)
class Decision:
    retry_at: float | None
    """When to try again (wall clock); None: the task failed."""
    wait: bool = False
    """A limit's wait (it does not count as a retry)."""
    why_not: str | None = None
    """Why it is not tried again, when that is not plain from its class."""


def decide(
    failure: str | None,
    *,
    attempts: int,
    waits: int,
    retries: int,
    retry_delay: float,
    resets_at: float | None,
    now: float,
    rng: random.Random,
    policy: RetryPolicy,
    final: bool = False,
    elsewhere: bool = False,
) -> Decision:
    """After a failed attempt (``attempts`` made, ``waits`` of them ended by a limit): try
    again, and when? ``final``: no retry can mend it whatever its class."""
    if elsewhere and failure in ELSEWHERE and waits < policy.max_waits:
        return Decision(now, True)  # another agent, at once (see run.agent_choice)
    if final or failure in NEVER_RETRIED:
        return Decision(None)
    if failure in LIMITS:
        if waits >= policy.max_waits:
            return Decision(None, why_not=f"still limited after {waits} waits")
        if resets_at is not None:
            return Decision(max(resets_at, now) + policy.reset_margin * rng.uniform(1, 1.5), True)
        first = policy.rate_limit_wait if failure == RATE_LIMITED else policy.usage_limit_wait
        wait = min(first * 2**waits, policy.longest_wait)
        return Decision(now + wait * rng.uniform(0.75, 1.25), True)
    if attempts - waits <= retries:
        return Decision(now + backoff(retry_delay, attempts - waits, rng))
    return Decision(None)


def backoff(retry_delay: float, retry: int, rng: random.Random) -> float:
    """``retry_delay`` × 2^(retry-1), ±50% jitter, at most five minutes."""
    base = min(retry_delay * 2 ** (retry - 1), MAX_BACKOFF)
    return float(base * rng.uniform(0.5, 1.5))
