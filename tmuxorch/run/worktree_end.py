"""What becomes of a task's worktree when the task is over (a success, or a final
failure): its work is committed, then merged (or proposed: ``merge: pr``), kept or removed
as its policy says."""

from __future__ import annotations

import contextlib
import os

from tmuxorch import private
from tmuxorch.run import events, pull_requests, results, worktrees, worktrees_there

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt, Run


def finish(run: Run, attempt: Attempt, *, succeeded: bool) -> str | None:
    """None, or why the work could not be merged or pushed (the task then fails, and the
    branch is kept). A worktree on another host is finished there, with its git."""
    checkout = attempt.checkout
    if checkout is not None and checkout.host is not None:
        link = run.hosts.find(checkout.host)
        if link is None or not link.up:
            why = f"host {checkout.host} is unreachable: its worktree {checkout.path} is kept"
            return None if not succeeded else _keep(run, attempt, why)
        with worktrees_there.on(link):
            return _finish(run, attempt, succeeded=succeeded)
    return _finish(run, attempt, succeeded=succeeded)


def _finish(run: Run, attempt: Attempt, *, succeeded: bool) -> str | None:
    checkout, policy = attempt.checkout, attempt.task.worktree
    assert checkout is not None and policy is not None
    task_id = attempt.task.id
    message = f"tmuxorch: {task_id} (run {run.run_id}, attempt {attempt.n})"
    try:
        worktrees.commit_all(checkout, message)
        if succeeded and policy.after == "merge" and policy.merge == "pr":
            return _propose(run, attempt)
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
    _forget(run, attempt)
    return None


def _propose(run: Run, attempt: Attempt) -> str | None:
    """``merge: pr``: push the branch to the remote the user configured and open a pull
    request (or say how). None, or why it could not be pushed (the task then fails)."""
    checkout, task = attempt.checkout, attempt.task
    assert checkout is not None and task.worktree is not None
    if worktrees.ahead(checkout) == 0:
        run.note(f"{task.id}: nothing to propose ({checkout.base} has all its work)", task.id)
        worktrees.remove(checkout)
        _forget(run, attempt)
        return None
    try:
        remote = pull_requests.remote_for(checkout, task.worktree.remote)
        if remote is None:
            _keep(
                run,
                attempt,
                f"nothing pushed: no git remote ({checkout.base} tracks none, there is no"
                " origin; worktree: {merge: pr, remote: NAME} names one)",
            )
            return None
        pull_requests.push(checkout, remote)
    except worktrees.GitError as exc:
        return _keep(run, attempt, f"its branch could not be pushed: {exc}")
    title, body = pull_requests.title_and_body(
        task.id,
        run.run_id,
        summary=_summary(attempt),
        prompt=_prompt(run, attempt),
        command=task.command,
    )
    body_file: str | None = os.path.join(run.run_dir, "pull-requests", f"{task.id}.md")
    try:  # for the command a note gives when gh cannot open it
        private.folder(os.path.dirname(str(body_file)))
        private.write(str(body_file), body)
    except OSError:
        body_file = None
    opened = pull_requests.open_pull_request(checkout, remote, title, body, body_file)
    pushed = f"branch {checkout.branch} pushed to {remote}"
    if opened.url:
        text = f"{task.id}: pull request {opened.url} ({pushed})"
    else:
        text = f"{task.id}: {pushed}; no pull request: {opened.why_not}"
    facts = {"branch": checkout.branch, "base": checkout.base, "remote": remote}
    run.pull_requests[task.id] = {"task": task.id, "url": opened.url, **facts}
    run.publish(events.NOTE, text=text, task=task.id, pull_request=opened.url, **facts)
    worktrees.remove(checkout, branch=False)  # the branch stays: the pull request's
    _forget(run, attempt)
    return None


def _summary(attempt: Attempt) -> str | None:
    """The ``summary`` of the task's result, if it left one."""
    try:
        value = results.read(attempt.files.result)
    except results.ResultError:
        return None
    summary = value.get("summary") if isinstance(value, dict) else None
    return summary if isinstance(summary, str) and summary.strip() else None


def _prompt(run: Run, attempt: Attempt) -> str | None:
    """The task's prompt as its first attempt was given it (a retry's says less)."""
    try:
        with open(run.files(attempt.task.id, 1).prompt, encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return attempt.task.prompt


def _keep(run: Run, attempt: Attempt, why: str) -> str:
    checkout, task_id = attempt.checkout, attempt.task.id
    assert checkout is not None
    where = checkout.path if checkout.host is None else f"{checkout.path} on {checkout.host}"
    line = f"{why}; branch {checkout.branch} kept in {where}"
    run.kept_worktrees.append(f"{task_id}: {checkout.branch} ({where})")
    _forget(run, attempt)
    run.note(f"{task_id}: {line}", task_id)
    return line


def _forget(run: Run, attempt: Attempt) -> None:
    run.checkouts.pop(attempt.task.id, None)
    attempt.checkout = None


def remove_leftovers(run: Run) -> None:
    """The run is over: a worktree still there (nothing should be) is removed."""
    for task_id, checkout in list(run.checkouts.items()):
        run.note(f"{task_id}: removing its leftover worktree {checkout.path}", task_id)
        link = run.hosts.find(checkout.host)
        with contextlib.suppress(worktrees.GitError):
            if checkout.host is None:
                worktrees.remove(checkout)
            elif link is not None and link.up:
                with worktrees_there.on(link):
                    worktrees.remove(checkout)
