"""Why an attempt failed, from what its agent showed and how it ended (pure).

Runs of real agents fail mostly for reasons outside their task. Each failure gets a class,
which decides what happens next (:mod:`tmuxorch.run.retry_policy`):

==================  ==========================================================================
``rate_limited``    the provider refused for now (429, overloaded): wait, with backoff
``usage_limit``     a plan's or account's limit (5-hour, weekly, quota): wait until it resets
``auth``            not logged in, login expired, API key missing or invalid: a person must act
``network``         the provider could not be reached (refused, DNS, reset): retried
``not_installed``   the agent's program is not here: a person must install it
``crashed``         killed by a signal, a traceback or panic, gone without an exit status
``timed_out``       its task's ``timeout`` ran out
``stalled``         nothing on its screen and no change of state for too long (told by the
                    run; this module only names it)
``task_failed``     the agent ran, and the task itself failed (or nothing above applies)
==================  ==========================================================================

What the agent showed is matched line by line, bottom up: the patterns of its preset first
(:data:`PRESETS`, from each CLI's own messages), then the generic ones. Patterns are data,
like the screen patterns of :mod:`tmuxorch.agents.patterns`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tmuxorch.agents.resets import reset_at

RATE_LIMITED = "rate_limited"
USAGE_LIMIT = "usage_limit"
AUTH = "auth"
NETWORK = "network"
NOT_INSTALLED = "not_installed"
CRASHED = "crashed"
TIMED_OUT = "timed_out"
STALLED = "stalled"
TASK_FAILED = "task_failed"
CLASSES = (
    RATE_LIMITED,
    USAGE_LIMIT,
    AUTH,
    NETWORK,
    NOT_INSTALLED,
    CRASHED,
    TIMED_OUT,
    STALLED,
    TASK_FAILED,
)
LIMITS = frozenset({RATE_LIMITED, USAGE_LIMIT})
"""Waited out: the wait does not use up the task's ``retries``."""
NEVER_RETRIED = frozenset({AUTH, NOT_INSTALLED})
"""No retry can mend these: the reason says what a person should do."""
ELSEWHERE = frozenset({RATE_LIMITED, USAGE_LIMIT, AUTH, NOT_INSTALLED})
"""Failures of the agent, not of the task: another agent may do it now (where a task's
``fallback:`` agents would take over instead of waiting or failing)."""
WORDS = {
    RATE_LIMITED: "rate limited",
    USAGE_LIMIT: "usage limit",
    AUTH: "auth",
    NETWORK: "network",
    NOT_INSTALLED: "not installed",
    CRASHED: "crashed",
    TIMED_OUT: "timed out",
    STALLED: "stalled",
    TASK_FAILED: "task failed",
}

# How an attempt ended, besides its exit status (the run says; see :func:`classify`).
EXITED = "exited"
"""Its program ended with an exit status."""
TIMEOUT = "timeout"
"""Its task's ``timeout`` stopped it."""
STALL = "stall"
"""It showed nothing new and did not change state for too long, and was stopped."""
LOST = "lost"
"""It ended without an exit status (killed, or its pane closed under it)."""
MISSING = "missing"
"""Its agent's program is not installed."""
DENIED = "denied"
"""Its host refused it: a host key that is not the one known, a login refused."""
STOPPED = "stopped"
"""The run ended it for another reason (a dialog it may not pass, a prompt never typed, a
condition not met, a start that could not be made)."""

Patterns = tuple[tuple[str, str], ...]

