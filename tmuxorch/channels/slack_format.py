"""What a :class:`~tmuxorch.channels.base.Message` looks like on Slack, and what Slack's
Socket Mode payloads mean as :class:`~tmuxorch.channels.base.Incoming` (pure: no network).

Out, nothing an agent printed is ever read as markup: the text goes in ``plain_text``
objects (no mrkdwn, no emoji codes) with Slack's three control characters (``&``, ``<``,
``>``) written as entities, so ``<!channel>`` or ``<@U123>`` on a screen stays text; the
``text`` fallback (notifications, old clients) is the same, with ``mrkdwn`` off.
"""

from __future__ import annotations

from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.channels.base import Message

SECTION_LIMIT = 3000
"""Characters a section's text may have (Slack refuses more)."""
HEADER_LIMIT = 150
BUTTON_LABEL_LIMIT = 75
BUTTONS_LIMIT = 25
"""Elements one actions block may have."""
USER_SUBTYPES = (None, "thread_broadcast")
"""Message events that are a person writing (others: edits, joins, bots, deletions)."""


def escape(text: str) -> str:
    """``text`` with Slack's control characters as entities (displayed as themselves)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(text: str) -> str:
    """What a person typed: Slack sends ``&``, ``<``, ``>`` of message text as entities."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def pieces(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """``text`` escaped and cut into parts of at most ``limit`` characters, never inside an
    entity (an escaped text may be up to five times as long as the text)."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece)
    if current:
        parts.append("".join(current))
    return parts


def blocks(message: Message) -> list[dict[str, object]]:
    """The Block Kit blocks for ``message``: its title as a header, its text as plain-text
    sections, its buttons in one actions block (each button's ``value`` and ``action_id``
    carry its data), and the "more" line that ends it as a link."""
    out: list[dict[str, object]] = []
    text, link = _split_link(message)
    if message.title.strip():
        title = message.title.strip().replace("\n", " ")[:HEADER_LIMIT]
        out.append({"type": "header", "text": _plain(escape(title))})
    for part in pieces(text):
        if part.strip():
            out.append({"type": "section", "text": _plain(part)})
    if message.buttons:
        elements: list[dict[str, object]] = []
        taken: set[str] = set()
        for index, button in enumerate(message.buttons[:BUTTONS_LIMIT]):
            action_id = button.data if button.data not in taken else f"{button.data}#{index}"
            taken.add(action_id)
            label = button.label.strip() or button.data
            elements.append(
                {
                    "type": "button",
                    "text": _plain(escape(label[:BUTTON_LABEL_LIMIT])),
                    "value": button.data,
                    "action_id": action_id,
                }
            )
        out.append({"type": "actions", "elements": elements})
    if link:
        where = escape(link).replace("|", "%7C")
        more = {"type": "mrkdwn", "text": f"<{where}|more on the web>", "verbatim": True}
        out.append({"type": "context", "elements": [more]})
    return out


def _split_link(message: Message) -> tuple[str, str | None]:
    """The text without its last line ``more: LINK`` (the router's), and that link (shown
    as a link of its own: a plain-text section would not make it one)."""
    tail = f"more: {message.link}"
    if message.link and message.text.endswith(tail):
        return message.text[: -len(tail)].rstrip("\n"), message.link
    return message.text, None


def fallback(message: Message) -> str:
    """The message's ``text`` field: what a notification shows (escaped, never empty)."""
    lines = [message.title.strip(), message.text]
    return escape("\n".join(line for line in lines if line)) or escape(message.what)


def _plain(escaped: str) -> dict[str, object]:
    return {"type": "plain_text", "text": escaped, "emoji": False}


@dataclass(frozen=True)
class Said:
    """One thing a person did, read from a Socket Mode envelope (before it is an
    :class:`~tmuxorch.channels.base.Incoming`): where to answer is ``thread``."""

    user: str
    chat: str
    refs: tuple[str, ...]
    thread: str
    text: str = ""
    button: str | None = None
    name: str = ""
    once: str = ""
    """What identifies it across Slack's redeliveries (the event's id)."""


def said(kind: str, payload: dict[str, object], me: tuple[str, ...]) -> list[Said]:
    """What the envelope of ``kind`` (``events_api``, ``interactive``, ``slash_commands``)
    with ``payload`` says people did; ``me`` are the bot's own ids (never an answer)."""
    if kind == "events_api":
        return _message(payload, me)
    if kind == "interactive" and payload.get("type") == "block_actions":
        return _pressed(payload)
    if kind == "slash_commands":
        return _command(payload)
    return []


def _message(payload: dict[str, object], me: tuple[str, ...]) -> list[Said]:
    event = _dict(payload.get("event"))
    if event.get("type") != "message" or event.get("subtype") not in USER_SUBTYPES:
        return []
    user = _text(event.get("user"))
    if not user or event.get("bot_id") or user in me or event.get("hidden"):
        return []
    ts = _text(event.get("ts"))
    thread = _text(event.get("thread_ts"))
    text = unescape(_text(event.get("text")))
    for who in me:  # "@tmuxorch /status" is "/status" to the router
        if who and text.startswith(f"<@{who}>"):
            text = text[len(who) + 3 :].lstrip()
    return [
        Said(
            user=user,
            chat=_text(event.get("channel")),
            refs=(thread,) if thread else (),
            thread=thread or ts,
            text=text,
            once=_text(payload.get("event_id")),
        )
    ]


def _pressed(payload: dict[str, object]) -> list[Said]:
    person = _dict(payload.get("user"))
    container = _dict(payload.get("container"))
    message = _dict(payload.get("message"))
    chat = _text(container.get("channel_id")) or _text(_dict(payload.get("channel")).get("id"))
    thread = _text(container.get("thread_ts")) or _text(message.get("thread_ts"))
    ts = _text(container.get("message_ts")) or _text(message.get("ts"))
    refs = tuple(dict.fromkeys(ref for ref in (thread, ts) if ref))
    found = []
    actions = payload.get("actions")
    for action in actions if isinstance(actions, list) else []:
        value = _dict(action).get("value")
        if isinstance(value, str):  # a link button has none
            found.append(
                Said(
                    user=_text(person.get("id")),
                    name=_text(person.get("username")) or _text(person.get("name")),
                    chat=chat,
                    refs=refs,
                    thread=thread or ts,
                    button=value,
                )
            )
    return found


def _command(payload: dict[str, object]) -> list[Said]:
    """``/tmuxorch status`` (a slash command of the app): Slack keeps every message that
    starts with ``/`` for its own commands, so this is how ``/status`` is typed there."""
    text = _text(payload.get("text")).strip()
    return [
        Said(
            user=_text(payload.get("user_id")),
            name=_text(payload.get("user_name")),
            chat=_text(payload.get("channel_id")),
            refs=(),
            thread="",
            text="/" + text if text else "/help",
        )
    ]


def _dict(value: object) -> dict[str, object]:
    return value if isinstance(value, dict) else {}


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
