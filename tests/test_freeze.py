"""``tmuxorch freeze`` round-trips: a session built from each tmuxp example is frozen, the
frozen file is built on a fresh server, and the windows, panes, layouts, directories and
focus come out the same. Everything is read back from tmux itself."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest
import yaml

from tests.conftest import (
    EXAMPLES,
    Server,
    build_file,
    eventually,
    tmux_env,
    tmuxorch_argv,
    wait_for_text,
)
from tests.test_compat_tmuxp import ALL, env_for
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

HOME = os.path.realpath(os.path.expanduser("~"))

_FIELDS = "\t".join(
    (
        "#{window_index}",
        "#{window_active}",
        "#{automatic-rename}",
        "#{window_layout}",
        "#{pane_index}",
        "#{pane_active}",
        "#{pane_left},#{pane_top},#{pane_width},#{pane_height}",
        "#{pane_current_path}",
        "#{window_name}",
    )
)
_LEAF_ID = re.compile(r"(\d+x\d+,\d+,\d+),\d+")


def facts(server: Server, session: str) -> list[tuple[str, ...]]:
    """What the acceptance compares, pane by pane: the window (index, focus, its layout
    without the checksum and pane ids, its name unless tmux names it itself), the pane
    (index, focus, geometry, directory)."""
    rows = server.client.cmd("list-panes", "-s", "-t", f"={session}", "-F", _FIELDS)
    out: list[tuple[str, ...]] = []
    for row in rows:
        index, active, auto, layout, pane, pactive, geometry, path, name = row.split("\t", 8)
        shape = _LEAF_ID.sub(r"\1", layout.split(",", 1)[1])
        out.append(
            (index, active, auto, shape, name if auto == "0" else "", pane, pactive, geometry, path)
        )
    return out


def job_argv(pid: int) -> list[str] | None:
    """The argv of the job in the foreground of the shell ``pid`` (None: no job)."""
    with open(f"/proc/{pid}/stat") as f:
        group = int(f.read().rsplit(")", 1)[1].split()[5])
    if group == pid:
        return None
    try:
        with open(f"/proc/{group}/cmdline", "rb") as f:
            return f.read().decode().split("\0")[:-1]
    except OSError:
        return None


def cli(server: Server, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args),
        capture_output=True,
        text=True,
        env=server.env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def freeze_stable(server: Server, session: str, out: Path) -> list[tuple[str, ...]]:
    """Freeze ``session`` into ``out`` at a moment its facts stayed the same across the
    freeze (shells may still be running what the example typed); those facts."""

    def attempt() -> list[tuple[str, ...]] | None:
        before = facts(server, session)
        done = cli(server, "freeze", "-L", server.name, session, "-o", str(out), "--force")
        assert done.returncode == 0, done.stderr
        after = facts(server, session)
        return before if before == after else None

    return eventually(attempt, what=f"{session} unchanged across a freeze")


def rebuild(fresh: Server, file: Path, cwd: Path) -> str:
    """Build ``file`` on ``fresh`` as a user would; the session's name."""
    fresh.start()
    done = cli(fresh, "layout", "-d", "-L", fresh.name, str(file), cwd=cwd)
    assert done.returncode == 0, done.stderr
    return load_workspace(str(file)).workspace.session_name


SETTLED = {
    "3-pane.yaml": [["/var/log", HOME, HOME]],
    "start-directory.yaml": [[p, p] for p in ("/var", "/var/log", HOME, "/bin", "/var")],
    "main-pane-height.yaml": [[HOME, HOME, HOME]],
}
"""Where the examples' shells are once their typed ``cd``s ran: waited for before the
freeze, so that the round trip carries those directories (compared as tmux reports them)."""


def settle(server: Server, session: str, name: str) -> None:
    def there() -> bool:
        for w, paths in enumerate(SETTLED.get(name, [])):
            rows = server.client.cmd(
                "list-panes", "-t", f"={session}:{w}", "-F", "#{pane_current_path}"
            )
            if rows != [os.path.realpath(p) for p in paths]:
                return False
        return True

    eventually(there, what=f"{name}: its shells in their directories")


@pytest.mark.parametrize("name", ALL)
def test_freeze_round_trip(
    tmux_server: Server, idle_server: Server, tmp_path: Path, name: str
) -> None:
    ws, _ = build_file(tmux_server, EXAMPLES / name, env_for(tmp_path, name))
    settle(tmux_server, ws.session_name, name)
    frozen = tmp_path / "frozen" / "layout.yaml"
    expected = freeze_stable(tmux_server, ws.session_name, frozen)
    assert cli(tmux_server, "validate", str(frozen)).returncode == 0
    session = rebuild(idle_server, frozen, tmp_path)
    assert session == ws.session_name
    eventually(lambda: facts(idle_server, session) == expected, what="the same session")


