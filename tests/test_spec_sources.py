"""Where layout files are found (project folders, named layouts) and how their text is
read: JSON as JSON, YAML's tabs said plainly. Pure: no tmux."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.source import load_nodes
from tmuxorch.spec.workspace import load_workspace
from tmuxorch.spec.workspace_dirs import find_layout, find_named, workspace_dirs

if TYPE_CHECKING:
    from pathlib import Path


def problems(path: Path, text: str) -> list[str]:
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_nodes(str(path))
    return [str(p).replace(str(path.parent) + "/", "") for p in info.value.problems]


# -- named layouts -------------------------------------------------------------------------
def test_workspace_dirs_are_tmuxorchs_then_tmuxps() -> None:
    assert workspace_dirs({"HOME": "/h"}) == [
        "/h/.config/tmuxorch/layouts",
        "/h/.config/tmuxp",
        "/h/.tmuxp",
    ]
    env = {"HOME": "/h", "XDG_CONFIG_HOME": "/x", "TMUXP_CONFIGDIR": "~/tp"}
    assert workspace_dirs(env) == ["/x/tmuxorch/layouts", "/h/tp", "/x/tmuxp", "/h/.tmuxp"]
    same = {"HOME": "/h", "TMUXP_CONFIGDIR": "/h/.tmuxp/"}
    assert workspace_dirs(same) == ["/h/.config/tmuxorch/layouts", "/h/.tmuxp", "/h/.config/tmuxp"]


def test_find_named_looks_in_each_folder_in_order(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "TMUXP_CONFIGDIR": str(tmp_path / "tp")}
    legacy = tmp_path / ".tmuxp"
    legacy.mkdir()
    (legacy / "web.json").write_text("{}")
    (legacy / "api.yml").write_text("")
    assert find_named("web", env) == str(legacy / "web.json")
    assert find_named("web.json", env) == str(legacy / "web.json")
    assert find_named("api", env) == str(legacy / "api.yml")
    ours = tmp_path / ".config" / "tmuxorch" / "layouts"
    ours.mkdir(parents=True)
    (ours / "web.yaml").write_text("")
    assert find_named("web", env) == str(ours / "web.yaml")
    (tmp_path / "tp").mkdir()
    (tmp_path / "tp" / "api.yaml").write_text("")
    assert find_named("api", env) == str(tmp_path / "tp" / "api.yaml")
    assert find_named("nope", env) is None
    for path_like in ("./web", "sub/web", "~/web", ".", ".."):
        assert find_named(path_like, env) is None


def test_find_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"HOME": str(tmp_path / "home")}
    project = tmp_path / "project"
    project.mkdir()
    (project / "a.yaml").write_text("tasks: []\n")
    # a folder without a layout of its own is itself (a folder of task files)
    assert find_layout(str(project), env) == (str(project), [])
    (project / ".tmuxp.json").write_text("{}")
    assert find_layout(str(project), env) == (str(project / ".tmuxp.json"), [])
    (project / ".tmuxp.yaml").write_text("")
    path, warnings = find_layout(str(project), env)
    assert path == str(project / ".tmuxp.yaml")
    assert [str(w) for w in warnings] == [
        f"{project}/.tmuxp.yaml:1:1: (file): the folder also holds .tmuxp.json: using this one"
    ]
    (project / ".tmuxorch.yaml").write_text("")
    assert find_layout(str(project), env) == (str(project / ".tmuxorch.yaml"), [])
    # a file here wins over a named layout; a name that is nowhere is bad input
    named = tmp_path / "home" / ".tmuxp"
    named.mkdir(parents=True)
    (named / "project.yaml").write_text("")
    assert find_layout("project", env)[0] == "project/.tmuxorch.yaml"
    (named / "other.yaml").write_text("")
    assert find_layout("other", env)[0] == str(named / "other.yaml")
    with pytest.raises(SpecError) as info:
        find_layout("nothere", env)
    assert str(info.value) == (
        "nothere:1:1: (file): no such file, and no layout of that name\n"
        "  hint: looked for nothere{.yaml,.yml,.json} in ~/.config/tmuxorch/layouts, "
        "~/.config/tmuxp, ~/.tmuxp"
    )
    assert find_layout("sub/missing.yaml", env) == ("sub/missing.yaml", [])


# -- JSON ----------------------------------------------------------------------------------
def test_json_is_read_as_json(tmp_path: Path) -> None:
    path = tmp_path / "ws.json"
    assert problems(path, '{"session_name": "j",\n "windows": [{},]\n}') == [
        "ws.json:2:16: (json): a trailing comma before ']': JSON allows none\n"
        "  hint: remove the comma"
    ]
    assert problems(path, '{"session_name": "j", }') == [
        "ws.json:1:21: (json): a trailing comma before '}': JSON allows none\n"
        "  hint: remove the comma"
    ]
    assert problems(path, "session_name: j\n") == ["ws.json:1:1: (json): Expecting value"]
    assert problems(path, '{"a": 1 // no comments\n}') == [
        "ws.json:1:9: (json): Expecting ',' delimiter"
    ]
    # the same text in a .yaml file is YAML, which allows a trailing comma
    assert load_nodes(str(tmp_path / "ws.yaml"), '{"windows": [{},]}') is not None


def test_json_values_keep_their_meaning_and_position(tmp_path: Path) -> None:
    path = tmp_path / "ws.json"
    data = {
        "session_name": "caf\u00e9 \U0001f600",
        "windows": [{"window_name": "w\\;", "panes": ["echo \t1"]}],
    }
    path.write_text("\ufeff" + json.dumps(data, indent="\t"))  # tabs, escapes, a BOM
    ws = load_workspace(str(path), env={"HOME": "/h"}).workspace
    assert ws.session_name == data["session_name"]
    assert ws.windows[0].name == "w\\;"
    assert ws.windows[0].panes[0].commands[0].text == "echo \t1"
    path.write_text('{\n\t"session_name": "j",\n\t"windows": [{"window_index": 1.5e1}]\n}')
    with pytest.raises(SpecError) as info:
        load_workspace(str(path))
    assert str(info.value) == (
        f"{path}:3:31: windows[0].window_index: expected a whole number, got a number (1.5e1)"
    )


# -- tabs in YAML --------------------------------------------------------------------------
def test_a_tab_in_yaml_indentation_is_named(tmp_path: Path) -> None:
    path = tmp_path / "ws.yaml"
    said = (
        "(yaml): a tab in the indentation: YAML indents with spaces only, never tabs\n"
        "  hint: replace the tab(s) at the start of line {line} with spaces"
    )
    assert problems(path, "session_name: s\nwindows:\n\t- panes: [a]\n") == [
        "ws.yaml:3:1: " + said.format(line=3)
    ]
    assert problems(path, "session_name: s\nwindows:\n  - window_name: a\n  \t  panes: []\n") == [
        "ws.yaml:4:3: " + said.format(line=4)
    ]
    assert problems(path, "a: |\n\techo\n") == ["ws.yaml:2:1: " + said.format(line=2)]
    assert problems(path, "windows:\n  -\tpanes: []\n") == [
        "ws.yaml:2:4: (yaml): a tab where YAML allows only spaces\n  hint: use spaces here"
    ]
    # tabs YAML allows stay allowed
    assert load_nodes(str(path), "a:\tb  # x\t\nc: 'd\te'\n") is not None


def test_hints_name_what_they_list(tmp_path: Path) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text("session_name: s\nwindows: [{layout: zzz}]\ntasks: [{id: a, agent: zzz}]\n")
    with pytest.raises(SpecError) as info:
        load_workspace(str(path))
    hints = [p.hint or "" for p in info.value.problems]
    assert hints[0].startswith("known layouts: even-horizontal, ")
    assert hints[1].startswith("known agents: ")
