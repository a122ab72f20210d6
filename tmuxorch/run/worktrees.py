"""A git worktree per task (``worktree:``), by shelling out to ``git``.

Before its pane opens, a task gets branch ``tmuxorch/RUN/TASK`` checked out in
``.tmuxorch/worktrees/RUN/TASK`` (made from the repository's current commit; a retry or a
resumed run reuses it). Its agent works there. When the task is over for good, what it
left uncommitted is committed, and the policy decides: ``merge`` it into the branch the
repository had checked out (``ff``: fast-forward, rebasing onto that branch first when it
moved on; ``squash``: one new commit; ``pr``: see :mod:`tmuxorch.run.pull_requests`),
``keep`` it, or ``remove`` it. A merge that conflicts is undone, reported with the files in
conflict, and its branch kept.
"""

from __future__ import annotations

import os
import subprocess
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from tmuxorch import private

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

GIT_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_EDITOR": "true", "GIT_MERGE_AUTOEDIT": "no"}


class GitError(Exception):
    """A git command failed: the message says which, and what git said."""


class MergeConflict(GitError):
    def __init__(self, message: str, files: list[str]) -> None:
        super().__init__(message)
        self.files = files


@dataclass(frozen=True)
class Checkout:
    repo: str
    """The repository's main worktree (its top level)."""
    path: str
    """The task's worktree."""
    branch: str
    base: str
    """The branch the repository had checked out: where the work is merged."""
    cwd: str
    """Where the agent works: the task's directory, inside the worktree."""
    host: str | None = None
    """The host it is on (None: here)."""


def branch_name(run_id: str, task_id: str) -> str:
    return f"tmuxorch/{run_id}/{task_id}"


_RUNNER: ContextVar[Callable[[list[str]], tuple[int, str, str]] | None] = ContextVar(
    "tmuxorch_git_runner", default=None
)


@contextmanager
def running_on(runner: Callable[[list[str]], tuple[int, str, str]]) -> Iterator[None]:
    """Every git command of this module, inside the block, run by ``runner`` (a task's
    worktree on another host: its git, over ssh)."""
    token = _RUNNER.set(runner)
    try:
        yield
    finally:
        _RUNNER.reset(token)


def runner() -> Callable[[list[str]], tuple[int, str, str]] | None:
    """Who runs git here and now: another host's git (inside :func:`running_on`), or
    None: this machine's."""
    return _RUNNER.get()


def _run(argv: list[str]) -> tuple[int, str, str]:
    runner = _RUNNER.get()
    if runner is not None:
        return runner(argv)
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **GIT_ENV},
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout, done.stderr


def git(directory: str, *args: str, check: bool = True) -> str:
    try:
        code, out, err = _run(["git", "-C", directory, *args])
    except FileNotFoundError:
        raise GitError("git is not installed (worktree: needs it)") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git {' '.join(args)} took more than 2 minutes") from None
    if check and code != 0:
        said = (err or out).strip().splitlines()
        raise GitError(f"git {' '.join(args)}: {said[-1] if said else f'exit {code}'}")
    return out.strip()


def prepare(task_cwd: str, state_dir: str, run_id: str, task_id: str) -> Checkout:
    """The task's worktree, made (or found again) before it starts."""
    try:
        repo = git(task_cwd, "rev-parse", "--show-toplevel")
    except GitError:
        raise GitError(f"{task_cwd} is not in a git repository (worktree: needs one)") from None
    base = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if not base:
        raise GitError(f"{repo} has no branch checked out (detached HEAD): nowhere to merge to")
    if not git(repo, "rev-parse", "--verify", "--quiet", "HEAD", check=False):
        raise GitError(f"{repo} has no commit yet: a worktree needs one to start from")
    branch = branch_name(run_id, task_id)
    path = os.path.join(state_dir, "worktrees", run_id, task_id)
    relative = os.path.relpath(os.path.realpath(task_cwd), os.path.realpath(repo))
    if not os.path.exists(os.path.join(path, ".git")):
        private.folder(os.path.join(state_dir, "worktrees"))
        private.folder(os.path.dirname(path))
        git(repo, "worktree", "prune")
        if git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False):
            git(repo, "worktree", "add", path, branch)
        else:
            git(repo, "worktree", "add", "-b", branch, path, "HEAD")
    cwd = os.path.normpath(os.path.join(path, relative))
    os.makedirs(cwd, exist_ok=True)
    return Checkout(repo, path, branch, base, cwd)


