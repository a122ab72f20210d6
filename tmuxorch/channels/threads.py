"""Which thread of a channel is which task's, kept across restarts of ``serve``.

Each task's messages go in one thread (a Telegram reply chain or topic, a Slack thread, a
Discord thread): the first message of a key (``RUN/TASK``) makes it, later ones go in it.
A person's reply names the thread, or the message it answers; either leads back to the key.
The map is a private file per channel (0600, in a 0700 folder), the newest kept.
"""

from __future__ import annotations

import json
import os

from tmuxorch import private

KEEP = 2000
"""Message ids remembered per channel (the oldest are forgotten first)."""


class Threads:
    def __init__(self, path: str) -> None:
        self.path = path
        self.threads: dict[str, str] = {}
        """key → its thread on the channel."""
        self.keys: dict[str, str] = {}
        """thread or message id → key."""
        self._load()

    def _load(self) -> None:
        try:
            fd = private.open_fd(self.path, os.O_RDONLY)
            with os.fdopen(fd, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return
        if isinstance(data, dict):
            threads, keys = data.get("threads"), data.get("keys")
            if isinstance(threads, dict):
                self.threads = {str(k): str(v) for k, v in threads.items()}
            if isinstance(keys, dict):
                self.keys = {str(k): str(v) for k, v in keys.items()}

    def thread(self, key: str) -> str | None:
        return self.threads.get(key)

    def key(self, refs: tuple[str, ...]) -> str | None:
        """The key the first known ref belongs to."""
        return next((self.keys[r] for r in refs if r in self.keys), None)

    def note(self, key: str, thread: str | None, ids: tuple[str, ...]) -> None:
        """A message of ``key`` was posted (in ``thread``, as ``ids``)."""
        changed = False
        if thread is not None and self.threads.get(key) != thread:
            self.threads[key] = thread
            self.keys[thread] = key
            changed = True
        for one in ids:
            if self.keys.get(one) != key:
                self.keys[one] = key
                changed = True
        if changed:
            self._save()

    def _save(self) -> None:
        if len(self.keys) > KEEP:  # dicts keep their order: the first are the oldest
            self.keys = dict(list(self.keys.items())[-KEEP:])
            kept = set(self.keys.values())
            self.threads = {k: t for k, t in self.threads.items() if k in kept}
        try:
            private.folder(os.path.dirname(self.path))
            temporary = f"{self.path}.{os.getpid()}.tmp"
            private.write(temporary, json.dumps({"threads": self.threads, "keys": self.keys}))
            os.replace(temporary, self.path)
        except OSError:
            pass  # replies to these messages will ask which task is meant: not fatal
