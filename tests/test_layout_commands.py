"""The daily commands around layout files: ``ls``, ``edit``, ``convert``, shell completion,
and ``freeze`` of a run's session. Real processes, a private HOME and XDG_CONFIG_HOME."""

from __future__ import annotations

import json
import subprocess
import textwrap
from dataclasses import replace
from typing import TYPE_CHECKING

import yaml

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

PROJECT = """\
session_name: proj
windows:
  - window_name: editor   # a comment
    layout: main-vertical
    panes:
      - echo one
      - shell_command: [echo two, echo three]
        start_directory: /tmp
"""


def home_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return tmux_env(HOME=str(home), XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)


def cli(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tmuxorch_argv(*args),
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        timeout=60,
    )


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def layouts(tmp_path: Path) -> dict[str, Path]:
    """A project directory with its own layout, and named layouts in tmuxorch's folder,
    tmuxp's XDG folder (one of the same name: hidden) and ~/.tmuxp."""
    config = tmp_path / "config"
    return {
        "local": put(tmp_path / "proj" / ".tmuxp.yaml", PROJECT),
        "work": put(config / "tmuxorch" / "layouts" / "work.yaml", "session_name: w\n"),
        "shadowed": put(config / "tmuxp" / "work.yml", "session_name: other\n"),
        "old": put(tmp_path / "home" / ".tmuxp" / "old.json", '{"session_name": "o"}'),
        "broken": put(config / "tmuxp" / "broken.yaml", "session_name: [\n"),
    }


def test_ls_lists_layouts_and_the_runs_on_the_server(tmux_server: Server, tmp_path: Path) -> None:
    files = layouts(tmp_path)
    env = home_env(tmp_path)
    cwd = tmp_path / "proj"
    built = cli(env, "layout", "-d", "-L", tmux_server.name, str(files["local"]), cwd=cwd)
    assert built.returncode == 0, built.stderr
    tasks = put(
        tmp_path / "run" / "tasks.yaml",
        """\
        session_name: a-run
        windows: [{window_name: mine}]
        tasks:
          - {id: wait, command: sleep 600}
        """,
    )
    started = cli(env, "layout", "-d", "-L", tmux_server.name, str(tasks))
    assert started.returncode == 0, started.stderr

    def listed() -> str | None:
        out = cli(env, "ls", "-L", tmux_server.name, cwd=cwd)
        assert out.returncode == 0, out.stderr
        return out.stdout if "a-run" in out.stdout else None

    text = eventually(listed, what="the run listed")
    lines = text.splitlines()
    assert lines[0] == f"Layouts here ({cwd}):"
    assert lines[1].split() == [".tmuxp.yaml", "session", "'proj'", "(running)"]
    assert f"Layouts in {tmp_path}/config/tmuxorch/layouts:" in lines
    assert "Layouts in ~/.tmuxp:" in lines
    work = next(ln for ln in lines if ln.split()[:1] == ["work"])
    assert work.split() == ["work", "session", "'w'"]
    assert any("'other'" in ln and "hidden by" in ln for ln in lines)
    assert any(ln.split()[:2] == ["old", "session"] for ln in lines)
    assert any(ln.split()[:2] == ["broken", "(does"] for ln in lines)
    assert lines[-2] == "Runs on this server:"
    assert lines[-1].split() == ["a-run", str(tasks)]

    as_json = json.loads(cli(env, "ls", "--json", "-L", tmux_server.name, cwd=cwd).stdout)
    names = [(lay["name"], lay["session"], lay["running"]) for lay in as_json["layouts"]]
    assert names == [
        (".tmuxp.yaml", "proj", True),
        ("work", "w", False),
        ("broken", None, False),
        ("work", "other", False),
        ("old", "o", False),
    ]
    assert as_json["runs"] == [{"session": "a-run", "file": str(tasks)}]

    # freezing the run's session keeps the person's windows, not the run's own
    frozen = tmp_path / "frozen.yaml"
    out = cli(env, "freeze", "-L", tmux_server.name, "a-run", "-o", str(frozen))
    assert out.returncode == 0, out.stderr
    assert f"is the run of {tasks}" in out.stderr
    doc = yaml.safe_load(frozen.read_text())
    assert [w.get("window_name") for w in doc["windows"]] == ["mine"]


def test_ls_with_nothing_anywhere(idle_server: Server, tmp_path: Path) -> None:
    env = home_env(tmp_path)
    out = cli(env, "ls", "-L", idle_server.name, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        f"Layouts here ({tmp_path}): none",
        "",
        "Runs on this server: none",
    ]


