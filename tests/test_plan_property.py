"""Property: what ``--dry-run`` prints and what a real build makes have the same structure."""

from __future__ import annotations

import shlex
import uuid
from typing import TYPE_CHECKING

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Server, build_file
from tmuxorch.spec.workspace import load_workspace
from tmuxorch.spec.workspace_values import LAYOUTS
from tmuxorch.tmux.plan import plan

if TYPE_CHECKING:
    from pathlib import Path

names = st.text("abcdefghij-_ 0123456789", min_size=1, max_size=8).filter(str.strip)
pane = st.one_of(
    st.none(),
    st.just("blank"),
    st.text("abcxyz ", min_size=1, max_size=6).map(lambda t: f"echo {t}"),
    st.lists(st.sampled_from(["echo a", "true", ""]), min_size=1, max_size=3),
    st.fixed_dictionaries(
        {"shell_command": st.just(["echo d"])}, optional={"focus": st.booleans()}
    ),
)
window = st.fixed_dictionaries(
    {"panes": st.lists(pane, min_size=1, max_size=5)},
    optional={
        "window_name": names,
        "layout": st.sampled_from(
            sorted(LAYOUTS - {"main-horizontal-mirrored", "main-vertical-mirrored"})
        ),
        "focus": st.booleans(),
    },
)
workspace = st.fixed_dictionaries(
    {"windows": st.lists(window, min_size=1, max_size=4)},
    optional={"options": st.just({"status": "off"}), "environment": st.just({"X": "1"})},
)


def structure_from_dry_run(text: str) -> list[tuple[str | None, int]]:
    """(window name, pane count) per window, read from the printed plan."""
    windows: list[tuple[str | None, int]] = []
    section = ""
    for line in text.splitlines():
        if line.startswith("#"):
            section = line.split(".")[0]
            continue
        if section != "# 1":
            continue
        args = shlex.split(line)
        if args[0] in ("new-session", "new-window") and "-P" in args:
            name = args[args.index("-n") + 1] if "-n" in args else None
            windows.append((name, 1))
        elif args[0] == "split-window":
            name, count = windows[-1]
            windows[-1] = (name, count + 1)
    return windows


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(workspace)
def test_dry_run_and_build_agree(
    tmux_server: Server, tmp_path: Path, data: dict[str, object]
) -> None:
    session = f"p{uuid.uuid4().hex[:8]}"
    path = tmp_path / f"{session}.yaml"
    path.write_text(yaml.safe_dump({"session_name": session, **data}))
    ws = load_workspace(str(path)).workspace
    planned = structure_from_dry_run(plan(ws).describe())

    build_file(tmux_server, path)
    rows = tmux_server.client.cmd(
        "list-windows", "-t", f"={session}", "-F", "#{window_id}\t#{window_name}\t#{window_panes}"
    )
    built = sorted((r.split("\t") for r in rows), key=lambda r: int(r[0][1:]))
    assert [int(count) for _, _, count in built] == [count for _, count in planned]
    for (_, real_name, _), (planned_name, _) in zip(built, planned, strict=True):
        if planned_name is not None:
            assert real_name == planned_name
    tmux_server.client.cmd("kill-session", "-t", f"={session}")
