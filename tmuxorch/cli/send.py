"""``tmuxorch send``: input into panes (typer-free: a hot path)."""

from __future__ import annotations

import sys
import time

from tmuxorch.bridge.keys import known_key, unknown_key
from tmuxorch.bridge.send import Target, UnknownTarget, deliver, match, resolve, unknown
from tmuxorch.bridge.send import panes as all_panes
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail
from tmuxorch.tmux.client import Client, TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import Any

READY = ("idle", "waiting_input")
QUIET = 1.0
"""Seconds a plain command (a shell task, a pane with no agent) may print nothing before
``--when-idle`` takes it to wait for input: many show no prompt (a bare ``read``), and what
is typed meanwhile waits in its terminal until it reads."""
OPTIONS = frozenset(
    {"--key", "--no-enter", "--when-idle", "--all", "--timeout", "--delay", "-L", "-S"}
    | {"--socket-name", "--socket-path", "--help", "-h"}
)
"""``send``'s options: text after the target that starts with one is refused, not typed."""


def send(
    words: list[str],
    *,
    keys: list[str] | None = None,
    enter: bool = True,
    when_idle: bool = False,
    everything: bool = False,
    timeout: float = 120.0,
    delay: float | None = None,
    socket_name: str | None = None,
    socket_path: str | None = None,
) -> int:
    """Send text (``-``: stdin) and/or keys to panes; 0 delivered, 1 not, 2 unknown target."""
    if socket_name and socket_path:
        return fail("give -L or -S, not both", EXIT_BAD_INPUT)
    client = Client(socket_name, socket_path)
    if not everything and not words:
        return fail("send TARGET [TEXT...|-] (or --all TEXT...)", EXIT_BAD_INPUT)
    targets = [] if everything else [t for t in words[0].split(",") if t]
    if not everything and not targets:
        return fail(f"no target in {words[0]!r}: a task, session:task or %pane", EXIT_BAD_INPUT)
    rest = words if everything else words[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]  # "send TARGET -- --all": text that looks like an option, on purpose
    elif rest and rest[0].split("=", 1)[0] in OPTIONS:
        return fail(
            f"{rest[0]} after the target would be typed as text; options go before it"
            f" (tmuxorch send {rest[0]} ... {words[0]}), or write -- before text that"
            f" starts with one (tmuxorch send {words[0]} -- {' '.join(rest)})",
            EXIT_BAD_INPUT,
        )
    unknown = [key for key in keys or [] if not known_key(key)]
    if unknown:
        return fail(unknown_key(unknown[0]), EXIT_BAD_INPUT)
    if rest == ["-"]:
        text = sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
    else:
        text = " ".join(rest)
    if not text and not keys:
        return fail("nothing to send: give TEXT, - (read stdin) or --key KEY", EXIT_BAD_INPUT)
    try:
        client, panes = _find(
            client,
            targets,
            guess=not (socket_name or socket_path),
            everything=everything,
            when_idle=when_idle,
            timeout=timeout,
        )
        if everything and not panes:
            return fail("no tmuxorch task panes on this server to send to", EXIT_FAILED)
        failures = []
        for pane in panes:
            client, pane = _server_of(client, pane, guess=not (socket_name or socket_path))
            if when_idle and not wait_ready(client, pane, timeout):
                failures.append(f"{pane}: not ready for input within {timeout:g}s")
                continue
            # keys alone press only those keys (an Enter after Up resubmits, after C-c
            # confirms a dialog): Enter follows text
            submit = enter and bool(text)
            why = deliver(client, pane, text, keys=keys, enter=submit, delay=delay)
            if why:
                failures.append(why)
    except NoPane as exc:
        return fail(f"not delivered: {exc}", EXIT_FAILED)
    except UnknownTarget as exc:
        return fail(str(exc), EXIT_BAD_INPUT)
    except TmuxError as exc:
        return fail(str(exc))
    for why in failures:
        fail(f"not delivered: {why}")
    return EXIT_FAILED if failures else EXIT_OK