def recording_editor(tmp_path: Path) -> tuple[Path, Path]:
    """A program that writes the arguments it got, one a line, to a file."""
    log = tmp_path / "editor-argv"
    script = tmp_path / "bin" / "my editor"
    put(script, f'#!/bin/sh\nfor a in "$0" "$@"; do printf "%s\\n" "$a"; done > "{log}"\n')
    script.chmod(0o755)
    return script, log


def test_edit_opens_the_layout_in_the_editor(tmp_path: Path) -> None:
    files = layouts(tmp_path)
    script, log = recording_editor(tmp_path)
    # EDITOR is split as words (never run by a shell: the ; is an argument)
    editor = f"'{script}' --wait ;"
    env = home_env(tmp_path, EDITOR=editor)
    env.pop("VISUAL", None)
    assert cli(env, "edit", "work").returncode == 0
    assert log.read_text().splitlines() == [str(script), "--wait", ";", str(files["work"])]
    # VISUAL first; no argument: the project's own file
    env["VISUAL"] = f"'{script}'"
    assert cli(env, "edit", cwd=tmp_path / "proj").returncode == 0
    assert log.read_text().splitlines() == [str(script), str(files["local"])]
    assert cli(env, "edit", "old").returncode == 0
    assert log.read_text().splitlines()[1] == str(files["old"])
    missing = cli(env, "edit", "nope")
    assert missing.returncode == 2 and "no layout 'nope'" in missing.stderr
    env["VISUAL"] = str(tmp_path / "no-such-editor")
    failed = cli(env, "edit", "work")
    assert failed.returncode == 1 and "cannot run the editor" in failed.stderr


def test_convert_yaml_to_json_and_back(tmp_path: Path) -> None:
    files = layouts(tmp_path)
    env = home_env(tmp_path)
    proj = tmp_path / "proj"
    done = cli(env, "convert", ".tmuxp.yaml", cwd=proj)
    assert done.returncode == 0, done.stderr
    converted = proj / ".tmuxp.json"
    assert json.loads(converted.read_text()) == yaml.safe_load(PROJECT)
    read = [load_workspace(str(p)).workspace for p in (files["local"], converted)]
    assert replace(read[0], file="") == replace(read[1], file="")
    # the JSON file exists now: converting again is refused without --yes
    converted.write_text('{"session_name": "changed", "windows": [{"panes": ["echo x"]}]}')
    refused = cli(env, "convert", str(files["local"]))
    assert refused.returncode == 2 and "--yes" in refused.stderr
    assert "changed" in converted.read_text()
    # and back: JSON to YAML, refused over the YAML file, then allowed with -y
    back = cli(env, "convert", str(converted))
    assert back.returncode == 2 and str(files["local"]) in back.stderr
    assert cli(env, "convert", str(converted), "-y").returncode == 0
    assert yaml.safe_load(files["local"].read_text()) == {
        "session_name": "changed",
        "windows": [{"panes": ["echo x"]}],
    }
    # a name, as ls lists it
    assert cli(env, "convert", "work").returncode == 0
    assert json.loads((tmp_path / "config/tmuxorch/layouts/work.json").read_text()) == {
        "session_name": "w"
    }
    bad = cli(env, "convert", str(files["broken"]))
    assert bad.returncode == 2 and f"{files['broken']}:2:1:" in bad.stderr
    assert not (tmp_path / "config/tmuxp/broken.json").exists()


def test_completion_scripts_install_and_complete(tmp_path: Path) -> None:
    env = home_env(tmp_path)
    shown = cli(env, "--show-completion", "bash")
    assert shown.returncode == 0, shown.stderr
    assert "complete -o default -F _tmuxorch_completion tmuxorch" in shown.stdout
    assert "_TMUXORCH_COMPLETE=complete_bash" in shown.stdout
    assert "compdef _tmuxorch_completion tmuxorch" in cli(env, "--show-completion", "zsh").stdout
    refused = cli(env, "--show-completion", "sh")
    assert refused.returncode == 2 and "'sh' is not one" in refused.stderr
    installed = cli(env, "--install-completion", "bash")
    assert installed.returncode == 0, installed.stderr
    home = tmp_path / "home"
    script = home / ".bash_completions" / "tmuxorch.sh"
    assert script.read_text() == shown.stdout.rstrip("\n")
    assert f"source '{script}'" in (home / ".bashrc").read_text()
    # what the shell runs on TAB: commands and options come from the typer application
    asked = dict(env, _TMUXORCH_COMPLETE="complete_bash", COMP_WORDS="tmuxorch fre", COMP_CWORD="1")
    assert cli(asked, cwd=tmp_path).stdout.split() == ["freeze"]
    asked.update(COMP_WORDS="tmuxorch convert -", COMP_CWORD="2")
    assert {"--yes", "-y", "--help", "-h"} <= set(cli(asked).stdout.split())
