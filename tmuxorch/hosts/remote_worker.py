"""tmuxorch's worker on another host, started over that host's ssh connection.

:func:`start` runs ``PYTHON -m tmuxorch.hosts.worker --root ROOT --create`` there as one
more session over the host's master connection (:meth:`Connection.command`: every word
quoted, so ``~/`` in ``ROOT`` reaches the worker as written and the worker expands it to
the remote home) and talks to it through a :class:`WorkerClient` on the session's
stdin/stdout. Its first answer (``hello``) is awaited at once, with a deadline: a login
shell that hangs (a ``.bashrc`` that waits for input, a slow network mount) is an error
after that many seconds, never a stall. Each failure says what to do: install Python,
install tmuxorch there (``tmuxorch hosts install NAME``), or the same version.
"""

from __future__ import annotations

import concurrent.futures
import re
import shlex
import subprocess
import threading

from tmuxorch.hosts.errors import (
    ProtocolMismatch,
    PythonMissing,
    SshError,
    TmuxorchMissing,
    WorkerFailed,
    classify,
)
from tmuxorch.hosts.worker_client import WorkerClient, WorkerGone
from tmuxorch.hosts.worker_ops import PROTOCOL

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO

    from tmuxorch.hosts.ssh import Connection

HELLO_TIMEOUT = 20.0
"""Seconds the worker has to answer its first request (the remote login included)."""
_STDERR_KEEP = 16 * 1024
_NO_MODULE = re.compile(r"No module named '?(tmuxorch[\w.]*)'?")
_NOT_THERE = ("not found", "No such file or directory")
"""What sh, bash and zsh say of a program they cannot find (a name, or a path)."""


class RemoteWorker:
    """One worker running on a host, and the client to talk to it."""

    def __init__(self, process: subprocess.Popen[bytes], name: str) -> None:
        assert process.stdin and process.stdout and process.stderr
        self.process = process
        self.name = name
        self._stderr = bytearray()
        self._stderr_lock = threading.Lock()
        self._drain = threading.Thread(target=self._keep_stderr, args=(process.stderr,))
        self._drain.daemon = True
        self._drain.start()
        self.client = WorkerClient(process.stdin, process.stdout)
        self.hello: dict[str, object] = {}
        """What the worker said of itself (version, python, tmux, root, home...)."""

    def _keep_stderr(self, stream: IO[bytes]) -> None:
        """Everything the remote side says on stderr (its last bytes kept for errors)."""
        for line in stream:
            with self._stderr_lock:
                self._stderr += line
                del self._stderr[:-_STDERR_KEEP]

    def stderr(self) -> str:
        with self._stderr_lock:
            return self._stderr.decode(errors="replace")

    @property
    def root(self) -> str:
        """The root's real path on the host (``~`` expanded there)."""
        return str(self.hello.get("root", ""))

    def alive(self) -> bool:
        """Whether it still answers: its ssh session runs and its output has not ended."""
        return self.process.poll() is None and self.client.gone is None

    def close(self, timeout: float = 10.0) -> int:
        """End its input (it exits once it has read it), wait for its session to end
        (stopped after ``timeout`` seconds); its exit status."""
        self.client.close()
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        # with a ControlMaster, the master holds the session's stderr until the remote
        # program ends: a hung one would hold this join too
        self._drain.join(min(timeout, DRAIN_WAIT))
        return code

    def kill(self) -> None:
        """End its local ssh session at once (the link is cut; the remote worker then
        reads the end of its input and exits)."""
        self.process.kill()
        self.process.wait()

    def __enter__(self) -> RemoteWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


DRAIN_WAIT = 1.0
"""Seconds to wait for the last of a closed worker's errors."""


def worker_argv(root: str, python: str = "python3") -> list[str]:
    """The remote command that runs a worker for ``root`` with ``python`` (a ``~/`` path
    is under the remote home: a quoted word is not expanded by the remote shell, so a
    little ``sh`` puts ``$HOME`` in front)."""
    worker = ["-m", "tmuxorch.hosts.worker", "--root", root, "--create"]
    if python.startswith("~/"):
        return ["sh", "-c", 'p=$1; shift; exec "$HOME/$p" "$@"', "sh", python[2:], *worker]
    return [python, *worker]


