"""Installing this tmuxorch on another host, into a user venv there, without PyPI for
tmuxorch itself.

A wheel of the running tmuxorch is made here from its own files (the package as imported,
its metadata as installed: no build tool, no network), sent over ssh on stdin, and
installed with the host's ``python3 -m venv`` and ``pip``. Its dependencies come from the
host's own pip index; ``deps=False`` skips them (the worker that serves files needs none of
them: enough for tasks to run there, though not for the ``tmuxorch`` command there).
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile

from tmuxorch import __version__
from tmuxorch.hosts.errors import SshError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.hosts.ssh import Connection

VENV = "~/.local/share/tmuxorch/venv"
"""Where it goes by default (``~`` is the remote home)."""
WHEEL = f"tmuxorch-{__version__}-py3-none-any.whl"

# $1 the venv ($HOME in front of a ~/ path), $2 the Python making it, $3 the wheel's name,
# $4 "--no-deps" or "", stdin the wheel. The venv's Python is printed last.
_SCRIPT = r"""
set -e
venv=$1
case $venv in "~/"*) venv=$HOME/${venv#"~/"} ;; esac
umask 077
mkdir -p "$(dirname "$venv")"
if [ ! -x "$venv/bin/python" ]; then
  "$2" -m venv "$venv" >&2 || {
    echo "tmuxorch: $2 -m venv failed (on Debian/Ubuntu: apt install python3-venv)" >&2
    exit 3
  }
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tmuxorch-wheel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/$3"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall \
  $4 "$tmp/$3" >&2
printf '%s\n' "$venv/bin/python"
"""


def wheel() -> bytes:
    """A wheel of the running tmuxorch: its package files (no caches) and metadata."""
    import importlib.metadata

    import tmuxorch

    package = os.path.dirname(os.path.abspath(tmuxorch.__file__))
    info = f"tmuxorch-{__version__}.dist-info"
    files: list[tuple[str, bytes]] = []
    for folder, subfolders, names in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
        for name in sorted(names):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                files.append((os.path.relpath(path, os.path.dirname(package)), f.read()))
    metadata = str(importlib.metadata.metadata("tmuxorch"))  # an email.message.Message
    files.append((f"{info}/METADATA", metadata.encode()))
    files.append(
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: tmuxorch\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files]
    record.append(f"{info}/RECORD,,")
    files.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
    return out.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install(
    conn: Connection,
    *,
    venv: str = VENV,
    python: str = "python3",
    deps: bool = True,
    timeout: float = 900.0,
) -> str:
    """Install this tmuxorch into ``venv`` on ``conn``'s host (made with ``python``
    there if missing); the venv's Python (the host's ``python:`` setting). Raises
    :class:`SshError` with pip's or venv's own words when it fails."""
    argv = ["sh", "-c", _SCRIPT, "sh", venv, python, WHEEL, "" if deps else "--no-deps"]
    done = conn.run(argv, input=wheel(), timeout=timeout)
    said = done.err.decode(errors="replace").strip()
    if done.code != 0:
        hint = (
            " If that host cannot reach a package index, install with --no-deps (the worker"
            " needs no dependency; the tmuxorch command there does)."
            if deps and done.code != 3
            else ""
        )
        raise SshError(
            conn.destination,
            f"installing tmuxorch on {conn.destination} failed (exit status {done.code}): "
            f"{said[-2000:] or 'no message'}.{hint}",
            said,
        )
    lines = done.out.decode(errors="replace").split()
    if not lines:
        raise SshError(conn.destination, f"the install on {conn.destination} said nothing")
    return lines[-1]
