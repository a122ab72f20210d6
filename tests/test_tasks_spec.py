"""Task files, templates, agents and the graph, without tmux; every bad input exactly."""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmuxorch.graph import build_graph
from tmuxorch.spec import template
from tmuxorch.spec.duration import format_duration, parse_duration
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.task_model import DoneWhen
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path


def write(tmp_path: Path, text: str, name: str = "tasks.yaml") -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


def errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_workspace(path)
    return [str(p).replace(str(tmp_path) + "/", "") for p in info.value.problems]


def test_a_tasks_file(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "impl.md").write_text("Implement {feature} ($id).\n")
    (tmp_path / "work").mkdir()
    ws = load_workspace(
        write(
            tmp_path,
            """
            max_parallel: 2
            panes_per_window: 3
            agents:
              coder: {preset: demo, args: [--steps, "2"], env: {A: b}}
            tasks:
              - id: schema
                agent: coder
                prompt: prompts/impl.md
                vars: {feature: login}
              - id: api
                depends_on: schema
                command: pytest -x
                cwd: work
                env: {X: "1"}
                timeout: 1m30s
                retries: 2
                retry_delay: 250ms
                locks: db
                done_when: {output: "passed"}
              - {id: wait, command: sleep 1, done_when: {idle: 2}}
              - {id: file, command: touch x, done_when: {file: out/x}}
            """,
        )
    ).workspace
    assert re.fullmatch(r"tmuxorch-tasks-[0-9a-f]{4}", ws.session_name) and ws.windows == ()
    tasks = ws.tasks
    assert tasks is not None
    assert (tasks.max_parallel, tasks.panes_per_window) == (2, 3)
    schema, api, wait, file = tasks.tasks
    assert schema.prompt == "Implement login (schema).\n"
    assert schema.agent == "coder" and schema.cwd == str(tmp_path)
    assert api.depends_on == ("schema",) and api.locks == ("db",)
    assert (api.timeout, api.retries, api.retry_delay) == (90.0, 2, 0.25)
    assert api.cwd == str(tmp_path / "work") and api.env == (("X", "1"),)
    assert api.done_when == DoneWhen("output", pattern="passed")
    assert wait.done_when == DoneWhen("idle", seconds=2.0)
    # relative to where the task runs (which a worktree changes): resolved at its start
    assert file.done_when == DoneWhen("file", path="out/x")
    coder = tasks.agent("coder")
    assert coder.args == ("--steps", "2") and coder.env == (("A", "b"),)
    assert tasks.agent("shell").takes_command


def test_default_max_parallel_is_every_task(tmp_path: Path) -> None:
    ws = load_workspace(write(tmp_path, "tasks: [{id: a, command: x}, {id: b, command: y}]\n"))
    assert ws.workspace.tasks is not None and ws.workspace.tasks.max_parallel == 2


def test_a_directory_of_task_files(tmp_path: Path) -> None:
    write(tmp_path, "tasks: [{id: a, command: x}]\n", "tasks/01.yaml")
    write(
        tmp_path, "max_parallel: 1\ntasks: [{id: b, command: y, depends_on: [a]}]\n", "tasks/02.yml"
    )
    write(tmp_path, "not: a task file\n", "tasks/notes.txt")
    ws = load_workspace(str(tmp_path / "tasks")).workspace
    assert ws.tasks is not None
    assert [t.id for t in ws.tasks.tasks] == ["a", "b"]
    assert ws.tasks.max_parallel == 1
    assert re.fullmatch(r"tmuxorch-tasks-[0-9a-f]{4}", ws.session_name)  # named after it
    other = tmp_path / "elsewhere" / "tasks"
    other.mkdir(parents=True)
    write(tmp_path, "tasks: [{id: a, command: x}]\n", "elsewhere/tasks/01.yaml")
    assert load_workspace(str(other)).workspace.session_name != ws.session_name  # and where


