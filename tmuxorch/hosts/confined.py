"""Paths a remote worker may touch: only under its root.

A path (relative to the root, or absolute) is refused when it leads out of the root,
whether by ``..`` or by a symbolic link on its way. What is read or stat'ed is the real
path (every link resolved, and checked to be still inside); what is written or removed
keeps its last name unresolved, so a link there is never followed (writes refuse it,
removal takes the link itself).

Limit: a folder swapped for a link between the check and the use is not caught (the
worker is the user's own process on the user's own machine; this guards against
mistakes and files agents made, not against another local user).
"""

from __future__ import annotations

import contextlib
import os


class Refused(Exception):
    """A request the worker will not do: ``kind`` says why, for the client."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(message)


class Root:
    """The folder a worker serves (resolved once, when it starts)."""

    def __init__(self, path: str) -> None:
        self.path = os.path.realpath(path)
        if not os.path.isdir(self.path):
            raise NotADirectoryError(f"{path} is not a folder")

    def inside(self, path: str) -> bool:
        return path == self.path or path.startswith(self.path.rstrip(os.sep) + os.sep)

    def lexical(self, path: object) -> str:
        """``path`` joined to the root and normalised (``..`` resolved as text)."""
        if not isinstance(path, str) or not path:
            raise Refused("bad_request", "path: expected non-empty text")
        if "\x00" in path:
            raise Refused("bad_request", "path: has a NUL character")
        full = os.path.normpath(os.path.join(self.path, path))
        if not self.inside(full):
            raise Refused("outside", f"{path} is outside the root {self.path}")
        return full

    def real(self, path: object) -> str:
        """``path`` with every symbolic link resolved; it must stay inside."""
        full = self.lexical(path)
        real = os.path.realpath(full)
        if not self.inside(real):
            raise Refused("outside", f"{path} leads out of the root through a symbolic link")
        return real

    def leaf(self, path: object) -> str:
        """``path`` with its folders resolved (they must stay inside) and its own name
        kept as is: for writing and removing, never through a link."""
        full = self.lexical(path)
        if full == self.path:
            raise Refused("bad_request", "the root itself cannot be written or removed")
        folder = os.path.realpath(os.path.dirname(full))
        if not self.inside(folder):
            raise Refused("outside", f"{path} leads out of the root through a symbolic link")
        return os.path.join(folder, os.path.basename(full))

    def make_folders(self, path: object) -> str:
        """``path`` as a folder, each missing one made 0700 (existing ones are left as
        they are); returns its real path."""
        full = self.lexical(path)
        current = self.path
        for part in os.path.relpath(full, self.path).split(os.sep):
            if part in ("", "."):
                continue
            step = os.path.join(current, part)
            if not os.path.lexists(step):
                with contextlib.suppress(FileExistsError):  # made meanwhile: looked at below
                    os.mkdir(step, 0o700)
            real = os.path.realpath(step)
            if not self.inside(real):
                raise Refused("outside", f"{path} leads out of the root through a symbolic link")
            if not os.path.isdir(real):
                raise Refused("not_a_folder", f"{os.path.relpath(step, self.path)} is not a folder")
            current = real
        return current
