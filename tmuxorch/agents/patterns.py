"""What each agent's screen looks like when it is busy, waiting for an answer, or idle.

Data only, checked in order against the last visible lines of a pane: the first state with a
matching pattern wins. Taken from how the CLIs draw themselves and from what peer tools
match (ntm, agent-deck, claude-squad, CAO); where an agent offers hooks they beat this.
"""

from __future__ import annotations

STARTING = "starting"
BUSY = "busy"
WAITING = "waiting_input"
IDLE = "idle"
DONE = "done"
ERROR = "error"
UNKNOWN = "unknown"
STATES = (STARTING, BUSY, WAITING, IDLE, DONE, ERROR, UNKNOWN)

Patterns = tuple[tuple[str, str], ...]

SHELL: Patterns = (
    (
        WAITING,
        r"\[y/N\]|\[Y/n\]|\(y/n\)|\(Y/n\)|\(yes/no\)|Press (Enter|RETURN|any key)|[Pp]assword( for \S+)?:\s*$",
    ),
    (IDLE, r"(^|\s)[$#%>❯]\s*$"),
)

PATTERNS: dict[str, Patterns] = {
    "shell": SHELL,
    "demo": (
        (WAITING, r"\(y/n\)\s*$"),
        (BUSY, r"esc to interrupt"),
        (IDLE, r"^❯\s*$"),
        (DONE, r"^✓ Done"),
        (ERROR, r"^✗ Failed"),
    ),
    "claude": (
        (WAITING, r"Do you want to|❯ 1\. Yes|No, and tell Claude what to do differently"),
        (WAITING, r"Do you trust the files in this folder\?"),
        (BUSY, r"esc to interrupt|^[·✢✳✶✻✽*] \w+…"),
        (IDLE, r"^\s*[>❯] |\? for shortcuts"),
    ),
    "codex": (
        (WAITING, r"Allow command\?|Approve|\[y/n\]|Yes, proceed"),
        (BUSY, r"• Working|esc to interrupt"),
        (IDLE, r"^› |\? for shortcuts|send   ⏎"),
    ),
    "aider": (
        (WAITING, r"\(Y\)es/\(N\)o|\[Yes\]:"),
        (IDLE, r"^(aider|architect|ask|code)?> ?$"),
    ),
    "gemini": (
        (WAITING, r"Yes, allow once|Allow execution\?"),
        (BUSY, r"esc to cancel"),
        (IDLE, r"^\s*> |Type your message"),
    ),
    "goose": (
        (WAITING, r"\(Y/n\)|Allow\?"),
        (BUSY, r"goose is (working|thinking)|Ctrl\+C to interrupt"),
        (IDLE, r"^\s*[( ]O[) ]>|^Goose> |^> $"),
    ),
    "opencode": (
        (WAITING, r"Allow|permission required"),
        (BUSY, r"esc interrupt"),
        (IDLE, r"Ask anything"),
    ),
}

PROGRAMS = {
    "claude": "claude",
    "codex": "codex",
    "aider": "aider",
    "gemini": "gemini",
    "goose": "goose",
    "opencode": "opencode",
}
"""``#{pane_current_command}`` → pattern set, for panes tmuxorch did not start."""


def for_agent(name: str | None) -> Patterns:
    return PATTERNS.get(name or "shell", SHELL)
