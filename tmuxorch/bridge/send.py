"""Input into panes, byte for byte, with the Enter protocol agent TUIs need.

- Short printable single-line text is typed (``send-keys -l --``, with tmux's trailing-``;``
  rule escaped); anything else (newlines, control characters, long text) is pasted:
  ``load-buffer`` from stdin into a buffer of its own, then ``paste-buffer -r -p -d``
  (bracketed paste when the program asked for it, newlines kept as they are).
- Enter is a separate key (the named ``Enter``, never ``C-m``), after the agent's delay: a
  TUI takes a burst of text plus an immediate Enter as a paste with a newline in it.
- After Enter, a look at the screen: if the text still sits in the agent's input box, one
  rescue Enter; if it still sits there, it was not delivered.
- Sends to one pane are serialised across processes (a lock file per pane).

Import-light on purpose (no typing, dataclasses, re): ``tmuxorch send`` starts in a few ms.
"""

from __future__ import annotations

import fcntl
import os
import time

from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

TYPED_LIMIT = 256
"""Longer text is pasted rather than typed."""
DEFAULT_ENTER_DELAY = 0.1
ENTER_DELAYS = {
    "shell": 0.0,
    "demo": 0.05,
    "claude": 0.3,
    "codex": 0.3,
    "aider": 0.1,
    "gemini": 0.3,
    "goose": 0.2,
    "opencode": 0.3,
}
"""Seconds between text and Enter by preset (peers use 100-300 ms for agent TUIs): the
presets' own values, copied here to keep ``send`` free of heavy imports (a test holds them
equal), for panes whose run did not say."""
BOXED = frozenset({"claude", "codex", "gemini", "opencode", "goose", "aider"})
"""Agents with an input box the text must leave when Enter submits it."""
_SEP = "\t"
PANE_FORMAT = _SEP.join(
    (
        "#{pane_id}",
        "#{session_name}",
        "#{@tmuxorch-task}",
        "#{@tmuxorch-attempt}",
        "#{@tmuxorch-agent}",
        "#{pane_dead}",
        "#{pane_current_command}",
        "#{@tmuxorch-enter-delay}",
        "#{@tmuxorch-patterns}",
    )
)


class Target:
    __slots__ = ("agent", "attempt", "dead", "enter_delay", "pane", "patterns", "session", "task")

    def __init__(self, row: str) -> None:
        pane, session, task, attempt, agent, dead, command, delay, patterns = row.split(_SEP)
        self.pane = pane
        self.session = session
        self.task = task
        self.attempt = int(attempt or 0)
        self.agent = agent or _agent_of_program(command)
        self.dead = dead == "1"
        self.enter_delay = float(delay) if delay else ENTER_DELAYS.get(self.agent)
        """Its profile's (set by the run that started it), else its preset's, else None."""
        self.patterns = patterns
        """Its profile's state patterns (JSON) where they are not its preset's, else ""."""

    @property
    def name(self) -> str:
        return f"{self.session}:{self.task}" if self.task else self.pane

    @property
    def label(self) -> str:
        """Short: the task id (or pane id), for people."""
        return self.task or self.pane


class UnknownTarget(LookupError):
    def __init__(self, target: str, valid: list[str], message: str = "") -> None:
        self.target = target
        self.valid = valid
        listing = f"; its task targets: {', '.join(valid)}" if valid else ""
        what = "pane" if target.startswith("%") else "task or pane"
        super().__init__(message or f"no {what} {target!r} on this tmux server{listing}")


def unknown(client: Client, target: str, valid: list[str]) -> UnknownTarget:
    """``target`` names no pane on ``client``'s server, said for people: which server, and
    the task targets it has (or that it has none, or that it is not running)."""
    args = client.server_args
    at = next((f"{o} {args[i + 1]}" for i, o in enumerate(args[:-1]) if o in ("-L", "-S")), "")
    server = f"tmux server {at}" if at else "the default tmux server"
    what = "pane" if target.startswith("%") else "task or pane"
    if valid:
        message = f"no {what} {target!r} on {server}; its task targets: {', '.join(valid)}"
        return UnknownTarget(target, valid, message)
    try:
        client.cmd("list-sessions")
        running = True
    except TmuxError as exc:
        running = not any(w in exc.message for w in ("no server running", "error connecting"))
    if running:
        message = f"no {what} {target!r} on {server}: it has no tmuxorch task panes"
    else:
        message = f"no {what} {target!r}: {server} is not running"
        message += "" if at else " (give -L NAME or -S PATH for another one)"
    return UnknownTarget(target, valid, message)


