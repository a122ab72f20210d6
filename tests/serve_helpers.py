"""A real ``tmuxorch serve`` for tests: a child process on a free loopback port, its own
config and state folders, pointed at the test's tmux server."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

from tests.conftest import eventually, tmux_env, tmuxorch_argv

if TYPE_CHECKING:
    from pathlib import Path

    from tests.conftest import Server


class Served:
    def __init__(self, server: Server, home: Path, *extra: str) -> None:
        self.env = tmux_env(
            XDG_CONFIG_HOME=str(home / "config"), XDG_STATE_HOME=str(home / "state")
        )
        self.proc = subprocess.Popen(
            tmuxorch_argv("serve", "-L", server.name, "--port", "0", *extra),
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+/)", first)
        assert found, first + self.proc.stdout.read()
        self.url = found.group(1)
        self.first_line = first
        self.token = (home / "config" / "tmuxorch" / "serve-token").read_text().strip()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        token: str | None = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, object]:
        """Status and decoded body (JSON if it is, else text)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token or self.token}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw, kind = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, kind = exc.code, exc.read(), exc.headers
        if "json" in kind.get("Content-Type", ""):
            return status, json.loads(raw)
        return status, raw.decode()

    def get(self, path: str) -> object:
        status, body = self.call("GET", path)
        assert status == 200, (status, body)
        return body

    def run_id(self) -> str:
        def one() -> str | None:
            runs = self.get("/api/runs")
            assert isinstance(runs, dict)
            return str(runs["runs"][0]["run"]) if runs["runs"] else None

        return eventually(one, what="serve knows the run")
