"""Read a live session for ``tmuxorch freeze``: its windows, layouts, window options and
each pane's directory, own program and foreground job (three tmux invocations, whatever
the size of the session).

The job a pane's shell runs is found as tmux finds ``#{pane_current_command}``: the
foreground process group of the pane's terminal (``/proc/PID/stat``), whose leader's full
argv is in ``/proc/PGID/cmdline``. Without ``/proc`` (not Linux) only the program's name
is known, and that is what is recorded.
"""

from __future__ import annotations

import os

from tmuxorch.spec.freezer import SHELLS, PaneSeen, SessionSeen, WindowSeen
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

_SEP = "\t"
_WINDOW = _SEP.join(
    (
        "#{window_id}",
        "#{window_index}",
        "#{window_active}",
        "#{automatic-rename}",
        "#{@tmuxorch-tasks}",
        "#{window_layout}",
        "#{window_name}",  # last: it may hold a tab
    )
)
_PANE = _SEP.join(
    (
        "#{window_id}",
        "#{pane_id}",
        "#{pane_pid}",
        "#{pane_dead}",
        "#{pane_active}",
        "#{pane_current_command}",
        "#{pane_start_command}",  # escaped by tmux: no raw tab
        "#{pane_current_path}",  # last: it may hold a tab
    )
)
_SESSION = _SEP.join(("#{base-index}", "#{default-shell}", "#{@tmuxorch-file}"))


class NoSession(Exception):
    """No such session, or no session at all, on the server."""


def pick_session(client: Client, name: str | None) -> str:
    """``name`` if the server has it; without a name, the session this command runs in
    (``$TMUX_PANE`` on this server), else the one most recently active."""
    try:
        rows = client.cmd(
            "list-sessions",
            "-F",
            _SEP.join(("#{session_activity}", "#{socket_path}", "#{session_name}")),
        )
    except TmuxError as exc:
        if exc.nothing_there:
            raise NoSession(f"no tmux server is running ({client!r})") from None
        raise
    sessions = [row.split(_SEP, 2) for row in rows]
    if name is not None:
        if any(s[2] == name for s in sessions):
            return name
        raise NoSession(f"no session {name!r} on this server")
    if not sessions:
        raise NoSession("no session on this server")
    here = _current(client, sessions[0][1])
    if here is not None:
        return here
    return max(sessions, key=lambda s: int(s[0] or 0))[2]


def _current(client: Client, socket: str) -> str | None:
    """The session of ``$TMUX_PANE`` if this command runs inside this server."""
    pane, tmux = os.environ.get("TMUX_PANE", ""), os.environ.get("TMUX", "")
    if not pane or tmux.split(",", 1)[0] != socket:
        return None
    try:
        out = client.cmd("display-message", "-p", "-t", pane, "#{session_name}")
    except TmuxError:
        return None
    return out[0] if out else None


def read_session(client: Client, name: str) -> SessionSeen:
    target = f"={name}"
    try:
        session, windows, panes = client.run(
            [
                ("display-message", "-p", "-t", f"{target}:", _SESSION),
                ("list-windows", "-t", target, "-F", _WINDOW),
                ("list-panes", "-s", "-t", target, "-F", _PANE),
            ]
        )
    except TmuxError as exc:
        raise NoSession(f"cannot read session {name!r}: {exc.message}") from None
    base, shell, run_file = session[0].split(_SEP, 2)
    shells = SHELLS | {os.path.basename(shell)}
    by_window: dict[str, list[PaneSeen]] = {}
    for row in panes:
        window_id, pane = _pane(row, shells)
        by_window.setdefault(window_id, []).append(pane)
    rows = [row.split(_SEP, 6) for row in windows]
    options = client.run_each([("show-options", "-w", "-t", r[0]) for r in rows])
    seen = []
    for (window_id, index, active, auto, tasks, layout, wname), opts in zip(
        rows, options, strict=True
    ):
        seen.append(
            WindowSeen(
                index=int(index),
                name=wname,
                layout=layout,
                panes=tuple(by_window.get(window_id, ())),
                auto_name=auto == "1",
                active=active == "1",
                options=_options(opts or []),
                run_tasks=bool(tasks),
            )
        )
    return SessionSeen(name, tuple(seen), int(base or 0), run_file)


