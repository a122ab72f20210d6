"""Prompts in task files (pure): a template file or inline text, filled from the task's
``vars`` when the file is read; the run-time fields (``{result_file}``, ``{results.ID}``...)
are left for the task's start, and checked against the tasks it depends on."""

from __future__ import annotations

import os

from tmuxorch.spec import template
from tmuxorch.spec.errors import Problem
from tmuxorch.spec.source import ScalarNode

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node, Reader
    from tmuxorch.spec.task_model import Task

RUN_FIELDS = frozenset(
    {"result_file", "run", "attempt", "worktree", "branch", "dependency_results", "parent_result"}
)
"""Prompt fields filled when the task starts (and ``results.ID``, ``results.ID.KEY``)."""
_TEMPLATE_SUFFIXES = (".md", ".txt", ".prompt", ".tmpl", ".j2")


def run_field(name: str) -> bool:
    """Whether a prompt field is filled when the task starts rather than when it is read."""
    return name in RUN_FIELDS or name.startswith("results.")


def render(
    reader: Reader, node: Node, where: str, base_dir: str, variables: dict[str, str]
) -> tuple[str, tuple[str, ...], tuple[str, ...]] | None:
    """The prompt (a template file or inline text) filled from ``variables``; the
    run-time fields it still holds; the template file it came from."""
    raw = reader.text(node, where)
    if raw is None:
        return None
    quoted = 1 if isinstance(node, ScalarNode) and node.style in ("'", '"') else 0
    text, source, offset = raw, None, (node.start_mark.line, node.start_mark.column + quoted)
    one_word = not any(c.isspace() for c in raw.strip())
    if "\n" not in raw.strip() and (
        (one_word and raw.endswith(_TEMPLATE_SUFFIXES))
        or os.path.isfile(os.path.join(base_dir, raw))
    ):
        source = os.path.normpath(os.path.join(base_dir, raw))
        try:
            with open(source, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            reader.error(node, where, f"missing template {source}")
            return None
        except OSError as exc:
            reader.error(node, where, f"cannot read template {source}: {exc}")
            return None
        offset = (0, 0)
    rendered, missing, kept = template.render(text, variables, later=run_field)
    for name in missing:
        at = max(text.find("{" + name + "}"), text.find("$" + name), text.find("${" + name + "}"))
        line = text.count("\n", 0, at)
        col = at - (text.rfind("\n", 0, at) + 1)
        file = source or reader.file
        if source is None:  # inline: offset from the prompt's own position
            col = col + offset[1] if line == 0 else col
            line += offset[0]
        reader.problems.append(
            Problem(
                file,
                line + 1,
                col + 1,
                where,
                f"no value for template variable {name!r}",
                "set it in the task's vars"
                + (f" (used in {source})" if source else "")
                + f"; for a literal {{{name}}} or ${name}, write {{{{{name}}}}} or $${name}",
            )
        )
    return rendered, tuple(kept), (source,) if source else ()


def check_fields(
    tasks: list[Task],
    prompt_nodes: dict[str, tuple[Reader, Node, str]],
    earlier: tuple[Task, ...] = (),
) -> None:
    """``{results.ID}`` needs ID upstream of the task; ``{parent_result}`` a follow-up.
    ``earlier``: a run's tasks already (upstream of a task added to it, unchecked here)."""
    deps = {task.id: task.depends_on for task in (*earlier, *tasks)}

    def upstream(task_id: str) -> set[str]:
        seen: set[str] = set()
        stack = list(deps.get(task_id, ()))
        while stack:
            current = stack.pop()
            if current not in seen:
                seen.add(current)
                stack.extend(deps.get(current, ()))
        return seen

    for task in tasks:
        if not task.prompt_fields:
            continue
        reader, node, where = prompt_nodes[task.id]
        for name in task.prompt_fields:
            if name == "parent_result" and task.follows is None:
                reader.error(node, where, "{parent_result} is for follow-ups (then:) only")
            if not name.startswith("results."):
                continue
            source = name.split(".")[1]
            if source not in upstream(task.id):
                reader.error(
                    node,
                    where,
                    f"{{{name}}}: {source!r} is not a task {task.id} depends on",
                    "a prompt can use the results of the tasks it depends on",
                )
