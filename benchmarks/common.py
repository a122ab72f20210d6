"""What every benchmark shares: an environment whose tmux servers live in a private
directory (removed at exit, so no socket file is left in /tmp/tmux-UID) and a fresh server."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from tmuxorch.tmux.client import Client

_SOCKETS = tempfile.mkdtemp(prefix="tmuxorch-bench-")
atexit.register(shutil.rmtree, _SOCKETS, ignore_errors=True)


def env() -> dict[str, str]:
    """The caller's environment outside tmux, with ``SHELL=/bin/sh`` and private sockets."""
    result = {k: v for k, v in os.environ.items() if not k.startswith("TMUX")}
    result.update(SHELL="/bin/sh", TMUX_TMPDIR=_SOCKETS)
    return result


def server(*setup: tuple[str, ...]) -> tuple[str, Client]:
    """A new server (``-L NAME``) kept alive without sessions, then ``setup`` run on it."""
    name = f"bench-{uuid.uuid4().hex[:8]}"
    client = Client(name, config_file="/dev/null", env=env())
    client.run([("start-server",), ("set-option", "-g", "exit-empty", "off"), *setup])
    return name, client


def write_results(name: str, report: dict[str, object]) -> None:
    """``benchmarks/results/NAME.json``, and say so."""
    here = Path(__file__).resolve().parent
    out = here / "results" / f"{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {out.relative_to(here.parent)}")
