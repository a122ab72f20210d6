"""A task given as data (``tmuxorch add``, ``Control.add``, HTTP later), checked as a task
of the run's file: the same task the file would give, every problem by field (no tmux)."""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from tests.test_run import tasks_file
from tmuxorch.spec.intake import check_task
from tmuxorch.spec.workspace import load_workspace

if TYPE_CHECKING:
    from pathlib import Path

    from tmuxorch.spec.task_model import Task, TaskSet


def taskset(file: str) -> TaskSet:
    loaded = load_workspace(file).workspace.tasks
    assert loaded is not None
    return loaded


def test_a_task_given_as_data_is_the_task_the_file_would_give(tmp_path: Path) -> None:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "review.md").write_text("Review {what}; a said {results.a}\n")
    head = """
        worktree: keep
        agents:
          coder: {preset: demo, args: [--steps, "1"]}
        tasks:
          - {id: a, command: 'echo a'}
          - {id: b, agent: coder, prompt: hi, depends_on: [a]}
        """
    extra = '  - {id: c, agent: coder, prompt: prompts/review.md, vars: {what: b}, depends_on: [a, b], timeout: 5m, then: [{id: "{parent}-more", command: "echo more"}]}\n'
    base = taskset(tasks_file(tmp_path, head))
    data = {
        "id": "c",
        "agent": "coder",
        "prompt": "prompts/review.md",
        "vars": {"what": "b"},
        "depends_on": ["a", "b"],
        "timeout": "5m",
        "then": [{"id": "{parent}-more", "command": "echo more"}],
    }
    checked = check_task(data, base)
    assert checked.ok and checked.taskset is not None
    (tmp_path / "written.yaml").write_text(textwrap.dedent(head) + extra)
    written = taskset(str(tmp_path / "written.yaml"))
    assert [t.id for t in checked.tasks] == ["c", "c-more"]
    for added in checked.tasks:  # field for field, but where it was written
        assert added.origin.file == "(added task)"
        assert _but_origin(added) == _but_origin(written.task(added.id))
    assert checked.tasks[0].worktree is not None and checked.tasks[0].worktree.after == "keep"
    assert checked.taskset.tasks == (*base.tasks, *checked.tasks)
    assert checked.taskset.max_parallel == 4  # none given: every task at once, added ones too
    assert checked.taskset.graph.order[-2:] == ("c", "c-more")


def _but_origin(task: Task) -> dict[str, object]:
    return {k: v for k, v in vars(task).items() if k != "origin"}


def test_bad_data_gives_every_error_by_field(tmp_path: Path) -> None:
    base = taskset(
        tasks_file(
            tmp_path,
            """
            max_parallel: 2
            agents: {coder: {preset: demo}}
            tasks: [{id: a, command: 'echo a'}]
            """,
        )
    )
    cases: list[tuple[object, list[str]]] = [
        (
            {"id": "x", "agent": "codr", "prompt": "p", "depends_on": ["a", "nope"]},
            [
                "task.agent: unknown agent 'codr' (did you mean 'coder'?)",
                "task.depends_on[1]: unknown task 'nope' (known tasks: a, x)",
            ],
        ),
        ({"id": "a", "command": "true"}, ["task.id: duplicate task id 'a'"]),
        (
            {"id": "x", "command": "true", "retries": "2", "colour": 1},
            ["task.retries:", "task.colour: unknown key"],
        ),
        ({"id": "x"}, ["task: a task needs a command or an agent"]),
        ({"command": "true"}, ["task.id: required key is missing"]),
        (["x"], ["task: expected a mapping, got a list"]),
        ({"id": "x", "command": float("nan")}, ["task: not JSON data"]),
        ({"id": "x", "agent": "shell"}, ["task: agent 'shell' needs a command"]),
    ]
    for data, expected in cases:
        checked = check_task(data, base)
        assert checked.taskset is None and checked.tasks == ()
        said = [str(e) for e in checked.errors]
        assert len(said) == len(expected), said
        for line, start_of in zip(said, expected, strict=True):
            assert line.startswith(start_of), said
    error = check_task({"id": "a", "command": "true"}, base).errors[0]
    assert error.as_json()["field"] == "task.id"
    assert check_task({"id": "x", "command": "true"}, base).taskset.max_parallel == 2  # type: ignore[union-attr]
