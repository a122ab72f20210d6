"""Every tmuxp example workspace builds unchanged, and comes out as tmuxp's tests expect.

What tmux built is read back with libtmux (not with our own client), and what the shells
did is read from the screen.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.conftest import (
    EXAMPLES,
    Server,
    build_file,
    eventually,
    printed_lines,
    screen,
    wait_for_output,
    wait_for_text,
)

if TYPE_CHECKING:
    from pathlib import Path

    import libtmux

HOME = os.path.realpath(os.path.expanduser("~"))


def session(server: Server, name: str) -> libtmux.Session:
    found = server.libtmux.sessions.get(session_name=name)
    assert found is not None
    return found


def geometry(window: libtmux.Window) -> list[tuple[int, int, int, int]]:
    """(left, top, width, height) of each pane, in pane order."""
    return [
        (
            int(p.pane_left or 0),
            int(p.pane_top or 0),
            int(p.pane_width or 0),
            int(p.pane_height or 0),
        )
        for p in window.panes
    ]


def current_path(server: Server, pane: libtmux.Pane, path: str) -> None:
    """Wait until the pane's shell is in ``path`` (it may still be running its ``cd``)."""

    def check() -> bool:
        out = server.client.cmd(
            "display-message", "-p", "-t", str(pane.pane_id), "#{pane_current_path}"
        )
        return out == [os.path.realpath(path)]

    eventually(check, what=f"{pane.pane_id} in {path}")


def example(name: str) -> Path:
    return EXAMPLES / name


def env_for(tmp_path: Path, name: str) -> dict[str, str]:
    """What a few examples need from the environment they are loaded in."""
    env = dict(os.environ)
    if name == "env-variables.yaml":
        (tmp_path / "work" / "test").mkdir(parents=True)
        scripts = tmp_path / "scripts"
        scripts.mkdir()
        script = scripts / "test3.sh"
        script.write_text("#!/bin/sh\npwd > before-script-ran\n")
        script.chmod(0o755)
        env.update(PWD=str(tmp_path / "work"), MY_ENV_VAR=str(scripts), USER="tester")
    if name == "options.yaml":
        env["MAIN_PANE_HEIGHT"] = "8"
    return env


ALL = sorted(p.name for p in EXAMPLES.glob("*.yaml"))


@pytest.mark.parametrize("name", ALL)
def test_example_builds(tmux_server: Server, tmp_path: Path, name: str) -> None:
    ws, built = build_file(tmux_server, example(name), env_for(tmp_path, name))
    s = session(tmux_server, ws.session_name)
    windows = sorted(s.windows, key=lambda w: int(str(w.window_id).lstrip("@")))  # creation order
    assert len(windows) == len(ws.windows)
    assert [len(w.panes) for w in windows] == [len(w.panes) for w in ws.windows]
    for spec, window in zip(ws.windows, windows, strict=True):
        if spec.name is not None and name != "env-variables.yaml":  # automatic-rename is on
            assert window.window_name == spec.name
        assert window.window_width == "220"
    assert len(built.panes) == ws.pane_count
    assert not built.not_ready


def test_there_are_examples() -> None:
    assert len(ALL) == 23


def test_2_pane_synchronized(tmux_server: Server) -> None:
    ws, built = build_file(tmux_server, example("2-pane-synchronized.yaml"))
    w = session(tmux_server, ws.session_name).windows[0]
    assert w.show_option("synchronize-panes") is True
    # options_after comes after the typing: each pane got only its own command
    first, second = built.panes.values()
    assert "ssh server1" in wait_for_text(tmux_server, first, "ssh server1")
    assert "ssh server2" not in screen(tmux_server, first)
    assert "ssh server1" not in wait_for_text(tmux_server, second, "ssh server2")


def test_2_pane_vertical(tmux_server: Server) -> None:
    ws, built = build_file(tmux_server, example("2-pane-vertical.yaml"))
    (top, bottom) = geometry(session(tmux_server, ws.session_name).windows[0])
    assert top[0] == bottom[0] == 0 and top[1] < bottom[1]
    for pane in built.panes.values():
        wait_for_output(tmux_server, pane, "hello")


