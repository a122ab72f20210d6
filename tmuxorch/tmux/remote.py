"""A tmux server on another host, driven exactly like a local :class:`Client`.

Every command goes down ONE long-lived control-mode client (``tmux -C``) that runs on the
host over the user's ssh connection (see :mod:`tmuxorch.hosts.ssh`): about a round trip
per :meth:`RemoteClient.run`, never an ssh login (300 ms) per command. That *link* is
attached to a small holding session, :data:`LINK_SESSION` (a control client must be
attached to some session to stay), made on demand and left in place (see there); its one
pane runs ``sleep`` (no shell, no prompt, no output: it
costs nothing). Nothing is typed into a remote shell: the link's
own command line is quoted by the ssh side (:func:`shlex.join`), and the commands sent
down it are tmux command lines, each argument quoted for tmux's parser.

The remote tmux is the user's DEFAULT server there (so ``ssh -t HOST tmux attach`` finds
every agent), unless ``tmux`` names another with ``-L``/``-S``. Commands run as if typed
by a client attached to the link session: give them targets (``-t``), as tmuxorch does.

A lost link (the ssh master or the link's own ssh ended, the network was cut and the
keepalives noticed, or the remote tmux server died) sets :attr:`RemoteClient.closed` at
once and calls :attr:`RemoteClient.on_close`; commands waiting on it raise
:class:`LinkDown`. The next :meth:`RemoteClient.run` makes a new link (and the ssh master
again, through ``ssh_command``). After a loss the link never *starts* a tmux server
(``tmux -N``): a server that died stays dead, so :meth:`RemoteClient.server_running` can
tell "the remote tmux died" (False: its panes are gone) from "the link was cut" (True:
they still run). The engine must ask it before anything else; once it has answered,
later links may start a server again.
"""

from __future__ import annotations

import threading
import time

from tmuxorch.hosts.errors import SshError
from tmuxorch.tmux import proc
from tmuxorch.tmux.client import _ALONE, MIN_VERSION, Client, TmuxError, TmuxNotFound, parse_version
from tmuxorch.tmux.control import ControlClient

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

LINK_SESSION = "tmuxorch-link"
"""The remote session every link is attached to (one per tmux server, shared by every
tmuxorch that talks to it). It stays while the server runs: with ``destroy-unattached``,
tmux 3.3a crashed (a segfault, every agent gone) when a cut link's client left it and
another client came a moment later."""
_HOLD = ("sleep", "2147483647")
"""The holding pane's program: silent, no shell, ~68 years."""
_SIGPIPE_IGNORED = ("sh", "-c", 'trap "" PIPE; exec "$@"', "sh")
"""Every tmux client there runs with SIGPIPE ignored: a cut link closes its output, and a
tmux 3.3a client that dies by a signal while others are attached can crash the SERVER
there (a segfault at the same place each time, seen here in ~1 of 3 cut links: every
agent gone with it)."""
_LEAVES_CLEANLY = (
    "sh",
    "-c",
    "exec 3<&0; { cat <&3; echo detach-client; sleep 2; kill -9 0; } 2>/dev/null "
    '| { "$@" 3<&-; trap "" TERM; kill 0 2>/dev/null; }',
    "sh",
)
"""A control client there reads its commands through ``cat``: when the link ends (its
input closes), it is sent ``detach-client`` and leaves as a person's client would — never
lingers attached to a dead link, never dies mid-write (both were followed by that crash).
Once tmux has ended, what is left of the pipeline (``cat``, still holding the ssh session's
socket) is stopped, so a client that could not attach (no server there) ends the link at
once. A client detached after a cut cannot write its last words (SIGPIPE ignored: the
write fails) and would stay: 2 s after its detach, it is killed — detached, it is no
longer the server's. A tmux server a client started is in a process group of its own."""
_NOT_RUNNING = ("no server running", "error connecting")
REFUSED_TRIES = 5
REFUSED_PAUSE = 1.0
"""A socket that refuses connections is asked ``REFUSED_TRIES`` times, this far apart,
before its server counts as dead."""


