"""The one secret every request to ``tmuxorch serve`` must carry.

Made on first start (32 random bytes, URL-safe) in a private file under the user's
config folder (``$XDG_CONFIG_HOME/tmuxorch/serve-token``, 0600, never read or written
through a link), printed once as a ready-to-open URL, and compared in constant time.
"""

from __future__ import annotations

import hmac
import os
import secrets

from tmuxorch import private


def config_dir() -> str:
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "tmuxorch")


def token_path() -> str:
    return os.path.join(config_dir(), "serve-token")


def load_or_create(path: str | None = None) -> tuple[str, bool]:
    """The token kept at ``path`` (made if missing); True with it when just made."""
    path = path or token_path()
    private.folder(os.path.dirname(path))
    try:
        fd = private.open_fd(path, os.O_RDONLY)
    except FileNotFoundError:
        token = secrets.token_urlsafe(32)
        private.write(path + ".tmp", token + "\n")
        os.replace(path + ".tmp", path)
        return token, True
    try:
        token = os.read(fd, 4096).decode("ascii", "replace").strip()
    finally:
        os.close(fd)
    if len(token) < 16:
        raise ValueError(f"{path}: the token in it is too short (remove the file to make one)")
    return token, False


def same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())
