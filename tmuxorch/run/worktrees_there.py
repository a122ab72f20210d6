"""A task's worktree on another host (``worktree:`` with ``host:``): the same branch and
policy as here (:mod:`tmuxorch.run.worktrees`), made in the host's repository (its ``dir``)
under the run's state folder there, every git command run there over the host's ssh
master."""

from __future__ import annotations

import posixpath
from contextlib import contextmanager

from tmuxorch.run import worktrees
from tmuxorch.run.worktrees import GIT_ENV, Checkout, GitError, branch_name, git

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from tmuxorch.run.host_links import HostLink


@contextmanager
def on(link: HostLink) -> Iterator[None]:
    """Inside the block, :mod:`tmuxorch.run.worktrees` runs git on ``link``'s host."""
    connection = link.connection
    if connection is None:
        raise GitError(f"host {link.name} is not reached")

    def runner(argv: list[str]) -> tuple[int, str, str]:
        env = [f"{k}={v}" for k, v in GIT_ENV.items()]
        try:
            code, out, err = connection.run(["env", *env, *argv], timeout=120)
        except Exception as exc:  # the ssh layer's errors: said as git's
            raise GitError(f"git on {link.name}: {exc}") from None
        if code == 127 and b"not found" in err:
            raise GitError(f"{link.name} has no git (worktree: needs it there)")
        return code, out.decode(errors="replace"), err.decode(errors="replace")

    with worktrees.running_on(runner):
        yield


def prepare(link: HostLink, run_id: str, task_id: str) -> Checkout:
    """The task's worktree there, made (or found again) before it starts: in the run's
    state folder there (``DIR/.tmuxorch/worktrees/RUN/TASK``), from the repository that
    holds the host's ``dir``."""
    with on(link):
        task_cwd = link.cwd
        try:
            repo = git(task_cwd, "rev-parse", "--show-toplevel")
        except GitError:
            raise GitError(
                f"{task_cwd} on {link.name} is not in a git repository (worktree: needs one)"
            ) from None
        relative = git(task_cwd, "rev-parse", "--show-prefix")
        base = git(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
        if not base:
            raise GitError(f"{repo} on {link.name} has no branch checked out: nowhere to merge")
        branch = branch_name(run_id, task_id)
        path = posixpath.join(link.root, "worktrees", run_id, task_id)
        if not git(path, "rev-parse", "--is-inside-work-tree", check=False):
            git(repo, "worktree", "prune")
            if git(repo, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False):
                git(repo, "worktree", "add", path, branch)
            else:
                git(repo, "worktree", "add", "-b", branch, path, "HEAD")
        cwd = posixpath.normpath(posixpath.join(path, relative))
        return Checkout(repo, path, branch, base, cwd, link.name)
