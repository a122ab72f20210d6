"""What a :class:`~tmuxorch.channels.base.Message` looks like on Discord: plain text with
Discord's markdown escaped (what an agent printed is shown as it is, never as formatting),
within Discord's 2,000 characters, and its buttons as one component row (or more: five
buttons a row)."""

from __future__ import annotations

import discord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.channels.base import Button, Message

LIMIT = 2000
"""Characters in one Discord message."""
THREAD_NAME = 100
"""Characters in a thread's name."""
BUTTON_LABEL = 80
BUTTONS = 25
"""Buttons on one message (five rows of five)."""
KEEP_THE_END = frozenset({"waiting", "output", "failed"})
"""Messages whose last lines matter most (a screen): cut at the start if too long."""


def plain(text: str) -> str:
    """``text`` shown as typed: markdown (``*_~`|>#-``, masked links) escaped."""
    return discord.utils.escape_markdown(text)


def content(message: Message) -> str:
    """The message's text: its title in bold on its own line, the text, and the router's
    last line ``more: LINK`` with the link left as it is (a link, not escaped text)."""
    head = f"**{plain(message.title)}**\n" if message.title else ""
    text, tail = message.text, ""
    more = f"more: {message.link}"
    if message.link and text.endswith(more):
        text, tail = text[: -len(more)].rstrip("\n"), f"\nmore: <{message.link}>"
    room = LIMIT - len(head) - len(tail)
    return head + fitted(text, room, message.what) + tail


def fitted(text: str, room: int, what: str = "") -> str:
    """``text`` escaped, cut (with ``…``) until it fits in ``room`` characters: at its
    start for a screen's lines, at its end otherwise. Escaping can make a text up to twice
    as long; the router cuts the raw text to the channel's limit, this the rest."""
    escaped = plain(text)
    if len(escaped) <= room:
        return escaped
    at_end = what in KEEP_THE_END
    keep, room = len(text), max(room - 1, 0)
    while keep > 0 and len(escaped) > room:
        keep = max(keep - (len(escaped) - room), 0)
        escaped = plain(text[len(text) - keep :] if at_end else text[:keep])
    return "…" + escaped if at_end else escaped + "…"


def thread_name(message: Message) -> str:
    name = (message.title or message.key).strip() or message.key
    return name[:THREAD_NAME]


def buttons(pressable: tuple[Button, ...]) -> discord.ui.View | None:
    """The buttons, each sending back its ``data`` as the component's ``custom_id``.

    The view is stopped before it is sent, so discord.py does not keep it to dispatch
    presses to it: a press comes in as any interaction does (``on_interaction``), and
    presses on messages from before a restart work alike."""
    if not pressable:
        return None
    view = discord.ui.View(timeout=None)
    for button in pressable[:BUTTONS]:
        view.add_item(
            discord.ui.Button(
                label=button.label[:BUTTON_LABEL] or button.data,
                custom_id=button.data,
                style=discord.ButtonStyle.secondary,
            )
        )
    view.stop()
    return view
