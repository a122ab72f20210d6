"""Building sessions: rollback, before_script, append, readiness, focus, geometry."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, build_file, screen, wait_for_output, wait_for_text
from tmuxorch.tmux.build import BuildError, SessionExists

if TYPE_CHECKING:
    from pathlib import Path


def write(tmp_path: Path, text: str, name: str = "ws.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def windows(server: Server, session: str) -> list[str]:
    return server.client.cmd("list-windows", "-t", f"={session}", "-F", "#{window_name}")


def make_session(server: Server, name: str) -> None:
    server.client.run(
        [
            ("new-session", "-d", "-s", name, "-x", "220", "-y", "50", "-n", "mine"),
            ("new-window", "-t", f"={name}:", "-n", "also-mine"),
        ]
    )


def test_failure_midway_removes_the_new_session(tmux_server: Server, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        session_name: broken
        windows:
          - panes: [echo a, echo b]
          - options: {synchronize-panes: maybe}
            panes: [echo c]
        """,
    )
    with pytest.raises(BuildError) as info:
        build_file(tmux_server, path)
    assert "tmux set-option -t =broken: synchronize-panes maybe: bad value" in str(info.value)
    assert tmux_server.sessions() == []


def test_failure_when_appending_keeps_the_existing_session(
    tmux_server: Server, tmp_path: Path
) -> None:
    make_session(tmux_server, "work")
    path = write(
        tmp_path,
        """
        session_name: work
        windows:
          - window_name: added
            panes: [echo a]
          - options: {synchronize-panes: maybe}
        """,
    )
    with pytest.raises(BuildError):
        build_file(tmux_server, path, append=True)
    assert windows(tmux_server, "work") == ["mine", "also-mine"]


def test_existing_session_is_not_touched(tmux_server: Server, tmp_path: Path) -> None:
    make_session(tmux_server, "work")
    path = write(tmp_path, "session_name: work\nwindows: [{window_name: x, panes: [a]}]\n")
    with pytest.raises(SessionExists) as info:
        build_file(tmux_server, path)
    assert "already exists" in str(info.value) and "--append" in str(info.value)
    assert f"tmux -L {tmux_server.name} -f /dev/null attach -t =work" in str(info.value)
    assert windows(tmux_server, "work") == ["mine", "also-mine"]


def test_append_adds_windows_and_environment(tmux_server: Server, tmp_path: Path) -> None:
    make_session(tmux_server, "work")
    path = write(
        tmp_path,
        """
        session_name: work
        environment: {ADDED: yes}
        windows:
          - window_name: new-one
            panes: ['echo "[$ADDED]"', b]
        """,
    )
    _, built = build_file(tmux_server, path, append=True)
    assert windows(tmux_server, "work") == ["mine", "also-mine", "new-one"]
    wait_for_output(tmux_server, next(iter(built.panes.values())), "[yes]")


def test_failing_before_script_creates_nothing(tmux_server: Server, tmp_path: Path) -> None:
    script = tmp_path / "setup.sh"
    script.write_text("#!/bin/sh\necho setting up\nexit 3\n")
    script.chmod(0o755)
    path = write(tmp_path, "session_name: s\nbefore_script: ./setup.sh\nwindows: [{}]\n")
    with pytest.raises(BuildError) as info:
        build_file(tmux_server, path)
    assert "failed with exit status 3" in str(info.value)
    assert tmux_server.sessions() == []
    make_session(tmux_server, "s")
    with pytest.raises(BuildError):
        build_file(tmux_server, path, append=True)
    assert windows(tmux_server, "s") == ["mine", "also-mine"]


