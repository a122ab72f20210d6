"""Carry out a :class:`~tmuxorch.tmux.plan.Plan` against a tmux server."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tmuxorch.tmux.client import TmuxError
from tmuxorch.tmux.plan import PaneRef

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.tmux.client import Client
    from tmuxorch.tmux.plan import Arg, Plan, Step

READY_TIMEOUT = 3.0
"""Longest wait for a shell's prompt; after it, commands are typed anyway."""


class BuildError(Exception):
    """The build failed; what this build created was removed again."""


class SessionExists(BuildError):
    def __init__(self, session: str, server_args: tuple[str, ...]) -> None:
        import shlex

        self.session = session
        attach = shlex.join(("tmux", *server_args, "attach", "-t", f"={session}"))
        super().__init__(
            f"session {session!r} already exists on this tmux server; "
            f"attach to it with '{attach}', or add this file's windows to it with --append"
        )


@dataclass(frozen=True)
class Built:
    session: str
    panes: dict[PaneRef, str]
    """Every pane of the workspace and its tmux id (``%12``)."""
    not_ready: tuple[PaneRef, ...] = ()
    """Panes whose shell never showed a prompt within :data:`READY_TIMEOUT`."""


def build(
    client: Client,
    plan: Plan,
    *,
    run_script: Callable[[str, str | None], int] | None = None,
) -> Built:
    """Run ``plan``; on failure remove what this build created and raise :class:`BuildError`.

    ``run_script(script, cwd)`` runs the workspace's ``before_script`` first (before tmux is
    touched, so a failing script leaves nothing behind) and returns its exit status.
    """
    ws = plan.workspace
    if ws.before_script:
        status = (run_script or _run_script)(ws.before_script, ws.start_directory)
        if status != 0:
            raise BuildError(f"before_script {ws.before_script!r} failed with exit status {status}")
    try:
        outputs = client.run(plan.structure)
    except TmuxError as exc:
        _rollback(client, plan, exc.outputs)
        created_nothing = exc.command and exc.command[0] == "new-session"
        if not plan.append and created_nothing and "duplicate session" in exc.message:
            raise SessionExists(plan.session, client.server_args) from None
        raise BuildError(f"building session {plan.session!r} failed: {exc}") from None
    ids = _created_ids(plan, outputs)
    try:
        not_ready = _type(client, plan, ids)
    except TmuxError as exc:
        _rollback(client, plan, outputs)
        raise BuildError(f"building session {plan.session!r} failed: {exc}") from None
    return Built(plan.session, ids, not_ready)


def _created_ids(plan: Plan, outputs: list[list[str]]) -> dict[PaneRef, str]:
    """Pane ids in creation order, from the commands that printed them."""
    ran = zip(plan.structure, outputs, strict=False)  # fewer outputs if the build failed
    printed = [out[0] for cmd, out in ran if "-P" in cmd and out]
    return dict(zip(plan.creators, printed, strict=False))


def _rollback(client: Client, plan: Plan, outputs: list[list[str]]) -> None:
    """Remove what this build created: the session if it made one, else its windows."""
    created = _created_ids(plan, outputs)
    try:
        if not plan.append:
            made = next(i for i, c in enumerate(plan.structure) if c[0] == "new-session")
            if len(outputs) > made:  # new-session succeeded: the session is ours
                client.cmd("kill-session", "-t", plan.target)
        else:
            first_panes = [pane for ref, pane in created.items() if ref.pane == 0]
            if first_panes:
                client.run([("kill-window", "-t", pane) for pane in first_panes])
    except TmuxError:
        pass


def _resolve(args: tuple[Arg, ...], ids: dict[PaneRef, str]) -> tuple[str, ...]:
    return tuple(ids[a] if isinstance(a, PaneRef) else a for a in args)


def _poll(plan: Plan) -> tuple[str, ...]:
    return ("list-panes", "-s", "-t", plan.target, "-F", "#{pane_id} #{cursor_x} #{cursor_y}")


def _type(client: Client, plan: Plan, ids: dict[PaneRef, str]) -> tuple[PaneRef, ...]:
    """Type each pane's commands as soon as its shell has drawn its prompt.

    Typing before the prompt works but garbles what a person sees (and some shells, zsh
    above all, redraw over it). A shell is ready once its cursor left the top-left corner.
    Each poll is one invocation carrying the keys for the panes the previous poll found
    ready, plus a ``list-panes`` of the whole session (polling inside the build invocation
    is useless: tmux reads no pane output until a command sequence ends). Polls back off
    from 1 ms to 25 ms. Returns the panes whose prompt never came within
    :data:`READY_TIMEOUT` (typed into anyway).
    """
    keys: dict[PaneRef, list[tuple[str, ...]]] = {}
    for command in plan.typing:
        ref = command[2]
        assert isinstance(ref, PaneRef)
        keys.setdefault(ref, []).append(_resolve(command, ids))
    waiting = {ids[ref]: ref for ref in plan.wait_for}
    batch = [c for ref, commands in keys.items() if ids[ref] not in waiting for c in commands]
    deadline = time.monotonic() + READY_TIMEOUT
    delay = 0.001
    late: tuple[PaneRef, ...] = ()
    while waiting:
        rows = client.run([*batch, _poll(plan)])[-1]
        batch = []
        for row in rows:
            pane, x, y = row.split(" ")
            if (x, y) != ("0", "0") and pane in waiting:
                batch += keys.get(waiting.pop(pane), [])
        if not waiting:
            break
        if time.monotonic() > deadline:
            late = tuple(waiting.values())
            batch += [c for ref in late for c in keys.get(ref, [])]
            break
        time.sleep(delay)
        delay = min(delay * 2, 0.025)
    finish = [_resolve(c, ids) for c in plan.finish]
    if not plan.paced:
        client.run(batch + finish)
        return late
    client.run(batch)
    _run_paced(client, plan.paced, ids)
    client.run(finish)
    return late


def _run_paced(
    client: Client, paced: tuple[tuple[Step, ...], ...], ids: dict[PaneRef, str]
) -> None:
    """Each paced pane in its own thread: total time is the slowest pane's, not the sum."""
    import threading

    errors: list[TmuxError] = []

    def type_into(steps: tuple[Step, ...]) -> None:
        try:
            for step in steps:
                if step.sleep_before:
                    time.sleep(step.sleep_before)
                client.run([_resolve(step.args, ids)])
                if step.sleep_after:
                    time.sleep(step.sleep_after)
        except TmuxError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=type_into, args=(steps,), daemon=True) for steps in paced]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _run_script(script: str, cwd: str | None) -> int:
    """Run ``before_script`` like tmuxp: split like a shell, output to our terminal."""
    import shlex
    import subprocess

    try:
        return subprocess.run(shlex.split(script), cwd=cwd or None, check=False).returncode
    except OSError as exc:
        raise BuildError(f"before_script {script!r} could not run: {exc}") from None


def session_exists(client: Client, session: str) -> bool:
    try:
        client.cmd("has-session", "-t", f"={session}")
    except TmuxError:
        return False
    return True
