"""Between the runs and the channels, inside ``serve``.

Out: every known run's events come from serve's feed (the runs' own ``events.jsonl``); an
agent waiting for a person, a failure, a run's end (and, where asked, each task's output)
become one message for each channel, in that task's thread, through the channel's outbox.
In: each channel hands what people do to :meth:`Router.incoming`: who they are decides what
they may do (``allow``: everything; ``watch``: ``/status``; anyone else is refused and
logged); a button answers the question it was shown with (while that question is still
open), a reply in a task's thread is typed into its pane (``tmuxorch send``'s delivery:
byte-exact, Enter after), a command is carried out (:mod:`tmuxorch.channels.commands`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import secrets
import sys
import time
from dataclasses import dataclass

from tmuxorch.channels import messages
from tmuxorch.channels.base import Button, Channel, ChannelError, Conflict, Incoming, Message
from tmuxorch.channels.commands import READ_ONLY, parse, perform
from tmuxorch.channels.outbox import Outbox
from tmuxorch.channels.threads import Threads

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.serve.state import Serve
    from tmuxorch.spec.channels import ChannelSpec

MODULES = {
    "telegram": "tmuxorch.channels.telegram",
    "slack": "tmuxorch.channels.slack",
    "discord": "tmuxorch.channels.discord_bot",
    "ntfy": "tmuxorch.channels.ntfy",
    "webhook": "tmuxorch.channels.webhook",
}
"""The channels that post (``github`` and ``incoming`` only take requests: serve/hooks)."""
EXTRAS = {"telegram": "telegram", "slack": "slack", "discord": "discord"}
SETTLE = 5.0
"""Seconds a reply waits for the post it answers to be noted (it is taken first)."""
FLUSH_EVERY = 1.0
"""Seconds between looks at the output gathered for channels with ``live_output``."""


class Unusable(Exception):
    """A channel cannot be made (its library is missing, a secret cannot be read)."""


def make(spec: ChannelSpec) -> Channel:
    """The channel ``spec`` describes; :class:`Unusable` says why not."""
    name = MODULES.get(spec.kind)
    if name is None:
        raise Unusable(f"{spec.origin}: channel {spec.name}: a {spec.kind} channel posts nothing")
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        extra = EXTRAS.get(spec.kind, "serve")
        raise Unusable(f"channel {spec.name}: {exc}: pip install 'tmuxorch[{extra}]'") from None
    try:
        channel: Channel = module.make(spec)
    except ChannelError as exc:
        raise Unusable(str(exc)) from None
    return channel


def posting(specs: tuple[ChannelSpec, ...]) -> list[ChannelSpec]:
    return [s for s in specs if s.kind in MODULES]


@dataclass(frozen=True)
class Question:
    """An answer offered by a button: for ``key``'s wait number ``wait``."""

    key: str
    wait: int
    label: str
    send: dict[str, object]
    command: str | None = None
    """Or a command it runs (``/approve TASK``), as if the person had written it."""


