"""Scheduled jobs (the user config's ``jobs:``), read and checked (pure)::

    jobs:
      - id: nightly-review
        cron: "0 2 * * *"          # five fields (minute hour day month weekday), local
        run: ~/src/app/tasks/review.yaml   # a tasks file, folder or layout with tasks
        missed: once               # runs missed while serve was down: skip (default) or once
      - id: hourly-check
        cron: "@hourly"
        cwd: ~/src/app             # where the tasks work (default: your home)
        enabled: false
        tasks:                     # inline, as in a tasks file
          - {id: check, command: make check}

A relative ``run:`` is relative to the config file. Inline ``tasks:`` are checked here as
a tasks file would be (with the config's agents and defaults), and written to the job's
folder in the state directory when it fires: a prompt template they name by a relative
path is looked for there, so give prompts inline or by an absolute path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.source import MappingNode, Reader, ScalarNode, SequenceNode, join
from tmuxorch.spec.task_model import Origin

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node
    from tmuxorch.spec.user_config import UserConfig

JOB_KEYS = frozenset({"id", "cron", "run", "tasks", "cwd", "missed", "enabled"})
MISSED = ("skip", "once")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_STR = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class Job:
    """One scheduled job: ``tmuxorch run FILE`` at each time ``cron`` names.

    ``file`` is what runs: the ``run:`` file (absolute), or for inline tasks the file
    ``inline`` is written to before each run (in ``folder``). ``missed``: what a run missed
    while serve was down becomes (``skip`` it, or run ``once`` on start).
    """

    id: str
    cron: str
    file: str
    folder: str
    """The job's own folder in the state directory (its logs; its inline tasks)."""
    origin: Origin
    inline: str | None = None
    """Inline tasks as the YAML of a layout with ``start_directory`` and ``tasks``."""
    missed: str = "skip"
    enabled: bool = True


def read_jobs(
    reader: Reader, node: Node, base_dir: str, config: UserConfig, state_dir: str
) -> tuple[Job, ...]:
    """``jobs:``, a list of jobs (``config``: the agents and defaults inline tasks use)."""
    if reader.is_null(node):
        return ()
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for i, item in enumerate(reader.sequence(node, "jobs") or ()):
        job = _job(reader, item, join("jobs", i), base_dir, config, state_dir)
        if job is None:
            continue
        if job.id in seen:
            id_node = (reader.mapping(item, "", JOB_KEYS) or {})["id"][1]  # read already
            where = join(join("jobs", i), "id")
            reader.error(id_node, where, f"duplicate job id (first on line {seen[job.id]})")
            continue
        seen[job.id] = job.origin.line
        jobs.append(job)
    return tuple(jobs)


def _job(
    reader: Reader, node: Node, where: str, base_dir: str, config: UserConfig, state_dir: str
) -> Job | None:
    entries = reader.mapping(node, where, JOB_KEYS)
    if entries is None:
        return None
    for key in ("id", "cron"):
        if key not in entries:
            reader.error(node, join(where, key), "required key is missing")
    if "run" in entries and "tasks" in entries:
        reader.error(entries["tasks"][0], where, "give run: FILE or inline tasks:, not both")
    elif "run" not in entries and "tasks" not in entries:
        reader.error(node, where, "a job needs run: FILE or inline tasks:")
    if "cwd" in entries and "tasks" not in entries:
        reader.error(entries["cwd"][0], join(where, "cwd"), "only used with inline tasks:")
    job_id = _id(reader, entries["id"][1], join(where, "id")) if "id" in entries else None
    cron = _cron(reader, entries["cron"][1], join(where, "cron")) if "cron" in entries else None
    missed = "skip"
    if "missed" in entries:
        missed = (
            reader.word(
                entries["missed"][1],
                join(where, "missed"),
                MISSED,
                "missed policy",
                "skip (runs missed while serve was down are dropped) or once (one run on start)",
            )
            or "skip"
        )
    enabled = True
    if "enabled" in entries:
        enabled = reader.boolean(entries["enabled"][1], join(where, "enabled")) is not False
    folder = os.path.join(state_dir, "jobs", job_id or "")
    file, inline = None, None
    if "run" in entries:
        file = _run_file(reader, entries["run"][1], join(where, "run"), base_dir)
    elif "tasks" in entries:
        cwd = os.path.expanduser("~")
        if "cwd" in entries:
            cwd = _directory(reader, entries["cwd"][1], join(where, "cwd"), base_dir) or cwd
        file = os.path.join(folder, "tasks.yaml")
        inline = _inline(reader, entries["tasks"], where, config, folder, cwd)
        file = None if inline is None else file
    if job_id is None or cron is None or file is None:
        return None
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    return Job(
        id=job_id,
        cron=cron,
        file=file,
        folder=folder,
        origin=Origin(reader.file, line, col, where),
        inline=inline,
        missed=missed,
        enabled=enabled,
    )


