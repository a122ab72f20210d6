"""What the parts of a run share: its file and tasks, its tmux server and session, its
scheduler, its live attempts, and the two ends of its bus — inputs in (:meth:`Run.put`,
read by the loop alone), domain events out (:meth:`Run.publish`)."""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import dataclass

from tmuxorch.agents.launch import AttemptFiles, attempt_id
from tmuxorch.run import events
from tmuxorch.run.host_links import HostLinks, split
from tmuxorch.run.host_poller import RunPoller
from tmuxorch.run.store import state_dir
from tmuxorch.tmux import panes as tmux_panes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.run import worktrees
    from tmuxorch.run.bus import Bus, Event
    from tmuxorch.run.conditions import Condition
    from tmuxorch.run.retry_policy import RetryPolicy
    from tmuxorch.run.scheduler import Scheduler
    from tmuxorch.spec.model import Workspace
    from tmuxorch.spec.task_model import AgentProfile, Task, TaskSet
    from tmuxorch.tmux.agent_panes import AgentPane, AgentPanes
    from tmuxorch.tmux.client import Client

UNKNOWN = "unknown"
"""A task's state while the link to its host is cut."""
DIALOG_SETTLE = 1.0
"""Seconds to let a dialog draw itself, or go away once answered, before looking again."""


@dataclass
class Attempt:
    task: Task
    n: int
    pane: str
    pid: int
    files: AttemptFiles
    started: float
    """Wall-clock start."""
    deadline: float | None
    """Monotonic time the attempt times out, if the task has a timeout."""
    window: str
    handle: AgentPane | None = None
    """Its pane as a ``libtmux.Pane`` (None if it has no pane)."""
    ending: bool = False
    """Being stopped by us: its exit file no longer decides anything."""
    idle_since: float | None = None
    """Since when its agent shows it is idle (for ``done_when: idle``)."""
    begun: float = 0.0
    """When its pane was opened (monotonic)."""
    output_at: float = 0.0
    """When its pane last showed something new (monotonic; for a command's idleness)."""
    dead_since: float | None = None
    typed: bool = False
    cwd: str = ""
    checkout: worktrees.Checkout | None = None
    profile: AgentProfile | None = None
    """Its agent profile (kept: a reload may change the task set's)."""
    typed_prompt: str | None = None
    dialog_answers: dict[str, int] | None = None
    dialog_at: float = -DIALOG_SETTLE
    dialog_recheck: float | None = None
    dialog_gave_up: bool = False
    """A dialog it could not answer is left to a person."""
    condition: Condition | None = None
    hooks_read: int = 0
    """Bytes of its hooks file already read (see :mod:`tmuxorch.agents.hooks`)."""
    """Its ``done_when`` strategy (see :func:`tmuxorch.run.conditions.of`)."""
    host: str | None = None
    """The host it runs on (None: here); its pane is then ``%ID@HOST``."""
    remote: AttemptFiles | None = None
    """Its files on that host (``files`` are their copies here)."""
    cause: str | None = None
    """How the run ended it, when not by its own exit (``timeout``, ``stall``, ``lost``...:
    see :mod:`tmuxorch.agents.failures`), for the class of its failure."""