def _agent_of_program(command: str) -> str:
    name = command.rsplit("/", 1)[-1]
    for agent in ("claude", "codex", "aider", "gemini", "goose", "opencode"):
        if name.startswith(agent):
            return agent
    return "shell" if name in ("sh", "bash", "zsh", "fish", "dash", "ksh") else ""


def panes(client: Client) -> list[Target]:
    try:
        rows = client.cmd("list-panes", "-a", "-F", PANE_FORMAT)
    except TmuxError as exc:
        if exc.nothing_there:
            return []
        raise
    return [Target(row) for row in rows]


def resolve(client: Client, targets: list[str], *, everything: bool = False) -> list[Target]:
    """``%id``, ``task`` or ``session:task`` (or every live task pane) → panes; one query."""
    found = panes(client)
    tasks = [t for t in found if t.task and not t.dead]
    if everything:
        latest: dict[tuple[str, str], Target] = {}
        for t in tasks:
            key = (t.session, t.task)
            if key not in latest or t.attempt > latest[key].attempt:
                latest[key] = t
        return list(latest.values())
    return [match(found, target) for target in targets]


def split_target(target: str) -> tuple[str, str]:
    """A task target, ``session:task`` or ``task``, as (session or "", task)."""
    session, colon, task = target.partition(":")
    return (session, task) if colon else ("", target)


def match(found: list[Target], target: str, *, dead: bool = False) -> Target:
    """The live pane of ``target`` among ``found`` (a task's latest attempt); ``dead``: or
    its pane whose program has ended (not yet closed)."""
    tasks = [t for t in found if t.task and (dead or not t.dead)]
    if target.startswith("%"):
        matching = [t for t in found if t.pane == target]
    else:
        session, task = split_target(target)
        matching = [t for t in tasks if t.task == task and session in ("", t.session)]
        if not session and len({t.session for t in matching}) > 1:
            names = sorted(t.name for t in matching)
            raise UnknownTarget(target, [f"{n} (ambiguous: say which)" for n in names])
    if not matching:
        raise UnknownTarget(target, sorted({t.name for t in tasks}))
    return max(matching, key=lambda t: t.attempt)


def _typed(text: str) -> bool:
    return len(text) <= TYPED_LIMIT and text.isprintable()