def test_layout_with_inline_tasks_and_a_tasks_path(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    write(tmp_path, "tasks: [{id: t, command: make}]\n", "tasks/t.yaml")
    layout = write(
        tmp_path,
        """
        session_name: mine
        start_directory: proj
        tasks: tasks
        """,
        "layout.yaml",
    )
    ws = load_workspace(layout).workspace
    assert ws.session_name == "mine" and ws.tasks is not None
    assert ws.tasks.tasks[0].cwd == str(tmp_path / "proj")  # agents work in the layout's dir
    inline = write(
        tmp_path,
        """
        session_name: both
        windows: [{window_name: shell}]
        tasks:
          - {id: a, command: x}
        """,
        "both.yaml",
    )
    ws = load_workspace(inline).workspace
    assert len(ws.windows) == 1 and ws.tasks is not None and ws.tasks.tasks[0].id == "a"


def test_task_keys_without_tasks(tmp_path: Path) -> None:
    assert errors(tmp_path, "session_name: s\nwindows: [{}]\nmax_parallel: 2\n") == [
        "tasks.yaml:3:1: max_parallel: only used with tasks: this layout has none"
    ]


# -- bad input: exit 2 and the exact message -------------------------------------------------
def test_cycle_is_named(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        tasks:
          - {id: a, command: x, depends_on: [c]}
          - {id: b, command: x, depends_on: [a]}
          - {id: c, command: x, depends_on: [b]}
          - {id: d, command: x}
        """,
    ) == [
        "tasks.yaml:3:10: tasks[0].depends_on: dependency cycle: a → c → b → a\n"
        "  hint: → reads 'depends on'; remove one of these dependencies"
    ]


def test_unknown_dependency(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        tasks:
          - {id: schema, command: x}
          - {id: api, command: x, depends_on: [schmea]}
        """,
    ) == [
        "tasks.yaml:4:40: tasks[1].depends_on[0]: unknown task 'schmea'\n  hint: did you mean 'schema'?"
    ]


def test_duplicate_id(tmp_path: Path) -> None:
    assert errors(tmp_path, "tasks:\n  - {id: a, command: x}\n  - {id: a, command: y}\n") == [
        "tasks.yaml:3:10: tasks[1].id: duplicate task id 'a' (first defined at tasks.yaml:2:10: tasks[0])"
    ]


def test_unknown_agent(tmp_path: Path) -> None:
    assert errors(tmp_path, "tasks:\n  - {id: a, agent: dmeo, prompt: hi}\n") == [
        "tasks.yaml:2:20: tasks[0].agent: unknown agent 'dmeo'\n  hint: did you mean 'demo'?"
    ]


def test_missing_template(tmp_path: Path) -> None:
    assert errors(tmp_path, "tasks:\n  - {id: a, agent: demo, prompt: prompts/nope.md}\n") == [
        "tasks.yaml:2:34: tasks[0].prompt: missing template prompts/nope.md"
    ]


def test_template_variable_without_value(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_text("Line one.\nBuild {feature} for {who}.\n")
    assert errors(
        tmp_path,
        """
        tasks:
          - {id: a, agent: demo, prompt: p.md, vars: {who: me}}
          - {id: b, agent: demo, prompt: "Do $thing now"}
        """,
    ) == [
        "p.md:2:7: tasks[0].prompt: no value for template variable 'feature'\n"
        "  hint: set it in the task's vars (used in p.md); for a literal {feature} or"
        " $feature, write {{feature}} or $$feature",
        "tasks.yaml:4:38: tasks[1].prompt: no value for template variable 'thing'\n"
        "  hint: set it in the task's vars; for a literal {thing} or $thing, write {{thing}}"
        " or $$thing",
    ]


def test_other_bad_input(tmp_path: Path) -> None:
    assert errors(
        tmp_path,
        """
        max_parallel: 0
        agents:
          x: {preset: nope}
          y: {preset: demo, prompt: telepathy}
        tasks:
          - {id: "bad id", command: x}
          - {id: a}
          - {id: b, command: x, timeout: soon, retries: -1, done_when: {output: "("}}
          - {id: c, command: x, prompt: hi}
          - {id: d, agent: demo, command: x}
          - {id: e, command: x, depends_on: [e], cwd: nowhere}
          - {id: f, command: x, done_when: eventually}
        """,
    ) == [
        "tasks.yaml:2:15: max_parallel: must be at least 1, got 0",
        "tasks.yaml:4:15: agents.x.preset: unknown preset 'nope'\n  hint: known presets: aider, claude, codex, demo, gemini, goose, opencode, shell",
        "tasks.yaml:5:29: agents.y.prompt: unknown prompt delivery 'telepathy'\n"
        "  hint: one of: none, argument, file, stdin, type",
        "tasks.yaml:7:10: tasks[0].id: 'bad id' is not a valid task id\n"
        "  hint: letters, digits, '.', '_' and '-', starting with a letter or digit",
        "tasks.yaml:8:5: tasks[1]: a task needs a command or an agent",
        "tasks.yaml:9:34: tasks[2].timeout: not a duration: 'soon'\n  hint: like 90, 90s, 30m, 1h30m",
        "tasks.yaml:9:49: tasks[2].retries: must be at least 0, got -1",
        "tasks.yaml:9:73: tasks[2].done_when.output: not a valid regular expression:"
        " missing ), unterminated subpattern at position 0",
        "tasks.yaml:10:10: tasks[3].prompt: agent 'shell' takes no prompt",
        "tasks.yaml:11:10: tasks[4].command: agent 'demo' takes a prompt, not a command",
        "tasks.yaml:12:38: tasks[5].depends_on[0]: a task cannot depend on itself",
        "tasks.yaml:12:47: tasks[5].cwd: nowhere does not exist",
        "tasks.yaml:13:36: tasks[6].done_when: unknown done_when 'eventually'\n"
        "  hint: exit, idle, result, {output: REGEX}, {file: PATH} or {idle: SECONDS}",
    ]


# -- graph -------------------------------------------------------------------------------------
def test_graph_levels_and_downstream(tmp_path: Path) -> None:
    ws = load_workspace(
        write(
            tmp_path,
            """
            tasks:
              - {id: d, command: x, depends_on: [b, c]}
              - {id: b, command: x, depends_on: [a]}
              - {id: c, command: x, depends_on: [a]}
              - {id: a, command: x}
              - {id: z, command: x}
            """,
        )
    ).workspace
    assert ws.tasks is not None
    graph = build_graph(ws.tasks)
    assert graph.levels() == [["a", "z"], ["b", "c"], ["d"]]
    assert graph.downstream("a") == ["b", "c", "d"]
    assert graph.order.index("a") < graph.order.index("b") < graph.order.index("d")


# -- templates and durations ------------------------------------------------------------------
def test_template_fields() -> None:
    text = 'Do {x} and ${y} and $z; code: {"a": 1} {} $(cmd) {{x}} $$5'
    assert template.fields(text) == ["x", "y", "z"]
    rendered, missing, later = template.render(text, {"x": "1", "y": "2"})
    assert rendered == 'Do 1 and 2 and $z; code: {"a": 1} {} $(cmd) {x} $5'
    assert missing == ["z"] and later == []


@given(
    st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), st.text(max_size=10))
)
def test_template_fills_every_field(values: dict[str, str]) -> None:
    text = " ".join(f"{{{name}}}" for name in values)
    rendered, missing, _ = template.render(text, values)
    assert missing == []
    assert rendered == " ".join(values.values())


