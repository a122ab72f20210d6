"""Starting a run of a file for a caller that does not stay for it (``tmuxorch mcp``): the
file is checked first — its problems come back as ``file:line:col: where: what`` and
nothing starts — then ``tmuxorch run FILE`` (an argv, no shell) runs in a session of its
own, so it outlives the caller, its output in a log beside the run's state
(``.tmuxorch/logs/``, else ``$XDG_STATE_HOME/tmuxorch/logs/``). The answer is the run's id,
once the run's store has it."""

from __future__ import annotations

import os
import shlex
import sys
import threading
import time

from tmuxorch import private
from tmuxorch.run.background import start_detached
from tmuxorch.serve.sending import Refused

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.store import RunRow

LOOK_EVERY = 0.05
TAIL = 20
"""Lines of the log shown when the run did not start."""


def start_run(
    file: str, *, server: tuple[str, ...] = (), new: bool = False, timeout: float = 60.0
) -> dict[str, object]:
    """Start ``tmuxorch run FILE`` (``server``: its ``-L NAME``/``-S PATH``; ``new``: a new
    run rather than resuming the latest) and wait up to ``timeout`` seconds for its run to
    show: its id, session, log and pid. :class:`Refused` if the file is bad, a supervisor
    already runs it, or the run did not start (with the end of its log)."""
    from tmuxorch.run.opening import supervisor_alive

    path = os.path.abspath(os.path.expanduser(file))
    warnings = _checked(path, file)
    if supervisor_alive(path):
        latest = _runs(path)
        which = f" (run {latest[0].id})" if latest else ""
        raise Refused(409, f"a supervisor already runs {path}{which}", field="file")
    before = {r.id for r in _runs(path)}
    argv = [sys.executable, "-m", "tmuxorch", "run", *server, *(["--new"] if new else []), path]
    log = _log(path)
    try:
        folder = path if os.path.isdir(path) else os.path.dirname(path)
        child = start_detached(argv, log, cwd=folder, header=f"# {shlex.join(argv)}\n")
    except OSError as exc:
        raise Refused(500, f"cannot start {shlex.join(argv)}: {exc}") from None
    threading.Thread(target=child.wait, daemon=True).start()  # reaped when it ends
    deadline = time.monotonic() + timeout
    while True:
        ended = child.poll() is not None
        row = _started(path, before, new=new)
        if row is not None:
            return {
                "run": row.id,
                "file": path,
                "session": row.session,
                "state": row.state,
                "resumed": row.id in before,
                "pid": child.pid,
                "log": log,
                "warnings": warnings,
            }
        if ended or time.monotonic() > deadline:
            why = f"it ended (exit {child.returncode})" if ended else f"no run in {timeout:g}s"
            raise Refused(500, f"tmuxorch run {path}: {why}; its log ({log}) ends:\n{_tail(log)}")
        time.sleep(LOOK_EVERY)


def _checked(path: str, given: str) -> list[str]:
    """The file's warnings; :class:`Refused` (every problem) if it cannot run."""
    from tmuxorch.agents.installed import missing_for
    from tmuxorch.spec.errors import SpecError
    from tmuxorch.spec.workspace import load_workspace

    if not os.path.exists(path):
        raise Refused(404, f"{given}: no such file", field="file")
    try:
        loaded = load_workspace(path)
    except SpecError as exc:
        raise Refused(422, str(exc), field="file") from None
    tasks = loaded.workspace.tasks
    if tasks is None:
        raise Refused(
            422,
            f"{path} has no tasks to run (a layout without tasks: 'tmuxorch layout')",
            field="file",
        )
    warnings = [str(p) for p in loaded.warnings]
    for task, why in missing_for(tasks):
        at = tasks.task(task).origin
        warnings.append(f"{at.file}:{at.line}:{at.col}: {at.where}: {why}: it cannot start here")
    return warnings


def _runs(path: str) -> list[RunRow]:
    from tmuxorch.run.store import Store, state_dir

    if not os.path.exists(os.path.join(state_dir(path), "state.db")):
        return []
    store = Store(state_dir(path))
    try:
        return store.runs(path)
    finally:
        store.close()


def _started(path: str, before: set[str], *, new: bool) -> RunRow | None:
    """The run our ``tmuxorch run`` opened: a new one, or (unless ``new``) the latest one,
    resumed — running under the supervisor we started."""
    from tmuxorch.run.opening import supervisor_alive

    runs = _runs(path)
    if not runs:
        return None
    latest = runs[0]
    if latest.id not in before:
        return latest
    resumed = not new and latest.state == "running" and supervisor_alive(path)
    return latest if resumed else None


def _log(path: str) -> str:
    """A new log file's path: in the run's state folder, else the user's."""
    from tmuxorch.run.store import state_dir
    from tmuxorch.spec.user_config import state_dir as user_state

    name = f"run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}.log"
    for base in (state_dir(path), user_state()):
        try:
            return os.path.join(private.folder(os.path.join(base, "logs")), name)
        except OSError:
            continue
    raise Refused(500, f"no folder to write the run's log in ({state_dir(path)}, {user_state()})")


def _tail(log: str) -> str:
    try:
        with open(log, encoding="utf-8", errors="replace") as handle:
            return "".join(handle.readlines()[-TAIL:])
    except OSError:
        return "(unreadable)"