class Run:
    def __init__(
        self,
        workspace: Workspace,
        client: Client,
        bus: Bus,
        *,
        keep: bool,
        inside: bool,
        clock: Callable[[], float] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        assert workspace.tasks is not None
        self.ws = workspace
        self.taskset = workspace.tasks
        self.graph = self.taskset.graph
        self.client = client
        self.bus = bus
        self.session = workspace.session_name
        self.state_dir = state_dir(workspace.file)
        self.keep = keep
        self.inside = inside
        self.clock = clock or time.time
        """The wall clock retries and limits' waits are scheduled by (a test's own, to
        wait for a reset without waiting)."""
        self.policy = policy
        """How failures are retried (None: :class:`RetryPolicy`'s defaults)."""
        self.inputs: queue.Queue[tuple[str, object]] = queue.Queue()
        self.hosts = HostLinks(self.session, lambda: self.run_id, os.path.abspath(workspace.file))
        """The other machines its tasks run on (:mod:`tmuxorch.run.host_links`)."""
        self.unreachable: set[str] = set()
        """Hosts whose link is cut: their tasks' state is unknown until it is back."""
        self.poller = RunPoller(client)
        self.poller.links = self.hosts
        self.panes: AgentPanes | None = None
        """libtmux's side of the server (made with the first panes)."""
        self.run_id = ""
        self.run_dir = ""
        self.scheduler: Scheduler
        self.attempts: dict[str, Attempt] = {}
        """Live attempts by task id."""
        self.activity: dict[str, str] = {}
        """Task → what its agent is doing (busy, waiting_input, idle...), from its screen."""
        self.sessions: dict[str, str] = {}
        """Task → its agent's conversation id (a retry resumes it)."""
        self.checkouts: dict[str, worktrees.Checkout] = {}
        """Task → its worktree, from its first attempt until the task is over."""
        self.kept: dict[str, str] = {}
        """Task → pane kept (dead) after its final failure."""
        from tmuxorch.run.agent_choice import Chooser

        self.chooser = Chooser(lambda name: self.taskset.agent(name))
        """Which agent runs each attempt (caps, breakers, fallbacks: run.agent_choice)."""
        from tmuxorch.run.route_asking import Asker

        self.asker = Asker(self)
        """Routes that ask an agent to choose (run.route_asking)."""
        self.agent_of: dict[str, str] = {}
        """Task → the agent of its latest attempt (a conversation resumes only with it)."""
        self.held: dict[str, Attempt] = {}
        """Task → its last attempt, while it is blocked or needs review."""
        self.notes: dict[str, str] = {}
        """Task → what its next attempt's prompt is given (a reviewer's words...)."""
        self.kept_worktrees: list[str] = []
        self.pull_requests: dict[str, dict[str, object]] = {}
        """Task → its branch pushed by ``merge: pr``: task, url (None: no pull request
        opened), branch, base, remote."""
        self.times: dict[str, tuple[float | None, float | None]] = {}
        """Task → wall-clock start and end of its latest attempt."""
        self.interrupted: str | None = None
        self.over = False
        """No more inputs will be read (control calls fail at once)."""
        self.closing = threading.Lock()

    # -- inputs and outputs -----------------------------------------------------------------
    def put(self, kind: str, payload: object = None) -> None:
        """An input for the loop (from any thread)."""
        self.inputs.put((kind, payload))

    def publish(self, kind: str, **fields: object) -> Event:
        event: Event = {"type": kind, "run": self.run_id, "t": time.time(), **fields}
        return self.bus.publish(event)

    def task_event(self, kind: str, task_id: str, **fields: object) -> Event:
        """An event about one task, with its row as it is now."""
        return self.publish(kind, **{**self.row(task_id), **fields})

    def forget(self, task_id: str, n: int) -> None:
        """Attempt ``n`` was recorded but its pane never made: as if it had not begun (the
        task is pending again)."""
        from tmuxorch.run.scheduler import PENDING

        st = self.scheduler.states[task_id]
        st.state, st.attempts = PENDING, n - 1
        self.times[task_id] = (None, None)
        self.task_event(events.FORGOTTEN, task_id, forgotten=n)

    def use_tasks(self, taskset: TaskSet) -> None:
        """The run goes on with ``taskset`` (a reload, an added task): its graph and
        workspace follow (the caller makes the scheduler)."""
        from dataclasses import replace

        self.taskset, self.graph = taskset, taskset.graph
        self.ws = replace(self.ws, tasks=taskset)

    def skip_blocked(self) -> None:
        """Skip what waits for a task that will never succeed (see the scheduler's)."""
        for task_id in self.scheduler.skip_blocked():
            self.task_event(events.SKIPPED, task_id)

    def note(self, text: str, task: str | None = None) -> None:
        self.publish(events.NOTE, text=text, task=task)

    def row(self, task_id: str) -> Event:
        st = self.scheduler.states[task_id]
        attempt = self.attempts.get(task_id)
        started, ended = self.times.get(task_id, (None, None))
        state = st.state
        if attempt is not None and attempt.host in self.unreachable and state == "running":
            state = UNKNOWN  # it goes on (or ended) there: no one can tell from here
        return {
            "task": task_id,
            "state": state,
            "attempt": st.attempts,
            "pane": attempt.pane if attempt and attempt.pane else self.kept.get(task_id),
            "exit_code": st.exit_code,
            "reason": st.reason,
            "started": started,
            "ended": ended,
            "activity": self.activity.get(task_id),
            "allow_failure": self.scheduler.tasks[task_id].allow_failure,
            "pull_request": self.pull_requests.get(task_id, {}).get("url"),
            "failure": st.failure,
            "retry_at": st.retry_at if st.state == "retrying" else None,
        }

    @property
    def order(self) -> list[str]:
        """Its tasks in the file's order (as a person reads them, top to bottom)."""
        return [task.id for task in self.taskset.tasks]

    def rows(self) -> list[Event]:
        return [self.row(t) for t in self.order if t in self.scheduler.states]

    def snapshot(self) -> Event:
        return {"type": events.RUN_SNAPSHOT, "run": self.run_id, "t": time.time(), **self.facts()}

    def facts(self) -> Event:
        """The run as a whole: what ``run-opened`` and ``run-snapshot`` carry."""
        return {
            "file": os.path.abspath(self.ws.file),
            "session": self.session,
            "server": list(self.client.server_args),
            "tasks": self.rows(),
        }

    # -- small shared facts -------------------------------------------------------------------
    def profile(self, attempt: Attempt) -> AgentProfile:
        return attempt.profile or self.taskset.agent(attempt.task.agent)

    def files(self, task_id: str, n: int) -> AttemptFiles:
        return AttemptFiles.of(self.run_dir, task_id, n)

    def marker(self, attempt: Attempt) -> str:
        return attempt_id(self.run_id, attempt.task.id, attempt.n)

    @staticmethod
    def load_pane_maker_meanwhile() -> None:
        """libtmux takes ~70 ms to import, more than the rest of the way to the first panes:
        a thread imports it while this one waits on tmux and SQLite. Called once every
        module the way needs is imported (and ``typing``, which dataclasses look up and
        libtmux imports): two threads importing one module at once could see it half-made."""
        import importlib
        import threading
        import typing  # noqa: F401 - see above

        module = "tmuxorch.tmux.agent_panes"
        threading.Thread(target=importlib.import_module, args=(module,), daemon=True).start()

    def pane_maker(self) -> AgentPanes:
        if self.panes is None:
            from tmuxorch.tmux.agent_panes import AgentPanes

            self.panes = AgentPanes(self.client)
        return self.panes

    def tmux(self, pane: str) -> tuple[Client, str]:
        """The tmux server ``pane`` is on, and its id there (``%3@gpu1`` → gpu1's, ``%3``).
        Raises TmuxError when its host is not reached."""
        raw, host = split(pane)
        if host is None:
            return self.client, raw
        link = self.hosts.find(host)
        if link is None or link.client is None or not link.up:
            from tmuxorch.tmux.client import TmuxError

            raise TmuxError(f"host {host} is unreachable")
        return link.client, raw

    def kill_pane(self, pane: str) -> None:
        """Close a pane, here or on its host (one already gone, or out of reach, is left)."""
        from tmuxorch.tmux.client import TmuxError

        try:
            client, raw = self.tmux(pane)
            tmux_panes.kill_panes(client, [raw])
        except TmuxError:
            pass

    def stop_tree(self, attempt: Attempt) -> None:
        """Stop an attempt's processes, here or on its host."""
        if attempt.host is None:
            from tmuxorch.run import proctree

            pid = attempt.pid or None
            proctree.kill_tree(pid, self.marker(attempt), session=pid)
            return
        link = self.hosts.find(attempt.host)
        if link is not None:
            link.stop_tree(attempt.pid)

    def attempt_on(self, pane: str) -> Attempt | None:
        return next((a for a in self.attempts.values() if a.pane == pane), None)