def _id(reader: Reader, node: Node, where: str) -> str | None:
    job_id = reader.text(node, where)
    if job_id is not None and not _ID.match(job_id):
        reader.error(
            node,
            where,
            f"{job_id!r} is not a valid job id",
            "letters, digits, '.', '_' and '-', starting with a letter or digit",
        )
        return None
    return job_id


def _cron(reader: Reader, node: Node, where: str) -> str | None:
    cron = reader.text(node, where)
    if cron is None:
        return None
    cron = " ".join(cron.split())
    hint = 'five fields: minute hour day-of-month month day-of-week ("0 2 * * *"), or @daily...'
    if not (cron.startswith("@") or len(cron.split()) == 5):
        reader.error(node, where, f"not a cron expression: {cron!r}", hint)
        return None
    try:
        from croniter import croniter
    except ImportError:
        reader.error(
            node, where, "jobs need croniter", "pip install 'tmuxorch[serve]' (or croniter)"
        )
        return None
    if not croniter.is_valid(cron):
        reader.error(node, where, f"not a cron expression: {cron!r}", hint)
        return None
    return cron


def _run_file(reader: Reader, node: Node, where: str, base_dir: str) -> str | None:
    raw = reader.text(node, where)
    if raw is None:
        return None
    from tmuxorch.spec.task_values import resolve

    path = resolve(base_dir, raw)
    if not os.path.exists(path):
        reader.error(node, where, f"{path} does not exist")
        return None
    return path


def _directory(reader: Reader, node: Node, where: str, base_dir: str) -> str | None:
    from tmuxorch.spec.task_values import directory

    return directory(reader, node, where, base_dir)


def _inline(
    reader: Reader,
    entry: tuple[Node, Node],
    where: str,
    config: UserConfig,
    folder: str,
    cwd: str,
) -> str | None:
    """Check a job's inline tasks (at ``where``) as a tasks file in ``folder`` working in
    ``cwd`` would be; the YAML text of that file (a layout: ``start_directory``, ``tasks``)."""
    from dataclasses import replace

    from tmuxorch.graph import build_graph
    from tmuxorch.spec.tasks import Collector

    if not isinstance(entry[1], SequenceNode):
        reader.error(entry[1], join(where, "tasks"), "expected a list", "for a file: run: FILE")
        return None
    before = len(reader.problems)
    collector = Collector(config)
    collector.add_section(reader, {"tasks": entry}, folder, cwd)
    try:
        build_graph(collector.finish().tasks)
    except SpecError as exc:  # its problems are the reader's, or a cycle (added here)
        reader.problems.extend(p for p in exc.problems if p not in reader.problems)
    if len(reader.problems) == before:
        return _layout(entry[1], cwd)
    reader.problems[before:] = [  # said as where they are: jobs[2].tasks[0].agent
        replace(p, where=f"{where}.{p.where}") for p in reader.problems[before:]
    ]
    return None


def _layout(tasks: Node, cwd: str) -> str:
    import yaml

    def text(value: str) -> ScalarNode:
        return ScalarNode(_STR, value, style='"')

    root = MappingNode(
        "tag:yaml.org,2002:map",
        [(text("start_directory"), text(cwd)), (text("tasks"), tasks)],
    )
    return str(yaml.serialize(root, Dumper=yaml.SafeDumper, allow_unicode=True))


__all__ = ["JOB_KEYS", "MISSED", "Job", "read_jobs"]