class Router:
    def __init__(self, serve: Serve, channels: list[Channel], state: str) -> None:
        self.serve = serve
        self.channels = channels
        self.outboxes = {
            c.name: Outbox(c, Threads(os.path.join(state, f"{_safe(c.name)}.json")))
            for c in channels
        }
        self.said = messages.Said()
        self.panes: dict[str, str] = {}
        """key → the pane of its latest attempt."""
        self.waits: dict[str, int] = {}
        """key → the number of its open wait (0: none open)."""
        self.questions: dict[str, Question] = {}
        self.gathered: dict[tuple[str, str], list[str]] = {}
        self.flushed: dict[tuple[str, str], float] = {}
        self._count = 0
        self._tasks: list[asyncio.Task[None]] = []

    # -- running -----------------------------------------------------------------
    def start(self) -> list[asyncio.Task[None]]:
        for channel in self.channels:
            self._tasks.append(asyncio.create_task(self.outboxes[channel.name].run()))
            if channel.receives:
                self._tasks.append(asyncio.create_task(self._receive(channel)))
        self._tasks.append(asyncio.create_task(self._follow()))
        if any(c.spec.live_output for c in self.channels):
            self._tasks.append(asyncio.create_task(self._flush_output()))
        return self._tasks

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for channel in self.channels:
            with contextlib.suppress(Exception):
                await channel.close()

    def status(self) -> list[dict[str, object]]:
        return [
            {
                "channel": name,
                "kind": box.channel.spec.kind,
                "queued": len(box.queue),
                "delivered": box.delivered,
                "dropped": box.dropped,
                "failures": box.failures,
            }
            for name, box in self.outboxes.items()
        ]

    async def _receive(self, channel: Channel) -> None:
        wait = 1.0
        while True:
            began = time.monotonic()
            try:
                await channel.receive(lambda inc: self.incoming(channel, inc))
                return
            except asyncio.CancelledError:
                raise
            except Conflict as exc:
                _log(channel.name, f"{exc} (looking again in 60s)")
                await asyncio.sleep(60)
                continue
            except ChannelError as exc:
                _log(channel.name, f"cannot receive: {exc} (again in {wait:.0f}s)")
            except Exception as exc:
                _log(channel.name, f"receiving failed: {type(exc).__name__}: {exc}")
            if time.monotonic() - began > 60:
                wait = 1.0
            await asyncio.sleep(wait)
            wait = min(wait * 2, 60.0)

    async def _follow(self) -> None:
        feed = self.serve.feed
        stream = feed.open(set(), set())
        try:
            while True:
                item = await stream.queue.get()
                if item is None:
                    return
                self.take(item[1])
                if stream.behind:
                    for missed in feed.resume(stream):
                        self.take(missed[1])
        finally:
            feed.close(stream)

    # -- out ---------------------------------------------------------------------
    def take(self, event: dict[str, object]) -> None:
        """One event of a run, as the feed read it."""
        kind = event.get("type")
        run, task = event.get("run"), event.get("task", event.get("label"))
        key = messages.key_of(run, task)
        if kind == "lines" and task:
            self._gather(key, event)
            return
        if kind in ("task-started", "task-adopted", "task-waiting") and event.get("pane"):
            self.panes[key] = str(event["pane"])
        if kind == "task-activity" and event.get("activity") != "waiting_input":
            self.waits[key] = 0
        if kind in ("task-ended", "task-reset"):
            self.waits[key] = 0
        draft = messages.draft(event)
        if draft is None or not self.said.first(event):
            return
        buttons: tuple[Button, ...] = ()
        if draft.what in ("waiting", "blocked", "needs_review"):
            self._count += 1
            self.waits[key] = self._count
            buttons = self._buttons(key, draft)
        self.say(draft, run, task, buttons)

    def _buttons(self, key: str, draft: messages.Draft) -> tuple[Button, ...]:
        made = []
        stamp = secrets.token_hex(4)
        for i, choice in enumerate(draft.choices):
            data = f"q{stamp}.{i}"
            send = choice.as_json()["send"]
            assert isinstance(send, dict)
            self.questions[data] = Question(key, self.waits[key], choice.label, send)
            made.append(Button(choice.label, data))
        for i, (label, command) in enumerate(draft.actions):
            data = f"q{stamp}.a{i}"
            self.questions[data] = Question(key, self.waits[key], label, {}, command)
            made.append(Button(label, data))
        if len(self.questions) > 5000:
            for old in list(self.questions)[:1000]:
                del self.questions[old]
        return tuple(made)

    def say(
        self,
        draft: messages.Draft,
        run: object,
        task: object,
        buttons: tuple[Button, ...] = (),
        only: list[Channel] | None = None,
    ) -> None:
        link = messages.link(self.serve.url, run, task)
        for channel in only if only is not None else self.channels:
            tail = f"\nmore: {link}" if link and draft.what != "output" else ""
            if draft.what == "waiting" and channel.reply_hint:
                tail = f"\n\n{channel.reply_hint}{tail}"
            message = Message(
                text=messages.cut(draft.text, channel.limit, tail),
                key=draft.key,
                what=draft.what,
                title=draft.title,
                buttons=buttons,
                link=link,
                urgent=draft.urgent,
            )
            self.outboxes[channel.name].put(message)

    def _gather(self, key: str, event: dict[str, object]) -> None:
        lines = event.get("lines")
        if not isinstance(lines, list):
            return
        for channel in self.channels:
            if channel.spec.live_output:
                self.gathered.setdefault((channel.name, key), []).extend(str(x) for x in lines)

    async def _flush_output(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_EVERY)
            now = time.monotonic()
            by_name = {c.name: c for c in self.channels}
            for (name, key), lines in list(self.gathered.items()):
                channel = by_name[name]
                if (
                    not lines
                    or now - self.flushed.get((name, key), 0.0) < channel.spec.output_every
                ):
                    continue
                self.flushed[(name, key)] = now
                del self.gathered[(name, key)]
                run, _, task = key.partition("/")
                for piece in messages.output(run, task, lines, channel.limit):
                    self.say(piece, run, task, only=[channel])

    # -- in ----------------------------------------------------------------------
    async def incoming(self, channel: Channel, came: Incoming) -> None:
        role = _role(channel.spec, came)
        if role is None:
            where = f" in {came.chat}" if came.chat else ""
            _log(channel.name, f"refused user {came.user} ({came.name or '?'}){where}: not allowed")
            await _answer(came, "You are not allowed to use this bot.")
            return
        box = self.outboxes[channel.name]
        key = box.threads.key(came.refs)
        if key is None and came.refs:  # an answer to a message whose post is not noted yet
            await box.settled(SETTLE)
            key = box.threads.key(came.refs)
        if came.button is not None:
            if role != "all":
                await _answer(came, "You may only ask /status here.")
                return
            await _answer(came, await self._press(came.button))
            return
        command = parse(came.text.strip())
        if command is not None:
            if role != "all" and command.name not in READ_ONLY:
                await _answer(came, "You may only ask /status here.")
                return
            said = await asyncio.to_thread(perform, command, self.serve.runs, key)
            await _answer(came, said)
            return
        if role != "all":
            await _answer(came, "You may only ask /status here.")
            return
        if key is None or "/" not in key:
            await _answer(came, "Reply in a task's thread to type into it; /help says more.")
            return
        await _answer(came, await self._type(key, {"text": came.text}, quiet=True))

    async def _press(self, data: str) -> str:
        question = self.questions.get(data)
        if question is None or self.waits.get(question.key) != question.wait:
            return "That question is no longer open."
        self.waits[question.key] = 0  # one answer per question
        if question.command is not None:
            found = parse(question.command)
            assert found is not None
            return await asyncio.to_thread(perform, found, self.serve.runs, question.key)
        said = await self._type(question.key, question.send)
        return said or f"answered: {question.label}"

    async def _type(self, key: str, send: dict[str, object], quiet: bool = False) -> str:
        from tmuxorch.serve.sending import Refused, send_input

        pane = self.panes.get(key)
        task = key.partition("/")[2]
        if pane is None:
            return f"{task} has no pane open now."
        try:
            await asyncio.to_thread(send_input, self.serve.clients, {"target": pane, **send})
        except Refused as exc:
            return f"not sent to {task}: {exc.why}"
        return "" if quiet else f"sent to {task}"