def test_3_pane_main_vertical_and_paths(tmux_server: Server) -> None:
    ws, _ = build_file(tmux_server, example("3-pane.yaml"))
    w = session(tmux_server, ws.session_name).windows[0]
    main, right_top, right_bottom = geometry(w)
    assert main[:2] == (0, 0) and main[3] == int(w.window_height or 0)
    assert right_top[0] == right_bottom[0] > main[2]
    assert right_top[1] < right_bottom[1]
    paths = ["/var/log", HOME, HOME]
    for pane, path in zip(w.panes, paths, strict=True):
        current_path(tmux_server, pane, path)


def test_4_pane_tiled(tmux_server: Server) -> None:
    ws, _ = build_file(tmux_server, example("4-pane.yaml"))
    g = geometry(session(tmux_server, ws.session_name).windows[0])
    assert len({left for left, _, _, _ in g}) == 2
    assert len({top for _, top, _, _ in g}) == 2
    assert max(w for _, _, w, _ in g) - min(w for _, _, w, _ in g) <= 1
    assert max(h for _, _, _, h in g) - min(h for _, _, _, h in g) <= 1


def test_blank_panes(tmux_server: Server) -> None:
    ws, _ = build_file(tmux_server, example("blank-panes.yaml"))
    s = session(tmux_server, ws.session_name)
    assert [len(w.panes) for w in s.windows] == [3, 3, 3, 2]
    assert all(not p.commands for p in ws.windows[0].panes + ws.windows[1].panes)
    options_window = s.windows[3]
    current_path(tmux_server, options_window.panes[1], "/tmp")
    assert options_window.panes[0].pane_active == "1"


def test_env_variables(tmux_server: Server, tmp_path: Path) -> None:
    env = env_for(tmp_path, "env-variables.yaml")
    ws, built = build_file(tmux_server, example("env-variables.yaml"), env)
    assert ws.session_name == f"session - tester ({tmp_path}/scripts)"
    s = session(tmux_server, ws.session_name)
    # before_script ran, from the session's start directory, before the session existed
    assert (tmp_path / "work" / "test" / "before-script-ran").read_text().strip() == str(
        tmp_path / "work" / "test"
    )
    editor, logging = s.windows
    current_path(tmux_server, editor.panes[0], "/var/log")
    assert logging.show_option("automatic-rename") is True
    # $PWD in a command was expanded when the file was read, as tmuxp does
    wait_for_text(
        tmux_server,
        built.panes[next(r for r in built.panes if r.window == 1)],
        f"ls {tmp_path}/work",
    )


def test_focus_window_and_panes(tmux_server: Server) -> None:
    ws, _ = build_file(tmux_server, example("focus-window-and-panes.yaml"))
    s = session(tmux_server, ws.session_name)
    assert s.active_window.window_name == "attached window"
    first, second = s.windows
    assert [p.pane_active for p in first.panes] == ["1", "0"]
    assert [p.pane_active for p in second.panes] == ["0", "1", "0"]


@pytest.mark.parametrize(
    ("name", "height"),
    # 67% of the 49 rows the two panes share after the border between them, rounded down
    [("main-pane-height.yaml", 30), ("main-pane-height-percentage.yaml", 32)],
)
def test_main_horizontal_height(tmux_server: Server, name: str, height: int) -> None:
    ws, _ = build_file(tmux_server, example(name))
    w = session(tmux_server, ws.session_name).windows[0]
    main, *others = geometry(w)
    assert main == (0, 0, 220, height)
    assert {top for _, top, _, _ in others} == {height + 1}
    current_path(tmux_server, w.panes[0], HOME)


def test_options(tmux_server: Server, tmp_path: Path) -> None:
    ws, _ = build_file(tmux_server, example("options.yaml"), env_for(tmp_path, "options.yaml"))
    s = session(tmux_server, ws.session_name)
    w = s.windows[0]
    assert w.show_option("main-pane-height") == 8  # a session option, inherited by the window
    assert w.show_option("automatic-rename") is True
    assert s.show_option("default-shell", global_=True) == "/bin/sh"
    assert s.show_option("default-command", global_=True) == "/bin/sh"
    assert geometry(w)[0] == (0, 0, 220, 8)


