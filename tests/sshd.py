"""A real OpenSSH server for tests: Debian's ``sshd`` as a child process on 127.0.0.1.

Everything lives in one temp folder: a throwaway host key, a throwaway client key, the
``authorized_keys`` file, sshd's config and log, and a client config (``ssh -F``) whose Host
aliases name the cases the tests need. Neither the system's sshd nor ``~/.ssh`` is touched;
only the sshd started here (and the connection processes it forked) are killed, by pid.

Each sshd gives the sessions it starts a tmux socket folder of their own (``SetEnv
TMUX_TMPDIR``), so the remote tmux's "default server" is private to it; :meth:`Sshd.stop`
kills that server only, by its socket.

Client aliases (all reach 127.0.0.1 as the current user):
  ``good``      the right host key is known, the client key is authorized
  ``wrongkey``  known_hosts holds another key for this server (a changed host key)
  ``unknown``   known_hosts is empty (a host never seen)
  ``nokey``     a client key the server does not accept
  ``refused``   a port where nothing listens
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SSHD = "/usr/sbin/sshd"  # sshd re-executes itself, so it must be started by absolute path
PRIVSEP_DIR = "/run/sshd"


def missing() -> str | None:
    """Why a test sshd cannot run here (or None when it can)."""
    if not os.path.exists(SSHD) or shutil.which("ssh") is None:
        return "needs OpenSSH: apt-get install openssh-server (.ci/run does)"
    if not os.path.isdir(PRIVSEP_DIR) and os.getuid() != 0:
        return f"sshd needs {PRIVSEP_DIR}, which only root can make"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "tmuxorch-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path.with_suffix(".pub").read_text().strip()


class Sshd:
    """One sshd on a free loopback port, with the client config to reach it."""

    def __init__(self) -> None:
        # short: ssh's control socket paths and sshd's own have a ~104 byte limit
        self.dir = Path(tempfile.mkdtemp(prefix="tsshd"))
        self.log = self.dir / "sshd.log"
        self.port = 0
        self.refused_port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        host_pub = _keygen(self.dir / "host_key")
        other_pub = _keygen(self.dir / "other_host_key")
        client_pub = _keygen(self.dir / "client_key")
        _keygen(self.dir / "stranger_key")
        (self.dir / "authorized_keys").write_text(client_pub + "\n")
        self._host_pub = host_pub
        self._other_pub = other_pub
        self.client_config = self.dir / "ssh_config"
        self.tmux_dir = self.dir / "tmux"
        self.tmux_dir.mkdir(mode=0o700)

    def start(self) -> None:
        os.makedirs(PRIVSEP_DIR, mode=0o755, exist_ok=True)
        for _ in range(5):  # another process may take the free port before sshd binds it
            self.port = _free_port()
            self._write_configs()
            self.log.write_text("")
            with open(self.log, "ab") as errors:  # what sshd says before it reads -E
                self.proc = subprocess.Popen(
                    [SSHD, "-D", "-f", str(self.dir / "sshd_config"), "-E", str(self.log)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=errors,
                )
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.proc.poll() is None:
                if "Server listening on" in self.log.read_text():
                    return
                time.sleep(0.02)
            self._kill()
        raise RuntimeError(f"sshd did not start: {self.log.read_text()}")

    def _write_configs(self) -> None:
        d = self.dir
        (d / "sshd_config").write_text(
            f"ListenAddress 127.0.0.1\nPort {self.port}\nHostKey {d}/host_key\n"
            f"AuthorizedKeysFile {d}/authorized_keys\nPidFile none\nUsePAM no\n"
            "StrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
            "PermitRootLogin prohibit-password\nLogLevel INFO\n"
            f"SetEnv TMUX_TMPDIR={self.tmux_dir}\n"
        )
        (d / "known_good").write_text(f"[127.0.0.1]:{self.port} {self._host_pub}\n")
        (d / "known_wrong").write_text(f"[127.0.0.1]:{self.port} {self._other_pub}\n")
        (d / "known_empty").write_text("")
        (d / "ssh_config").write_text(
            f"Host wrongkey\n  UserKnownHostsFile {d}/known_wrong\n"
            f"Host unknown\n  UserKnownHostsFile {d}/known_empty\n"
            f"Host nokey\n  IdentityFile {d}/stranger_key\n"
            f"Host refused\n  Port {self.refused_port}\n"
            f"Host * !nokey\n  IdentityFile {d}/client_key\n"  # IdentityFile adds up
            f"Host *\n  HostName 127.0.0.1\n  Port {self.port}\n  User {getpass.getuser()}\n"
            "  IdentitiesOnly yes\n  IdentityAgent none\n"
            f"  UserKnownHostsFile {d}/known_good\n  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n  PasswordAuthentication no\n"
        )

    @property
    def ssh_options(self) -> tuple[str, ...]:
        """What a user would pass to ``ssh`` to reach these aliases."""
        return ("-F", str(self.client_config))

    def accepted(self) -> int:
        """How many ssh connections sshd has let in so far (it logs each one)."""
        return self.log.read_text().count("Accepted publickey")

    @property
    def tmux_socket(self) -> Path:
        """The socket of the default tmux server of this sshd's sessions."""
        return self.tmux_dir / f"tmux-{os.getuid()}" / "default"

    def kill_tmux(self) -> None:
        """Stop the tmux server that sessions of this sshd started, if any (only that one)."""
        if self.tmux_socket.exists():
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    ["tmux", "-S", str(self.tmux_socket), "kill-server"],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=10,
                    check=False,
                )

    def _kill_leftovers(self) -> None:
        """What sessions of this sshd started and left running (a remote side whose link
        was cut in a test, its tmux server): stopped by pid. Not the sessions' login
        shells: a ``.bashrc`` may be holding a lock of its own (pyenv's rehash lock, left
        behind, made every later login wait a minute); they end with their session."""
        for pid in _started_by(self.tmux_dir):
            with contextlib.suppress(OSError):
                program = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
                if os.path.basename(program).lstrip(b"-") in (b"bash", b"zsh"):
                    continue
                os.kill(pid, signal.SIGKILL)

    def sessions(self) -> list[int]:
        """The processes serving connections now: every descendant of the listening sshd."""
        found, todo = [], [self.proc.pid] if self.proc else []
        while todo:
            children = _children(todo.pop())
            found += children
            todo += children
        return found

    def stop(self) -> None:
        self.kill_tmux()
        self._kill()
        self._kill_leftovers()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _kill(self) -> None:
        if self.proc is None:
            return
        pid = self.proc.pid
        for child in _children(pid):  # the per-connection sshd processes it forked
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGTERM)
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


def _started_by(folder: Path) -> list[int]:
    """Processes whose environment names ``folder`` as ``TMUX_TMPDIR``: everything a
    session of one sshd here started (its ``SetEnv``), and nothing else."""
    mark = f"TMUX_TMPDIR={folder}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        with contextlib.suppress(OSError):
            if mark in Path(f"/proc/{entry}/environ").read_bytes().split(b"\0"):
                found.append(int(entry))
    return found


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return found
