"""What a GitHub webhook event asks of tmuxorch (pure: an event in, a task or a reason out).

A comment that mentions the channel's ``handle`` (``issue_comment``, ``created``) asks for a
task: its words without the handle are the prompt, the issue (title, link, text) comes
with them as context. An issue opened that mentions the handle, or opened or labelled with
one of the channel's ``labels`` (``issues``), asks for a task on the whole issue. Anything
else is answered and left alone. Only the people in the channel's ``allow`` (GitHub logins;
``"*"``: anyone who can comment) may ask.

Every word of the event is data: it goes into the task's prompt (escaped, so a ``{name}``
or ``$name`` in a comment stays as written) and never reaches a shell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tmuxorch.spec.template import escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.spec.channels import ChannelSpec

HANDLE = "@tmuxorch"
AGENT = "claude"
"""The agent of a task asked for on GitHub when the channel names none."""


@dataclass(frozen=True)
class Asked:
    """What the event asks: ``task`` (the data of a task to add), or nothing, with the
    HTTP status and the reason to answer."""

    status: int
    why: str
    task: dict[str, object] | None = None
    sender: str = ""


def asked(event: str, payload: object, spec: ChannelSpec) -> Asked:
    """What the GitHub ``event`` (its ``X-GitHub-Event``) with ``payload`` asks."""
    if event == "ping":
        return Asked(200, "pong")
    if not isinstance(payload, dict):
        return Asked(400, "the payload is not a JSON object")
    sender = _text(payload, "sender", "login")
    handle = spec.text("handle", HANDLE)
    if event == "issue_comment":
        found = _comment(payload, handle, spec)
    elif event == "issues":
        found = _issue(payload, handle, spec)
    else:
        return Asked(202, f"ignored: tmuxorch does nothing on {event or 'unnamed'} events")
    if found.task is None:
        return found
    if not _allowed(sender, spec):
        said = "nobody may ask (allow: lists no one)" if not spec.allow else "not in allow"
        return Asked(
            403, f"{sender or 'an unnamed sender'} may not ask for tasks: {said}", None, sender
        )
    return Asked(found.status, found.why, found.task, sender)


def _allowed(sender: str, spec: ChannelSpec) -> bool:
    return "*" in spec.allow or (bool(sender) and sender in spec.allow)


def _comment(payload: dict[str, object], handle: str, spec: ChannelSpec) -> Asked:
    if payload.get("action") != "created":
        return Asked(202, f"ignored: a comment {payload.get('action') or 'changed'}")
    body = _text(payload, "comment", "body")
    if not mentions(body, handle):
        return Asked(202, f"ignored: the comment does not mention {handle}")
    number = _text(payload, "issue", "number")
    comment = _text(payload, "comment", "id")
    if not number.isdigit() or not comment.isdigit():
        return Asked(400, "the event names no issue number or comment id")
    words = without(body, handle)
    context = _context(payload)
    who = _text(payload, "comment", "user", "login")
    link = _text(payload, "comment", "html_url")
    context += f"\nAsked by @{who} in {link}" if link else f"\nAsked by @{who}"
    return Asked(200, "a task", _task(spec, f"gh-{number}-c{comment}", words, context))


def _issue(payload: dict[str, object], handle: str, spec: ChannelSpec) -> Asked:
    action = payload.get("action")
    wanted = spec.get("labels")
    labels = {str(x) for x in wanted} if isinstance(wanted, tuple) else set()
    body = _text(payload, "issue", "body")
    if action == "opened":
        if not (mentions(body, handle) or _labels(payload) & labels):
            return Asked(202, f"ignored: the issue does not mention {handle} nor has a label")
    elif action == "labeled":
        if _text(payload, "label", "name") not in labels:
            return Asked(202, "ignored: not one of the labels tmuxorch takes")
    else:
        return Asked(202, f"ignored: an issue {action or 'changed'}")
    number = _text(payload, "issue", "number")
    if not number.isdigit():
        return Asked(400, "the event names no issue number")
    words = "Work on this GitHub issue."
    return Asked(200, "a task", _task(spec, f"gh-{number}", words, _context(payload)))


def _task(spec: ChannelSpec, task_id: str, words: str, context: str) -> dict[str, object]:
    words = words.strip() or "Work on this GitHub issue."
    prompt = f"{words}\n\n---\n{context}\n"
    return {
        "id": task_id,
        "agent": spec.text("agent", AGENT),
        "prompt": escape(prompt),  # a template: GitHub's words stay as written
    }


def _context(payload: dict[str, object]) -> str:
    number = _text(payload, "issue", "number")
    repo = _text(payload, "repository", "full_name")
    where = f" in {repo}" if repo else ""
    title = _text(payload, "issue", "title")
    lines = [f"GitHub issue #{number}{where}: {title}", _text(payload, "issue", "html_url")]
    body = _text(payload, "issue", "body").strip()
    if body:
        lines += ["", body, ""]
    return "\n".join(lines)


def _labels(payload: dict[str, object]) -> set[str]:
    issue = payload.get("issue")
    found = issue.get("labels") if isinstance(issue, dict) else None
    return {str(x.get("name")) for x in found or () if isinstance(x, dict)}


def mentions(text: str, handle: str) -> bool:
    """Whether ``text`` names ``handle`` (a whole word: ``@tmuxorch``, not ``@tmuxorchx``)."""
    return _handle(handle).search(text) is not None


def without(text: str, handle: str) -> str:
    """``text`` with each mention of ``handle`` taken out."""
    return re.sub(r"[ \t]{2,}", " ", _handle(handle).sub("", text)).strip()


def _handle(handle: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w@])" + re.escape(handle) + r"(?![\w-])", re.IGNORECASE)


def _text(data: object, *path: str) -> str:
    for key in path:
        if not isinstance(data, dict):
            return ""
        data = data.get(key)
    if data is None or isinstance(data, (dict, list)):
        return ""
    return str(data)