def start(
    conn: Connection,
    root: str,
    *,
    python: str = "python3",
    hello_timeout: float = HELLO_TIMEOUT,
    name: str | None = None,
) -> RemoteWorker:
    """A worker for ``root`` (made 0700 if missing; ``~/`` is the remote home) on
    ``conn``'s host, run by ``python`` there, that has answered ``hello``.

    ``name`` is the host's name in the user's settings, for advice (default: the ssh
    destination). Raises :class:`SshError` when ssh cannot reach the host (one of its
    kinds), :class:`PythonMissing`, :class:`TmuxorchMissing`, :class:`ProtocolMismatch`,
    or :class:`WorkerFailed` (it ended, or did not answer within ``hello_timeout``).
    """
    name = name or conn.destination
    remote = worker_argv(root, python)
    by_hand = f"{conn.by_hand} {shlex.quote(shlex.join(remote))}"
    process = subprocess.Popen(
        conn.command(remote),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # a terminal's Ctrl-C is the run's to act on, not ssh's
    )
    worker = RemoteWorker(process, name)
    try:
        worker.hello = worker.client.call("hello", within=hello_timeout)
    except WorkerGone:
        code = worker.close()
        raise _why_it_ended(conn, name, python, code, worker.stderr(), by_hand) from None
    except concurrent.futures.TimeoutError:
        worker.kill()
        worker.close()
        raise WorkerFailed(
            conn.destination,
            f"tmuxorch's worker on {name} did not answer within {hello_timeout:g}s: the "
            "login there may be slow or waiting for input (a .bashrc that prints a prompt, "
            f"asks a question or mounts something). Try it by hand: {by_hand}",
            worker.stderr(),
        ) from None
    except BaseException:
        worker.kill()
        worker.close()
        raise
    protocol = worker.hello.get("protocol")
    if protocol != PROTOCOL:
        worker.close()
        from tmuxorch import __version__

        raise ProtocolMismatch(
            conn.destination,
            f"tmuxorch {worker.hello.get('version')} on {name} speaks worker protocol "
            f"{protocol}, this tmuxorch ({__version__}) protocol {PROTOCOL}: install this "
            f"version there with: tmuxorch hosts install {name}",
        )
    return worker


def _why_it_ended(
    conn: Connection, name: str, python: str, code: int, stderr: str, by_hand: str
) -> SshError:
    text = stderr.strip()
    if code == 255 and not conn.alive():
        return classify(conn.destination, text, conn.by_hand)
    said = python[2:] if python.startswith("~/") else python
    if code == 127 and any(
        said in line and any(sign in line for sign in _NOT_THERE) for line in text.splitlines()
    ):
        return PythonMissing(name, python, text, conn.by_hand)
    missing = _NO_MODULE.search(text)
    if missing:
        what = "no tmuxorch" if missing.group(1) == "tmuxorch" else "a tmuxorch without hosts"
        return TmuxorchMissing(
            conn.destination,
            f"{python} on {name} has {what} ({missing.group(0)}): install it there with "
            f"`tmuxorch hosts install {name}` and set the host's `python:` to the path it "
            f"prints (or pip install this tmuxorch for {python} there)",
            text,
        )
    last = text.splitlines()[-1] if text else "no message"
    if code == 2 and last.startswith("tmuxorch worker: no folder "):
        folder = last[len("tmuxorch worker: no folder ") :].removesuffix(" there")
        return WorkerFailed(
            conn.destination,
            f"{name} has no folder {folder}: make it there, or fix the host's dir:",
            text,
        )
    return WorkerFailed(
        conn.destination,
        f"tmuxorch's worker on {name} ended before answering (exit status {code}): {last}. "
        f"Try it by hand: {by_hand}",
        text,
    )