def _role(spec: ChannelSpec, came: Incoming) -> str | None:
    """What the person may do: ``all``, ``watch`` (only read), or None."""
    where = spec.text("chat") or spec.text("channel")
    if where and came.chat and came.chat != where:
        return None
    if "*" in spec.allow or came.user in spec.allow:
        return "all"
    if "*" in spec.watch or came.user in spec.watch:
        return "watch"
    return None


async def _answer(came: Incoming, text: str) -> None:
    if came.answer is None or not text:
        return
    try:
        await came.answer(text)
    except Exception as exc:
        _log(came.channel, f"could not answer: {type(exc).__name__}: {exc}")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _log(channel: str, what: str) -> None:
    print(f"tmuxorch serve: channel {channel}: {what}", file=sys.stderr, flush=True)


def start_router(serve: Serve) -> Router | None:
    """The router of ``serve``'s channels, started (a channel that cannot be made is said
    and left out: ``tmuxorch serve`` checks them before it starts, see :func:`check`)."""
    from tmuxorch.serve.runs import state_home

    channels = []
    for spec in posting(serve.channels):
        try:
            channels.append(make(spec))
        except Unusable as exc:
            _log(spec.name, str(exc))
    if not channels:
        return None
    router = Router(serve, channels, os.path.join(state_home(), "serve", "channels"))
    serve.tasks += router.start()
    return router


def check(specs: tuple[ChannelSpec, ...]) -> list[str]:
    """Why each channel cannot be made (its library, its secrets), before serve starts."""
    said = []
    for spec in posting(specs):
        try:
            make(spec)
        except Unusable as exc:
            said.append(str(exc))
    return said