def test_before_script_runs_in_the_start_directory(tmux_server: Server, tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    script = tmp_path / "setup.sh"
    script.write_text('#!/bin/sh\npwd > ran-in\necho "$1" > arg\n')
    script.chmod(0o755)
    path = write(
        tmp_path,
        "session_name: s\nstart_directory: proj\nbefore_script: ./setup.sh 'an arg'\nwindows: [{}]\n",
    )
    build_file(tmux_server, path)
    assert (tmp_path / "proj" / "ran-in").read_text().strip() == str(tmp_path / "proj")
    assert (tmp_path / "proj" / "arg").read_text().strip() == "an arg"


def test_commands_wait_for_the_prompt(tmux_server: Server, tmp_path: Path) -> None:
    """A shell slow to start: what we type comes after its prompt, not before it."""
    slow = tmp_path / "slow-sh"
    slow.write_text('#!/bin/sh\nsleep 0.5\nexec /bin/sh "$@"\n')
    slow.chmod(0o755)
    path = write(
        tmp_path,
        f"""
        session_name: slow
        global_options: {{default-shell: {slow}}}
        windows:
          - panes: [echo ready-test]
        """,
    )
    _, built = build_file(tmux_server, path)
    assert built.not_ready == ()
    text = wait_for_output(tmux_server, next(iter(built.panes.values())), "ready-test")
    assert text.splitlines()[0] in ("#  echo ready-test", "$  echo ready-test")


def test_a_shell_without_prompt_gets_its_commands_anyway(
    tmux_server: Server, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        """
        session_name: quiet
        windows:
          - panes: [{shell: "env PS1= /bin/sh", shell_command: [echo x]}, echo y]
          - window_shell: "env PS1= /bin/sh"
            panes: [echo typed-anyway]
        """,
    )
    # custom shells are not waited for (as tmuxp): only the default shell is
    _, built = build_file(tmux_server, path)
    assert built.not_ready == ()
    wait_for_output(tmux_server, list(built.panes.values())[2], "typed-anyway")


def test_default_focus_is_first_window_and_pane(tmux_server: Server, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "session_name: f\nwindows: [{window_name: a, panes: [x, y]}, {window_name: b, panes: [z, w]}]\n",
    )
    build_file(tmux_server, path)
    rows = tmux_server.client.cmd(
        "list-panes",
        "-s",
        "-t",
        "=f",
        "-F",
        "#{window_name}#{window_active}#{pane_index}#{pane_active}",
    )
    # window name, window active, pane index, pane active
    assert rows == ["a101", "a110", "b001", "b010"]


def test_first_window_at_the_index_it_would_get_anyway(tmux_server: Server, tmp_path: Path) -> None:
    """``window_index: 0`` on the first window (what ``freeze`` writes when the indexes are
    not 0, 1, 2...): tmux refused to move the window onto its own index."""
    path = write(
        tmp_path,
        """\
        session_name: i
        windows:
          - {window_name: zero, window_index: 0}
          - {window_name: five, window_index: 5}
        """,
    )
    build_file(tmux_server, path)
    rows = tmux_server.client.cmd("list-windows", "-t", "=i", "-F", "#{window_index}#{window_name}")
    assert rows == ["0zero", "5five"]


def test_panes_without_layout_share_the_window_evenly(tmux_server: Server, tmp_path: Path) -> None:
    path = write(tmp_path, "session_name: e\nwindows: [{panes: [a, b, c, d]}]\n")
    build_file(tmux_server, path)
    heights = [
        int(h) for h in tmux_server.client.cmd("list-panes", "-t", "=e:", "-F", "#{pane_height}")
    ]
    assert len(heights) == 4 and max(heights) - min(heights) <= 1


@pytest.mark.parametrize(
    ("layout", "count"), [("tiled", 30), ("even-horizontal", 30), ("main-vertical", 20), (None, 30)]
)
def test_many_panes_in_one_window(
    tmux_server: Server, tmp_path: Path, layout: str | None, count: int
) -> None:
    panes = ", ".join(f"echo p{i}" for i in range(count))
    option = f"layout: {layout}, " if layout else ""
    path = write(tmp_path, f"session_name: many\nwindows: [{{{option}panes: [{panes}]}}]\n")
    _, built = build_file(tmux_server, path)
    assert len(built.panes) == count
    assert len(tmux_server.client.cmd("list-panes", "-t", "=many:")) == count
    last = built.panes[max(built.panes, key=lambda r: r.pane)]
    wait_for_output(tmux_server, last, f"p{count - 1}")


def test_pane_titles(tmux_server: Server, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        session_name: t
        enable_pane_titles: true
        windows:
          - panes: [{title: editor, shell_command: [echo a]}, {title: runner}]
        """,
    )
    build_file(tmux_server, path)
    rows = tmux_server.client.cmd("list-panes", "-t", "=t:", "-F", "#{pane_title}")
    assert rows == ["editor", "runner"]
    status = tmux_server.client.cmd("show-options", "-wv", "-t", "=t:", "pane-border-status")
    assert status == ["top"]


def test_typing_is_byte_exact(tmux_server: Server, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        r"""
        session_name: exact
        suppress_history: false
        windows:
          - panes:
              - shell_command:
                  - "printf '%s|' -n --help Enter C-c 'a;b' ';' '$NOT_SET_HERE' '\\'; echo"
        """,
    )
    _, built = build_file(tmux_server, path)
    pane = next(iter(built.panes.values()))
    wait_for_output(tmux_server, pane, "-n|--help|Enter|C-c|a;b|;|$NOT_SET_HERE|\\|")
    assert "printf" in screen(tmux_server, pane)


def test_one_enter_for_an_empty_command(tmux_server: Server, tmp_path: Path) -> None:
    path = write(tmp_path, 'session_name: enter\nwindows: [{panes: [""]}]\n')
    _, built = build_file(tmux_server, path)
    text = wait_for_text(tmux_server, next(iter(built.panes.values())), "\n")
    assert [line.strip() for line in text.splitlines()] in (["#", "#"], ["$", "$"])
