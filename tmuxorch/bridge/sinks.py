"""Built-in consumers of poller events: transcripts and the JSONL event log."""

from __future__ import annotations

import json
import os
import threading

from tmuxorch import private

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.bridge.poller import Event


class Transcripts:
    """Each pane's lines, in order, appended to the file assigned to it (a task attempt's
    transcript): what scrolled by, then its last screen when it ends."""

    def __init__(self) -> None:
        self._files: dict[str, str] = {}
        self._lock = threading.Lock()

    def assign(self, pane: str, path: str) -> None:
        folder = os.path.dirname(path)
        private.folder(os.path.dirname(folder))  # transcripts/
        private.folder(folder)  # transcripts/RUN/
        private.write(path, "")  # from the start: the poller replays the pane's whole history
        with self._lock:
            self._files[pane] = path

    def __call__(self, event: Event) -> None:
        if event["type"] not in ("lines", "gap"):
            return
        with self._lock:
            path = self._files.get(str(event["pane"]))
        if path is None:
            return
        if event["type"] == "gap":
            text = f"[tmuxorch: {event.get('reason')}; lines are missing here]\n"
        else:
            lines = event["lines"]
            assert isinstance(lines, list)
            text = "".join(f"{line}\n" for line in lines)
        private.append(path, text)


class EventLog:
    """Every event but frames (too many: watch --json has them), one JSON object a line."""

    def __init__(self, path: str) -> None:
        private.folder(os.path.dirname(path))
        if os.path.islink(path):  # said before the run starts, not on its first event
            raise private.Unsafe(f"{path} is a symbolic link: refusing to write through it")
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        if event["type"] == "frame":
            return
        line = json.dumps(event, ensure_ascii=False) + "\n"
        with self._lock:
            private.append(self.path, line)
