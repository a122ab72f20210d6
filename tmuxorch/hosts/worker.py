"""The remote side of a host: ``python -m tmuxorch.hosts.worker --root DIR``.

It reads one JSON request a line on stdin and answers one JSON line each on stdout (no
port: it runs over the ssh connection that started it). Every request has an ``id``,
echoed in its answer, and an ``op``::

    {"id": 1, "op": "hello"}
    {"id": 1, "result": {"protocol": 1, "version": "0.1.0", "python": "3.11.2",
                         "tmux": "3.3", "root": "/home/u/work", "home": "/home/u", ...}}
    {"id": 2, "op": "read", "path": "run/a.log", "offset": 0, "length": 65536}
    {"id": 2, "result": {"data": "<base64>", "offset": 0, "size": 1234, "eof": true}}
    {"id": 3, "op": "stat", "path": "run/a.exit"}          → {"exists": false} or kind/size/mtime_ns/mode
    {"id": 4, "op": "write", "path": "run/p.md", "data": "<base64>", "append": false}
    {"id": 5, "op": "mkdir", "path": "run/x"}              → folders made 0700
    {"id": 6, "op": "remove", "path": "run/p.md"}          → {"removed": true}
    {"id": 7, "op": "wait", "paths": ["run/a.exit"], "timeout": 30, "known": {...}}
    {"id": 8, "op": "cancel", "ids": [7]}                  → those waits answer now: {"cancelled": 1}

A failure is ``{"id": ..., "error": {"kind": ..., "message": ...}}`` (kinds:
``malformed``, ``too_large``, ``unknown_op``, ``bad_request``, ``outside``, ``symlink``,
``missing``, ``not_a_file``, ``not_a_folder``, ``not_empty``, ``denied``, ``os``, ``busy``,
``internal``); a malformed line is answered with ``"id": null`` and the worker goes on.
Paths are relative to the root (or absolute inside it); none may lead out of it. A
``wait`` is answered from its own thread, so other requests are answered meanwhile
(answers may then come out of order: match them by ``id``). End of input ends it (exit
0); requests still waiting then go unanswered.

``--root`` may start with ``~/`` (the home of the user it runs as: a remote command gets it
quoted, so no shell expands it); ``--create`` makes a missing root 0700, in a folder that
must exist (a host's ``dir:``: a typo in it is said, not made).
"""

from __future__ import annotations

import errno
import json
import os
import sys
import threading

from tmuxorch.hosts import worker_ops as ops
from tmuxorch.hosts.confined import Refused, Root
from tmuxorch.hosts.worker_wait import wait

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import BinaryIO

MAX_LINE = 8 * 1024 * 1024
"""Bytes of one request line at most (a ``write`` of 6 MB of data, in base64)."""
MAX_WAITS = 64
OPS: dict[str, Callable[[Root, ops.Request], ops.Result]] = {
    "hello": ops.hello,
    "read": ops.read,
    "stat": ops.stat_file,
    "write": ops.write,
    "mkdir": ops.mkdir,
    "remove": ops.remove,
}


