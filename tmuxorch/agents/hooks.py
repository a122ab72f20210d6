"""An agent's own word on what it does, where its CLI offers hooks (pure).

Claude Code runs a command of ours on its hook events (its ``--settings`` file, merged with
the user's own settings): each event's JSON is appended to the attempt's hooks file
(``$TMUXORCH_HOOKS``), which the run watches. ``Notification`` (a permission to give, or
input awaited) means it waits for a person, ``Stop`` that it finished its turn,
``UserPromptSubmit`` / ``PreToolUse`` that it works. The screen patterns stay the fallback
(and the only source for CLIs without hooks): either source moves the same state.

Other CLIs: Codex has a ``notify`` program setting (``notify = [...]`` in its
``config.toml``, called with a JSON argument on ``agent-turn-complete``), and Gemini CLI and
OpenCode have hook or plugin systems of their own; a profile can point them at
``$TMUXORCH_HOOKS`` the same way (one JSON object per line, ``hook_event_name`` naming the
event).
"""

from __future__ import annotations

import json

from tmuxorch.agents.patterns import BUSY, IDLE, WAITING

APPEND = 'cat >> "$TMUXORCH_HOOKS"; echo >> "$TMUXORCH_HOOKS"'
"""The hook command: the event's JSON (on stdin), then a newline, at the file's end."""
STATES = {
    "Notification": WAITING,
    "Stop": IDLE,
    "UserPromptSubmit": BUSY,
    "PreToolUse": BUSY,
}


def claude_settings() -> str:
    """The ``--settings`` JSON that has Claude Code report its hook events."""
    hook = [{"hooks": [{"type": "command", "command": APPEND}]}]
    return json.dumps({"hooks": {event: hook for event in STATES}}, indent=2)


def read_events(data: str) -> tuple[list[dict[str, object]], int]:
    """The events in ``data`` (what the hooks file gained) and how many characters of it
    they took (an event still being written waits for the next read)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, object]] = []
    at = 0
    while True:
        while at < len(data) and data[at].isspace():
            at += 1
        if at >= len(data):
            return found, at
        try:
            value, end = decoder.raw_decode(data, at)
        except ValueError:
            newline = data.find("\n", at)
            if newline < 0:
                return found, at  # unfinished: later
            at = newline + 1  # a broken line: skipped
            continue
        if isinstance(value, dict):
            found.append(value)
        at = end


def state_of(event: dict[str, object]) -> str | None:
    """What a hook event says the agent does (None: nothing we act on)."""
    return STATES.get(str(event.get("hook_event_name", "")))