class LinkDown(TmuxError):
    """The link to the host is down (or could not be made): the commands did not run, or
    it is unknown whether they did. ``__cause__`` is the ssh error, when there is one."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        super().__init__(f"the link to {host} is down: {reason}")


class RemoteClient(Client):
    """The tmux server on ``host``, reached with ``ssh_command`` (e.g.
    :meth:`tmuxorch.hosts.ssh.Connection.command`): it turns a remote argv into the local
    argv that runs it there, raising :class:`~tmuxorch.hosts.errors.SshError` when the host
    cannot be reached."""

    __slots__ = (
        "_current",
        "_gen",
        "_link",
        "_link_lock",
        "_may_start",
        "_state",
        "closed",
        "host",
        "on_close",
        "ssh_command",
    )

    def __init__(
        self,
        ssh_command: Callable[[Sequence[str]], list[str]],
        *,
        host: str,
        tmux: Sequence[str] = ("tmux",),
        timeout: float = 15.0,
    ) -> None:
        if not tmux:
            raise ValueError("no tmux command given")
        super().__init__(timeout=timeout, tmux=tmux[0])
        self.argv = tuple(tmux)
        self.ssh_command = ssh_command
        self.host = host
        self.closed = threading.Event()
        """Set when a link that was up ended (a cut, a dead server, or :meth:`close`);
        cleared when :meth:`run` has made a new one."""
        self.on_close: Callable[[], None] | None = None
        """Called (on the link's reader thread) when the link ends by itself: the engine
        learns of a cut at once. Not called for :meth:`close`."""
        self._link: ControlClient | None = None
        self._link_lock = threading.Lock()  # one link made at a time
        self._state = threading.Lock()  # which link is current, and whether it ended
        self._gen = 0  # each attempt to make a link has its number
        self._current = 0  # the number of the link that is up (0: none)
        self._may_start = True

    def __repr__(self) -> str:
        return f"RemoteClient({self.host}: {' '.join(self.argv[1:]) or 'default server'})"

    def control_argv(self, session: str) -> list[str]:
        """A control client attached to ``session`` on the host, over the ssh master (the
        poller's wake-ups: one ssh session each, not one login each). ``-N``: it never
        starts a server — tmux 3.3a's client starts one when it cannot connect to the
        socket (a busy server, right after a cut link: seen here), which takes the socket
        path from the server the agents live in, leaving them unreachable."""
        remote = [*self.argv[:1], "-N", "-u", *self.argv[1:], "-C"]
        control = [*remote, "attach-session", "-f", "ignore-size", "-t", f"={session}"]
        return self._ssh([*_LEAVES_CLEANLY, *control])

    # -- running commands --------------------------------------------------------
    def run(
        self,
        commands: Sequence[Sequence[str]],
        *,
        input: bytes | None = None,
        timeout: float | None = None,
    ) -> list[list[str]]:
        """Like :meth:`Client.run`: each command's output lines; on the first command that
        fails, :class:`TmuxError` naming it (with the outputs of the ones before), and the
        ones after it do not run. All go down the link as ONE tmux command line (a control
        client reads lines of any length: no 16 KB message limit here).

        With ``input`` (``load-buffer -``) the commands run as one ``ssh … tmux …`` over the
        master instead: a control client has no stdin to give a command. So do
        ``show-buffer``/``save-buffer -``: in control mode tmux escapes what they print. Raises
        :class:`LinkDown` when the link is down and cannot be made again, or ends meanwhile.
        """
        if not commands:
            return []
        if input is not None or any(c[0] in _ALONE for c in commands):
            return super().run(commands, input=input, timeout=timeout)
        link = self._connect()
        try:
            outputs = link.run_lines([commands], timeout=timeout or self.timeout, errors=True)
        except TmuxError as exc:
            if link.closed.is_set():
                raise LinkDown(self.host, "its ssh connection or tmux server ended") from exc
            raise
        return [out or [] for out in outputs]

    def alive(self) -> bool:
        """Whether a link is up now (no ssh call)."""
        link = self._link
        return link is not None and not link.closed.is_set()

    def close(self) -> None:
        """End the link (the ssh master is the connection's to end); a later :meth:`run`
        makes a new one. :attr:`on_close` is not called."""
        with self._link_lock:
            self._drop()

    def _drop(self) -> None:
        with self._state:
            link, self._link = self._link, None
            self._current = 0  # its end is not a cut
        if link is not None:
            link.close()
            self.closed.set()

    def server_running(self) -> bool | None:
        """Whether the tmux server on the host runs, by ONE ssh command (``tmux -N
        start-server``, which starts nothing); None when the host cannot be reached."""
        running = self._running()
        if running is not None:
            with self._state:
                self._may_start = True  # the engine knows now: later links may start one
        return running

    def _running(self) -> bool | None:
        for _ in range(REFUSED_TRIES):
            try:
                done = proc.run(
                    self._ssh([*self.argv[:1], "-N", *self.argv[1:], "start-server"]),
                    timeout=self.timeout,
                )
            except (LinkDown, proc.Timeout):
                return None
            err = done.stderr.decode("utf-8", "replace").strip()
            if done.returncode == 255:  # ssh's own failure
                return None
            if done.returncode == 0:
                return True
            if not any(words in err for words in _NOT_RUNNING):
                raise TmuxError(f"could not ask tmux on {self.host} whether it runs: {err}")
            if "error connecting" not in err:
                return False  # no socket: no server
            # its socket refused us: a server that died, or one busy for a moment (seen
            # right after its control clients' ssh was cut): ask again before saying
            time.sleep(REFUSED_PAUSE)
        return False

    # -- the link ----------------------------------------------------------------
    def _connect(self) -> ControlClient:
        with self._link_lock:
            link = self._link
            if link is not None and not link.closed.is_set():
                return link
            with self._state:
                gen = self._gen = self._gen + 1
                may_start = self._may_start
            tmux = [*self.argv[:1], *(() if may_start else ("-N",)), "-u", *self.argv[1:], "-C"]
            name = LINK_SESSION
            hold = ("new-session", "-A", "-s", name, "-f", "ignore-size")
            link_argv = [*tmux, *hold, "-x", "20", "-y", "5", "--", *_HOLD]
            command = self._ssh([*_LEAVES_CLEANLY, *link_argv])
            try:
                link = ControlClient(
                    self,
                    name,
                    command=command,
                    on_close=lambda: self._ended(gen),
                    timeout=self.timeout,
                )
            except TmuxError:
                raise self._no_link(may_start) from None
            with self._state:
                self._link, self._current = link, gen
            try:
                self._first_words(link)
            except TmuxError:
                self._drop()
                raise
            self.closed.clear()
            if link.closed.is_set():  # ended before it was current: nobody was told
                self._ended(gen)
            return link

    def _no_link(self, may_start: bool) -> TmuxError:
        running = self._running()
        if running is None:
            return LinkDown(self.host, "ssh could not reach it")
        if not running and not may_start:
            return TmuxError(
                f"no server running on {self.host}: its tmux server ended while the link was "
                "down (tmuxorch does not start a new one before it is asked whether it runs)"
            )
        try:
            too_old = self._too_old()  # tmux -V, by ssh
        except TmuxError as exc:  # not there at all, say
            return exc
        return too_old or TmuxError(f"could not attach a tmux control client on {self.host}")

    def _first_words(self, link: ControlClient) -> None:
        """Learn tmux's version."""
        (version,) = link.run([("display-message", "-p", "#{version}")])
        self._version = parse_version(version[0] if version else "")
        self.check_version()

    def _ended(self, gen: int) -> None:
        with self._state:
            if gen != self._current:
                return  # not the link that is up (closed on purpose, or a failed attempt)
            self._current = 0  # told once
            self._may_start = False
        self.closed.set()
        if self.on_close is not None:
            self.on_close()

    # -- one-shot ssh commands ---------------------------------------------------
    def _ssh(self, remote: Sequence[str]) -> list[str]:
        try:
            return self.ssh_command([*_SIGPIPE_IGNORED, *remote])
        except SshError as exc:
            raise LinkDown(self.host, str(exc)) from exc

    def _spawn(self, argv: list[str], input: bytes | None, timeout: float | None) -> proc.Finished:
        """``tmux ARGV`` on the host as one ssh command over the master (:meth:`Client.run`
        with ``input``, and :meth:`Client.version`)."""
        seconds = timeout or self.timeout
        if argv[1:2] != ["-V"]:  # never a server of its own: the link starts the one there
            argv = [argv[0], "-N", *argv[1:]]
        try:
            done = proc.run(self._ssh(argv), input=input, timeout=seconds)
        except proc.Timeout:
            raise TmuxError(f"tmux on {self.host} did not answer within {seconds:g}s") from None
        err = done.stderr.decode("utf-8", "replace")
        if done.returncode == 255:
            raise LinkDown(self.host, err.strip() or "ssh failed")
        if done.returncode == 127 and "not found" in err:
            raise TmuxNotFound(
                f"{self.host} has no tmux on the PATH of non-interactive ssh commands: "
                f"install tmux >= {'.'.join(map(str, MIN_VERSION))} there"
            )
        return done
