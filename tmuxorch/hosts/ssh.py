"""One long-lived connection per host, through the user's own OpenSSH client.

The first command to a host starts an ssh *ControlMaster*: one authenticated connection that
lingers in the background (``ControlPersist``) with keepalives, behind a Unix socket in a
private folder. Every later command is a new session over that socket: no new TCP
connection, key exchange or login. Anything ``ssh`` accepts as a destination works (aliases
from ``~/.ssh/config``, ``user@host``, ProxyJump, ports), and the user's own options (``-p``,
``-F``, ``-J``, ``-o …``) are passed through as given.

tmuxorch never answers ssh's questions: ``BatchMode=yes`` makes an unknown host key, a
changed host key or a key that needs a passphrase an error (see :mod:`.errors`) instead of a
prompt nobody sees. The first connection has its own deadline (``ConnectTimeout`` and a
wall-clock guard around the whole login), and each command one of its own.

Remote commands are argv lists, quoted with :func:`shlex.join`: nothing reaches the remote
shell unquoted. sshd runs them with the user's login shell as ``$SHELL -c …`` without a
terminal, i.e. non-interactively; that shell must understand POSIX quoting (sh, bash, dash,
zsh, ksh do; fish and csh are not supported).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import math
import os
import re
import shlex
import subprocess
from typing import TYPE_CHECKING, NamedTuple

from tmuxorch import private
from tmuxorch.hosts.errors import (
    CommandTimeout,
    RemoteProgramMissing,
    SshError,
    Unreachable,
    classify,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

# ssh binds its control socket under a temporary name (the path plus ".XXXXXXXXXXXXXXXX")
# before renaming it, and a Unix socket path holds at most ~104 bytes on some systems.
_SOCKET_PATH_LIMIT = 104 - 17
_SAFE_PATH = re.compile(r"[A-Za-z0-9._/+-]+")


class Result(NamedTuple):
    """A remote command's exit status and output, byte for byte."""

    code: int
    out: bytes
    err: bytes


def socket_folder() -> str:
    """The private (0700) folder for control sockets.

    ``$XDG_RUNTIME_DIR/tmuxorch/ssh`` when there is one (a tmpfs that goes with the login),
    else ``$XDG_STATE_HOME/tmuxorch/ssh`` (``~/.local/state/tmuxorch/ssh``); a path too long
    for a socket, or one ssh would read as tokens, falls back to ``/tmp/tmuxorch-ssh-UID``.
    """
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        base = os.path.join(runtime, "tmuxorch", "ssh")
    else:
        state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
        base = os.path.join(state, "tmuxorch", "ssh")
    if not _usable(base):
        base = f"/tmp/tmuxorch-ssh-{os.getuid()}"
    return private.folder(base)


def _usable(folder: str) -> bool:
    return (
        os.path.isabs(folder)
        and _SAFE_PATH.fullmatch(folder) is not None
        and len(os.path.join(folder, _socket_name("", ()))) <= _SOCKET_PATH_LIMIT
    )


def _socket_name(destination: str, options: Sequence[str]) -> str:
    """A short name for one destination reached with one set of options (a hash: the
    destination itself may be long or hold characters a path should not)."""
    key = "\0".join([destination, *options]).encode()
    return hashlib.sha256(key).hexdigest()[:24]