def _lock(client: Client, pane: str) -> int:
    """An exclusive lock on ``pane`` of this server, held until the fd is closed."""
    from tmuxorch import private

    # a shared /tmp: another user may have made this folder, or planted links in it
    folder = private.folder(
        os.path.join(os.environ.get("TMPDIR", "/tmp"), f"tmuxorch-{os.getuid()}")
    )
    server = "_".join(client.server_args).replace("/", "_") or "default"
    name = os.path.join(folder, f"send-{server}-{pane.lstrip('%')}.lock")
    fd = private.open_fd(name, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def deliver(
    client: Client,
    pane: str,
    text: str,
    *,
    keys: list[str] | None = None,
    enter: bool = True,
    delay: float | None = None,
    check: bool = True,
) -> str | None:
    """Send ``text`` (then ``keys``, then Enter) to ``pane``; None if delivered, else why.

    The first tmux invocation both learns what the pane runs and sends the text, so a send
    costs one invocation (plus one for Enter).
    """
    fd = _lock(client, pane)
    try:
        return _deliver(client, pane, text, keys or [], enter, delay, check, fd)
    finally:
        os.close(fd)


def _deliver(
    client: Client,
    pane: str,
    text: str,
    keys: list[str],
    enter: bool,
    delay: float | None,
    check: bool,
    lock: int,
) -> str | None:
    commands: list[tuple[str, ...]] = [("display-message", "-p", "-t", pane, PANE_FORMAT)]
    stdin = None
    if text and _typed(text):
        commands.append(("send-keys", "-t", pane, "-l", "--", text))
    elif text:
        buffer = f"tmuxorch-send-{os.getpid()}-{pane.lstrip('%')}"
        commands += [
            ("load-buffer", "-b", buffer, "-"),
            ("paste-buffer", "-r", "-p", "-d", "-b", buffer, "-t", pane),
        ]
        stdin = text.encode("utf-8", "surrogateescape")
    spaced = INTERRUPT in keys  # sent once the agent is known (see _press_spaced)
    commands += [] if spaced else [("send-keys", "-t", pane, key) for key in keys]
    try:
        target = Target(client.run(commands, input=stdin)[0][0])
        if spaced and not target.dead:
            _press_spaced(client, target, keys, lock)
    except TmuxError as exc:
        if "can't find pane" in exc.message:
            raise UnknownTarget(pane, []) from None
        return f"{pane}: {exc}"
    if target.dead:
        return f"{target.name}: its program has ended"
    if not enter:
        return None
    if delay is not None:
        wait = delay
    else:
        wait = DEFAULT_ENTER_DELAY if target.enter_delay is None else target.enter_delay
    try:
        if text and wait:
            time.sleep(wait)
        client.cmd("send-keys", "-t", pane, "Enter")
        if not (check and text):
            return None
        return _check(client, target, text, wait)
    except TmuxError as exc:
        return f"{target.name}: {exc}"


INTERRUPT = "C-c"
INTERRUPT_GAP = 2.0
"""Seconds between two C-c to an agent TUI: a second one soon after the first quits Claude
Code, Codex, Gemini, Aider (their "press Ctrl-C again to exit" lasts up to ~2 s)."""


def _press_spaced(client: Client, target: Target, keys: list[str], lock: int) -> None:
    """Press ``keys``; to an agent TUI, never a C-c within :data:`INTERRUPT_GAP` of the last
    one sent to its pane (by any process: the time is kept in the pane's lock file)."""
    guarded = target.agent in BOXED
    for key in keys:
        if key == INTERRUPT and guarded:
            try:
                last = float(os.pread(lock, 32, 0) or 0)
            except ValueError:
                last = 0.0
            time.sleep(max(0.0, last + INTERRUPT_GAP - time.time()))
        client.cmd("send-keys", "-t", target.pane, key)
        if key == INTERRUPT and guarded:
            stamp = f"{time.time():.6f}".encode()
            os.pwrite(lock, stamp, 0)
            os.ftruncate(lock, len(stamp))


def press(client: Client, pane: str, keys: tuple[str, ...], *, delay: float = 0.1) -> str | None:
    """Press named keys in ``pane`` (arrows to a menu option, then Enter), one at a time as
    a person would, ``delay`` before Enter; None if done, else why."""
    fd = _lock(client, pane)
    try:
        for i, key in enumerate(keys):
            if i:
                time.sleep(delay if key == "Enter" else 0.05)
            client.cmd("send-keys", "-t", pane, key)
    except TmuxError as exc:
        return f"{pane}: {exc}"
    finally:
        os.close(fd)
    return None


PROMPT_MARKS = ("│ >", "> ", "❯", "›", ">")
"""How an agent's input line starts: the text is judged on such lines only (the text also
shows above, echoed as the conversation, once it was submitted)."""


def _check(client: Client, target: Target, text: str, wait: float) -> str | None:
    """Did Enter submit? For agents with an input box: the text must have left it."""
    if target.agent not in BOXED:
        return None
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")[:40]
    for attempt in (1, 2):
        time.sleep(max(wait, 0.2))
        lines = [ln for ln in client.cmd("capture-pane", "-p", "-t", target.pane) if ln.strip()][
            -8:
        ]
        inputs = [ln for ln in lines if ln.lstrip().startswith(PROMPT_MARKS) or "│ >" in ln]
        waiting = any(first and first in ln for ln in inputs[-1:]) or any(
            "[Pasted text" in ln for ln in lines
        )
        if not waiting:
            return None
        if attempt == 1:
            client.cmd("send-keys", "-t", target.pane, "Enter")  # the one rescue Enter
    return f"{target.name}: the text is still in the input box after Enter and one more Enter"


def type_bytes(client: Client, pane: str, data: bytes) -> str | None:
    """``data`` into ``pane`` exactly as a terminal would send it (keystrokes, escape
    sequences, pasted text): tmux's ``send-keys -H``, in pieces; None if done, else why."""
    pieces = [data[i : i + 512] for i in range(0, len(data), 512)]
    commands = [("send-keys", "-t", pane, "-H", *(f"{b:02x}" for b in piece)) for piece in pieces]
    try:
        if commands:
            client.run(commands)
    except TmuxError as exc:
        return f"{pane}: {exc}"
    return None
