"""Talking to a remote worker (:mod:`tmuxorch.hosts.worker`) over any pair of pipes: a
local subprocess, or (later) the stdin/stdout of an ``ssh`` command.

Requests may be sent from several threads at once; one thread reads the answers and
hands each to its caller by ``id``. When the worker's output ends, every call waiting
and every later one raises :class:`WorkerGone`.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import subprocess
import threading
from concurrent.futures import Future
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import IO


class WorkerError(Exception):
    """The worker refused or failed a request: ``kind`` as it said (see its module)."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(f"{kind}: {message}")


class WorkerGone(WorkerError):
    """The worker's output ended (it exited, or the link was cut)."""

    def __init__(self, message: str = "the worker is gone") -> None:
        super().__init__("gone", message)


@dataclass(frozen=True)
class Chunk:
    """Bytes of a file from ``offset``, and its size when read."""

    data: bytes
    offset: int
    size: int
    eof: bool


@dataclass(frozen=True)
class FileInfo:
    kind: str
    """``file``, ``folder`` or ``other``."""
    size: int
    mtime_ns: int
    mode: int


State = tuple[int, int] | None
"""A file's ``(size, mtime_ns)`` as ``wait`` sees it; ``None``: it does not exist."""


@dataclass(frozen=True)
class Changes:
    changed: tuple[str, ...]
    """Empty when the timeout passed."""
    states: dict[str, State]


@dataclass(frozen=True)
class PendingWait:
    """A ``wait`` request on its way: its id (for :meth:`WorkerClient.cancel`) and answer."""

    request_id: int
    future: Future[dict[str, object]]

    def changes(self, within: float | None = None) -> Changes:
        got = self.future.result(within)
        states = got["states"]
        assert isinstance(states, dict)
        return Changes(
            tuple(str(p) for p in got["changed"]),  # type: ignore[attr-defined]
            {str(p): None if s is None else (s[0], s[1]) for p, s in states.items()},
        )


