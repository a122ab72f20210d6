"""One tmux server, talked to in as few invocations as possible.

:meth:`Client.run` sends a whole list of commands as ONE ``tmux`` process (commands
chained with ``;`` argv items), so building 30 panes costs one fork of the tmux client
instead of hundreds. Between commands it slips a cheap ``display-message -p MARK`` so the
output can be split back per command and, when tmux stops at an error, we know exactly
which command failed.
"""

from __future__ import annotations

import os

from tmuxorch.tmux import proc

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

MIN_VERSION = (3, 2)
_MARK = "tmuxorch-separator:"
"""Printable ASCII: without a UTF-8 locale tmux prints control characters as ``_``."""
_ALONE = ("show-buffer", "save-buffer")
INSTALL_HINT = (
    "install tmux >= 3.2: 'sudo apt install tmux' (Debian/Ubuntu), 'sudo dnf install tmux' "
    "(Fedora), 'brew install tmux' (macOS)"
)


class TmuxError(Exception):
    """A tmux command failed; :attr:`command` is the one that did."""

    def __init__(
        self,
        message: str,
        command: Sequence[str] | None = None,
        outputs: list[list[str]] | None = None,
    ) -> None:
        self.message = message
        self.command = tuple(command) if command else None
        self.outputs = outputs or []
        """Output of the commands that ran before the failure (for rollback)."""
        super().__init__(message)

    def __str__(self) -> str:
        if not self.command:
            return self.message
        import shlex

        return f"tmux {shlex.join(self.command)}: {self.message}"

    @property
    def nothing_there(self) -> bool:
        """The server is not running, or has no session (``list-panes -a`` then says
        "no current target"): for a listing, no panes rather than an error."""
        return any(
            words in self.message
            for words in ("no server running", "error connecting", "no current target")
        )


class TmuxNotFound(TmuxError):
    pass


class TmuxTooOld(TmuxError):
    pass


def escape_arg(arg: str) -> str:
    """Make ``arg`` reach tmux unchanged as one argv item.

    tmux reads an argv item ending in ``;`` as a command separator (and one ending in
    ``\\;`` as a literal ``;``), so a trailing ``;`` is written as ``\\;``.
    """
    return arg[:-1] + "\\;" if arg.endswith(";") else arg


def quote(arg: str) -> str:
    """One argument as tmux's command parser reads it back unchanged."""
    out = ['"']
    for ch in arg:
        code = ord(ch)
        if ch in '\\"$':
            out.append("\\" + ch)
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\{code:03o}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


