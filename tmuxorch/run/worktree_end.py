"""What becomes of a task's worktree when the task is over (a success, or a final
failure): its work is committed, then merged, kept or removed as its policy says."""

from __future__ import annotations

import contextlib

from tmuxorch.run import worktrees

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt, Run


def finish(run: Run, attempt: Attempt, *, succeeded: bool) -> str | None:
    """None, or why the work could not be merged (the task then fails, and the branch is
    kept)."""
    checkout, policy = attempt.checkout, attempt.task.worktree
    assert checkout is not None and policy is not None
    task_id = attempt.task.id
    message = f"tmuxorch: {task_id} (run {run.run_id}, attempt {attempt.n})"
    try:
        worktrees.commit_all(checkout, message)
        if succeeded and policy.after == "merge":
            try:
                done = worktrees.merge(checkout, policy.merge, message)
            except worktrees.GitError as exc:
                return _keep(run, attempt, f"its work could not be merged: {exc}")
            run.note(f"{task_id}: merged into {checkout.base} ({done})", task_id)
        elif policy.after == "keep" or (not succeeded and policy.failed == "keep"):
            _keep(run, attempt, "kept")
            return None
        elif not succeeded:
            lost = worktrees.ahead(checkout)
            run.note(
                f"{task_id}: removing its worktree ({lost} commit(s) on {checkout.branch}"
                " discarded; worktree: {failed: keep} keeps them)",
                task_id,
            )
        worktrees.remove(checkout)
    except worktrees.GitError as exc:
        run.note(f"{task_id}: worktree {checkout.path}: {exc}", task_id)
    run.checkouts.pop(task_id, None)
    attempt.checkout = None
    return None


def _keep(run: Run, attempt: Attempt, why: str) -> str:
    checkout, task_id = attempt.checkout, attempt.task.id
    assert checkout is not None
    line = f"{why}; branch {checkout.branch} kept in {checkout.path}"
    run.kept_worktrees.append(f"{task_id}: {checkout.branch} ({checkout.path})")
    run.checkouts.pop(task_id, None)
    attempt.checkout = None
    run.note(f"{task_id}: {line}", task_id)
    return line


def remove_leftovers(run: Run) -> None:
    """The run is over: a worktree still there (nothing should be) is removed."""
    for task_id, checkout in list(run.checkouts.items()):
        run.note(f"{task_id}: removing its leftover worktree {checkout.path}", task_id)
        with contextlib.suppress(worktrees.GitError):
            worktrees.remove(checkout)