class WorkerClient:
    """Requests to a worker reading ``send`` and writing ``receive`` (binary pipes)."""

    def __init__(self, send: IO[bytes], receive: IO[bytes]) -> None:
        self._send = send
        self._receive = receive
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: dict[int, Future[dict[str, object]]] = {}
        self._gone: str | None = None
        self.stray: list[dict[str, object]] = []
        """Answers that matched no request (a worker's answer to a malformed line)."""
        self._reader = threading.Thread(target=self._read_answers, daemon=True)
        self._reader.start()

    # -- the ops ---------------------------------------------------------------------------
    def hello(self) -> dict[str, object]:
        return self.call("hello")

    def read(self, path: str, offset: int = 0, length: int | None = None) -> Chunk:
        args: dict[str, object] = {"path": path, "offset": offset}
        if length is not None:
            args["length"] = length
        got = self.call("read", args)
        return Chunk(
            base64.b64decode(str(got["data"])),
            _int(got["offset"]),
            _int(got["size"]),
            bool(got["eof"]),
        )

    def read_all(self, path: str, offset: int = 0) -> bytes:
        """From ``offset`` to the end of the file as it is now."""
        parts = []
        while True:
            chunk = self.read(path, offset)
            parts.append(chunk.data)
            offset += len(chunk.data)
            if chunk.eof or not chunk.data:
                return b"".join(parts)

    def stat(self, path: str) -> FileInfo | None:
        got = self.call("stat", {"path": path})
        if not got.get("exists"):
            return None
        return FileInfo(
            str(got["kind"]), _int(got["size"]), _int(got["mtime_ns"]), _int(got["mode"])
        )

    def write(self, path: str, data: bytes, *, append: bool = False) -> int:
        """Returns the file's size after."""
        encoded = base64.b64encode(data).decode("ascii")
        return _int(self.call("write", {"path": path, "data": encoded, "append": append})["size"])

    def mkdir(self, path: str) -> None:
        self.call("mkdir", {"path": path})

    def remove(self, path: str) -> bool:
        return bool(self.call("remove", {"path": path})["removed"])

    def wait(
        self, paths: Sequence[str], timeout: float, known: Mapping[str, State] | None = None
    ) -> Changes:
        return self.start_wait(paths, timeout, known).changes()

    def start_wait(
        self, paths: Sequence[str], timeout: float, known: Mapping[str, State] | None = None
    ) -> PendingWait:
        """A ``wait`` sent, not waited for (see :meth:`cancel`)."""
        sent = {p: None if s is None else list(s) for p, s in (known or {}).items()}
        request_id, future = self._request(
            "wait", {"paths": list(paths), "timeout": timeout, "known": sent}
        )
        return PendingWait(request_id, future)

    def cancel(self, *request_ids: int) -> int:
        """Have those pending waits answer now; how many were still waiting."""
        return _int(self.call("cancel", {"ids": list(request_ids)})["cancelled"])

    @property
    def gone(self) -> str | None:
        """Why the worker is gone (its output ended), or ``None`` while it answers."""
        with self._lock:
            return self._gone

    # -- the protocol ----------------------------------------------------------------------
    def call(
        self, op: str, args: Mapping[str, object] | None = None, *, within: float | None = None
    ) -> dict[str, object]:
        """Send one request and wait for its answer's ``result`` (``within``: seconds,
        else as long as it takes); raise :class:`WorkerError` for an error answer."""
        return self.send(op, args).result(within)

    def send(self, op: str, args: Mapping[str, object] | None = None) -> Future[dict[str, object]]:
        """Send one request; its answer's ``result`` comes in the future."""
        return self._request(op, args)[1]

    def _request(
        self, op: str, args: Mapping[str, object] | None
    ) -> tuple[int, Future[dict[str, object]]]:
        future: Future[dict[str, object]] = Future()
        with self._lock:
            if self._gone is not None:
                raise WorkerGone(self._gone)
            request_id = next(self._ids)
            self._pending[request_id] = future
            line = json.dumps({**(args or {}), "id": request_id, "op": op}, separators=(",", ":"))
            try:
                self._send.write(line.encode() + b"\n")
                self._send.flush()
            except (BrokenPipeError, ValueError) as exc:
                del self._pending[request_id]
                raise WorkerGone(f"cannot send to the worker: {exc}") from None
        return request_id, future

    def _read_answers(self) -> None:
        try:
            for line in self._receive:
                try:
                    answer = json.loads(line)
                except ValueError:
                    continue  # not ours (the worker prints nothing else on its output)
                if not isinstance(answer, dict):
                    continue
                with self._lock:
                    future = self._pending.pop(answer.get("id"), None)  # type: ignore[arg-type]
                if future is None:
                    self.stray.append(answer)
                elif isinstance(answer.get("error"), dict):
                    error = answer["error"]
                    future.set_exception(
                        WorkerError(str(error.get("kind")), str(error.get("message")))
                    )
                else:
                    result = answer.get("result")
                    future.set_result(result if isinstance(result, dict) else {})
        except (OSError, ValueError):
            pass
        finally:
            with self._lock:
                self._gone = "the worker's output ended"
                pending, self._pending = self._pending, {}
            for future in pending.values():
                future.set_exception(WorkerGone(self._gone))

    def close(self) -> None:
        """Close the worker's input (it ends when it has read it all)."""
        with self._lock, contextlib.suppress(OSError):
            self._send.close()


class LocalWorker:
    """A worker run as a subprocess of ours: ``argv`` (default: this Python's
    ``-m tmuxorch.hosts.worker --root ROOT``)."""

    def __init__(self, root: str, argv: Sequence[str] | None = None) -> None:
        import sys

        command = list(argv or [sys.executable, "-m", "tmuxorch.hosts.worker", "--root", root])
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.client = WorkerClient(self.process.stdin, self.process.stdout)

    def close(self, timeout: float = 30.0) -> int:
        """End its input and wait for it to exit; its exit code."""
        self.client.close()
        return self.process.wait(timeout)

    def __enter__(self) -> WorkerClient:
        return self.client

    def __exit__(self, *exc: object) -> None:
        try:
            self.close()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise WorkerError("malformed", f"expected a whole number in an answer, got {value!r}")
    return value