class Client:
    """A tmux server chosen by socket name (``-L``), socket path (``-S``) or the default."""

    __slots__ = ("_version", "argv", "env", "timeout")

    def __init__(
        self,
        socket_name: str | None = None,
        socket_path: str | None = None,
        *,
        config_file: str | None = None,
        timeout: float = 15.0,
        env: Mapping[str, str] | None = None,
        tmux: str = "tmux",
    ) -> None:
        argv = [tmux]
        if socket_name:
            argv += ["-L", socket_name]
        if socket_path:
            argv += ["-S", socket_path]
        if config_file:
            argv += ["-f", config_file]
        self.argv = tuple(argv)
        self.timeout = timeout
        self.env = env
        self._version: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"Client({' '.join(self.argv[1:]) or 'default server'})"

    @property
    def server_args(self) -> tuple[str, ...]:
        """``-L``/``-S``/``-f`` as given, for commands that re-run tmux (attach, hints)."""
        return self.argv[1:]

    def control_argv(self, session: str) -> list[str]:
        """The command that attaches a control-mode client (``tmux -C``) to ``session`` on
        this server, without ever resizing its windows (``-f ignore-size``)."""
        tmux = [self.argv[0], "-u", *self.argv[1:], "-C"]
        return [*tmux, "attach-session", "-f", "ignore-size", "-t", f"={session}"]

    # -- running commands --------------------------------------------------------
    def run(
        self,
        commands: Sequence[Sequence[str]],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> list[list[str]]:
        """Run ``commands`` in as few tmux invocations as possible; each one's output lines.

        One invocation unless the commands exceed what tmux takes in one message (16 KB):
        then several, in order. Raises :class:`TmuxError` naming the command that failed
        (the ones before it ran, the ones after it did not). ``show-buffer`` and
        ``save-buffer -`` must run alone: tmux 3.3 fails them ("Bad file descriptor")
        after anything else printed.
        """
        if not commands:
            return []
        if len(commands) > 1 and any(c[0] in _ALONE for c in commands):
            raise ValueError(f"{' / '.join(_ALONE)} must be run on their own, not in a batch")
        chunks = _chunks(commands)
        if input is not None and len(chunks) > 1:
            raise ValueError("commands reading stdin must fit one invocation")
        outputs: list[list[str]] = []
        for chunk in chunks:
            try:
                outputs += self._run_once(chunk, input, timeout)
            except TmuxError as exc:
                exc.outputs = outputs + exc.outputs
                raise
        return outputs

    def _run_once(
        self, commands: Sequence[Sequence[str]], input: bytes | None, timeout: float | None
    ) -> list[list[str]]:
        # a fresh nonce per call: no output can fake a marker, whatever the panes print
        mark = f"{_MARK}{os.urandom(8).hex()}:"
        argv = [self.argv[0], "-u", *self.argv[1:]]  # -u: UTF-8 output whatever the locale
        for i, command in enumerate(commands):
            if i:
                argv += [";", "display-message", "-p", f"{mark}{i}", ";"]
            argv += [escape_arg(a) for a in command]
        result = self._spawn(argv, input, timeout)
        text = result.stdout.decode("utf-8", "surrogateescape")
        lines = text.split("\n")
        if lines[-1] == "":
            lines.pop()
        outputs: list[list[str]] = [[]]
        for line in lines:
            if line == f"{mark}{len(outputs)}":
                outputs.append([])
            else:
                outputs[-1].append(line)
        if result.returncode != 0:
            message = result.stderr.decode("utf-8", "replace").strip() or (
                f"exited with status {result.returncode}"
            )
            raise self._error(message, commands, outputs)
        return outputs

    def run_each(self, commands: Sequence[Sequence[str]]) -> list[list[str] | None]:
        """Like :meth:`run`, but a failing command gives ``None`` and the rest still run.

        For independent commands on things that may vanish meanwhile (panes that exit).
        Costs one invocation, plus one more after each failure.
        """
        results: list[list[str] | None] = []
        todo = list(commands)
        while todo:
            try:
                results += self.run(todo)
                break
            except TmuxError as exc:
                if exc.command is None:
                    raise
                results += exc.outputs
                results.append(None)
                todo = todo[len(exc.outputs) + 1 :]
        return results

    def cmd(self, *args: str, input: bytes | None = None) -> list[str]:
        """Run one command; return its output lines."""
        return self.run([args], input=input)[0]

    def _spawn(self, argv: list[str], input: bytes | None, timeout: float | None) -> proc.Finished:
        try:
            return proc.run(argv, input=input, timeout=timeout or self.timeout, env=self.env)
        except FileNotFoundError:
            raise TmuxNotFound(f"tmux is not installed or not on PATH; {INSTALL_HINT}") from None
        except proc.Timeout as exc:
            raise TmuxError(
                f"tmux did not answer within {exc.seconds:g}s (server busy or hung?)"
            ) from None

    def _error(
        self, message: str, commands: Sequence[Sequence[str]], outputs: list[list[str]]
    ) -> TmuxError:
        ran = len(outputs) - 1
        failed = commands[min(ran, len(commands) - 1)]
        if message.startswith("command ") and ":" in message and ran == 0:
            # A parse error: tmux ran nothing and names the command ("command X: ...").
            name = message[len("command ") :].split(":", 1)[0]
            failed = next((c for c in commands if c and c[0] == name), failed)
        too_old = self._too_old()
        if too_old:
            return too_old
        return TmuxError(message, failed, outputs[:-1])

    # -- version -----------------------------------------------------------------
    def version(self) -> tuple[int, int]:
        """tmux's version as (major, minor); ``(99, 0)`` for a development build."""
        if self._version is None:
            result = self._spawn([self.argv[0], "-V"], None, 5.0)
            self._version = parse_version(result.stdout.decode())
        return self._version

    def _too_old(self) -> TmuxTooOld | None:
        version = self.version()
        if version >= MIN_VERSION:
            return None
        have = ".".join(map(str, version))
        return TmuxTooOld(f"tmux {have} is too old: tmuxorch needs tmux >= 3.2; {INSTALL_HINT}")

    def check_version(self) -> None:
        """Raise :class:`TmuxTooOld` / :class:`TmuxNotFound` unless tmux >= 3.2 runs here."""
        too_old = self._too_old()
        if too_old:
            raise too_old


MESSAGE_LIMIT = 15_000
"""Bytes of arguments per invocation: tmux sends a command line as one message of at
most 16 KB ("command too long" past it); the margin covers our separators."""


def _chunks(commands: Sequence[Sequence[str]]) -> list[Sequence[Sequence[str]]]:
    """Split ``commands`` into runs that each fit one tmux message."""
    chunks: list[Sequence[Sequence[str]]] = []
    start, size = 0, 0
    for i, command in enumerate(commands):
        cost = sum(len(a.encode("utf-8", "surrogateescape")) + 1 for a in command) + 64
        if i > start and size + cost > MESSAGE_LIMIT:
            chunks.append(commands[start:i])
            start, size = i, 0
        size += cost
    chunks.append(commands[start:])
    return chunks


def parse_version(text: str) -> tuple[int, int]:
    """``tmux 3.3a`` → (3, 3); ``tmux next-3.6`` → (3, 6); ``tmux master`` → (99, 0)."""
    word = text.strip().split()[-1] if text.strip() else ""
    word = word.removeprefix("next-")
    digits = ""
    for ch in word:
        if ch.isdigit() or ch == ".":
            digits += ch
        else:
            break
    parts = [int(p) for p in digits.split(".") if p]
    if not parts:
        return (99, 0)
    return (parts[0], parts[1] if len(parts) > 1 else 0)


def inside_tmux() -> bool:
    return bool(os.environ.get("TMUX"))
