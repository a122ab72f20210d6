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
        r"\[y/N\]|\[Y/n\]|\(y/n\)|\(Y/n\)|\(yes/no\)|Press (Enter|RETURN|any key)|[Pp]assword( for \S+)?:\s*\Z",
    ),
    (IDLE, r"(^|\s)[$#%>❯]\s*\Z"),
)
"""Patterns are searched in the last lines of the screen (``re.MULTILINE``); ``\\Z`` pins a
prompt to the very end, as line-based programs draw it. TUIs draw their input box above a
footer, so theirs match anywhere in those lines, and busy comes before idle."""

PATTERNS: dict[str, Patterns] = {
    "shell": SHELL,
    "demo": (
        (WAITING, r"\(y/n\)\s*\Z|Do you trust the files in this folder\?"),
        (BUSY, r"esc to interrupt"),
        (IDLE, r"^❯\s*\Z"),
        (DONE, r"^✓ Done"),
        (ERROR, r"^✗ Failed"),
    ),
    "claude": (
        (
            WAITING,
            r"Do you want to (proceed|make this edit|create|use this API key)|❯ 1\. Yes"
            r"|No, and tell Claude what to do differently"
            r"|Do you trust the files in this folder\?|Is this a project you created or one you trust\?"
            r"|Enter to confirm · Esc to cancel",
        ),
        (BUSY, r"esc to interrupt|^[·✢✳✶✻✽*] \S.*…"),
        (IDLE, r"\? for shortcuts|^❯\s*$"),
    ),
    "codex": (
        (
            WAITING,
            r"Allow command\?|Would you like to run|Trust this folder\?|Press enter to continue"
            r"|Sign in with ChatGPT|\[y/n\]|Yes, proceed",
        ),
        (BUSY, r"• Working|esc to interrupt"),
        (IDLE, r"^› |\? for shortcuts"),
    ),
    "aider": (
        (WAITING, r"\(Y\)es/\(N\)o.*\Z"),
        (BUSY, r"Waiting for \S+\s*\Z|Retrying in [\d.]+ seconds"),
        (IDLE, r"(^|\n)(aider|architect|ask|code|multi)?> ?\Z"),
    ),
    "gemini": (
        (
            WAITING,
            r"Yes, allow once|Allow execution|Do you trust the files in this folder\?"
            r"|Use Enter to select|Press Enter to submit|Waiting for user confirmation",
        ),
        (BUSY, r"esc to cancel"),
        (IDLE, r"Type your message"),
    ),
    "goose": (
        (WAITING, r"\(Y/n\)|\(y/N\)|Allow\?|Do you want to"),
        (BUSY, r"goose is (working|thinking)|Ctrl\+C to interrupt"),
        (IDLE, r"(^|\n)\s*(\( O\)>|Goose>|>) ?\Z"),
    ),
    "opencode": (
        (WAITING, r"Permission required|permission required|Allow once"),
        (BUSY, r"esc interrupt"),
        (IDLE, r"Ask anything|tab agents"),
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


def of_pane(agent: str | None, patterns: str = "") -> Patterns:
    """A pane's patterns: those its run gave it (``@tmuxorch-patterns``, JSON), else its
    agent's."""
    if patterns:
        import json

        try:
            return tuple((str(state), str(regex)) for state, regex in json.loads(patterns))
        except (ValueError, TypeError):
            pass  # not ours after all: the agent's own
    return for_agent(agent)