def _find(
    client: Client,
    targets: list[str],
    *,
    guess: bool,
    **options: Any,
) -> tuple[Client, list[str]]:
    """The panes of ``targets`` (or every task pane) and their server: ``client``'s, or
    (``guess``: no -L/-S given) if they are not there, the server of the run here (the run
    ``status`` shows), looked up only then: ``send`` is a hot path. A task of that run
    with no pane (its server gone with it) is said as :class:`NoPane`."""
    error: UnknownTarget | None = None  # none: --all found no task pane here
    try:
        panes = _panes(client, targets, **options)
    except UnknownTarget as exc:
        error = unknown(client, exc.target, exc.valid)
        if not guess:
            raise error from None
    else:
        if panes or not guess:
            return client, panes
    from tmuxorch.cli.runs import other_server, run_here, task_in

    run = run_here(client)
    other = None if run is None else other_server(run, client)
    if other is not None:
        try:
            return _find(other, targets, guess=False, **options)
        except UnknownTarget as again:
            error = again
    if error is None:
        return client, []
    where = None if run is None else task_in(run, error.target)
    if where is not None:
        raise NoPane(where.describe()) from None
    raise error from None


def _panes(
    client: Client, targets: list[str], *, everything: bool, when_idle: bool, timeout: float
) -> list[str]:
    if everything:
        return [t.pane for t in resolve(client, targets, everything=True)]
    if any(not t.startswith("%") for t in targets):
        found = all_panes(client)
        return [_pane_of(client, found, t, when_idle, timeout) for t in targets]
    return targets


ELSEWHERE: dict[str, str] = {}
"""Pane ``%ID@HOST`` → its run's file (where the host's settings are)."""


def _server_of(client: Client, pane: str, *, guess: bool) -> tuple[Client, str]:
    """The tmux server ``pane`` is on: ``client``'s, or (``%ID@HOST``) its host's over ssh
    (``guess``: no -L/-S given, the run here may be on another server)."""
    if "@" not in pane:
        return client, pane
    if pane in ELSEWHERE:
        from tmuxorch.hosts.reach import reach

        return reach(ELSEWHERE[pane], pane)
    from tmuxorch.cli.on_hosts import pane_there

    there = pane_there(client, pane, guess=guess)  # named so by the user: a pane on a host
    if there is None:
        raise UnknownTarget(pane, [])
    return there[0], there[1]


class NoPane(Exception):
    """A task of a run on the server that has no pane now (not started, or over)."""


def _pane_of(
    client: Client, found: list[Target], target: str, when_idle: bool, timeout: float
) -> str:
    """The pane of ``target``; with ``when_idle``, a task not started yet is waited for."""
    try:
        return match(found, target).pane
    except UnknownTarget:
        if target.startswith("%"):
            raise
        from tmuxorch.run.whereabouts import find_task

        where = find_task(client, target)
        if where is None:
            raise
        if where.pane and "@" in where.pane and where.coming:
            ELSEWHERE[where.pane] = where.file  # on one of its run's hosts: over ssh
            return where.pane
    deadline = time.monotonic() + timeout
    while when_idle and where.coming and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            return match(all_panes(client), target).pane
        except UnknownTarget:
            where = find_task(client, target) or where
    if when_idle and where.coming:
        raise NoPane(f"{where.describe()}: it had no pane within {timeout:g}s")
    raise NoPane(where.describe() + (" (--when-idle waits for it)" if where.coming else ""))


def wait_ready(client: Client, pane: str, timeout: float) -> bool:
    """Until the agent in ``pane`` shows it takes input (idle or asking), or ``timeout``.
    A plain command (a shell's patterns: no agent of ours) is ready too once it has printed
    nothing for :data:`QUIET` seconds."""
    from tmuxorch.agents.patterns import SHELL, of_pane
    from tmuxorch.bridge.detect import Detector
    from tmuxorch.bridge.send import PANE_FORMAT, Target

    target = Target(client.cmd("display-message", "-p", "-t", pane, PANE_FORMAT)[0])
    patterns = of_pane(target.agent, target.patterns)
    detector = Detector(patterns)
    plain = patterns == SHELL
    deadline = time.monotonic() + timeout
    shown, since = None, time.monotonic()
    while time.monotonic() < deadline:
        screen = "\n".join(client.cmd("capture-pane", "-p", "-t", pane))
        now = time.monotonic()
        if screen != shown:
            shown, since = screen, now
        detector.observe(screen, now)
        if detector.state in READY or (plain and now - since >= QUIET):
            return True
        time.sleep(0.1)
    return False
