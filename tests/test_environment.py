"""The suite holds in the environments people have: here, ``$TMUX_TMPDIR`` set (tmux's
sockets elsewhere than /tmp), which every tmux process, libtmux and tmuxorch must share."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

from tests.conftest import ROOT

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE = [
    "tests/test_compat_tmuxp.py::test_example_builds[2-pane-synchronized.yaml]",
    "tests/test_engine.py::test_each_agent_runs_in_a_pane_opened_through_libtmux",
    "tests/test_run.py::test_diamond_order",
    "tests/test_bridge.py::test_watch_json",
]


def test_tests_and_tmuxorch_agree_on_sockets_with_tmux_tmpdir_set(tmp_path: Path) -> None:
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    env = {"TMUX_TMPDIR": str(sockets), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *SAMPLE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout
    assert not list(sockets.rglob("tmuxorch-test-*"))  # and cleaned up after themselves
