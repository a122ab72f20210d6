"""Input from the web, as ``tmuxorch send`` gives it: the same checks, the same delivery
(:func:`tmuxorch.bridge.send.deliver`), answers as HTTP statuses instead of exit codes."""

from __future__ import annotations

from tmuxorch.bridge.keys import known_key, unknown_key
from tmuxorch.bridge.send import UnknownTarget, deliver, match, panes
from tmuxorch.cli.send import wait_ready
from tmuxorch.tmux.client import Client, TmuxError

READY = ("idle", "waiting_input")


class Refused(Exception):
    def __init__(self, status: int, why: str, **more: object) -> None:
        super().__init__(why)
        self.status, self.why, self.more = status, why, more


def _field(body: dict[str, object], name: str, kind: type, default: object) -> object:
    value = body.get(name, default)
    if value is not None and not isinstance(value, kind):
        raise Refused(422, f"{name} must be a {kind.__name__}", field=name)
    return value


def send_input(clients: list[Client], body: dict[str, object]) -> str:
    """Deliver what ``body`` says; the pane it went to. :class:`Refused` otherwise."""
    target = _field(body, "target", str, None)
    text = _field(body, "text", str, "")
    keys = _field(body, "keys", list, [])
    enter = _field(body, "enter", bool, True)
    when_idle = _field(body, "when_idle", bool, False)
    timeout = _field(body, "timeout", (int, float), 120.0)  # type: ignore[arg-type]
    delay = _field(body, "delay", (int, float), None)  # type: ignore[arg-type]
    assert isinstance(keys, list) and isinstance(text, str)
    if not target:
        raise Refused(422, "target is needed: a task, session:task or %pane", field="target")
    bad = [k for k in keys if not isinstance(k, str) or not known_key(k)]
    if bad:
        raise Refused(422, unknown_key(bad[0]), field="keys")
    if not text and not keys:
        raise Refused(422, "nothing to send: give text or keys", field="text")
    client, pane = _find(clients, str(target))
    if when_idle and not wait_ready(client, pane, float(timeout or 0)):  # type: ignore[arg-type]
        raise Refused(409, f"{target}: not ready for input within {timeout}s")
    why = deliver(
        client,
        pane,
        text,
        keys=[str(k) for k in keys],
        enter=bool(enter) and bool(text),  # keys alone press only those keys
        delay=None if delay is None else float(delay),  # type: ignore[arg-type]
    )
    if why:
        raise Refused(409, f"not delivered: {why}")
    return named(client, pane)


def named(client: Client, pane: str) -> str:
    """``pane`` of ``client``'s server as a run names it: ``%4``, or ``%4@gpu1`` there."""
    host = getattr(client, "host", None)  # (a host's tmux, over ssh)
    return pane if host is None else f"{pane}@{host}"


def _find(clients: list[Client], target: str) -> tuple[Client, str]:
    valid: list[str] = []
    for client in clients:
        try:
            return client, match(panes(client), target).pane
        except UnknownTarget as exc:
            valid += exc.valid
        except TmuxError:
            continue
    there = on_host(clients, target)
    if there is not None:
        return there
    raise Refused(404, str(UnknownTarget(target, sorted(set(valid)))), field="target")


def on_host(clients: list[Client], target: str) -> tuple[Client, str] | None:
    """A task of a run here whose pane is on one of its hosts: that host's tmux, over
    ssh, and the pane's id there."""
    from tmuxorch.run.whereabouts import on_host as there

    for client in clients:
        try:
            found = there(client, target)
        except TmuxError as exc:
            raise Refused(409, f"not delivered: {exc}") from None
        if found is not None:
            return found
    return None
