"""A persistent control-mode client (``tmux -C``): pipelined commands and output wake-ups.

One client is attached to one session (``-f ignore-size``, so it never resizes anything).
Commands go down its stdin as text lines and come back as ``%begin``/``%end`` blocks in
order: about 0.2 ms each instead of a 2 ms process. tmux also tells it, as
``%output %PANE ...``, about every byte a pane of that session prints: the cheapest
possible "something changed" signal. The reader thread drains stdout all the time (a
control client that stops reading makes tmux buffer without limit).
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections import deque

from tmuxorch.tmux.client import TmuxError, quote

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tmuxorch.tmux.client import Client


def unescape(data: str) -> str:
    """``%output`` data: octal escapes (``\\015``) back to characters."""
    if "\\" not in data:
        return data
    out = []
    i = 0
    while i < len(data):
        if data[i] == "\\" and i + 3 < len(data) + 1 and data[i + 1 : i + 4].isdigit():
            out.append(chr(int(data[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(data[i])
            i += 1
    return "".join(out)


class _Pending:
    __slots__ = ("done", "error", "lines", "skipped")

    def __init__(self, skipped: int = 0) -> None:
        self.lines: list[str] = []
        self.error = False
        self.done = threading.Event()
        self.skipped = skipped
        """Commands after this one on its command line: tmux skips them if this one fails."""


def _dies_with_us() -> tuple[str, ...]:
    """A control client must die with the process that reads it: an orphaned one can leave
    tmux 3.3a answering no one. Linux's parent-death signal, set by util-linux's setpriv
    (where there is no setpriv, the client ends when it reads the end of its stdin)."""
    import shutil
    import sys

    if sys.platform.startswith("linux") and shutil.which("setpriv"):
        return ("setpriv", "--pdeathsig", "KILL", "--")
    return ()


_DIES_WITH_US = _dies_with_us()


class ControlClient:
    """Control-mode connection to ``session`` on ``client``'s server."""

    def __init__(
        self,
        client: Client,
        session: str,
        *,
        on_output: Callable[[str], None] | None = None,
        on_close: Callable[[], None] | None = None,
        timeout: float = 10.0,
        command: Sequence[str] | None = None,
    ) -> None:
        """``command`` starts the control client instead of ``client.control_argv(session)``
        (one that makes its session on demand, say)."""
        self.session = session
        self.timeout = timeout
        self.on_output = on_output
        self.on_close = on_close
        argv = [*_DIES_WITH_US, *(client.control_argv(session) if command is None else command)]
        env = dict(os.environ if client.env is None else client.env)
        env.pop("TMUX", None)  # attaching from inside tmux is fine for a control client
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            # not in our process group: a terminal's Ctrl-C is ours to act on (a run then
            # stops its agents, over this very link); it dies with us, or at our goodbye
            start_new_session=True,
        )
        self._pending: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._greeting = threading.Event()
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"tmux-C {session}")
        self._reader.start()
        if not self._greeting.wait(timeout) or self.closed.is_set():
            self.close()
            raise TmuxError(f"could not attach a control client to session {session!r}")

    # -- commands ---------------------------------------------------------------------------
    def run(
        self, commands: Sequence[Sequence[str]], *, timeout: float | None = None
    ) -> list[list[str]]:
        """Send ``commands`` at once; wait for every answer. Raises :class:`TmuxError` for the
        first command that failed (all of them ran, unlike a chained invocation)."""
        results = self.run_lines([[c] for c in commands], timeout=timeout, errors=True)
        return [r or [] for r in results]

    def run_lines(
        self,
        groups: Sequence[Sequence[Sequence[str]]],
        *,
        timeout: float | None = None,
        errors: bool = False,
    ) -> list[list[str] | None]:
        """Each group of commands as ONE command line (tmux runs a line's commands back to
        back, reading no pane output in between); outputs in order, None where a command
        failed (the others still ran) — or, with ``errors``, TmuxError for the first."""
        groups = [g for g in groups if g]
        if not groups:
            return []
        commands = [c for group in groups for c in group]
        pending = [_Pending(len(g) - 1 - i) for g in groups for i in range(len(g))]
        text = "".join(" ; ".join(" ".join(quote(a) for a in c) for c in g) + "\n" for g in groups)
        with self._lock:
            if self.closed.is_set():
                raise TmuxError(f"control client of {self.session!r} is closed")
            self._pending.extend(pending)
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.write(text.encode("utf-8", "surrogateescape"))
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError):
                self.closed.set()
        results: list[list[str] | None] = []
        for command, answer in zip(commands, pending, strict=True):
            if not answer.done.wait(timeout or self.timeout):
                raise TmuxError("no answer from the control client", command)
            if answer.error and errors:
                done = [r or [] for r in results]  # the ones before it (all succeeded)
                raise TmuxError("\n".join(answer.lines) or "command failed", command, done)
            results.append(None if answer.error else answer.lines)
        return results

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.closed.set()

    # -- reading ------------------------------------------------------------------------------
    def _read(self) -> None:
        assert self.proc.stdout is not None
        current: _Pending | None = None
        end = error = ""
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "surrogateescape").rstrip("\n")
            if end:  # inside a block: until its own %end/%error (same time and number)
                if line in (end, error):
                    if current is not None:
                        current.error = line == error
                        current.done.set()
                        if current.error:  # the rest of its command line never runs
                            with self._lock:
                                for _ in range(current.skipped):
                                    if self._pending:
                                        rest = self._pending.popleft()
                                        rest.error = True
                                        rest.lines = ["not run: an earlier command failed"]
                                        rest.done.set()
                    current, end, error = None, "", ""
                elif current is not None:
                    current.lines.append(line)
                continue
            if line.startswith("%begin "):
                _, stamp, number, flags = line.split(" ")
                end, error = f"%end {stamp} {number} {flags}", f"%error {stamp} {number} {flags}"
                if flags == "1":  # one of ours, answered in order
                    with self._lock:
                        current = self._pending.popleft() if self._pending else None
                else:
                    self._greeting.set()  # the attach itself
            elif line.startswith(("%output ", "%extended-output ")):
                if self.on_output is not None:
                    self.on_output(line.split(" ", 2)[1])
            elif line.startswith("%exit"):
                break
        self.closed.set()
        self._greeting.set()
        with self._lock:
            if current is not None:  # cut in the middle of its answer
                self._pending.appendleft(current)
            while self._pending:
                answer = self._pending.popleft()
                answer.error = True
                answer.lines = ["the control client ended (session or server gone)"]
                answer.done.set()
        if self.on_close is not None:
            self.on_close()

    def __enter__(self) -> ControlClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
