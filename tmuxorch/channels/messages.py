"""What the channels say about a run's events (pure): an agent waiting for a person (its
last screen lines, and a button for each answer the screen offers), a task that failed, a
run that finished, and — where a channel asks for it — each task's output, gathered and
cut to the channel's size with a "more" link to the web mirror.

Each waiting, failure and end is said once: the run tells of each state change once
(``task-waiting`` only when its agent starts waiting, never for a dialog tmuxorch answers
itself), and :class:`Said` drops an event read twice (by its run and ``seq``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from tmuxorch.agents.choices import Choice, choices

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SCREEN_LINES = 12
"""Lines of the screen a waiting message shows at most."""
MORE_PIECES = 3
"""Messages one gathering of output may take; older lines beyond them are left out."""


@dataclass(frozen=True)
class Draft:
    """A message before a channel takes it: what it says, and the answers it offers
    (each a :class:`~tmuxorch.agents.choices.Choice`, given a button by the router)."""

    key: str
    what: str
    title: str
    text: str
    choices: tuple[Choice, ...] = ()
    urgent: bool = False
    actions: tuple[tuple[str, str], ...] = ()
    """Buttons that run a command (label, ``/approve TASK``...), as a person would."""


def key_of(run: object, task: object | None) -> str:
    return f"{run}/{task}" if task else str(run)


def link(base: str | None, run: object, task: object | None) -> str | None:
    """The run (and task) on the web mirror, when serve's address is known."""
    if not base:
        return None
    where = f"run={quote(str(run))}" + (f"&task={quote(str(task))}" if task else "")
    return f"{base.rstrip('/')}/#{where}"


def draft(event: Mapping[str, object]) -> Draft | None:
    """What people are told of ``event`` (a run's domain event), or None."""
    kind = event.get("type")
    run, task = event.get("run"), event.get("task")
    if kind == "task-waiting":
        raw = event.get("last_lines")
        lines = [str(x) for x in raw] if isinstance(raw, list) else []
        shown = "\n".join(lines[-SCREEN_LINES:])
        return Draft(
            key_of(run, task),
            "waiting",
            f"{task} is waiting for input",
            f"{task} (run {run}) is waiting for you:\n\n{shown}",
            choices("\n".join(lines)),
            urgent=True,
        )
    if kind == "agent-breaker" and event.get("state") == "open":
        from tmuxorch.run.notify import breaker_words

        said = breaker_words(dict(event))
        return Draft(key_of(run, None), "note", f"{event.get('agent')} is paused", said)
    if kind == "task-stalled":
        from tmuxorch.run.notify import stalled_words

        raw = event.get("last_lines")
        shown = "\n".join(str(x) for x in raw[-SCREEN_LINES:]) if isinstance(raw, list) else ""
        said = f"{task} {stalled_words(dict(event))}"
        return Draft(
            key_of(run, task),
            "stalled",
            said,
            f"{said} (run {run}):\n\n{shown}\n\n/stop {task} stops it.",
            urgent=bool(event.get("waiting")),
        )
    if kind == "task-ended" and event.get("outcome") in ("blocked", "needs_review"):
        held = str(event["outcome"])
        why = event.get("reason") or event.get("summary") or "no reason given"
        if held == "blocked":
            how = f"/unblock {task} NOTE runs it again with your note."
            actions: tuple[tuple[str, str], ...] = ()
        else:
            how = f"/approve {task}, or /reject {task} REASON (it runs again, told why)."
            actions = (("Approve", f"/approve {task}"),)
        return Draft(
            key_of(run, task),
            held,
            f"{task} {'is blocked' if held == 'blocked' else 'needs review'}",
            f"{task} (run {run}) {'is blocked' if held == 'blocked' else 'needs review'}: "
            f"{why}\n{how}",
            urgent=True,
            actions=actions,
        )
    if kind == "task-ended" and event.get("outcome") == "failed":
        code = event.get("exit_code")
        exit_part = f" (exit {code})" if code not in (None, 0) else ""
        if event.get("allow_failure"):
            exit_part += " — allowed: what depends on it goes on"
        return Draft(
            key_of(run, task),
            "failed",
            f"{task} failed",
            f"{task} (run {run}) failed{exit_part}: {event.get('reason') or 'no reason given'}"
            f"\n/retry {task} runs it again.",
        )
    if kind == "run-finished" and event.get("state") == "finished":
        ok = bool(event.get("ok"))
        summary = str(event.get("summary") or "")
        head = "finished" if ok else "finished, not every task succeeded"
        return Draft(
            key_of(run, None),
            "finished",
            f"run {run} {head}",
            f"run {run} {head}" + (f": {summary}" if summary else ""),
        )
    return None


def output(run: object, task: object, lines: list[str], limit: int) -> list[Draft]:
    """A task's output gathered since its last message, as at most :data:`MORE_PIECES`
    messages of at most ``limit`` characters (the newest lines win; the router adds the
    link to the rest)."""
    pieces = split("\n".join(lines), limit)
    skipped = 0
    if len(pieces) > MORE_PIECES:
        skipped = sum(p.count("\n") + 1 for p in pieces[:-MORE_PIECES])
        pieces = pieces[-MORE_PIECES:]
    key = key_of(run, task)
    if skipped:
        rest = pieces[0].split("\n")
        while rest and len(_skipped(skipped)) + len("\n".join(rest)) > limit:
            rest.pop(0)
            skipped += 1
        pieces[0] = _skipped(skipped) + "\n".join(rest)
    return [Draft(key, "output", f"{task} output", piece) for piece in pieces]


def _skipped(count: int) -> str:
    return f"… {count} earlier line(s) not shown (the web mirror has them)\n"


def split(text: str, limit: int) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut at line ends where it can
    be (a line longer than ``limit`` is cut inside)."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        joined = f"{current}\n{line}" if current else line
        if len(joined) > limit:
            pieces.append(current)
            current = line
        else:
            current = joined
    if current or not pieces:
        pieces.append(current)
    return pieces


def cut(text: str, limit: int, tail: str = "") -> str:
    """``text`` (then ``tail``) within ``limit`` characters: the end of the text is kept
    (a screen's last lines are what matter), its start marked as left out."""
    room = limit - len(tail)
    if len(text) <= room:
        return text + tail
    keep = max(0, room - 2)
    return "…\n" + text[len(text) - keep :] + tail if keep else tail[:limit]


class Said:
    """Events already turned into messages (by run and ``seq``), so an event read twice
    (a stream resumed from the files) is said once."""

    KEEP = 10_000

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int], None] = {}

    def first(self, event: Mapping[str, object]) -> bool:
        seq = event.get("seq")
        if not isinstance(seq, int):
            return True
        mark = (str(event.get("run")), seq)
        if mark in self._seen:
            return False
        self._seen[mark] = None
        if len(self._seen) > self.KEEP:
            self._seen.pop(next(iter(self._seen)))
        return True
