"""``merge: pr``: a task's branch pushed to a remote the repository already has, and a pull
request opened for it with GitHub's ``gh`` when it is installed and logged in; otherwise
the exact command to open it (and GitHub's compare page) is said.

Nothing goes anywhere the user did not configure: the remote is the one ``worktree:
{remote: NAME}`` names (it must be one of the repository's), else the one the base branch
tracks, else ``origin``, else none (nothing is pushed). Every program is run from an argv
list, reading nothing, in a session of its own (no terminal to prompt on).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from urllib.parse import quote

from tmuxorch.run import worktrees
from tmuxorch.run.worktrees import GIT_ENV, Checkout, GitError, git

TIMEOUT = 120.0
"""Seconds a push, or ``gh``, may take."""
TITLE_LENGTH = 100
BODY_TEXT_LENGTH = 20_000
"""Characters of the task's prompt (or summary) a pull request's body quotes at most."""
GH_ENV = {"GH_PROMPT_DISABLED": "1", "GH_NO_UPDATE_NOTIFIER": "1", "NO_COLOR": "1"}
_URL = re.compile(r"https?://\S+")
_USERINFO = re.compile(r"(://)[^/@\s]+@")
_PLACE = re.compile(
    r"^(?:[a-z+]+://(?:[^@/]+@)?(?P<host>[^/:]+)(?::\d+)?/"  # https://, ssh://, git://
    r"|(?:[^@/]+@)?(?P<scp>[^/:]+):)"  # user@host: (scp-like)
    r"(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?/?$"
)


@dataclass(frozen=True)
class Opened:
    url: str | None
    """The pull request's address (as ``gh`` printed it); None: it was not opened."""
    why_not: str = ""
    """Why it was not, and how to open it (the command, GitHub's compare page)."""


def remote_for(checkout: Checkout, named: str | None) -> str | None:
    """Where the branch goes: ``named`` (GitError if the repository has no such remote),
    else the remote its base branch tracks, else ``origin``; None if there is none."""
    remotes = git(checkout.repo, "remote").split()
    if named is not None:
        if named not in remotes:
            known = ", ".join(remotes) or "none"
            raise GitError(f"{checkout.repo} has no remote {named!r} (its remotes: {known})")
        return named
    tracked = git(checkout.repo, "config", "--get", f"branch.{checkout.base}.remote", check=False)
    if tracked in remotes:
        return tracked
    return "origin" if "origin" in remotes else None


def push(checkout: Checkout, remote: str) -> None:
    """The task's branch to ``remote``, under its own name (and tracking it from now on).
    GitError with what git and the remote said."""
    ref = f"refs/heads/{checkout.branch}"
    argv = ["git", "-C", checkout.repo, "push", "--set-upstream", remote, f"{ref}:{ref}"]
    there = worktrees.runner()  # a worktree on another host: its git pushes, from there
    try:
        if there is not None:
            code, out, err = there(argv)
        else:
            done = _call(argv, checkout.repo, GIT_ENV)
            code, out, err = done.returncode, done.stdout, done.stderr
    except FileNotFoundError:
        raise GitError("git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitError(f"git push {remote} took more than {TIMEOUT:.0f}s") from None
    if code != 0:
        why = "; ".join(_why(err + out)) or f"exit {code}"
        raise GitError(f"git push {remote} {checkout.branch}: {why}")


def _why(output: str) -> list[str]:
    """What a failed push said, up to the advice git adds after a blank line."""
    said: list[str] = []
    for line in (line.strip() for line in output.splitlines()):
        if not line or line == "remote:":
            if said and not line:
                break
            continue
        line = _USERINFO.sub(r"\1", line)  # a token in a remote's address is not said
        if not line.startswith(("To ", "hint:")) and line not in said:
            said.append(line)
    return said


def title_and_body(
    task_id: str, run_id: str, *, summary: str | None, prompt: str | None, command: str | None
) -> tuple[str, str]:
    """A pull request's title (the task and the first line of its result's summary, or of
    its prompt) and body (the summary, the prompt or command, the run)."""
    first = next(
        (
            line.strip()
            for line in (summary or prompt or command or "").splitlines()
            if line.strip()
        ),
        "",
    )
    title = f"{task_id}: {first}" if first else task_id
    if len(title) > TITLE_LENGTH:
        title = title[: TITLE_LENGTH - 1].rstrip() + "…"
    parts = [_cut(summary)] if summary else []
    if prompt:
        parts.append(f"## Prompt\n\n{_cut(prompt)}")
    elif command:
        parts.append(f"## Command\n\n```sh\n{_cut(command)}\n```")
    parts.append(f"---\nMade by tmuxorch: task `{task_id}` of run `{run_id}`.")
    return title, "\n\n".join(parts) + "\n"


def open_pull_request(
    checkout: Checkout, remote: str, title: str, body: str, body_file: str | None
) -> Opened:
    """``gh pr create`` for the pushed branch, into its base, in the repository of
    ``remote`` (when its address says which); else why not and how (the command, with the
    body in ``body_file`` if there is one)."""
    place = _place(git(checkout.repo, "remote", "get-url", remote, check=False))
    args = ["pr", "create", "--base", checkout.base, "--head", checkout.branch, "--title", title]
    repo = ["--repo", place[0]] if place else []
    given = ["--body-file", body_file] if body_file else ["--body", body]
    command = shlex.join(["gh", *args, *given, *repo])
    how = f"open it with: cd {shlex.quote(checkout.repo)} && {command}"
    # a branch pushed from another host: gh runs here (with --repo when the remote's
    # address names the repository; its folder is on that host)
    cwd = checkout.repo if checkout.host is None else None
    if checkout.host is not None:
        how = f"open it on {checkout.host} with: cd {shlex.quote(checkout.repo)} && {command}"
    if place and place[1] == "github.com":
        branches = quote(f"{checkout.base}...{checkout.branch}", safe="/.")
        how += f" (or at https://github.com/{place[0]}/compare/{branches}?expand=1)"
    gh = shutil.which("gh")
    if gh is None:
        return Opened(None, f"gh is not installed: {how}")
    try:
        auth = _call([gh, "auth", "status"], cwd, GH_ENV)
        if auth.returncode != 0:
            return Opened(None, f"gh is not logged in (gh auth login): {how}")
        done = _call([gh, *args, "--body", body, *repo], cwd, {**GH_ENV, **GIT_ENV})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Opened(None, f"gh failed ({exc}): {how}")
    urls = _URL.findall(done.stdout)
    if done.returncode != 0 or not urls:
        said = (done.stderr or done.stdout).strip().splitlines()
        why = said[-1] if said else f"exit {done.returncode}"
        return Opened(None, f"gh pr create failed ({why}): {how}")
    return Opened(urls[-1])


def _place(url: str) -> tuple[str, str] | None:
    """``(REPO, HOST)`` of a remote's address, ``REPO`` as ``gh --repo`` takes it
    (``OWNER/NAME``, or ``HOST/OWNER/NAME`` off github.com); None for a path."""
    found = _PLACE.match(url.strip())
    if found is None:
        return None
    host = (found["host"] or found["scp"]).lower()
    slug = f"{found['owner']}/{found['name']}"
    return (slug if host == "github.com" else f"{host}/{slug}"), host


def _cut(text: str) -> str:
    text = text.strip()
    return text if len(text) <= BODY_TEXT_LENGTH else text[:BODY_TEXT_LENGTH] + "\n\n(cut)"


def _call(
    argv: list[str], cwd: str | None, extra: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **extra},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # no terminal: ssh or a credential helper cannot wait on one
        timeout=TIMEOUT,
        check=False,
    )
