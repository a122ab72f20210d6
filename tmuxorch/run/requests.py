"""Request files: how ``tmuxorch stop``/``retry`` in another process reach a live run's
control interface. A request is a small JSON file dropped (atomically) into the run's
``requests/`` folder, which the run watches; it reads it, removes it, and acts."""

from __future__ import annotations

import json
import os
import time

from tmuxorch import private
from tmuxorch.run.store import Store, state_dir


def request(file: str, action: str, tasks: list[str], *, everything: bool = False) -> str:
    """Ask the supervisor of ``file``'s latest run to ``stop``/``retry``; its run id."""
    store = Store(state_dir(file))
    try:
        runs = store.runs(file)
    finally:
        store.close()
    if not runs:
        raise LookupError(f"no run of {file} yet")
    folder = private.folder(os.path.join(state_dir(file), "runs", runs[0].id, "requests"))
    path = os.path.join(folder, f"{time.time_ns()}.json")
    private.write(path + ".tmp", json.dumps({"action": action, "tasks": tasks, "all": everything}))
    os.replace(path + ".tmp", path)
    return runs[0].id


def read(path: str) -> tuple[str, list[str] | None] | None:
    """A request file's action and tasks (None: all), once; None if it is not one."""
    try:
        with open(path, encoding="utf-8") as handle:
            asked = json.load(handle)
        os.unlink(path)
    except (OSError, ValueError):
        return None
    if not isinstance(asked, dict) or not isinstance(asked.get("action"), str):
        return None
    tasks = asked.get("tasks") or []
    if not isinstance(tasks, list):
        return None
    return asked["action"], None if asked.get("all") else [str(t) for t in tasks]
