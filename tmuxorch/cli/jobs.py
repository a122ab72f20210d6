"""``tmuxorch jobs``: the scheduled jobs of the user config, their next and last runs."""

from __future__ import annotations

import json
from datetime import datetime

from tmuxorch.cli.output import EXIT_OK, bad_input, info
from tmuxorch.spec.errors import SpecError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.serve.jobs import JobStatus, LastRun

COLUMNS = ("JOB", "CRON", "NEXT", "LAST RUN", "MISSED", "RUNS")


def jobs(*, as_json: bool = False) -> int:
    """List the jobs (exit 2 if the user config is bad)."""
    from tmuxorch.spec.user_config import config_path, load_user_config

    try:
        config = load_user_config()
    except SpecError as exc:
        return bad_input(exc)
    from tmuxorch.serve.jobs import statuses

    found = statuses(config.jobs)
    if as_json:
        print(json.dumps([_as_json(status) for status in found], indent=1))
        return EXIT_OK
    if not found:
        info(f"no jobs: they are listed under jobs: in {config.file or config_path()}")
        return EXIT_OK
    rows = [COLUMNS, *(_row(status) for status in found)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join([*cells, row[-1]]))
    return EXIT_OK


def _row(status: JobStatus) -> tuple[str, ...]:
    job = status.job
    when = f"{status.next:%a %Y-%m-%d %H:%M}" if status.next else "disabled"
    return (job.id, job.cron, when, _last(status.last), job.missed, job.file)


def _last(run: LastRun | None) -> str:
    if run is None:
        return "never"
    started = f"{_local(run.started):%Y-%m-%d %H:%M}"
    if run.missed:
        started += " (missed)"
    return f"{started} {_outcome(run)}"


def _outcome(run: LastRun) -> str:
    from tmuxorch.run.proctree import alive

    if run.note:
        return run.note
    if run.exit is not None:
        return f"exit {run.exit}"
    if run.pid is not None and alive(run.pid):
        return "running"
    return "ended (exit not seen)"


def _local(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp).astimezone()


def _as_json(status: JobStatus) -> dict[str, object]:
    from dataclasses import asdict

    job = status.job
    return {
        "id": job.id,
        "cron": job.cron,
        "next": status.next.isoformat() if status.next else None,
        "enabled": job.enabled,
        "missed": job.missed,
        "file": job.file,
        "inline": job.inline is not None,
        "last": None
        if status.last is None
        else {**asdict(status.last), "state": _outcome(status.last)},
    }
