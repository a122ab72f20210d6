"""Built-in consumers of poller events: transcripts and the JSONL event log."""

from __future__ import annotations

import json
import os
import threading
import time

from tmuxorch import private

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.bridge.poller import Event


class Transcripts:
    """Each pane's lines, in order, appended to the file assigned to it (a task attempt's
    transcript): what scrolled by, then its last screen when it ends. Once its pane is
    closed, a line-oriented program's transcript is made again from the record of every
    byte it wrote (:mod:`tmuxorch.bridge.plain`): whole, whatever the poller could read."""

    RECORD_WAIT = 5.0
    """Seconds a record may take to be closed by tmux after its pane is."""
    RECORD_LIMIT = 256 * 1024 * 1024
    """A larger record is left as it is (the poller's transcript stands)."""

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._lock = threading.Lock()
        self._finishing: list[threading.Thread] = []
        self.whole: set[str] = set()
        """Transcripts made whole (their panes closed or kept): they will not change."""

    def assign(self, pane: str, path: str) -> None:
        folder = os.path.dirname(path)
        private.folder(os.path.dirname(folder))  # transcripts/
        private.folder(folder)  # transcripts/RUN/
        private.write(path, "")  # from the start: the poller replays the pane's whole history
        with self._lock:
            self._files[pane] = path

    def __call__(self, event: Event) -> None:
        kind = event["type"]
        if kind not in ("lines", "gap", "gone"):
            return
        if kind == "gap":
            text = f"[tmuxorch: {event.get('reason')}; lines are missing here]\n"
        elif kind == "gone":
            text = "[tmuxorch: the pane closed before its last screen was read]\n"
        else:
            lines = event["lines"]
            assert isinstance(lines, list)
            text = "".join(f"{line}\n" for line in lines)
        with self._lock:  # never after the transcript was made whole (see finish)
            path = self._files.get(str(event["pane"]))
            if path is not None:
                private.append(path, text)

    def finish(self, pane: str, transcript: str, record: str, *, closed: bool) -> None:
        """``pane`` is closed (or, not ``closed``, kept dead for a person): its transcript
        is made whole from ``record``, in a thread (see :meth:`wait`)."""
        with self._lock:
            self._files.pop(pane, None)
        thread = threading.Thread(
            target=self._whole, args=(transcript, record, closed), daemon=True
        )
        thread.start()
        self._finishing = [t for t in self._finishing if t.is_alive()] + [thread]

    def wait(self, timeout: float = 30.0) -> None:
        """The transcripts being made whole are (the run is ending)."""
        deadline = time.monotonic() + timeout
        for thread in self._finishing:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _whole(self, transcript: str, record: str, closed: bool) -> None:
        try:
            self._from_record(transcript, record, closed)
            trim_blank_end(transcript)  # a killed program may have scrolled its screen away
        finally:
            with self._lock:
                self.whole.add(transcript)

    def _from_record(self, transcript: str, record: str, closed: bool) -> None:
        from tmuxorch.bridge.plain import text

        deadline = time.monotonic() + (self.RECORD_WAIT if closed else 0.3)
        while not os.path.exists(record) and time.monotonic() < deadline:
            time.sleep(0.02)  # tmux closes the record's pipe; its writer then renames it
        path = record if os.path.exists(record) else record + ".part"
        try:
            if os.path.getsize(path) > self.RECORD_LIMIT:
                return
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return  # no record (a pane made before records): the poller's transcript stands
        plain = text(data)
        if plain is None:
            return  # a screen-drawing program: its transcript is the screens read
        private.write(transcript + ".tmp", plain)
        os.replace(transcript + ".tmp", transcript)


def transcript_end(path: str, size: int = 8192) -> list[str]:
    """The last lines of a transcript (none if it is not there)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, os.fstat(handle.fileno()).st_size - size))
            return handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return []


def trim_blank_end(path: str, look: int = 65536) -> None:
    """Blank lines at the end of a transcript cut off (a program killed while it drew a
    screen may have scrolled it away into empty rows); its last line is kept as it is."""
    try:
        fd = private.open_fd(path, os.O_RDWR)
    except OSError:  # gone, or a link planted there
        return
    try:
        size = os.fstat(fd).st_size
        start = max(0, size - look)
        tail = os.pread(fd, size - start, start)
        text_end = len(tail.rstrip(b" \t\r\n"))
        if text_end == 0:
            return  # blank as far as we look: left as it is
        newline = tail.find(b"\n", text_end)
        end = start + (newline + 1 if newline >= 0 else len(tail))
        if end < size:
            os.ftruncate(fd, end)
    finally:
        os.close(fd)


class EventLog:
    """Every event but frames (too many: watch --json has them), one JSON object a line."""

    def __init__(self, path: str, run: Callable[[], str] | None = None) -> None:
        private.folder(os.path.dirname(path))
        if os.path.islink(path):  # said before the run starts, not on its first event
            raise private.Unsafe(f"{path} is a symbolic link: refusing to write through it")
        self.path = path
        self.run = run
        """The run's id now: added to the poller's events, which do not say it."""
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event["type"] == "frame":
            return
        if self.run is not None and "run" not in event:
            event = {**event, "run": self.run()}
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self._lock:
            private.append(self.path, line)
