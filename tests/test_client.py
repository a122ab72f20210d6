"""The tmux client against a real server: batching, errors, byte-exact arguments."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Server, tmux_env
from tmuxorch.tmux import proc
from tmuxorch.tmux.client import Client, TmuxError, TmuxNotFound, escape_arg, parse_version


def test_batch_returns_each_commands_output(tmux_server: Server) -> None:
    c = tmux_server.client
    out = c.run(
        [
            (
                "new-session",
                "-d",
                "-s",
                "a",
                "-x",
                "220",
                "-y",
                "50",
                "-P",
                "-F",
                "#{session_name}",
            ),
            ("set-option", "-t", "=a:", "@x", "1"),
            ("display-message", "-p", "-t", "=a:", "#{session_name}:#{@x}"),
            ("list-windows", "-t", "=a", "-F", "#{window_width}x#{window_height}"),
        ]
    )
    assert out == [["a"], [], ["a:1"], ["220x50"]]


def test_error_names_the_failed_command_and_earlier_ones_ran(tmux_server: Server) -> None:
    c = tmux_server.client
    with pytest.raises(TmuxError) as info:
        c.run(
            [
                ("new-session", "-d", "-s", "b"),
                ("display-message", "-p", "ok"),
                ("new-window", "-t", "=nosuch:"),
                ("new-session", "-d", "-s", "never"),
            ]
        )
    err = info.value
    assert err.command == ("new-window", "-t", "=nosuch:")
    assert "nosuch" in err.message
    assert err.outputs == [[], ["ok"]]
    assert str(err).startswith("tmux new-window -t =nosuch:: can't find session")
    assert tmux_server.sessions() == ["b"]


def test_parse_error_names_the_command(tmux_server: Server) -> None:
    with pytest.raises(TmuxError) as info:
        tmux_server.client.run([("display-message", "-p", "x"), ("new-window", "-Z")])
    assert info.value.command == ("new-window", "-Z")
    assert "unknown flag" in info.value.message


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), max_size=40)
)
@example("tmuxorch-separator:1")  # looks like our output separator: must not be taken for one
def test_arguments_reach_tmux_unchanged(tmux_server: Server, text: str) -> None:
    """Any argument, ``;``-terminated or ``-``-led included, arrives byte for byte."""
    c = tmux_server.client
    c.run([("set-buffer", "-b", "t", "--", text + "|")])
    assert "\n".join(c.cmd("show-buffer", "-b", "t")) == text + "|"


@pytest.mark.parametrize("text", [";", "a;", "a\\;", "\\;\\;", ";;", "-n", "--", "{", "}", "#{x}"])
def test_tricky_arguments(tmux_server: Server, text: str) -> None:
    c = tmux_server.client
    c.run([("display-message", "-p", "x"), ("set-buffer", "-b", "t", "--", text)])
    assert c.cmd("show-buffer", "-b", "t") == [text]


def test_buffer_output_commands_must_run_alone(tmux_server: Server) -> None:
    with pytest.raises(ValueError, match="on their own"):
        tmux_server.client.run([("set-buffer", "x"), ("show-buffer",)])


def test_without_a_utf8_locale(idle_server: Server) -> None:
    """Cron, CI and ssh often run with no LANG: output must still split and decode."""
    env = {k: v for k, v in tmux_env().items() if not k.startswith(("LANG", "LC_"))}
    c = Client(idle_server.name, config_file="/dev/null", env=env)
    out = c.run(
        [
            ("new-session", "-d", "-s", "plain", "-P", "-F", "#{pane_id}"),
            ("set-buffer", "-b", "u", "é ✓ 日本"),
            ("display-message", "-p", "ok"),
        ]
    )
    assert out[1:] == [[], ["ok"]] and out[0][0].startswith("%")
    assert c.cmd("show-buffer", "-b", "u") == ["é ✓ 日本"]


def test_escape_arg() -> None:
    assert escape_arg("a;") == "a\\;"
    assert escape_arg("a\\;") == "a\\\\;"
    assert escape_arg("a;b") == "a;b"


def test_input_goes_to_stdin(tmux_server: Server) -> None:
    data = "line one\nline two ; with -flags\n" * 2000
    c = tmux_server.client
    c.run([("load-buffer", "-b", "big", "-")], input=data.encode())
    assert "\n".join(c.cmd("show-buffer", "-b", "big")) + "\n" == data


def test_missing_tmux_is_explained() -> None:
    c = Client("x", tmux="tmux-not-installed-here", env=tmux_env())
    with pytest.raises(TmuxNotFound) as info:
        c.cmd("list-sessions")
    assert "apt install tmux" in str(info.value)


def test_no_server_is_an_error_not_a_hang(idle_server: Server) -> None:
    with pytest.raises(TmuxError) as info:
        idle_server.client.cmd("list-sessions")
    assert "no server running" in info.value.message or "error connecting" in info.value.message


def test_parse_version() -> None:
    assert parse_version("tmux 3.3a\n") == (3, 3)
    assert parse_version("tmux 3.2") == (3, 2)
    assert parse_version("tmux next-3.6") == (3, 6)
    assert parse_version("tmux master") == (99, 0)
    assert parse_version("tmux 2.9a") == (2, 9)


def test_version_of_this_machines_tmux(tmux_server: Server) -> None:
    assert tmux_server.client.version() >= (3, 2)
    tmux_server.client.check_version()


def test_old_tmux_is_explained(tmp_path: pytest.TempPathFactory) -> None:
    fake = tmp_path / "tmux"  # type: ignore[operator]
    fake.write_text(
        '#!/bin/sh\n[ "$1" = -V ] && echo "tmux 2.6" && exit 0\necho "usage" >&2; exit 1\n'
    )
    fake.chmod(0o755)
    c = Client("x", tmux=str(fake))
    with pytest.raises(TmuxError) as info:
        c.cmd("new-window", "-e", "A=1")
    assert "tmux 2.6 is too old" in str(info.value)


def test_proc_timeout_kills_the_child() -> None:
    with pytest.raises(proc.Timeout):
        proc.run(["sleep", "30"], timeout=0.2)


def test_proc_large_output_and_input() -> None:
    data = b"x" * 300_000 + b"\n"
    result = proc.run(["cat"], input=data, timeout=10)
    assert result.returncode == 0
    assert result.stdout == data


def test_proc_exit_status_and_stderr() -> None:
    result = proc.run(["sh", "-c", "echo oops >&2; exit 3"], timeout=10)
    assert (result.returncode, result.stderr) == (3, b"oops\n")


def test_proc_cwd(tmp_path: pytest.TempPathFactory) -> None:
    result = proc.run(["pwd"], timeout=10, cwd=str(tmp_path))
    assert result.stdout.decode().strip() == str(tmp_path)


def test_batches_larger_than_one_tmux_message(tmux_server: Server) -> None:
    """tmux takes at most 16 KB per command line: bigger batches are split, in order."""
    c = tmux_server.client
    values = [f"{i:04d}" + "x" * 300 for i in range(150)]  # ~45 KB of arguments
    commands: list[tuple[str, ...]] = [
        ("set-buffer", "-b", f"b{i}", "--", v) for i, v in enumerate(values)
    ]
    commands += [("display-message", "-p", f"end-{i}") for i in range(3)]
    outputs = c.run(commands)
    assert len(outputs) == 153 and outputs[-3:] == [["end-0"], ["end-1"], ["end-2"]]
    assert c.cmd("show-buffer", "-b", "b149") == [values[149]]
    with pytest.raises(TmuxError) as info:
        c.run([*commands[:100], ("new-window", "-t", "=nosuch:"), *commands[100:]])
    assert info.value.command == ("new-window", "-t", "=nosuch:")
    assert len(info.value.outputs) == 100


def test_run_each_goes_on_after_a_failure(tmux_server: Server) -> None:
    c = tmux_server.client
    out = c.run_each(
        [
            ("display-message", "-p", "a"),
            ("kill-pane", "-t", "%999"),
            ("display-message", "-p", "b"),
        ]
    )
    assert out == [["a"], None, ["b"]]


def test_open_panes_keeps_what_tmux_made_when_one_request_fails(tmux_server: Server) -> None:
    from tmuxorch.tmux.panes import PaneRequest, open_panes, task_panes

    c = tmux_server.client
    c.cmd("new-session", "-d", "-s", "s", "-x", "220", "-y", "50")
    argv = ("sleep", "30")

    def req(task: str, window: str, new: bool) -> PaneRequest:
        return PaneRequest(task, 1, argv, (("A", "1"),), "/tmp", window, new)

    results = open_panes(
        c,
        "s",
        "run1",
        [req("a", "tasks", True), req("b", "missing", False), req("c", "tasks", False)],
    )
    assert [type(r).__name__ for r in results] == ["Opened", "TmuxError", "Opened"]
    assert "missing" in str(results[1])
    facts = sorted((f.task, f.attempt, f.run) for f in task_panes(c, "run1"))
    assert facts == [("a", 1, "run1"), ("c", 1, "run1")]
    titles = c.cmd("list-panes", "-t", "=s:=tasks", "-F", "#{pane_title}")
    assert sorted(titles) == ["a · running", "c · running"]