def _pane(row: str, shells: frozenset[str] | set[str]) -> tuple[str, PaneSeen]:
    window_id, pane_id, pid, dead, active, current, start, path = row.split(_SEP, 7)
    program = tuple(unescape(start)) if start else ()
    job: tuple[str, ...] = ()
    if dead != "1" and (not program or _is_shell(program, shells)):
        job = _job(int(pid or 0), current, shells)
    if path and not os.path.isdir(path):
        path = ""  # removed since (or " (deleted)"): the pane's parent's is as good
    return window_id, PaneSeen(pane_id, path, active == "1", program, job)


def _is_shell(argv: tuple[str, ...], shells: frozenset[str] | set[str]) -> bool:
    return os.path.basename(argv[0]).lstrip("-") in shells and "-c" not in argv[1:]


def _job(pid: int, current: str, shells: frozenset[str] | set[str]) -> tuple[str, ...]:
    """The argv of the job in the foreground of the pane whose program is ``pid`` (a shell);
    empty if none (or if it is this very command, run from that pane)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("utf-8", "replace")
    except OSError:  # no /proc: the name tmux gives is all there is
        name = current.lstrip("-")
        return () if not name or name in shells else (current,)
    group = int(stat.rsplit(")", 1)[1].split()[5])  # tpgid: the terminal's foreground
    if group <= 0 or group == pid or group == os.getpgrp():
        return ()
    try:
        with open(f"/proc/{group}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:  # its leader is gone (the first of a pipeline ended)
        raw = b""
    argv = tuple(a.decode("utf-8", "surrogateescape") for a in raw.split(b"\0")[:-1])
    if not argv:
        argv = (current,) if current else ()
    if not argv or os.path.basename(argv[0]).lstrip("-") in shells:
        return ()
    return argv


def _options(lines: list[str]) -> tuple[tuple[str, str], ...]:
    """Window options as ``show-options`` prints them; tmuxorch's own ``@tmuxorch-*`` and
    array ones (``name[N]``, which a layout cannot set) are left out."""
    pairs = []
    for line in lines:
        words = unescape(line)
        if not words or words[0].startswith("@tmuxorch-") or "[" in words[0]:
            continue
        pairs.append((words[0], words[1] if len(words) > 1 else ""))
    return tuple(pairs)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "v": "\v", "f": "\f", "s": " "}


def unescape(text: str) -> list[str]:
    """The words of an argument list as tmux prints it (``#{pane_start_command}``,
    ``show-options``): each word bare, ``'...'`` or ``"..."``, with C-style and ``\\ooo``
    octal escapes (tmux's ``args_escape``)."""
    words: list[str] = []
    word = bytearray()
    started = False
    quote = ""
    i = 0
    while i < len(text):
        ch = text[i]
        i += 1
        if ch == "\\" and i < len(text):
            nxt = text[i]
            if text[i : i + 3].isdigit() and all(c in "01234567" for c in text[i : i + 3]):
                word.append(int(text[i : i + 3], 8))
                i += 3
            else:
                word += _ESCAPES.get(nxt, nxt).encode()
                i += 1
            started = True
        elif quote:
            if ch == quote:
                quote = ""
            else:
                word += ch.encode("utf-8", "surrogateescape")
        elif ch in "\"'":
            quote, started = ch, True
        elif ch == " ":
            if started:
                words.append(word.decode("utf-8", "surrogateescape"))
            word, started = bytearray(), False
        else:
            word += ch.encode("utf-8", "surrogateescape")
            started = True
    if started:
        words.append(word.decode("utf-8", "surrogateescape"))
    return words


def session_names(client: Client) -> list[str]:
    """The sessions on the server (none if it is not running)."""
    try:
        return client.cmd("list-sessions", "-F", "#{session_name}")
    except TmuxError as exc:
        if exc.nothing_there:
            return []
        raise