def commit_all(checkout: Checkout, message: str) -> bool:
    """Commit what the agent left uncommitted in its worktree; whether there was any."""
    git(checkout.path, "add", "-A")
    if not git(checkout.path, "status", "--porcelain"):
        return False
    git(checkout.path, *_identity(checkout.repo), "commit", "-q", "--no-verify", "-m", message)
    return True


def ahead(checkout: Checkout) -> int:
    """Commits on the task's branch that its base does not have."""
    return int(git(checkout.repo, "rev-list", "--count", f"{checkout.base}..{checkout.branch}"))


def merge(checkout: Checkout, how: str, message: str) -> str:
    """Merge the task's branch into its base (``ff`` or ``squash``); what was done.
    MergeConflict (with the files) if it conflicts: nothing is left half-merged."""
    current = git(checkout.repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    if current != checkout.base:
        raise GitError(
            f"{checkout.repo} is now on {current or 'a detached HEAD'}, not {checkout.base}: "
            f"merge {checkout.branch} yourself"
        )
    count = ahead(checkout)
    if count == 0:
        return "nothing to merge"
    if how == "squash":
        return _squash(checkout, message, count)
    return _fast_forward(checkout, count)


def _fast_forward(checkout: Checkout, count: int) -> str:
    rebased = ""
    if not _is_ancestor(checkout.repo, checkout.base, checkout.branch):
        # the base moved on meanwhile (another task merged): replay the work onto it
        try:
            git(checkout.path, *_identity(checkout.repo), "rebase", checkout.base)
        except GitError:
            files = _conflicted(checkout.path)
            git(checkout.path, "rebase", "--abort", check=False)
            raise MergeConflict(
                f"{checkout.branch} conflicts with {checkout.base}"
                + (f" in {', '.join(files)}" if files else ""),
                files,
            ) from None
        rebased = f", rebased onto {checkout.base}"
    git(checkout.repo, "merge", "--ff-only", "-q", checkout.branch)
    return f"fast-forwarded {checkout.base} by {count} commit(s){rebased}"


def _is_ancestor(repo: str, older: str, newer: str) -> bool:
    return _run(["git", "-C", repo, "merge-base", "--is-ancestor", older, newer])[0] == 0


def _squash(checkout: Checkout, message: str, count: int) -> str:
    try:
        git(checkout.repo, "merge", "--squash", "-q", checkout.branch)
    except GitError as exc:
        files = _conflicted(checkout.repo)
        git(checkout.repo, "reset", "--merge", check=False)
        if files:
            raise MergeConflict(
                f"{checkout.branch} conflicts with {checkout.base} in {', '.join(files)}", files
            ) from None
        raise exc from None
    git(checkout.repo, *_identity(checkout.repo), "commit", "-q", "--no-verify", "-m", message)
    return f"squashed {count} commit(s) into one on {checkout.base}"


def remove(checkout: Checkout, *, branch: bool = True) -> None:
    """The worktree goes, and its branch (unless ``branch`` is False; only if nothing else
    needs it)."""
    git(checkout.repo, "worktree", "remove", "--force", checkout.path, check=False)
    git(checkout.repo, "worktree", "prune", check=False)
    if branch:
        git(checkout.repo, "branch", "-D", checkout.branch, check=False)
    folder = os.path.dirname(checkout.path)
    if _RUNNER.get() is None and os.path.isdir(folder) and not os.listdir(folder):
        os.rmdir(folder)


def _conflicted(directory: str) -> list[str]:
    out = git(directory, "diff", "--name-only", "--diff-filter=U", check=False)
    return [line for line in out.splitlines() if line]


def _identity(repo: str) -> list[str]:
    """``-c`` options giving commits an author when git has none configured."""
    if git(repo, "config", "user.email", check=False):
        return []
    return ["-c", "user.name=tmuxorch", "-c", "user.email=tmuxorch@localhost"]