GENERIC: Patterns = (
    (
        AUTH,
        r"401 Unauthorized|\b(HTTP|[Ss]tatus|code|[Ee]rror):? ?401\b|\bUnauthorized\b"
        r"|authentication_error|AuthenticationError|API key not valid|API key is missing"
        r"|[Ii]nvalid (API|api|x-api|access|bearer)[ _-]?(key|token)|[Ii]ncorrect API key"
        r"|\b[A-Z][A-Z0-9_]*_API_KEY\b.{0,40}(not set|is not set|missing|required|not found)"
        r"|[Mm]issing (API key|credentials)|(not|n't) logged in|[Ll]ogin (has )?expired"
        r"|(token|credentials?) (has )?(expired|been revoked)|[Pp]lease (log ?in|sign in|run /login)"
        r"|[Aa]uthentication (failed|error|required)",
    ),
    (
        USAGE_LIMIT,
        r"[Uu]sage limit|[Qq]uota exceeded|exceeded your (current )?quota|insufficient_quota"
        r"|exhausted your capacity|credit balance is too low|[Cc]redits exhausted"
        r"|limit reached\b.{0,20}\bresets?",
    ),
    (
        RATE_LIMITED,
        r"Too Many Requests|\b(HTTP|[Ss]tatus|code|[Ee]rror):? ?429\b|rate_limit_error"
        r"|RateLimitError|[Rr]ate limit(ed| reached| exceeded)|RESOURCE_EXHAUSTED"
        r"|overloaded_error|\bOverloaded\b|high demand",
    ),
    (
        NETWORK,
        r"ECONNREFUSED|ECONNRESET|ENOTFOUND|ETIMEDOUT|EAI_AGAIN|getaddrinfo|socket hang up"
        r"|[Cc]onnection (error|refused|reset|timed out)|[Cc]onnection failed|fetch failed"
        r"|[Cc]ould not (resolve host|connect to)|Name or service not known|[Nn]etwork error"
        r"|Temporary failure in name resolution|Network is unreachable|APIConnectionError"
        r"|[Uu]nable to connect",
    ),
)
"""Any agent's: HTTP statuses and error names its provider's SDK prints."""

CRASH = re.compile(
    r"Traceback \(most recent call last\)|panicked at|Segmentation fault|core dumped"
    r"|FATAL ERROR:|JavaScript heap out of memory|Unhandled(Promise)?Rejection"
    r"|An uncaught exception|[Uu]ncaught (Error|Exception|TypeError)"
)
"""A program that fell over (checked after how it ended)."""
EXCEPTION = re.compile(r"[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b:?")
"""The last line of a Python traceback (what fell over, and why)."""

PRESETS: dict[str, Patterns] = {
    "claude": (
        (
            USAGE_LIMIT,
            r"usage limit reached|(5-hour|[Ss]ession|[Ww]eekly|Opus|Sonnet|[Dd]aily) limit reached"
            r"|You['’]ve hit your (\w+ )?limit|[Yy]our limit will reset|credit balance is too low",
        ),
        (
            AUTH,
            r"Please run /login|Invalid API key|OAuth token (has expired|revoked)"
            r"|authentication_error|Not logged in|Login expired|Select login method",
        ),
        (
            RATE_LIMITED,
            r"API Error:? \(?(429|529)|rate_limit_error|overloaded_error|Request rejected \(429\)",
        ),
        (NETWORK, r"API Error:? \(?Connection error|Unable to connect to API|Request timed out"),
    ),
    "codex": (
        (
            USAGE_LIMIT,
            r"You['’]ve hit your (\w+ )?usage limit|Quota exceeded\. Check your plan"
            r"|To use Codex with your ChatGPT plan",
        ),
        (
            AUTH,
            r"Missing environment variable: `?[A-Z0-9_]+|refresh token|sign in again"
            r"|401 Unauthorized|Sign in with ChatGPT|Not logged in",
        ),
        (RATE_LIMITED, r"last status: 429|429 Too Many Requests|experiencing high demand"),
        (
            NETWORK,
            r"stream disconnected before completion|Connection failed:|error sending request",
        ),
    ),
    "gemini": (
        (
            USAGE_LIMIT,
            r"exhausted your capacity|Quota exceeded for quota metric|TerminalQuotaError"
            r"|reached your daily .{0,40}quota|Usage limit reached",
        ),
        (
            AUTH,
            r"must specify the GEMINI_API_KEY|API key not valid|Please set an Auth method"
            r"|How would you like to authenticate|Failed to login",
        ),
        (RATE_LIMITED, r"RESOURCE_EXHAUSTED|RetryableQuotaError|Please retry in [\d.]+m?s"),
        (NETWORK, r"fetch failed|Error when talking to Gemini API.{0,80}(connect|fetch|ENOTFOUND)"),
    ),
    "aider": (
        (USAGE_LIMIT, r"insufficient_quota|exceeded your current quota|credit balance is too low"),
        (
            AUTH,
            r"AuthenticationError|not able to authenticate you|Missing these environment variables"
            r"|Permission was denied\. Check your API key",
        ),
        (RATE_LIMITED, r"RateLimitError|has rate limited you"),
        (NETWORK, r"APIConnectionError|problem connecting to the API provider"),
    ),
    "goose": (
        (USAGE_LIMIT, r"Credits exhausted:"),
        (AUTH, r"Authentication error:|No provider configured|No model configured"),
        (RATE_LIMITED, r"Rate limit exceeded:"),
        (NETWORK, r"Network error:|Could not connect to .{0,80}check your network"),
    ),
    "opencode": (
        (USAGE_LIMIT, r"[Ii]nsufficient (balance|credits?)|exceeded your current quota"),
        (AUTH, r"ProviderAuthError|API key is missing|LoadAPIKeyError|No API key"),
        (RATE_LIMITED, r"Rate limit|Too Many Requests|429"),
        (NETWORK, r"fetch failed|ECONNREFUSED|Unable to connect"),
    ),
}
"""Each CLI's own messages (from its source, documentation and commonly reported screens)."""

