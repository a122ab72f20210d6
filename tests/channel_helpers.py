"""A real ``tmuxorch serve`` with channels: its user config written by the test (secrets
through environment variables), its output in a file the test reads (what it logs of
refused people and failing services)."""

from __future__ import annotations

import os
import re
import subprocess
import textwrap
from typing import TYPE_CHECKING

from tests.conftest import eventually, tmux_env, tmuxorch_argv
from tests.serve_helpers import Served

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Server


class ChannelServed(Served):
    """``Served``, with ``config`` (YAML text: the user config) and ``env`` (secrets)."""

    def __init__(
        self, server: Server, home: Path, config: str, env: dict[str, str] | None = None
    ) -> None:
        folder = home / "config" / "tmuxorch"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "config.yaml").write_text(textwrap.dedent(config))
        self.env = tmux_env(
            XDG_CONFIG_HOME=str(home / "config"),
            XDG_STATE_HOME=str(home / "state"),
            **(env or {}),
        )
        self.log = home / "serve.log"
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                tmuxorch_argv("serve", "-L", server.name, "--port", "0"),
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )

        def started() -> str | None:
            if self.proc.poll() is not None:
                raise AssertionError(f"serve ended: {self.output()}")
            found = re.search(r"(http://127\.0\.0\.1:\d+/)", self.output())
            return found.group(1) if found else None

        self.url = eventually(started, what="serve listens")
        self.first_line = self.output().splitlines()[0]
        self.token = (folder / "serve-token").read_text().strip()

    def output(self) -> str:
        return self.log.read_text() if os.path.exists(self.log) else ""

    def wait_logged(self, pattern: str) -> str:
        def found() -> str | None:
            hit = re.search(pattern, self.output())
            return hit.group(0) if hit else None

        return eventually(found, timeout=60, what=f"serve logs {pattern!r}")  # (a deadline only)

    def channels(self) -> list[dict[str, object]]:
        body = self.get("/api/channels")
        assert isinstance(body, dict)
        return list(body["channels"])


def waiting_command(out: Path, question: str = "Deploy now? (y/n) ") -> str:
    """A task's command that asks a yes/no question and writes the answer it got to
    ``out`` byte for byte (between brackets)."""
    return f"printf '{question}'; IFS= read -r a; printf '[%s]' \"$a\" > {out}"


def wait_file(path: Path, timeout: float = 30.0) -> str:
    def ready() -> str | None:
        return path.read_text() if path.exists() and path.read_text() else None

    return eventually(ready, timeout=timeout, what=f"{path} written")
