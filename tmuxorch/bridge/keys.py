"""tmux's key names, to refuse one it does not know (tmux would type the name as text)."""

from __future__ import annotations

NAMES = frozenset(
    [
        "Enter",
        "Escape",
        "Tab",
        "BTab",
        "BSpace",
        "Space",
        "Up",
        "Down",
        "Left",
        "Right",
        "Home",
        "End",
        "Insert",
        "Delete",
        "IC",
        "DC",
        "PageUp",
        "PageDown",
        "PgUp",
        "PgDn",
        "PPage",
        "NPage",
        "F1",
        "F2",
        "F3",
        "F4",
        "F5",
        "F6",
        "F7",
        "F8",
        "F9",
        "F10",
        "F11",
        "F12",
        "KP/",
        "KP*",
        "KP-",
        "KP7",
        "KP8",
        "KP9",
        "KP+",
        "KP4",
        "KP5",
        "KP6",
        "KP1",
        "KP2",
        "KP3",
        "KPEnter",
        "KP0",
        "KP.",
    ]
)
KEY_NAMES = (
    "Enter, Escape, Tab, BTab, BSpace, Space, Up, Down, Left, Right, Home, End, "
    "Insert, Delete, PageUp, PageDown, F1-F12"
)
_MODIFIERS = ("C-", "M-", "S-")
_LOWER = frozenset(name.lower() for name in NAMES)  # tmux reads key names in any case


def known_key(key: str) -> bool:
    """Whether tmux reads ``key`` as a key (``C-c``, ``M-x``, ``S-Tab``, ``Up``, ``a``,
    ``^C``) rather than as text to type."""
    rest = key
    while len(rest) > 2 and rest[:2] in _MODIFIERS:
        rest = rest[2:]
    if len(rest) == 2 and rest[0] == "^":
        rest = rest[1]
    return len(rest) == 1 or rest.lower() in _LOWER


def unknown_key(key: object) -> str:
    """What to say of a key name that is not one (``tmuxorch send``, ``serve``, MCP)."""
    return (
        f"unknown key {key!r}: keys are {KEY_NAMES}, a single character, or"
        " either with C-, M- or S- before it (C-c, M-x, S-Tab)"
    )