class Worker:
    """Answers requests read from ``source`` on ``sink``, for files under ``root``."""

    def __init__(self, root: Root, source: BinaryIO, sink: BinaryIO) -> None:
        self.root = root
        self.source = source
        self.sink = sink
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.waits = threading.BoundedSemaphore(MAX_WAITS)
        self.waiting: dict[int | str, threading.Event] = {}
        """Each pending wait's own stop (by request id), for ``cancel``."""
        self.stops: set[threading.Event] = set()
        """Every pending wait's own stop."""

    def serve(self) -> None:
        """Until the end of input."""
        try:
            while True:
                line = self.source.readline(MAX_LINE + 1)
                if not line:
                    return
                if len(line) > MAX_LINE and not line.endswith(b"\n"):
                    self._skip_rest()
                    self.answer(None, error=("too_large", f"a line is at most {MAX_LINE} bytes"))
                    continue
                if line.strip():
                    self.handle(line)
        finally:
            self.stop_all()

    def stop_all(self) -> None:
        """Every pending wait answers now, and no more are waited."""
        self.stop.set()
        with self.lock:
            events = list(self.stops)
        for event in events:
            event.set()

    def _skip_rest(self) -> None:
        while True:
            more = self.source.readline(MAX_LINE)
            if not more or more.endswith(b"\n"):
                return

    def handle(self, line: bytes) -> None:
        try:
            request = json.loads(line)
        except ValueError as exc:
            self.answer(None, error=("malformed", f"not JSON: {exc}"))
            return
        if not isinstance(request, dict):
            self.answer(None, error=("malformed", "expected a JSON object"))
            return
        request_id = request.get("id")
        op = request.get("op")
        if op == "wait":
            if not self.waits.acquire(blocking=False):
                self.answer(request_id, error=("busy", f"at most {MAX_WAITS} waits at once"))
                return
            stop = threading.Event()
            with self.lock:
                self.stops.add(stop)
                if isinstance(request_id, (int, str)) and not isinstance(request_id, bool):
                    self.waiting[request_id] = stop
            if self.stop.is_set():
                stop.set()
            thread = threading.Thread(
                target=self._wait, args=(request_id, request, stop), daemon=True
            )
            thread.start()
            return
        if op == "cancel":
            self._run(request_id, lambda: self._cancel(request))
            return
        run = OPS.get(op) if isinstance(op, str) else None
        if run is None:
            known = ", ".join(sorted([*OPS, "wait", "cancel"]))
            self.answer(request_id, error=("unknown_op", f"unknown op {op!r} (known: {known})"))
            return
        self._run(request_id, lambda: run(self.root, request))

    def _wait(self, request_id: object, request: ops.Request, stop: threading.Event) -> None:
        try:
            self._run(request_id, lambda: wait(self.root, request, stop))
        finally:
            with self.lock:
                self.stops.discard(stop)
                if isinstance(request_id, (int, str)) and self.waiting.get(request_id) is stop:
                    del self.waiting[request_id]
            self.waits.release()

    def _cancel(self, request: ops.Request) -> ops.Result:
        """The waits of ``ids`` answer now (with what they see); unknown ids are skipped."""
        ids = request.get("ids")
        if not isinstance(ids, list):
            raise Refused("bad_request", "ids: expected a list of request ids")
        with self.lock:
            events = [
                self.waiting[i] for i in ids if isinstance(i, (int, str)) and i in self.waiting
            ]
        for event in events:
            event.set()
        return {"cancelled": len(events)}

    def _run(self, request_id: object, call: Callable[[], ops.Result]) -> None:
        try:
            result = call()
        except Refused as exc:
            self.answer(request_id, error=(exc.kind, exc.message))
        except OSError as exc:
            self.answer(request_id, error=(_kind(exc), _message(exc)))
        except Exception as exc:  # a bug of ours: said, and the worker goes on
            self.answer(request_id, error=("internal", f"{type(exc).__name__}: {exc}"))
        else:
            self.answer(request_id, result=result)

    def answer(
        self,
        request_id: object,
        *,
        result: ops.Result | None = None,
        error: tuple[str, str] | None = None,
    ) -> None:
        body: dict[str, object] = {"id": request_id}
        if error is not None:
            body["error"] = {"kind": error[0], "message": error[1]}
        else:
            body["result"] = result
        data = json.dumps(body, separators=(",", ":")).encode() + b"\n"
        with self.lock:
            try:
                self.sink.write(data)
                self.sink.flush()
                return
            except (BrokenPipeError, ValueError):  # the client is gone
                pass
        self.stop_all()


def _kind(exc: OSError) -> str:
    return {
        errno.ENOENT: "missing",
        errno.EISDIR: "not_a_file",
        errno.ENOTDIR: "not_a_folder",
        errno.ENOTEMPTY: "not_empty",
        errno.EACCES: "denied",
        errno.EPERM: "denied",
    }.get(exc.errno or 0, "os")


def _message(exc: OSError) -> str:
    if exc.strerror and exc.filename:
        return f"{exc.strerror}: {exc.filename}"
    return exc.strerror or str(exc)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tmuxorch.hosts.worker")
    parser.add_argument("--root", required=True, help="the only folder it may touch")
    parser.add_argument("--create", action="store_true", help="make a missing root, 0700")
    args = parser.parse_args(argv)
    path = args.root
    if path == "~" or path.startswith("~/"):
        path = os.path.expanduser("~") + path[1:]
    try:
        if args.create:
            from tmuxorch.hosts.local_copies import folders

            above = os.path.dirname(path.rstrip("/")) or "/"
            if not os.path.isdir(above):  # a host's dir: that is missing (a typo?) is said
                print(f"tmuxorch worker: no folder {above} there", file=sys.stderr)
                return 2
            folders(path)
        root = Root(path)
    except OSError as exc:
        print(f"tmuxorch worker: {exc}", file=sys.stderr)
        return 2
    sink = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must never break the protocol
    Worker(root, sys.stdin.buffer, sink).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