LOGIN = {
    "claude": "run `claude /login` (or set ANTHROPIC_API_KEY)",
    "codex": "run `codex login` (or set OPENAI_API_KEY)",
    "gemini": "run `gemini` once and sign in (or set GEMINI_API_KEY)",
    "aider": "set the API key of its model (ANTHROPIC_API_KEY, OPENAI_API_KEY...)",
    "goose": "run `goose configure`",
    "opencode": "run `opencode auth login`",
}
"""What a person does about an ``auth`` failure of each agent."""
API_KEY = re.compile(r"\b([A-Z][A-Z0-9_]*_API_KEY)\b")
RETRYING = re.compile(r"[Rr]etrying( in)?\b|attempt \d+/\d+|will retry")
"""A CLI that says it retries has not given up (yet)."""
TAIL = 40
"""Lines (not blank) at the end of what an agent showed that are searched on a failure."""
COMMAND_TAIL = 3
"""The same for a plain command: its last words are its error; its output above is data."""
SUCCESS_TAIL = 8
"""The same for an attempt that otherwise counts as done (see :func:`classify`): only its
very end (a message and the prompt and footer drawn below it), so that an old message still
on screen — a conversation resumed after a limit shows its history — is not taken for a
new one."""


@dataclass(frozen=True)
class Failure:
    kind: str
    """One of :data:`CLASSES`."""
    reason: str
    """What a person reads: what happened, and what to do when it is up to them."""
    resets_at: float | None = None
    """(Limits.) When the agent said the limit lifts (wall clock), if it said."""