class Connection:
    """ssh to one host, over one master connection that is started on first use."""

    def __init__(
        self,
        destination: str,
        options: Sequence[str] = (),
        *,
        connect_timeout: float = 15.0,
        keepalive_interval: int = 3,
        keepalive_count: int = 2,
        persist_seconds: int = 600,
        socket_dir: str | None = None,
        ssh: str = "ssh",
    ) -> None:
        if not destination or destination.startswith("-") or destination != destination.strip():
            raise ValueError(f"not an ssh destination: {destination!r}")
        self.destination = destination
        self.options = tuple(options)
        self.connect_timeout = connect_timeout
        self.keepalive_interval = keepalive_interval
        self.keepalive_count = keepalive_count
        self.persist_seconds = persist_seconds
        self.ssh = ssh
        folder = socket_dir if socket_dir is not None else socket_folder()
        if not _usable(folder):
            raise ValueError(
                f"{folder} cannot hold ssh control sockets: it must be an absolute path of at "
                f"most {_SOCKET_PATH_LIMIT - 25} plain characters (letters, digits, ._/+-)"
            )
        self.control_path = os.path.join(folder, _socket_name(destination, self.options))

    def __repr__(self) -> str:
        return f"Connection({self.destination!r})"

    def _argv(self, *tail: str) -> list[str]:
        """ssh's command line: the settings tmuxorch relies on first (for each option ssh
        keeps the first value it is given), then the user's options, then defaults the user
        may override (keepalives, timeouts, how long the master lingers)."""
        return [
            self.ssh,
            "-o",
            f"ControlPath={self.control_path}",
            "-o",
            "ControlMaster=auto",
            "-o",
            "BatchMode=yes",
            "-o",
            "RemoteCommand=none",  # a config's RemoteCommand would replace ours
            "-o",
            "ClearAllForwardings=yes",  # a background master must not hold the user's ports
            *self.options,
            "-o",
            f"ControlPersist={self.persist_seconds}",
            "-o",
            f"ServerAliveInterval={self.keepalive_interval}",
            "-o",
            f"ServerAliveCountMax={self.keepalive_count}",
            "-o",
            f"ConnectTimeout={max(1, math.ceil(self.connect_timeout))}",
            "-T",
            *tail,
        ]

    @property
    def by_hand(self) -> str:
        """The ssh command a person would type to reach this host, for advice in errors."""
        return shlex.join([self.ssh, *self.options, self.destination])

    def _control(self, command: str) -> subprocess.CompletedProcess[bytes]:
        """``ssh -O command``: ask the master (if any) something; never connects."""
        return subprocess.run(
            self._argv("-O", command, "--", self.destination),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
            start_new_session=True,  # a terminal's Ctrl-C is the run's to act on
        )

    def alive(self) -> bool:
        """Whether the master connection is up (``ssh -O check``)."""
        return self._control("check").returncode == 0

    def master_pid(self) -> int | None:
        """The pid of the local ssh master process, when one is running."""
        done = self._control("check")
        found = re.search(rb"pid=(\d+)", done.stderr)
        return int(found.group(1)) if done.returncode == 0 and found else None

    def connect(self) -> None:
        """Start the master connection unless it is up; raise :class:`SshError` (one of its
        kinds) if ssh cannot log in within ``connect_timeout`` seconds.

        The master runs no remote command (``-N``), so a slow login shell on the host cannot
        delay it; ssh puts it in the background once logged in.
        """
        if self.alive():
            return
        with self._connecting():
            if not self.alive():  # (another thread or process may have made it meanwhile)
                self._start_master()

    @contextlib.contextmanager
    def _connecting(self) -> Iterator[None]:
        """One maker of the master at a time (threads of a run, other tmuxorch processes):
        an ``ssh -N`` that finds another's master just made becomes a client of it, with
        no command, and would wait there until its timeout."""
        fd = private.open_fd(self.control_path + ".lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _start_master(self) -> None:
        guard = self.connect_timeout + 2  # ssh's own ConnectTimeout usually says it first
        try:
            done = subprocess.run(
                self._argv("-N", "--", self.destination),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=guard,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise Unreachable(
                self.destination,
                f"{self.destination} did not finish logging in within {guard:g}s (the network, "
                f"the host or its sshd stalled): try `{self.by_hand} -v true`",
            ) from None
        stderr = done.stderr.decode(errors="replace")
        if done.returncode != 0:
            raise classify(self.destination, stderr, self.by_hand)
        if not self.alive():
            raise SshError(
                self.destination,
                f"ssh logged in to {self.destination} but left no master connection behind "
                f"(does its config set ControlMaster or ControlPath?): {stderr.strip()}",
                stderr,
            )

    def command(self, remote_argv: Sequence[str]) -> list[str]:
        """The local argv that runs ``remote_argv`` on the host over the master connection
        (started first when it is down, as :meth:`connect` does, raising its errors).

        For a long-lived remote program whose stdin and stdout the caller drives itself (a
        tmux control-mode client): it is a new session over the master, not a new login.
        ``remote_argv`` reaches the remote shell as one string quoted with
        :func:`shlex.join`, so every item arrives there as one argument, unchanged.
        """
        if not remote_argv:
            raise ValueError("no remote command given")
        self.connect()
        return self._argv("--", self.destination, shlex.join(remote_argv))

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60.0
    ) -> Result:
        """Run ``argv`` on the host over the master connection (started or restarted first
        when it is down) and return its exit status and output.

        Raises :class:`RemoteProgramMissing` when ``argv[0]`` is not found there,
        :class:`CommandTimeout` after ``timeout`` seconds, and another :class:`SshError` when
        ssh itself fails (the connection broke, or cannot be made).
        """
        try:
            done = subprocess.run(
                self.command(argv),
                input=input,
                stdin=subprocess.DEVNULL if input is None else None,
                capture_output=True,
                timeout=timeout,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise CommandTimeout(
                self.destination,
                f"{argv[0]} on {self.destination} did not finish within {timeout:g}s "
                "(it was not stopped there)",
            ) from None
        stderr = done.stderr.decode(errors="replace")
        if done.returncode == 255 and not self.alive():
            raise classify(self.destination, stderr, self.by_hand)
        if done.returncode == 127 and _not_found(argv[0], stderr):
            raise RemoteProgramMissing(self.destination, [argv[0]], stderr, self.by_hand)
        return Result(done.returncode, done.stdout, done.stderr)

    def require(self, *programs: str) -> None:
        """Raise :class:`RemoteProgramMissing` naming every one of ``programs`` that the
        host's non-interactive PATH lacks (e.g. ``require("tmux", "python3")``)."""
        script = 'for p do command -v "$p" >/dev/null 2>&1 || printf "%s\\n" "$p"; done'
        code, out, err = self.run(["sh", "-c", script, "sh", *programs])
        if code != 0:
            raise SshError(
                self.destination,
                f"could not look for {', '.join(programs)} on {self.destination}: "
                f"{err.decode(errors='replace').strip()}",
            )
        lacking = out.decode(errors="replace").split()
        if lacking:
            raise RemoteProgramMissing(self.destination, lacking, "", self.by_hand)

    def stop_groups(self, pids: Sequence[int]) -> None:
        """Stop the process groups led by ``pids`` there (a pane's program leads its own:
        its whole tree), TERM then KILL; raises :class:`SshError` if the host is not
        reached."""
        # (no "--": dash's kill takes it for a pid, and kills nothing)
        script = (
            'for p; do kill -TERM "-$p"; done 2>/dev/null; sleep 0.5; '
            'for p; do kill -KILL "-$p"; done 2>/dev/null; :'
        )
        if pids:
            self.run(["sh", "-c", script, "sh", *map(str, pids)], timeout=10)

    def close(self) -> None:
        """End the master connection (``ssh -O exit``); nothing if none is up."""
        if self.alive():
            self._control("exit")


def _not_found(program: str, stderr: str) -> bool:
    """Whether the remote shell said it found no ``program`` (sh, bash and zsh word it
    differently, all with "not found" and the name)."""
    return any("not found" in line and program in line for line in stderr.splitlines())