@given(
    st.text(alphabet="{}$ab ", max_size=12),
    st.text(alphabet="{}$ab x", max_size=12),
    st.text(alphabet="{}$ab x", max_size=12),
)
def test_two_pass_rendering_is_one_pass(literal: str, now: str, later: str) -> None:
    """Filling some fields when the file is read and the rest when the task starts gives
    what filling all at once would: values put in first are never read as fields."""
    text = template.escape(literal) + " {now} {{lit}} $$ {results.a.b} $now"
    first, missing, kept = template.render(
        text, {"now": now}, later=lambda n: n.startswith("results.")
    )
    assert missing == [] and kept == ["results.a.b"]
    second, missing, _ = template.render(first, {"results.a.b": later})
    once, _, _ = template.render(text, {"now": now, "results.a.b": later})
    assert missing == [] and second == once == f"{literal} {now} {{lit}} $ {later} {now}"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("90s", 90.0),
        ("30m", 1800.0),
        ("1h30m", 5400.0),
        ("1.5h", 5400.0),
        ("250ms", 0.25),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5x", "m5", "1h x"])
def test_not_durations(text: str) -> None:
    assert parse_duration(text) is None


def test_format_duration() -> None:
    assert [format_duration(s) for s in (3.44, 75.2, 3725)] == ["3.4s", "1m15s", "1h02m"]