def classify(
    shown: str,
    *,
    agent: str,
    ended: str,
    ok: bool = False,
    code: int | None = None,
    reason: str | None = None,
    now: float = 0.0,
) -> Failure | None:
    """The failure of an attempt of ``agent`` (a preset's name) that ended ``ended`` (see
    :data:`EXITED` ...) with exit status ``code`` and ``reason``, after showing ``shown``
    (its last screen, or the end of its transcript); ``now``: the wall clock, to read reset
    times by.

    ``ok``: the attempt otherwise counts as done (an agent idle at its prompt, or one that
    exited 0). It failed only if its own CLI's last lines say it hit a limit or lost its
    login (an interactive agent never exits on those: it waits at its prompt), and not if
    the CLI said it was retrying after that. None: it did not fail."""
    lines = _tail(shown, SUCCESS_TAIL if ok else COMMAND_TAIL if agent == "shell" else TAIL)
    if ok:
        found = _search(lines, PRESETS.get(agent, ()), (AUTH, USAGE_LIMIT, RATE_LIMITED))
        if found is None or any(RETRYING.search(line) for line in lines[found[1] :]):
            return None
        return _from_screen(found[0], lines, found[1], agent, None, now)
    if ended == MISSING or code == 127:
        return Failure(NOT_INSTALLED, reason or "its program was not found")
    if ended == DENIED:  # a person must act there (a host key, a login)
        return Failure(AUTH, reason or "its host refused it")
    found = _search(lines, PRESETS.get(agent, ()), (AUTH, USAGE_LIMIT, RATE_LIMITED, NETWORK))
    if found is None:
        found = _search(lines, GENERIC, (AUTH, USAGE_LIMIT, RATE_LIMITED, NETWORK))
    if found is not None:
        return _from_screen(found[0], lines, found[1], agent, reason, now)
    if ended == TIMEOUT:
        return Failure(TIMED_OUT, reason or "timed out")
    if ended == STALL:
        return Failure(STALLED, reason or "stalled")
    if ended == LOST:
        return Failure(CRASHED, reason or "ended without an exit status")
    if code is not None and code > 128:
        return Failure(CRASHED, f"{reason or f'exit status {code}'} (killed by {_signal(code)})")
    crash = next((i for i in range(len(lines) - 1, -1, -1) if CRASH.search(lines[i])), None)
    if crash is not None and agent != "shell":
        below = [line for line in lines[crash:] if EXCEPTION.match(line)]
        return Failure(CRASHED, _said(below[-1] if below else lines[crash], reason))
    return Failure(TASK_FAILED, reason or "failed")


def _tail(shown: str, count: int) -> list[str]:
    """The last ``count`` lines with something on them, never tmux's "Pane is dead" line."""
    lines = [line for line in shown.splitlines() if line.strip()]
    if lines and re.match(r"\s*Pane is dead", lines[-1]):
        lines.pop()
    return lines[-count:]


def _search(lines: list[str], patterns: Patterns, kinds: tuple[str, ...]) -> tuple[str, int] | None:
    """The class and index of the lowest line matching one of ``patterns`` (only those of
    ``kinds``, which come first to last in priority). A CLI may say what happened on a line
    and explain it on the next (aider's ``litellm.RateLimitError: ... exceeded your current
    quota`` above ``The API provider has rate limited you``): the lines just above a match
    are looked at too, and a class of higher priority there wins."""
    compiled = [(kind, re.compile(rx)) for kind in kinds for k, rx in patterns if k == kind]

    def first(index: int) -> str | None:
        return next((kind for kind, rx in compiled if rx.search(lines[index])), None)

    for index in range(len(lines) - 1, -1, -1):
        kind = first(index)
        if kind is None:
            continue
        best = (kinds.index(kind), -index)
        for above in range(max(0, index - 2), index):
            there = first(above)
            if there is not None and (kinds.index(there), -above) < best:
                best = (kinds.index(there), -above)
        return kinds[best[0]], -best[1]
    return None


def _from_screen(
    kind: str, lines: list[str], index: int, agent: str, reason: str | None, now: float
) -> Failure:
    said = _said(lines[index], reason)
    if kind == AUTH:
        return Failure(AUTH, f"{said}; {_login(agent, ' '.join(lines[index : index + 3]))}")
    if kind in LIMITS:
        near = "\n".join(lines[max(0, index - 2) : index + 3])
        return Failure(kind, said, reset_at(lines[index], now) or reset_at(near, now))
    return Failure(kind, said)


def _said(line: str, reason: str | None) -> str:
    """A line of the screen as a reason: without a TUI's frame and markers, not too long;
    with the attempt's own reason (an exit status, a timeout) after it."""
    text = re.sub(r"^[\s│┃|>⎿⏺●✗✘✕×■⚠!*·•▌░▒▓█-]+|[\s│┃|]+$", "", line)
    text = re.sub(r"\s+", " ", text)
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{text} ({reason})" if reason else text


def _login(agent: str, text: str) -> str:
    """What to do about an ``auth`` failure: set the key it names, or log in again."""
    key = API_KEY.search(text)
    if key is not None:
        return f"set {key.group(1)}"
    return LOGIN.get(agent, "log in again or set the API key it needs")


def _signal(code: int) -> str:
    import signal

    try:
        return signal.Signals(code - 128).name
    except ValueError:
        return f"signal {code - 128}"
