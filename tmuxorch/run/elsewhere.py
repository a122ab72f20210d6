"""Starting attempts on other hosts: the host's link (made on first use; an ssh error
refuses the task, saying what to do), its task windows there, its panes opened over the
link in one tmux command line, and its files followed back here."""

from __future__ import annotations

from dataclasses import dataclass, replace

from tmuxorch.run.placement import Placement
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.run.host_links import HostLink
    from tmuxorch.spec.task_model import Task
    from tmuxorch.tmux.panes import Opened, PaneRequest


class Unreached(TmuxError):
    """A pane could not be opened because its host's link is down: the attempt never
    started (the task waits for the link to come back)."""


@dataclass(frozen=True)
class Refused:
    """Why a task cannot start on its host now; ``final``: no retry can mend it (a host
    key that changed, a login refused, a program missing there)."""

    reason: str
    final: bool
    cause: str | None = None
    """How the attempt ends (:mod:`tmuxorch.agents.failures`): its failure's class."""


class Elsewhere:
    def __init__(self, run: Run, placement: Placement) -> None:
        self.run = run
        self.here = placement

    def link(self, task: Task) -> HostLink | Refused:
        from tmuxorch.agents import failures
        from tmuxorch.hosts.errors import (
            AuthFailed,
            HostKeyChanged,
            HostKeyUnknown,
            SshError,
            Unreachable,
        )

        run, name = self.run, task.host
        spec = next((h for h in run.taskset.hosts if h.name == name), None)
        if spec is None:  # (the spec layer checks names: a reload may drop one)
            return Refused(f"host {name} is not in hosts: any more", final=True)
        if name in run.unreachable:
            return Refused(f"host {name} is unreachable (reconnecting)", final=False)
        try:
            link = run.hosts.get(spec)
        except Unreachable as exc:
            return Refused(f"host {name}: {exc}", final=False)
        except (HostKeyChanged, HostKeyUnknown, AuthFailed) as exc:  # a person must act
            return Refused(f"host {name}: {exc}", final=True, cause=failures.DENIED)
        except SshError as exc:  # a program missing there, a dir: said once
            return Refused(f"host {name}: {exc}", final=True)
        except Exception as exc:  # the worker, tmux there: clear words, not a traceback
            return Refused(f"host {name}: {exc}", final=True)
        if link.placement is None:
            link.placement = Placement(run)
            try:  # a session there from before (an earlier supervisor) has its windows
                link.placement.count_windows(link.client)
            except TmuxError as exc:
                return Refused(f"host {name}: {exc}", final=False)
        return link

    def busy(self, host: str, starting: list[Task]) -> bool:
        """``host`` runs (or is about to run: ``starting``) as many tasks as its
        ``max_parallel`` allows."""
        spec = next((h for h in self.run.taskset.hosts if h.name == host), None)
        if spec is None or spec.max_parallel is None:
            return False
        there = sum(1 for a in self.run.attempts.values() if a.host == host)
        there += sum(1 for t in starting if t.host == host)
        return there >= spec.max_parallel

    def with_room(self, task: Task, starting: list[Task]) -> str | None:
        """The first of ``task``'s hosts that is reached (or not tried yet) and not full."""
        for host in task.host_choices:
            if host not in self.run.unreachable and not self.busy(host, starting):
                return host
        return None

    def placement(self, link: HostLink | None) -> Placement:
        if link is None or link.placement is None:
            return self.here
        return link.placement

    def open(self, host: str, requests: list[PaneRequest]) -> list[Opened | TmuxError]:
        link = self.run.hosts.find(host)
        if link is None or link.client is None or not link.up:
            return [Unreached(f"host {host} is unreachable") for _ in requests]
        try:
            opened = tmux_panes.open_panes(link.client, link.session, self.run.run_id, requests)
        except TmuxError as exc:
            return [exc for _ in requests]
        if all(isinstance(o, TmuxError) for o in opened) and not link.client.alive():
            return [Unreached(f"host {host} is unreachable: {o}") for o in opened]
        return [
            o if isinstance(o, TmuxError) else replace(o, pane=f"{o.pane}@{host}") for o in opened
        ]

    def never_started(self, task: Task, n: int, why: str) -> None:
        """Its pane was never made (its host out of reach): the attempt is forgotten, the
        task waits for the host."""
        run = self.run
        run.forget(task.id, n)
        run.note(f"{task.id}: not started: {why}; it waits for the host", task.id)
        if task.host is not None:
            run.put("host", (task.host, "cut"))

    def started(self, attempt: Attempt) -> None:
        """Its files there are copied here as they are written."""
        link = self.run.hosts.find(attempt.task.host)
        assert link is not None
        attempt.host = link.name
        attempt.remote = link.files(attempt.task.id, attempt.n)
        link.follow(attempt.remote, attempt.files)