def test_freeze_records_directories_commands_and_programs(
    tmux_server: Server, idle_server: Server, tmp_path: Path
) -> None:
    """Directories relative to the file where they lie under it, ``~`` under HOME; the job a
    shell runs (its whole argv, quoted) is typed again; a pane's own program is kept."""
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    odd = tmp_path / "it's $HOME"
    odd.mkdir()
    layout = tmp_path / "made.yaml"
    layout.write_text(
        yaml.safe_dump(
            {
                "session_name": "work",
                "start_directory": str(project),
                "windows": [
                    {
                        "window_name": "code",
                        "panes": [
                            {"focus": True},
                            {"start_directory": "src"},
                            "pane",  # goes to odd below (a layout would expand its $HOME)
                        ],
                    },
                    {"window_name": "prog", "focus": True, "panes": [{"shell": "sleep 2000"}]},
                    {"window_name": "home", "start_directory": HOME, "panes": ["pane"]},
                ],
            }
        )
    )
    build_file(tmux_server, layout)
    first, _, third = tmux_server.client.cmd("list-panes", "-t", "=work:=code", "-F", "#{pane_id}")
    # typed, not in the layout: reading a layout would expand its $HOME
    job = [sys.executable, "-c", "import time; time.sleep(1000)", "a  b", "$HOME"]
    tmux_server.client.run(
        [
            ("send-keys", "-t", first, "-l", shlex.join(job)),
            ("send-keys", "-t", first, "Enter"),
            ("send-keys", "-t", third, "-l", f"cd {shlex.quote(str(odd))}"),
            ("send-keys", "-t", third, "Enter"),
        ]
    )
    eventually(
        lambda: (
            tmux_server.client.cmd("display", "-p", "-t", third, "#{pane_current_path}")
            == [str(odd)]
        ),
        what="cd",
    )
    pid = int(tmux_server.client.cmd("display", "-p", "-t", first, "#{pane_pid}")[0])
    eventually(lambda: job_argv(pid) == job, what="the job runs")
    frozen = project / ".tmuxp.yaml"
    done = cli(tmux_server, "freeze", "-L", tmux_server.name, "work", "-o", str(frozen))
    assert done.returncode == 0, done.stderr
    assert f"its directory {odd} is left out" in done.stderr
    doc = yaml.safe_load(frozen.read_text())
    assert doc["start_directory"] == "./"
    code, prog, home = doc["windows"]
    typed = f"{shlex.join(job[:3])} 'a  b' '$''HOME'"
    assert code["panes"][0] == {"shell_command": [typed], "focus": True}
    assert code["panes"][1] == {"start_directory": "src"}
    assert code["panes"][2] == "pane"  # a $ in a directory cannot be written
    assert prog == {"window_name": "prog", "focus": True, "panes": [{"shell": "sleep 2000"}]}
    assert home["start_directory"] == "~"
    # built again: the job runs with the same argv, the program is the pane's own
    session = rebuild(idle_server, frozen, tmp_path)
    panes = idle_server.client.cmd(
        "list-panes", "-s", "-t", f"={session}", "-F", "#{pane_pid} #{pane_start_command}"
    )
    assert panes[3].split(" ", 1)[1] == '"sleep 2000"'

    again = int(panes[0].split()[0])
    eventually(lambda: job_argv(again) == job, what="the job runs again")


def test_freeze_refuses_to_overwrite_and_picks_a_session(
    tmux_server: Server, tmp_path: Path
) -> None:
    build_file(tmux_server, EXAMPLES / "minimal.yaml")
    out = tmp_path / "frozen.json"
    out.write_text("mine")
    refused = cli(tmux_server, "freeze", "-L", tmux_server.name, "-o", str(out))
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert out.read_text() == "mine"
    done = cli(tmux_server, "freeze", "-L", tmux_server.name, "-o", str(out), "--force")
    assert done.returncode == 0, done.stderr
    assert yaml.safe_load(out.read_text())["session_name"] == "My tmux session"  # JSON is YAML
    assert out.read_text().startswith("{")
    printed = cli(tmux_server, "freeze", "-L", tmux_server.name, "-o", "-", "--format", "json")
    assert printed.stdout.startswith("{") and '"My tmux session"' in printed.stdout
    missing = cli(tmux_server, "freeze", "-L", tmux_server.name, "nope", "-o", "-")
    assert missing.returncode == 2 and "no session 'nope'" in missing.stderr


def test_freeze_saves_to_the_layouts_folder_by_default(tmux_server: Server, tmp_path: Path) -> None:
    """Without -o: SESSION.yaml in tmuxorch's layouts folder, which ``layout NAME`` and
    ``ls`` know; the session run from inside tmux is the current one."""
    build_file(tmux_server, EXAMPLES / "minimal.yaml")
    build_file(tmux_server, EXAMPLES / "3-pane.yaml")
    config = tmp_path / "config"
    env = tmux_env(XDG_CONFIG_HOME=str(config))
    pane = tmux_server.client.cmd("list-panes", "-t", "=My tmux session:", "-F", "#{pane_id}")[0]
    (socket,) = tmux_server.client.cmd("display-message", "-p", "#{socket_path}")
    env.update(TMUX=f"{socket},1,0", TMUX_PANE=pane)
    done = subprocess.run(
        tmuxorch_argv("freeze", "-L", tmux_server.name),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    saved = config / "tmuxorch" / "layouts" / "My tmux session.yaml"
    assert yaml.safe_load(saved.read_text())["session_name"] == "My tmux session"


def test_freeze_from_inside_the_pane_leaves_itself_out(tmux_server: Server, tmp_path: Path) -> None:
    """Run in a pane of the session, freeze does not record itself as that pane's job."""
    build_file(tmux_server, EXAMPLES / "minimal.yaml")
    pane = tmux_server.client.cmd("list-panes", "-t", "=My tmux session:", "-F", "#{pane_id}")[0]
    out = tmp_path / "inside.yaml"
    argv = " ".join(tmuxorch_argv("freeze", "-o", str(out)))
    tmux_server.client.run(
        [
            ("send-keys", "-t", pane, "-l", f"{argv} && echo FROZE-OK"),
            ("send-keys", "-t", pane, "Enter"),
        ]
    )
    wait_for_text(tmux_server, pane, "\nFROZE-OK")
    doc = yaml.safe_load(out.read_text())
    assert doc["windows"][0]["panes"] == ["pane"]
