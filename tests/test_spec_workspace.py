"""The spec layer, without tmux: shorthands, inheritance, expansion, and bad input."""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING

import pytest

from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.model import Command, Pane, Window, Workspace
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

ENV = {"HOME": "/home/u", "USER": "u", "PATH": os.environ.get("PATH", "/usr/bin:/bin")}


def load(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> Workspace:
    path = tmp_path / "ws.yaml"
    path.write_text(textwrap.dedent(text))
    return load_workspace(str(path), env=env or ENV).workspace


def errors(tmp_path: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    path = tmp_path / "ws.yaml"
    path.write_text(textwrap.dedent(text))
    with pytest.raises(SpecError) as info:
        load_workspace(str(path), env=env or ENV)
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


def commands(pane: Pane) -> list[str]:
    return [c.text for c in pane.commands]


# -- shorthands ----------------------------------------------------------------------------
def test_pane_shorthands(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        windows:
          - panes:
              -
              - pane
              - blank
              - null
              - echo one
              - [echo two, echo three]
              - ""
              - shell_command:
              - shell_command: [null]
              - shell_command: [blank]
              - shell_command: echo four
              - shell_command: [echo five, {cmd: echo six, enter: false}]
        """,
    )
    panes = ws.windows[0].panes
    assert [commands(p) for p in panes] == [
        [],
        [],
        [],
        [],
        ["echo one"],
        ["echo two", "echo three"],
        [""],
        [],
        [],
        [],
        ["echo four"],
        ["echo five", "echo six"],
    ]
    assert panes[6].commands == (Command(""),)  # "" = one Enter
    assert panes[11].commands[1].enter is False


def test_window_without_panes_has_one_blank_pane(tmp_path: Path) -> None:
    ws = load(tmp_path, "session_name: s\nwindows: [{window_name: a}, {panes: []}, {panes: }]\n")
    assert [len(w.panes) for w in ws.windows] == [1, 1, 1]
    assert all(p.commands == () for w in ws.windows for p in w.panes)


# -- inheritance ---------------------------------------------------------------------------
def test_shell_command_before_and_after_order(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        shell_command_before: [s1]
        windows:
          - shell_command_before: w1
            shell_command_after: [a1]
            panes:
              - p1
              - shell_command_before: [b1]
                shell_command: [p2, p3]
          - panes: [x]
        """,
    )
    one, two = ws.windows
    assert commands(one.panes[0]) == ["s1", "w1", "p1", "a1"]
    assert commands(one.panes[1]) == ["s1", "w1", "b1", "p2", "p3", "a1"]
    assert commands(two.panes[0]) == ["s1", "x"]


def test_start_directory_inheritance(tmp_path: Path) -> None:
    for d in ("proj/src", "proj/docs", "other"):
        (tmp_path / d).mkdir(parents=True)
    ws = load(
        tmp_path,
        """
        session_name: s
        start_directory: ./proj
        windows:
          - panes: [a, {start_directory: src}, {start_directory: /tmp}]
          - start_directory: docs
            panes: [a, {start_directory: ../src}]
          - start_directory: ./
            panes: [a]
          - start_directory: "~"
            panes: [a]
        """,
        env={**ENV, "HOME": str(tmp_path / "other")},
    )
    proj = str(tmp_path / "proj")
    assert ws.start_directory == proj
    dirs = [[p.start_directory for p in w.panes] for w in ws.windows]
    assert dirs == [
        [proj, f"{proj}/src", "/tmp"],
        [f"{proj}/docs", f"{proj}/src"],
        [proj],  # ./ is relative to the parent's directory, as tmuxp does
        [str(tmp_path / "other")],
    ]


def test_no_start_directory_anywhere_means_tmuxs_default(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    ws = load(tmp_path, "session_name: s\nwindows: [{panes: [a, {start_directory: sub}]}]\n")
    assert ws.start_directory is None
    assert [p.start_directory for p in ws.windows[0].panes] == [None, str(tmp_path / "sub")]


def test_environment_inheritance(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        environment: {A: session, P: ./bin}
        windows:
          - environment: {A: window, B: window}
            panes:
              - a
              - environment: {B: pane, C: pane}
        """,
    )
    assert ws.environment == (("A", "session"), ("P", f"{tmp_path}/bin"))
    first, second = ws.windows[0].panes
    assert dict(first.environment) == {"A": "window", "B": "window"}
    assert dict(second.environment) == {"A": "window", "B": "pane", "C": "pane"}


def test_options_scopes_and_values(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        options: {main-pane-height: 30, status: off, "@mine": x}
        global_options: {default-shell: /bin/sh}
        windows:
          - options: {automatic-rename: on, main-pane-height: 10}
            options_after: {synchronize-panes: true}
          - panes: [a]
        """,
    )
    assert ws.options == (("status", "off"), ("@mine", "x"))
    assert ws.global_options == (("default-shell", "/bin/sh"),)
    one, two = ws.windows
    assert one.options == (
        ("main-pane-height", "30"),
        ("automatic-rename", "on"),
        ("main-pane-height", "10"),
    )
    assert one.options_after == (("synchronize-panes", "on"),)
    assert two.options == (("main-pane-height", "30"),)


def test_shell_and_window_shell(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        windows:
          - window_shell: top
            panes: [{shell: python3}, a]
        """,
    )
    assert [p.shell for p in ws.windows[0].panes] == ["python3", "top"]


def test_suppress_history_trickles(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        suppress_history: false
        windows:
          - panes: [a, {shell_command: b, suppress_history: true}]
          - suppress_history: true
            panes: [a]
        """,
    )
    assert [[p.suppress_history for p in w.panes] for w in ws.windows] == [[False, True], [True]]
    ws = load(tmp_path, "session_name: s\nwindows: [{panes: [a]}]\n")
    assert ws.windows[0].panes[0].suppress_history is True  # tmuxp's default


def test_pane_level_enter_and_sleep_are_defaults_per_command(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        windows:
          - panes:
              - enter: false
                sleep_before: 2
                shell_command:
                  - a
                  - {cmd: b, enter: true, sleep_before: 0}
                  - c
        """,
    )
    assert ws.windows[0].panes[0].commands == (
        Command("a", enter=False, sleep_before=2.0),
        Command("b", enter=True, sleep_before=0.0),
        Command("c", enter=False, sleep_before=2.0),
    )


def test_command_level_values_do_not_carry_over(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        windows:
          - panes:
              - shell_command: [{cmd: a, sleep_before: 2, enter: false}, b]
        """,
    )
    assert ws.windows[0].panes[0].commands == (
        Command("a", enter=False, sleep_before=2.0),
        Command("b"),
    )


def test_focus_title_index_layout(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        enable_pane_titles: true
        pane_title_position: bottom
        windows:
          - window_name: w
            window_index: 4
            focus: true
            layout: main-vertical
            panes: [a, {focus: true, title: editor}]
          - layout: 5e5f,220x50,0,0,1
            panes: [a]
        """,
    )
    w = ws.windows[0]
    assert (w.name, w.index, w.focus, w.layout) == ("w", 4, True, "main-vertical")
    assert [(p.focus, p.title) for p in w.panes] == [(False, None), (True, "editor")]
    assert ("pane-border-status", "bottom") in w.options
    assert ws.windows[1].layout == "5e5f,220x50,0,0,1"


# -- expansion -----------------------------------------------------------------------------
def test_variables_and_home_are_expanded(tmp_path: Path) -> None:
    (tmp_path / "u" / "work").mkdir(parents=True)
    ws = load(
        tmp_path,
        """
        session_name: dev-${USER}
        start_directory: ~/work
        windows:
          - window_name: $USER's
            panes:
              - echo $USER ${UNSET_VAR} ~/x
        """,
        env={**ENV, "HOME": str(tmp_path / "u")},
    )
    assert ws.session_name == "dev-u"
    assert ws.start_directory == str(tmp_path / "u" / "work")
    assert ws.windows[0].name == "u's"
    # unknown variables are left for the shell; ~ is only expanded at the start
    assert commands(ws.windows[0].panes[0]) == ["echo u ${UNSET_VAR} ~/x"]


def test_trailing_escaped_semicolon_is_typed_as_tmuxp_did(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        r"""
        session_name: s
        windows:
          - panes: ['echo a\;', 'find . -exec ls {} \\;', 'echo "x;y";']
        """,
    )
    assert [commands(p)[0] for p in ws.windows[0].panes] == [
        "echo a;",
        "find . -exec ls {} \\;",
        'echo "x;y";',
    ]


def test_scalars_keep_their_spelling(tmp_path: Path) -> None:
    ws = load(tmp_path, "session_name: 007\nwindows: [{window_name: on, panes: [yes]}]\n")
    assert ws.session_name == "007"
    assert ws.windows[0].name == "on"
    assert commands(ws.windows[0].panes[0]) == ["yes"]


def test_json_workspace(tmp_path: Path) -> None:
    path = tmp_path / "ws.json"
    path.write_text('{"session_name": "j", "windows": [{"window_name": "a", "panes": ["ls"]}]}')
    ws = load_workspace(str(path), env=ENV).workspace
    assert (ws.session_name, ws.windows[0].name) == ("j", "a")


def test_json_error_has_position(tmp_path: Path) -> None:
    path = tmp_path / "ws.json"
    path.write_text('{"session_name": "j",\n "windows": [}\n')
    with pytest.raises(SpecError) as info:
        load_workspace(str(path), env=ENV)
    assert str(info.value) == f"{path}:2:14: (json): Expecting value"


def test_yaml_anchors_and_merge_keys(tmp_path: Path) -> None:
    ws = load(
        tmp_path,
        """
        session_name: s
        windows:
          - &base
            layout: tiled
            panes: [a, b]
          - <<: *base
            window_name: copy
        """,
    )
    assert [(w.name, w.layout, len(w.panes)) for w in ws.windows] == [
        (None, "tiled", 2),
        ("copy", "tiled", 2),
    ]


def test_plugins_warn_once_and_build_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "ws.yaml"
    path.write_text("session_name: s\nplugins: [a.B, c.D]\nwindows: [{panes: [a]}]\n")
    loaded = load_workspace(str(path), env=ENV)
    assert len(loaded.warnings) == 1
    assert "ignoring 2 tmuxp plugin(s)" in str(loaded.warnings[0])
    assert len(loaded.workspace.windows) == 1


# -- bad input: one line each, file:line:col: where: what ----------------------------------
def test_unknown_key_did_you_mean(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        session_name: s
        windows:
          - panes:
              - shel: top
        """,
    ) == ["ws.yaml:5:9: windows[0].panes[0].shel: unknown key\n  hint: did you mean 'shell'?"]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    assert errors(tmp_path, "session_name: s\nwindow: []\n") == [
        "ws.yaml:2:1: window: unknown key\n  hint: did you mean 'windows'?",
        "ws.yaml:1:1: windows: required key is missing",
    ]


def test_wrong_types(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        session_name: [a]
        windows:
          - window_index: two
            focus: maybe
            panes: {a: b}
          - panes:
              - shell_command: [{cmd: a, sleep_before: -1}]
        """,
    ) == [
        "ws.yaml:2:15: session_name: expected text, got a list",
        "ws.yaml:4:19: windows[0].window_index: expected a whole number, got text ('two')",
        "ws.yaml:5:12: windows[0].focus: expected true or false, got text ('maybe')",
        "ws.yaml:6:12: windows[0].panes: expected a list, got a mapping",
        "ws.yaml:8:48: windows[1].panes[0].shell_command[0].sleep_before: must be at least 0,"
        " got -1",
    ]


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        load_workspace(str(path))
    assert str(info.value) == f"{path}:1:1: (file): no such file"


def test_malformed_yaml(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "session_name: s\nwindows:\n  - panes: [a\n")
    assert problem.startswith("ws.yaml:4:1: (yaml): ")


def test_bare_tilde_is_null_in_yaml(tmp_path: Path) -> None:
    assert errors(tmp_path, "session_name: s\nstart_directory: ~\nwindows: [{}]\n") == [
        "ws.yaml:2:18: start_directory: expected a directory, got nothing (null)\n"
        "  hint: a bare ~ is null in YAML: write '~'"
    ]


def test_missing_start_directory(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        session_name: s
        windows:
          - panes: [{start_directory: nowhere}]
        """,
    ) == ["ws.yaml:4:31: windows[0].panes[0].start_directory: nowhere does not exist"]


def test_empty_windows_and_missing_keys(tmp_path: Path) -> None:
    assert errors(tmp_path, "session_name: s\nwindows: []\n") == [
        "ws.yaml:2:10: windows: empty: a session needs at least one window"
    ]
    assert errors(tmp_path, "windows: [{panes: [a]}]\n") == [
        "ws.yaml:1:1: session_name: required key is missing"
    ]
    assert errors(tmp_path, "") == [
        "ws.yaml:1:1: (file): empty workspace: expected session_name and windows"
    ]


def test_duplicate_key_and_index(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        session_name: s
        session_name: t
        windows:
          - {window_index: 1}
          - {window_index: 1}
        """,
    ) == [
        "ws.yaml:3:1: session_name: duplicate key (first set on line 2)",
        "ws.yaml:6:5: windows[1].window_index: index 1 is already used by windows[0]",
    ]


def test_session_name_tmux_would_change(tmp_path: Path) -> None:
    (problem,) = errors(tmp_path, "session_name: my.proj\nwindows: [{}]\n")
    assert problem == (
        "ws.yaml:1:15: session_name: tmux does not allow ':' or '.' in session names: 'my.proj'"
        "\n  hint: tmux would rename it to 'my_proj': use that name, or let "
        "'tmuxorch layout --fix-name' build it as that"
    )
    path = tmp_path / "ws.yaml"
    path.write_text("session_name: a:b.c\nwindows: [{}]\n")
    loaded = load_workspace(str(path), env=ENV, fix_name=True)
    assert loaded.workspace.session_name == "a_b_c"
    assert [str(w).replace(str(tmp_path) + "/", "") for w in loaded.warnings] == [
        "ws.yaml:1:15: session_name: 'a:b.c' is built as 'a_b_c' (--fix-name)"
    ]


def test_unknown_layout_and_option_typo(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        session_name: s
        windows:
          - layout: main-vertikal
            options: {main-pane-hieght: 3}
        """,
    ) == [
        "ws.yaml:4:13: windows[0].layout: unknown layout 'main-vertikal'\n"
        "  hint: did you mean 'main-vertical'?",
        "ws.yaml:5:15: windows[0].options.main-pane-hieght: unknown tmux option\n"
        "  hint: did you mean 'main-pane-height'?",
    ]


def test_before_script_must_exist_and_be_executable(tmp_path: Path) -> None:
    script = tmp_path / "setup.sh"
    script.write_text("#!/bin/sh\n")
    assert errors(tmp_path, "session_name: s\nbefore_script: ./setup.sh\nwindows: [{}]\n") == [
        "ws.yaml:2:16: before_script: setup.sh is not executable\n  hint: chmod +x setup.sh"
    ]
    assert errors(
        tmp_path, "session_name: s\nbefore_script: no-such-tool --x\nwindows: [{}]\n"
    ) == ["ws.yaml:2:16: before_script: 'no-such-tool' not found on PATH"]
    script.chmod(0o755)
    ws = load(tmp_path, "session_name: s\nbefore_script: ./setup.sh arg\nwindows: [{}]\n")
    assert ws.before_script == f"{tmp_path}/setup.sh arg"


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    problems = errors(
        tmp_path,
        """
        session_name: s
        windows:
          - panes: [{shel: a}]
          - layot: tiled
        """,
    )
    assert [p.split(":")[1] for p in problems] == ["4", "5"]


def test_window_model_is_frozen(tmp_path: Path) -> None:
    ws = load(tmp_path, "session_name: s\nwindows: [{panes: [a]}]\n")
    with pytest.raises(AttributeError):
        ws.windows[0].name = "x"  # type: ignore[misc]
    assert isinstance(ws.windows[0], Window)