def test_pane_shell(tmux_server: Server) -> None:
    ws, built = build_file(tmux_server, example("pane-shell.yaml"))
    w = session(tmux_server, ws.session_name).windows[0]
    assert w.show_option("remain-on-exit") is True
    starts = tmux_server.client.cmd(
        "list-panes", "-t", str(w.window_id), "-F", "#{pane_start_command}"
    )
    assert [s.strip('"') for s in starts] == [
        "/usr/bin/python3",
        "/usr/bin/vim -u none",
        "/usr/bin/python2",
        "/usr/bin/top",
    ]
    g = geometry(w)
    assert {left for left, _, _, _ in g} == {0} and {width for _, _, width, _ in g} == {220}
    python3 = built.panes[next(iter(built.panes))]
    wait_for_text(tmux_server, python3, "This is python 3")


def test_session_environment(tmux_server: Server) -> None:
    ws, built = build_file(tmux_server, example("session-environment.yaml"))
    s = session(tmux_server, ws.session_name)
    assert s.getenv("EDITOR") == "/usr/bin/vim"
    expected = [
        "[8009:my_app.settings.local]",
        "[8010:my_app.settings.local]",
        "[8011:my_app.settings.local-testing]",
    ]
    for pane, text in zip(built.panes.values(), expected, strict=True):
        tmux_server.client.run(
            [
                ("send-keys", "-t", pane, "-l", 'echo "[$SERVER_PORT:$DJANGO_SETTINGS_MODULE]"'),
                ("send-keys", "-t", pane, "Enter"),
            ]
        )
        wait_for_output(tmux_server, pane, text)


def test_shorthands(tmux_server: Server) -> None:
    _, built = build_file(tmux_server, example("shorthands.yaml"))
    one, two, three = built.panes.values()
    wait_for_output(tmux_server, one, "did you know")
    wait_for_output(tmux_server, one, "you can inline")
    wait_for_output(tmux_server, two, "single commands")
    wait_for_output(tmux_server, three, "for panes")


def test_skip_send_pane_level(tmux_server: Server) -> None:
    _, built = build_file(tmux_server, example("skip-send-pane-level.yaml"))
    one, two = built.panes.values()
    wait_for_text(tmux_server, one, 'echo "___$((1 + 3))___"')
    wait_for_text(tmux_server, two, 'echo "___$((1 + 3))___"; echo "___$((1 + 3))___"')
    for pane in (one, two):
        assert "___4___" not in screen(tmux_server, pane)


def test_skip_send(tmux_server: Server) -> None:
    _, built = build_file(tmux_server, example("skip-send.yaml"))
    (pane,) = built.panes.values()
    # the second command is typed (no Enter) while the first runs: output lands after it
    text = wait_for_text(tmux_server, pane, "___12___")
    assert 'echo "___$((1 + 3))___"' in text and "___4___" not in text


@pytest.mark.parametrize("name", ["sleep.yaml", "sleep-pane-level.yaml"])
def test_sleeps_keep_order(tmux_server: Server, name: str) -> None:
    _, built = build_file(tmux_server, example(name))
    (pane,) = built.panes.values()
    text = wait_for_output(tmux_server, pane, "2 seconds later")
    outputs = [ln for ln in printed_lines(text) if ln not in ("", "#") and " echo" not in ln]
    assert outputs == ["___12___", "___4___", "___4___", "Stuff rendering here!", "2 seconds later"]


def test_start_directory(tmux_server: Server) -> None:
    ws, _ = build_file(tmux_server, example("start-directory.yaml"))
    s = session(tmux_server, ws.session_name)
    # the last window's "./" is relative to the session's /var/, as in tmuxp
    expected = ["/var", "/var/log", HOME, "/bin", "/var"]
    for window, path in zip(s.windows, expected, strict=True):
        for pane in window.panes:
            current_path(tmux_server, pane, path)


def test_suppress_history(tmux_server: Server) -> None:
    _, built = build_file(tmux_server, example("suppress-history.yaml"))
    typed = {
        "window in the history!": False,
        "window not in the history!": True,
        "session in the history!": False,
        "command in the history!": False,
        "command not in the history!": True,
    }
    for pane in built.panes.values():
        text = wait_for_text(tmux_server, pane, "history!")
        line = next(ln for ln in text.splitlines() if "echo" in ln)
        said = line.split('"')[1]
        prefix = line.split("echo")[0]
        assert prefix.endswith("  " if typed[said] else "# "), line


def test_window_index(tmux_server: Server) -> None:
    ws, _ = build_file(tmux_server, example("window-index.yaml"))
    s = session(tmux_server, ws.session_name)
    assert {w.window_name: w.window_index for w in s.windows} == {
        "zero": "0",
        "one": "1",
        "five": "5",
    }
