"""The supervisor: drives a run's scheduler against tmux until every task is done.

One thread decides (this loop); helpers only report into its queue: a watchfiles thread
(exit files the pane wrapper writes, requests from ``tmuxorch stop``/``retry``), signal
handlers, and killer threads (a stubborn process tree takes seconds to die). Agents live in
tmux panes, not under this process: if it dies, they go on, and the next supervisor of the
same file adopts them (their panes carry ``@tmuxorch-*`` options).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import queue
import re
import signal
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace

from tmuxorch.agents import dialogs
from tmuxorch.agents.launch import AttemptFiles, attempt_id, launch, needs_session
from tmuxorch.agents.patterns import IDLE, WAITING, for_agent
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.sinks import EventLog, Transcripts
from tmuxorch.run import proctree, results, worktrees
from tmuxorch.run.display import Display, Row
from tmuxorch.run.scheduler import (
    FAILED,
    PENDING,
    RETRYING,
    RUNNING,
    STOPPED,
    SUCCEEDED,
    TERMINAL,
    Scheduler,
    TaskState,
)
from tmuxorch.run.store import Store, state_dir
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.build import session_exists
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import TextIO

    from tmuxorch.agents.launch import Launch
    from tmuxorch.bridge.poller import Event
    from tmuxorch.spec.model import Pairs, Workspace
    from tmuxorch.spec.task_model import AgentProfile, Task, TaskSet
    from tmuxorch.tmux.client import Client

POLL = 0.25
"""Seconds between looks at panes whose task ends on output, a file, or idleness."""
BACKSTOP = 2.0
"""Seconds between checks that every running pane is still there and alive."""
EXIT_GRACE = 1.0
"""How long a dead pane may wait for its exit file before it counts as lost."""
SWEEP_AFTER = 0.5
"""Seconds after an attempt's end to stop what it left running."""
CLOSE_WITHIN = 3.0
"""How long a finished attempt's pane may take to show its program ended before it is closed
anyway."""
STATUS_WINDOW = "tmuxorch"
HISTORY = 200_000
"""Lines of history each agent pane keeps (tmux's default is 2,000)."""
WATCH_STEP_MS = 2
RELOAD_SETTLE = 0.3
"""Seconds a task file must be quiet before it is read again (editors write in steps)."""


class SupervisorBusy(Exception):
    """Another supervisor already runs this file."""


RESUME_PROMPT = (
    "(tmuxorch) This is attempt {attempt} of task {task}. The last attempt ended: {reason}. "
    "Carry on with the task from where it stopped; its instructions are earlier in this "
    "conversation."
)
"""What a resumed conversation is told (its first prompt is already in it)."""
DIALOG_TRIES = 3
"""Answers to one dialog before it is left to a person."""
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
    ending: bool = False
    """Being stopped by us: its exit file no longer decides anything."""
    idle_since: float | None = None
    """Since when its agent shows it is idle (for ``done_when: idle``)."""
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


def run_id_now() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]


def lock_path(file: str) -> str:
    digest = hashlib.sha1(os.path.abspath(file).encode()).hexdigest()[:12]
    return os.path.join(state_dir(file), f"supervisor-{digest}.lock")


def _agent_options(profile: AgentProfile) -> Pairs:
    """What a pane tells other processes (``send``, ``watch``) of how to talk to its agent."""
    options = [(tmux_panes.AGENT, profile.preset)]
    options.append((tmux_panes.ENTER_DELAY, f"{profile.enter_delay:g}"))
    if profile.patterns != for_agent(profile.preset):
        options.append((tmux_panes.PATTERNS, json.dumps(profile.patterns)))
    return tuple(options)


def supervisor_alive(file: str) -> bool:
    """Whether a supervisor holds the lock of ``file``."""
    path = lock_path(file)
    if not os.path.exists(path):
        return False
    with open(path) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


class Supervisor:
    def __init__(
        self,
        workspace: Workspace,
        client: Client,
        display: Display,
        *,
        keep: bool = False,
        inside: bool = False,
        fresh: bool = False,
    ) -> None:
        assert workspace.tasks is not None
        self.ws = workspace
        self.taskset: TaskSet = workspace.tasks
        self.client = client
        self.display = display
        self.keep = keep
        self.inside = inside
        self.fresh = fresh
        self.graph = self.taskset.graph
        self.session = workspace.session_name
        self.store = Store(state_dir(workspace.file))
        self.events: queue.Queue[tuple[str, object]] = queue.Queue()
        self.attempts: dict[str, Attempt] = {}
        """Live attempts by task id."""
        self.windows: dict[str, int] = {}
        """Task window name → how many panes it holds."""
        self.kept: dict[str, str] = {}
        self.sweeps: list[tuple[threading.Timer, str]] = []
        """Task → pane kept (dead) after its final failure."""
        self.closing: dict[str, tuple[Attempt, bool, float]] = {}
        """Pane → its finished attempt, whether to keep it, and when to close it at the latest
        (it closes once the poller has seen its program end: the transcript is complete)."""
        self.activity: dict[str, str] = {}
        """Task → what its agent is doing (busy, waiting_input, idle...), from its screen."""
        self.created_session = False
        self.poller = Poller(client)
        self.transcripts = Transcripts()
        self.stop_watching = threading.Event()
        self.run_id = ""
        self.run_dir = ""
        self.interrupted: str | None = None
        self.sessions: dict[str, str] = {}
        """Task → its agent's conversation id (kept in the store: retries resume it)."""
        self.checkouts: dict[str, worktrees.Checkout] = {}
        """Task → its worktree, from its first attempt until the task is over."""
        self.kept_worktrees: list[str] = []
        self.watched: frozenset[str] = frozenset()
        self.rewatch = threading.Event()
        self.reload_at: float | None = None
        self.stamps = self._stamp_sources()
        """The task files as last read (a change the watch missed shows here)."""
        self.next_backstop = 0.0
        self.next_poll = 0.0
        self.next_display = 0.0

    # -- the whole run ---------------------------------------------------------------------
    def run(self) -> int:
        lock = self._lock()
        try:
            scheduler = self._open_run()
            self.scheduler = scheduler
            self._ensure_session()
            self._keep_history()
            self._mark_session()
            self.poller.add_sink(self.transcripts)
            self.poller.add_sink(EventLog(os.path.join(state_dir(self.ws.file), "events.jsonl")))
            self.poller.add_sink(self._from_poller)
            self.poller.start()
            self._reconcile()
            watcher = threading.Thread(target=self._watch, daemon=True)
            watcher.start()
            self._update_watches()
            threading.Thread(target=self._watch_more, daemon=True).start()
            previous = self._install_signals()
            try:
                self._loop()
            finally:
                self._restore_signals(previous)
                self.stop_watching.set()
            return self._finish()
        finally:
            self.poller.stop()
            self.store.close()
            lock.close()  # releases the lock: no supervisor any more

    def _lock(self) -> TextIO:
        os.makedirs(state_dir(self.ws.file), exist_ok=True)
        handle = open(lock_path(self.ws.file), "a+")  # noqa: SIM115 - held for the whole run
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise SupervisorBusy(
                f"a supervisor is already running {self.ws.file}; see 'tmuxorch status'"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        return handle

    def _open_run(self) -> Scheduler:
        """Resume the file's unfinished run (never redoing finished tasks), or start one."""
        ids = {t.id for t in self.taskset.tasks}
        previous = self.store.runs(self.ws.file)
        latest = previous[0] if previous else None
        if latest and not self.fresh:
            rows = self.store.tasks(latest.id)
            states = {
                t: TaskState(r.state, r.attempts, r.reason, r.exit_code, r.retry_at)
                for t, r in rows.items()
                if t in ids
            }
            resumed = Scheduler(self.taskset, self.graph, states)
            if not resumed.finished():
                self.run_id = latest.id
                self.store.add_tasks(latest.id, list(resumed.states))
                self.store.adopt(latest.id)
                self.sessions = {t: r.session for t, r in rows.items() if r.session}
                self._paths()
                self.display.event(f"resuming run {self.run_id}")
                return resumed
        self.run_id = run_id_now()
        scheduler = Scheduler(self.taskset, self.graph)
        first = [t for t in self.graph.order if t in scheduler.states]
        self.store.new_run(self.run_id, self.ws.file, self.session, self.client.server_args, first)
        self._paths()
        self.display.event(f"run {self.run_id}: {len(first)} task(s), session {self.session!r}")
        return scheduler

    def _paths(self) -> None:
        self.run_dir = os.path.join(state_dir(self.ws.file), "runs", self.run_id)
        for sub in ("exits", "prompts", "requests", "results"):
            os.makedirs(os.path.join(self.run_dir, sub), exist_ok=True)

    def _ensure_session(self) -> None:
        if self.inside:
            return
        file = os.path.abspath(self.ws.file)
        argv = (sys.executable, "-m", "tmuxorch", "status", "--follow", "--file", file)
        made = tmux_panes.ensure_session(self.client, self.session, STATUS_WINDOW, argv)
        self.created_session = self.created_session or made
        self._count_windows()

    def _mark_session(self) -> None:
        """``@tmuxorch-file`` on the session: ``status``, ``logs``... find the run from it."""
        self.client.run_each(
            [
                (
                    "set-option",
                    "-t",
                    f"={self.session}:",
                    "@tmuxorch-file",
                    os.path.abspath(self.ws.file),
                )
            ]
        )

    def _keep_history(self) -> None:
        """Agents print a lot: let panes keep enough history for the poller to read it all
        (tmux reads ``history-limit`` when a pane is made, so this is for the panes to come)."""
        try:
            current = self.client.cmd(
                "show-options", "-v", "-t", f"={self.session}:", "history-limit"
            )
            if int(current[0]) < HISTORY:
                self.client.cmd(
                    "set-option", "-t", f"={self.session}:", "history-limit", str(HISTORY)
                )
        except (TmuxError, ValueError, IndexError):
            pass

    def _count_windows(self) -> None:
        self.windows = {
            name: count
            for name, count in tmux_panes.windows(self.client, self.session).items()
            if name == "tasks" or name.startswith("tasks-")
        }

    def _reconcile(self) -> None:
        """Adopt panes still running from a previous supervisor; record what ended meanwhile."""
        running = [t for t, s in self.scheduler.states.items() if s.state == RUNNING]
        if not running:
            return
        facts = {(f.task, f.attempt): f for f in tmux_panes.task_panes(self.client, self.run_id)}
        rows = {(a.task, a.n): a for a in self.store.attempts(self.run_id)}
        for task_id in running:
            n = self.scheduler.states[task_id].attempts
            task = self.taskset.task(task_id)
            files = AttemptFiles.of(self.run_dir, task_id, n)
            fact = facts.get((task_id, n))
            row = rows.get((task_id, n))
            started = row.started if row else time.time()
            if fact is None:
                code = _read_exit(files.exit)
                if code is None and row is not None and row.pane is None:
                    # recorded, but the supervisor died before making the pane: never ran
                    self.store.forget_attempt(self.run_id, task_id, n)
                    st = self.scheduler.states[task_id]
                    st.state, st.attempts = PENDING, n - 1
                    continue
                attempt = Attempt(task, n, "", 0, files, started, None, "")
                self.attempts[task_id] = attempt
                if code is not None:
                    self._exited(attempt, code)
                else:
                    self._complete(
                        attempt,
                        ok=False,
                        code=None,
                        reason="its pane was gone when the supervisor came back",
                    )
                self._sweep(attempt)
                continue
            if row is not None and row.pane is None:  # made but not yet recorded, nor tagged
                self.store.attempt_opened(self.run_id, task_id, n, fact.pane, fact.pid)
                agent = _agent_options(self.taskset.agent(task.agent))
                tmux_panes.tag(self.client, self.run_id, task_id, n, fact.pane, agent)
            deadline = None
            if task.timeout is not None:
                deadline = time.monotonic() + max(0.0, started + task.timeout - time.time())
            attempt = Attempt(task, n, fact.pane, fact.pid, files, started, deadline, fact.window)
            attempt.profile = self.taskset.agent(task.agent)
            attempt.typed = True  # whether its prompt was typed is not known: never twice
            if task.worktree is not None:
                try:  # its worktree is there already: found again
                    attempt.checkout = worktrees.prepare(
                        task.cwd or os.getcwd(), state_dir(self.ws.file), self.run_id, task_id
                    )
                    self.checkouts[task_id] = attempt.checkout
                except worktrees.GitError as exc:
                    self.display.event(f"{task_id}: its worktree is gone ({exc})")
            attempt.cwd = attempt.checkout.cwd if attempt.checkout else (task.cwd or "")
            self.attempts[task_id] = attempt
            self._follow(attempt)
            self.display.event(f"{task_id}: adopted {fact.pane} (attempt {n})")
            code = _read_exit(files.exit)
            if code is not None:
                self._exited(attempt, code)
            elif fact.dead:
                attempt.dead_since = time.monotonic() - EXIT_GRACE

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        while not self.scheduler.finished() and self.interrupted is None:
            self._start_ready()
            self._close_overdue()
            now = time.monotonic()
            if now >= self.next_backstop:
                self._backstop()
                if self.reload_at is None and self._stamp_sources() != self.stamps:
                    self.reload_at = now  # changed before the watch was on, or unseen by it
                self.next_backstop = now + BACKSTOP
            if now >= self.next_poll and self._needs_polling():
                self._poll()
                self.next_poll = now + POLL
            self._check_timeouts()
            self._check_idle()
            self._recheck_dialogs()
            if self.reload_at is not None and now >= self.reload_at:
                self._reload()
            if now >= self.next_display:
                self._refresh()
                self.next_display = now + (1.0 if self.display.wants_last_lines() else 5.0)
            if self.scheduler.finished():
                break
            try:
                kind, payload = self.events.get(timeout=self._wait_time())
            except queue.Empty:
                continue
            self._handle(kind, payload)
            while True:  # drain what else arrived
                try:
                    kind, payload = self.events.get_nowait()
                except queue.Empty:
                    break
                self._handle(kind, payload)

    def _wait_time(self) -> float:
        now = time.monotonic()
        times = [self.next_backstop, self.next_display]
        if self._needs_polling():
            times.append(self.next_poll)
        times += [a.deadline for a in self.attempts.values() if a.deadline and not a.ending]
        times += [deadline for _, _, deadline in self.closing.values()]
        times += [a.dialog_recheck for a in self.attempts.values() if a.dialog_recheck]
        times += [
            a.idle_since + a.task.done_when.seconds
            for a in self.attempts.values()
            if a.idle_since and a.task.done_when.kind == "idle" and not a.ending
        ]
        retry = self.scheduler.next_retry()
        if retry is not None:
            times.append(now + max(0.0, retry - time.time()))
        if self.reload_at is not None:
            times.append(self.reload_at)
        return max(0.0, min(times) - now)

    def _handle(self, kind: str, payload: object) -> None:
        if kind == "files":
            assert isinstance(payload, set)
            for path in sorted(payload):
                self._file_changed(path)
        elif kind == "signal":
            assert isinstance(payload, int)
            self.interrupted = signal.Signals(payload).name
        elif kind == "killed":
            assert isinstance(payload, tuple)
            attempt, ok, code, reason = payload
            self._complete(attempt, ok=ok, code=code, reason=reason)
        elif kind == "bridge":
            assert isinstance(payload, dict)
            self._bridge(payload)
        elif kind == "note":
            self.display.event(str(payload))
        elif kind == "watched":
            assert isinstance(payload, set)
            if payload & self._sources():
                self.reload_at = time.monotonic() + RELOAD_SETTLE
            self._poll()
        elif kind == "recheck":
            self._poll()

    def _file_changed(self, path: str) -> None:
        folder, name = os.path.split(path)
        if os.path.basename(folder) == "requests" and name.endswith(".json"):
            self._request(path)
            return
        if os.path.basename(folder) == "results" and name.endswith(".json"):
            attempt = self.attempts.get(name[: -len(".json")])
            done = attempt is not None and attempt.task.done_when.kind == "result"
            if done and attempt and not attempt.ending and results.ready(path):
                self._end(attempt, ok=True, code=None, reason=None)
            return
        if os.path.basename(folder) != "exits" or name.endswith(".tmp"):
            return
        task_id, _, n = name.rpartition(".")
        attempt = self.attempts.get(task_id)
        if attempt is None or str(attempt.n) != n or attempt.ending:
            return
        code = _read_exit(path)
        if code is not None:
            self._exited(attempt, code)

    # -- starting --------------------------------------------------------------------------
    def _start_ready(self) -> None:
        tasks = self.scheduler.startable(time.time())
        if not tasks:
            return
        requests = []
        starting: list[tuple[Task, Launch, worktrees.Checkout | None]] = []
        for task in tasks:
            prepared = self._prepare(task)
            if isinstance(prepared, str):
                self._refuse(task, prepared)
                continue
            n, spec, checkout = prepared
            with contextlib.suppress(FileNotFoundError):
                os.unlink(AttemptFiles.of(self.run_dir, task.id, n).exit)
            self.store.start_attempt(self.run_id, task.id, n, None, None, time.time())
            window, new = self._place()
            agent = _agent_options(self.taskset.agent(task.agent))
            requests.append(
                tmux_panes.PaneRequest(
                    task.id, n, spec.argv, spec.env, spec.cwd, window, new, agent
                )
            )
            starting.append((task, spec, checkout))
        if not requests:
            return
        opened = tmux_panes.open_panes(self.client, self.session, self.run_id, requests)
        refused = all(isinstance(r, TmuxError) for r in opened)
        if refused and not self.inside and not session_exists(self.client, self.session):
            # someone closed the session (or the whole server): make it again, once
            self.display.event(f"session {self.session!r} is gone: making it again")
            self._ensure_session()
            places = [self._place() for _ in requests]
            requests = [
                replace(r, window=w, new_window=new)
                for r, (w, new) in zip(requests, places, strict=True)
            ]
            opened = tmux_panes.open_panes(self.client, self.session, self.run_id, requests)
        if any(isinstance(r, TmuxError) for r in opened):
            self._count_windows()  # what tmux refused was counted in
        for (task, spec, checkout), result in zip(starting, opened, strict=True):
            n = self.scheduler.start(task.id)
            started = time.time()
            files = AttemptFiles.of(self.run_dir, task.id, n)
            if isinstance(result, TmuxError):
                self._refuse(task, f"could not open a pane: {result}", n)
                continue
            deadline = time.monotonic() + task.timeout if task.timeout is not None else None
            attempt = Attempt(
                task, n, result.pane, result.pid, files, started, deadline, result.window
            )
            attempt.cwd, attempt.checkout = spec.cwd, checkout
            attempt.profile, attempt.typed_prompt = self.taskset.agent(task.agent), spec.type_prompt
            self.attempts[task.id] = attempt
            self._follow(attempt)
            self.store.attempt_opened(self.run_id, task.id, n, result.pane, result.pid)
            again = f" (attempt {n})" if n > 1 else ""
            where = f" in worktree {checkout.branch}" if checkout else ""
            self.display.event(f"{task.id}: started in {result.pane}{again}{where}")
        self._update_watches()
        self.next_display = 0.0

    def _prepare(self, task: Task) -> tuple[int, Launch, worktrees.Checkout | None] | str:
        """Everything an attempt needs before its pane: its worktree, its prompt (run-time
        fields filled, or what a resumed conversation is told), its conversation id, its
        command line. A string: why it cannot start."""
        n = self.scheduler.states[task.id].attempts + 1
        profile = self.taskset.agent(task.agent)
        files = AttemptFiles.of(self.run_dir, task.id, n)
        checkout = self.checkouts.get(task.id)
        if task.worktree is not None and checkout is None:
            try:
                checkout = worktrees.prepare(
                    task.cwd or os.getcwd(), state_dir(self.ws.file), self.run_id, task.id
                )
            except worktrees.GitError as exc:
                return f"could not make its worktree: {exc}"
            self.checkouts[task.id] = checkout
        cwd = checkout.cwd if checkout else (task.cwd or os.getcwd())
        if not os.path.isdir(cwd):
            # tmux would start the pane elsewhere: an agent in the wrong place is worse
            return f"its working directory {cwd} does not exist"
        session = self.sessions.get(task.id)
        resume = n > 1 and profile.resume_argv is not None
        if resume and needs_session(profile, resume=True) and not session:
            resume = False  # no conversation to go back to: start afresh
        if not resume and needs_session(profile, resume=False):
            session = str(uuid.uuid4())
            self.sessions[task.id] = session
            self.store.update_task(self.run_id, task.id, "session", session=session)
        prompt = task.prompt
        if resume:
            st = self.scheduler.states[task.id]
            prompt = RESUME_PROMPT.format(
                attempt=n, task=task.id, reason=st.reason or "it was interrupted"
            )
        elif task.prompt_fields:
            fixed = {
                "result_file": files.result,
                "run": self.run_id,
                "attempt": str(n),
                "worktree": checkout.path if checkout else "",
                "branch": checkout.branch if checkout else "",
            }
            try:
                prompt = results.fill(task, fixed, self._result_path)
            except results.ResultError as exc:
                return f"its prompt needs a result: {exc}"
        results.clear(files.result)
        spec = launch(
            task,
            profile,
            run_id=self.run_id,
            attempt=n,
            files=files,
            prompt=prompt,
            cwd=cwd,
            session=session,
            resume=resume,
        )
        if spec.prompt_file is not None:
            with open(spec.prompt_file, "w", encoding="utf-8") as handle:
                handle.write(prompt or "")
        if resume:
            self.display.event(f"{task.id}: resuming its conversation {session or ''}".rstrip())
        return n, spec, checkout

    def _result_path(self, task_id: str) -> str:
        return AttemptFiles.of(self.run_dir, task_id, 1).result

    def _refuse(self, task: Task, reason: str, n: int | None = None) -> None:
        """An attempt that could not even start: it counts, and fails."""
        n = n or self.scheduler.start(task.id)
        started = time.time()
        self.store.start_attempt(self.run_id, task.id, n, "", None, started)
        files = AttemptFiles.of(self.run_dir, task.id, n)
        attempt = Attempt(task, n, "", 0, files, started, None, "")
        attempt.checkout = self.checkouts.get(task.id)
        self.attempts[task.id] = attempt
        self._complete(attempt, ok=False, code=None, reason=reason)

    def _follow(self, attempt: Attempt) -> None:
        """Have the poller follow the pane from its first line: transcript, agent state."""
        self.transcripts.assign(attempt.pane, attempt.files.transcript)
        profile = self._profile(attempt)
        self.poller.watch(
            attempt.pane, label=attempt.task.id, patterns=profile.patterns, from_start=True
        )

    def _profile(self, attempt: Attempt) -> AgentProfile:
        return attempt.profile or self.taskset.agent(attempt.task.agent)

    def _from_poller(self, event: Event) -> None:
        """(The poller's thread.) What the supervisor acts on goes into its queue."""
        if event["type"] in ("state", "lines", "frame", "exit", "gone"):
            self.events.put(("bridge", event))

    def _bridge(self, event: Event) -> None:
        if event["type"] in ("exit", "gone"):
            # the exit file decides how an attempt ended; this only says its pane may close
            if event["pane"] in self.closing:
                self._close(str(event["pane"]))
            return
        attempt = next((a for a in self.attempts.values() if a.pane == event["pane"]), None)
        if attempt is None or attempt.ending:
            return
        task = attempt.task
        profile = self._profile(attempt)
        if profile.session_capture and event["type"] in ("lines", "frame"):
            self._capture_session(attempt, profile, event)
        if profile.dialogs and event["type"] == "frame":
            self._dialogs(attempt, profile)
            if attempt.ending:
                return
        if event["type"] == "state":
            self._agent_state(attempt, str(event["state"]))
        elif task.done_when.kind == "output" and task.done_when.pattern:
            text = "\n".join(event["lines"]) if event["type"] == "lines" else None  # type: ignore[arg-type]
            screen = self.poller.screen(attempt.pane) or ""
            pattern = task.done_when.pattern
            if re.search(pattern, screen, re.MULTILINE) or (
                text and re.search(pattern, text, re.MULTILINE)
            ):
                self._end(attempt, ok=True, code=None, reason=None)
        if not attempt.typed and self._types(attempt):
            self._type_prompt(attempt)

    def _capture_session(self, attempt: Attempt, profile: AgentProfile, event: Event) -> None:
        """The agent showed its conversation id (codex prints it, claude on exit...)."""
        assert profile.session_capture is not None
        if event["type"] == "lines":
            text = "\n".join(str(line) for line in event["lines"])  # type: ignore[attr-defined]
        else:
            text = self.poller.screen(attempt.pane) or ""
        found = re.search(profile.session_capture, text)
        task_id = attempt.task.id
        if found and self.sessions.get(task_id) != found.group(1):
            self.sessions[task_id] = found.group(1)
            self.store.update_task(self.run_id, task_id, "session", session=found.group(1))

    def _dialogs(self, attempt: Attempt, profile: AgentProfile) -> None:
        """A start-up dialog on screen: answered (policy accept), left to a person (ask,
        or when the answer cannot be told), or the end of the attempt (fail). Looked at on
        each new screen, and again a moment later (a screen that stays put sends none)."""
        attempt.dialog_recheck = None
        screen = self.poller.screen(attempt.pane) or ""
        dialog = next((d for d in profile.dialogs if dialogs.showing(d, screen)), None)
        if dialog is None or profile.dialog_policy == "ask":
            return
        task_id = attempt.task.id
        if profile.dialog_policy == "fail":
            why = f"stopped at its {dialog.name} dialog (dialogs: fail)"
            self._end(attempt, ok=False, code=None, reason=why)
            return
        now = time.monotonic()
        answers = attempt.dialog_answers = attempt.dialog_answers or {}
        tries = answers.get(dialog.name, 0)
        if now < attempt.dialog_at + DIALOG_SETTLE:
            attempt.dialog_recheck = attempt.dialog_at + DIALOG_SETTLE
            return  # the last answer may not have been drawn yet
        keys = dialogs.answer(dialog, screen)
        if keys is None and tries < DIALOG_TRIES:  # half drawn, maybe: look again soon
            answers[dialog.name], attempt.dialog_at = tries + 1, now
            attempt.dialog_recheck = now + DIALOG_SETTLE
            return
        if keys is None or tries >= DIALOG_TRIES:
            if tries <= DIALOG_TRIES:
                answers[dialog.name] = DIALOG_TRIES + 1
                self.display.event(
                    f"{task_id}: its {dialog.name} dialog needs you (tmuxorch attach {task_id})"
                )
            return
        answers[dialog.name], attempt.dialog_at = tries + 1, now
        attempt.dialog_recheck = now + DIALOG_SETTLE  # still there then: answer again
        self.display.event(f"{task_id}: answered its {dialog.name} dialog ({' '.join(keys)})")
        from tmuxorch.bridge.send import press

        def answer() -> None:
            why = press(self.client, attempt.pane, keys, delay=profile.enter_delay)
            if why:
                self.events.put(("note", f"{task_id}: could not answer its dialog: {why}"))

        threading.Thread(target=answer, daemon=True).start()

    def _recheck_dialogs(self) -> None:
        now = time.monotonic()
        for attempt in list(self.attempts.values()):
            due = attempt.dialog_recheck
            if due is not None and now >= due and not attempt.ending:
                self._dialogs(attempt, self._profile(attempt))

    def _agent_state(self, attempt: Attempt, state: str) -> None:
        task_id = attempt.task.id
        previous = self.activity.get(task_id)
        self.activity[task_id] = state
        attempt.idle_since = time.monotonic() if state == IDLE else None
        self.store.update_task(self.run_id, task_id, f"agent-{state}", activity=state)
        title = f"{task_id} · waiting for input" if state == WAITING else f"{task_id} · {state}"
        tmux_panes.set_titles(self.client, [(attempt.pane, title)])
        if state == WAITING and previous != WAITING:
            self.display.event(f"{task_id}: waiting for input (tmuxorch attach {task_id})")
            self._notify("waiting_input", task_id, attempt)
        self.next_display = 0.0

    def _notify(self, kind: str, task_id: str, attempt: Attempt | None) -> None:
        """Tell people: a tmux message on the session's clients, and the ``notify:`` hook."""
        from tmuxorch.run.notify import notify

        screen = self.poller.screen(attempt.pane) if attempt and attempt.pane else None
        notify(
            self.client,
            self.session,
            self.taskset.notify,
            {
                "event": kind,
                "run": self.run_id,
                "task": task_id,
                "pane": attempt.pane if attempt else None,
                "session": self.session,
                "file": os.path.abspath(self.ws.file),
                "last_lines": [ln for ln in (screen or "").splitlines() if ln.strip()][-5:],
            },
        )

    def _place(self) -> tuple[str, bool]:
        """A task window with room for one more pane, or a new one."""
        for name, count in self.windows.items():
            if count < self.taskset.panes_per_window:
                self.windows[name] = count + 1
                return name, False
        n = 1
        while (name := "tasks" if n == 1 else f"tasks-{n}") in self.windows:
            n += 1
        self.windows[name] = 1
        return name, True

    # -- ending ----------------------------------------------------------------------------
    def _exited(self, attempt: Attempt, code: int) -> None:
        """The agent's process ended with ``code``: does that complete the task?"""
        done = attempt.task.done_when
        if done.kind in ("exit", "idle"):
            ok = code == 0
            self._complete(attempt, ok=ok, code=code, reason=None if ok else f"exit status {code}")
            return
        met = self._condition_met(attempt, final=True)
        reason = None if met else f"exited (status {code}) before {_describe(attempt)}"
        self._complete(attempt, ok=met, code=code, reason=reason)

    def _condition_met(self, attempt: Attempt, *, final: bool = False) -> bool:
        """A file condition now; an output condition, once the program ended, on all it
        printed (its transcript, completed by a last look)."""
        done = attempt.task.done_when
        if done.kind == "result":
            return results.ready(attempt.files.result)
        if done.kind == "file":
            path = self._condition_path(attempt)
            if path is None or not os.path.exists(path):
                return False
            return results.ready(path) if path.endswith(".json") else True
        if done.kind == "output" and final and done.pattern:
            self._final_look(attempt)
            try:
                with open(attempt.files.transcript, encoding="utf-8") as handle:
                    return re.search(done.pattern, handle.read(), re.MULTILINE) is not None
            except OSError:
                return False
        return False

    def _end(self, attempt: Attempt, *, ok: bool, code: int | None, reason: str | None) -> None:
        """Stop a still-running attempt (tree kill in a thread), then complete it."""
        if attempt.ending:
            return
        attempt.ending = True

        def kill() -> None:
            proctree.kill_tree(attempt.pid or None, _marker(self.run_id, attempt))
            self.events.put(("killed", (attempt, ok, code, reason)))

        threading.Thread(target=kill, daemon=True).start()

    def _complete(
        self, attempt: Attempt, *, ok: bool, code: int | None, reason: str | None
    ) -> None:
        task_id = attempt.task.id
        if self.attempts.get(task_id) is not attempt:
            return  # already completed
        del self.attempts[task_id]
        attempt.ending = True
        self.activity.pop(task_id, None)
        if ok and attempt.checkout is not None:
            unmerged = self._worktree_done(attempt, succeeded=True)
            if unmerged is not None:
                ok, reason = False, unmerged
        outcome = self.scheduler.finish(task_id, time.time(), ok=ok, exit_code=code, reason=reason)
        if outcome.state == FAILED and attempt.checkout is not None:
            self._worktree_done(attempt, succeeded=False)
        st = self.scheduler.states[task_id]
        self.store.end_attempt(
            self.run_id,
            task_id,
            attempt.n,
            exit_code=code,
            outcome=outcome.state,
            reason=reason,
            task_fields={
                "state": outcome.state,
                "exit_code": code,
                "reason": reason,
                "ended": time.time(),
                "retry_at": outcome.retry_at,
            },
        )
        skipped_why = {t: self.scheduler.states[t].reason for t in outcome.skipped}
        for skipped, why in skipped_why.items():
            self.store.update_task(self.run_id, skipped, "skipped", state="skipped", reason=why)
        if outcome.created:
            self.store.add_tasks(self.run_id, outcome.created)
            for created in outcome.created:
                self.display.event(f"{created}: follows {task_id}, which succeeded")
        took = time.time() - attempt.started
        if outcome.state == SUCCEEDED:
            self.display.event(f"{task_id}: succeeded in {took:.1f}s")
        elif outcome.state == RETRYING:
            wait = (st.retry_at or time.time()) - time.time()
            self.display.event(f"{task_id}: {reason}; retrying in {wait:.1f}s")
        else:
            self.display.event(f"{task_id}: {outcome.state} ({reason})")
        for skipped, why in skipped_why.items():
            self.display.event(f"{skipped}: skipped ({why})")
        if attempt.pane:
            keep = outcome.state == FAILED and (self.inside or self.keep)
            self.closing[attempt.pane] = (attempt, keep, time.monotonic() + CLOSE_WITHIN)
            if not self.poller.expect_end(attempt.pane):
                self._close(attempt.pane)  # the poller saw it end already
        self.next_display = 0.0

    def _worktree_done(self, attempt: Attempt, *, succeeded: bool) -> str | None:
        """The task is over (a success, or a final failure): its worktree's work is
        committed, then merged, kept or removed as its policy says. None, or why the work
        could not be merged (the task then fails, and the branch is kept)."""
        checkout, policy = attempt.checkout, attempt.task.worktree
        assert checkout is not None and policy is not None
        task_id = attempt.task.id
        message = f"tmuxorch: {task_id} (run {self.run_id}, attempt {attempt.n})"
        try:
            worktrees.commit_all(checkout, message)
            if succeeded and policy.after == "merge":
                try:
                    done = worktrees.merge(checkout, policy.merge, message)
                except worktrees.GitError as exc:
                    return self._keep_worktree(attempt, f"its work could not be merged: {exc}")
                self.display.event(f"{task_id}: merged into {checkout.base} ({done})")
            elif policy.after == "keep" or (not succeeded and policy.failed == "keep"):
                self._keep_worktree(attempt, "kept")
                return None
            elif not succeeded:
                lost = worktrees.ahead(checkout)
                self.display.event(
                    f"{task_id}: removing its worktree ({lost} commit(s) on {checkout.branch}"
                    " discarded; worktree: {failed: keep} keeps them)"
                )
            worktrees.remove(checkout)
        except worktrees.GitError as exc:
            self.display.event(f"{task_id}: worktree {checkout.path}: {exc}")
        self.checkouts.pop(task_id, None)
        attempt.checkout = None
        return None

    def _keep_worktree(self, attempt: Attempt, why: str) -> str:
        checkout, task_id = attempt.checkout, attempt.task.id
        assert checkout is not None
        line = f"{why}; branch {checkout.branch} kept in {checkout.path}"
        self.kept_worktrees.append(f"{task_id}: {checkout.branch} ({checkout.path})")
        self.checkouts.pop(task_id, None)
        attempt.checkout = None
        self.display.event(f"{task_id}: {line}")
        return line

    def _close(self, pane: str) -> None:
        """Close a finished attempt's pane, or keep it after a final failure (a person may
        want to look). Nothing waits for this: dependents start as soon as a task ends."""
        attempt, keep, _ = self.closing.pop(pane)
        self.poller.unwatch(pane)
        task_id = attempt.task.id
        if keep:
            self.kept[task_id] = pane
            tmux_panes.set_titles(self.client, [(pane, f"{task_id} · ✗ failed")])
        else:
            tmux_panes.kill_panes(self.client, [pane])
            self._pane_closed(attempt.window)
            self._sweep(attempt)

    def _sweep(self, attempt: Attempt) -> None:
        """Stop what an ended attempt left running (a ``nohup``/``setsid`` child outlives its
        pane), found by the attempt's marker: in a thread, a moment later (the look through
        ``/proc`` must not slow the start of what depended on the attempt)."""
        marker = _marker(self.run_id, attempt)
        self.sweeps = [(t, m) for t, m in self.sweeps if t.is_alive()]
        sweep = threading.Timer(SWEEP_AFTER, proctree.kill_tree, args=(None, marker))
        sweep.daemon = True
        sweep.start()
        self.sweeps.append((sweep, marker))

    def _sweep_now(self) -> None:
        """The run ends: the sweeps not done yet, done now."""
        for sweep, marker in self.sweeps:
            if sweep.is_alive():
                sweep.cancel()
                sweep.join()
                proctree.kill_tree(None, marker)
        self.sweeps = []

    def _close_overdue(self) -> None:
        """Panes whose end the poller has not seen in time (a process that will not die):
        the tree is killed with the pane."""
        now = time.monotonic()
        for pane, (attempt, _, deadline) in list(self.closing.items()):
            if now >= deadline:
                proctree.kill_tree(None, _marker(self.run_id, attempt))
                self._close(pane)

    def _close_all(self) -> None:
        """The run is over: a last look at each finishing pane, then close it."""
        for pane, (attempt, _, _) in list(self.closing.items()):
            self._final_look(attempt)
            self._close(pane)

    def _pane_closed(self, window: str) -> None:
        """One pane fewer in ``window`` (tmux closes a window with its last pane)."""
        if window in self.windows:
            self.windows[window] -= 1
            if self.windows[window] <= 0:
                del self.windows[window]

    def _final_look(self, attempt: Attempt) -> None:
        """The poller's last look (after the program ended): the transcript's end."""
        if attempt.pane:
            self.poller.finish(attempt.pane)

    # -- watching --------------------------------------------------------------------------
    def _watch(self) -> None:
        """The run's own folders: exit files, requests, results."""
        import watchfiles

        folders = [os.path.join(self.run_dir, sub) for sub in ("exits", "requests", "results")]
        for changes in watchfiles.watch(
            *folders,
            watch_filter=None,
            debounce=50,
            step=WATCH_STEP_MS,
            stop_event=self.stop_watching,
            rust_timeout=500,
            yield_on_timeout=False,
            raise_interrupt=False,
        ):
            paths = {path for change, path in changes if change != watchfiles.Change.deleted}
            if paths:
                self.events.put(("files", paths))

    def _watch_more(self) -> None:
        """Folders that change during the run: those of ``done_when: {file: ...}`` paths,
        and those of the task files (hot reload). Watched again whenever they change."""
        import watchfiles

        stop = _Either(self.stop_watching, self.rewatch)
        while not self.stop_watching.is_set():
            self.rewatch.clear()
            folders = sorted(self.watched)
            if not folders:
                stop.wait(0.5)
                continue
            for changes in watchfiles.watch(
                *folders,
                watch_filter=None,
                debounce=50,
                step=WATCH_STEP_MS,
                stop_event=stop,
                rust_timeout=200,
                yield_on_timeout=False,
                raise_interrupt=False,
                recursive=False,
            ):
                self.events.put(("watched", {path for _, path in changes}))
            self.events.put(("recheck", None))  # what changed while no watch was on

    def _reload(self) -> None:
        """The task files changed: go on with the new tasks where that disturbs nothing
        (see :mod:`tmuxorch.run.reload`); a bad edit is reported and ignored."""
        from tmuxorch.run import reload
        from tmuxorch.spec.errors import Problem, SpecError
        from tmuxorch.spec.workspace import load_workspace

        self.reload_at = None
        self.stamps = self._stamp_sources()
        try:
            taskset = load_workspace(self.ws.file).workspace.tasks
            if taskset is None:
                problem = Problem(self.ws.file, 1, 1, "tasks", "the file has no tasks any more")
                raise SpecError([problem])
            merged = reload.merge(self.taskset, taskset, self.scheduler.states)
        except SpecError as exc:
            for problem in exc.problems:
                self.display.event(f"edit ignored: {problem}")
            self.display.event("the run goes on with its tasks as they were")
            return
        except OSError as exc:
            self.display.event(f"edit ignored: {exc}")
            return
        if merged.taskset == self.taskset:
            return
        states = {t: st for t, st in self.scheduler.states.items() if t not in merged.removed}
        self.taskset = merged.taskset
        self.graph = self.taskset.graph
        self.ws = replace(self.ws, tasks=self.taskset)
        self.scheduler = Scheduler(self.taskset, self.graph, states, rng=self.scheduler.rng)
        joined = [t for t in merged.added if t in self.scheduler.states]
        if joined:
            self.store.add_tasks(self.run_id, joined)
        if merged.removed:
            self.store.remove_tasks(self.run_id, merged.removed, "removed from the task file")
        parts = [
            f"{label} {', '.join(ids)}"
            for label, ids in (
                ("added", merged.added),
                ("changed", merged.changed),
                ("removed", merged.removed),
            )
            if ids
        ]
        self.stamps = self._stamp_sources()  # new templates, maybe
        self.display.event("tasks reloaded: " + ("; ".join(parts) or "settings changed"))
        if merged.ignored:
            self.display.event(
                f"edits to {', '.join(merged.ignored)} ignored: they have started, and go on"
                " as they began"
            )
        self.store.event(
            self.run_id,
            None,
            "reloaded",
            {
                "added": merged.added,
                "changed": merged.changed,
                "removed": merged.removed,
                "ignored": merged.ignored,
            },
        )
        self._update_watches()
        self.next_display = 0.0

    def _stamp_sources(self) -> dict[str, tuple[int, int]]:
        stamps = {}
        for path in self._sources():
            try:
                info = os.stat(path)
            except OSError:
                continue
            stamps[path] = (info.st_mtime_ns, info.st_size)
        return stamps

    def _sources(self) -> set[str]:
        """The files the run's tasks come from: an edit to one reloads them."""
        files = {os.path.abspath(self.ws.file), *map(os.path.abspath, self.taskset.files)}
        for task in self.taskset.tasks:
            files.update(os.path.abspath(f) for f in task.sources)
        return files

    def _condition_path(self, attempt: Attempt) -> str | None:
        path = attempt.task.done_when.path
        if attempt.task.done_when.kind != "file" or path is None:
            return None
        return os.path.join(attempt.cwd or attempt.task.cwd or os.getcwd(), path)

    def _update_watches(self) -> None:
        folders = {os.path.dirname(f) for f in self._sources()}
        for attempt in self.attempts.values():
            path = self._condition_path(attempt)
            if path and os.path.isdir(os.path.dirname(path)):
                folders.add(os.path.dirname(path))
        watched = frozenset(f for f in folders if os.path.isdir(f))
        if watched != self.watched:
            self.watched = watched
            self.rewatch.set()

    def _backstop(self) -> None:
        """Panes that died without a word (or vanished), and exit files the watch missed."""
        if not self.attempts:
            return
        facts = {f.pane: f for f in tmux_panes.task_panes(self.client, self.run_id)}
        now = time.monotonic()
        for attempt in list(self.attempts.values()):
            if attempt.ending:
                continue
            code = _read_exit(attempt.files.exit)
            if code is not None:
                self._exited(attempt, code)
                continue
            fact = facts.get(attempt.pane)
            if fact is None:
                self._complete(attempt, ok=False, code=None, reason="its pane was closed")
            elif fact.dead:
                attempt.dead_since = attempt.dead_since or now
                if now - attempt.dead_since >= EXIT_GRACE:
                    reason = "ended without recording an exit status (killed?)"
                    self._complete(attempt, ok=False, code=None, reason=reason)

    def _needs_polling(self) -> bool:
        """A file condition whose folder does not exist yet (so is not watched)."""
        for attempt in self.attempts.values():
            path = self._condition_path(attempt)
            if path and os.path.dirname(path) not in self.watched:
                return True
        return False

    def _types(self, attempt: Attempt) -> bool:
        return not attempt.typed and self._profile(attempt).prompt == "type"

    def _poll(self) -> None:
        """Files that complete tasks (``done_when: {file: PATH}``, ``result``)."""
        for attempt in list(self.attempts.values()):
            kind = attempt.task.done_when.kind
            if kind in ("file", "result") and not attempt.ending and self._condition_met(attempt):
                self._end(attempt, ok=True, code=None, reason=None)
        if self._needs_polling():
            self._update_watches()  # its folder may exist now

    def _check_idle(self) -> None:
        """``done_when: idle``: the agent has shown it is idle for long enough."""
        now = time.monotonic()
        for attempt in list(self.attempts.values()):
            done = attempt.task.done_when
            waited = now - (attempt.idle_since or now)
            if done.kind == "idle" and attempt.idle_since and waited >= done.seconds:
                self._end(attempt, ok=True, code=None, reason=None)

    def _type_prompt(self, attempt: Attempt) -> None:
        """Type delivery: once the agent's ``ready`` pattern shows, paste the prompt and
        press Enter (in a thread: the Enter protocol waits)."""
        from tmuxorch.bridge.send import deliver

        profile = self._profile(attempt)
        screen = self.poller.screen(attempt.pane) or ""
        if profile.ready and not re.search(profile.ready, screen, re.MULTILINE):
            return
        if any(dialogs.showing(d, screen) for d in profile.dialogs):
            return
        attempt.typed = True
        prompt = attempt.typed_prompt or ""

        def type_it() -> None:
            why = deliver(self.client, attempt.pane, prompt, delay=profile.enter_delay)
            if why:
                self.events.put(("note", f"{attempt.task.id}: could not type the prompt: {why}"))

        threading.Thread(target=type_it, daemon=True).start()

    def _check_timeouts(self) -> None:
        now = time.monotonic()
        for attempt in list(self.attempts.values()):
            if attempt.deadline is not None and now >= attempt.deadline and not attempt.ending:
                timeout = attempt.task.timeout or 0
                self.display.event(f"{attempt.task.id}: timed out after {timeout:g}s; stopping it")
                self._end(attempt, ok=False, code=None, reason=f"timed out after {timeout:g}s")

    # -- requests from other processes ------------------------------------------------------
    def _request(self, path: str) -> None:
        try:
            with open(path, encoding="utf-8") as handle:
                request = json.load(handle)
            os.unlink(path)
        except (OSError, ValueError):
            return
        action, tasks = request.get("action"), request.get("tasks") or []
        if request.get("all"):
            tasks = list(self.scheduler.tasks)
        for task_id in tasks:
            if task_id not in self.scheduler.states:
                continue
            if action == "stop":
                self.stop_task(task_id, "stopped by request")
            elif action == "retry":
                self.retry_task(task_id)

    def stop_task(self, task_id: str, reason: str) -> None:
        attempt = self.attempts.get(task_id)
        st = self.scheduler.states[task_id]
        if attempt is not None:
            if not attempt.ending:
                attempt.ending = True
                proctree.kill_tree(attempt.pid or None, _marker(self.run_id, attempt))
                self._final_look(attempt)
                del self.attempts[task_id]
                self.store.end_attempt(
                    self.run_id,
                    task_id,
                    attempt.n,
                    exit_code=None,
                    outcome=STOPPED,
                    reason=reason,
                    task_fields={"state": STOPPED, "reason": reason, "ended": time.time()},
                )
                if attempt.pane:
                    tmux_panes.kill_panes(self.client, [attempt.pane])
                    self._pane_closed(attempt.window)
                if attempt.checkout is not None:
                    self._worktree_done(attempt, succeeded=False)
        elif st.state in TERMINAL:
            return
        else:
            self.store.update_task(self.run_id, task_id, STOPPED, state=STOPPED, reason=reason)
        outcome = self.scheduler.stop(task_id, reason)
        self.display.event(f"{task_id}: stopped ({reason})")
        for skipped in outcome.skipped:
            why = self.scheduler.states[skipped].reason
            self.store.update_task(self.run_id, skipped, "skipped", state="skipped", reason=why)

    def retry_task(self, task_id: str) -> None:
        if self.scheduler.states[task_id].state not in TERMINAL:
            return
        pane = self.kept.pop(task_id, None)
        if pane:
            tmux_panes.kill_panes(self.client, [pane])
        for t in self.scheduler.retry(task_id):
            self.store.update_task(self.run_id, t, "retry-requested", state=PENDING, reason=None)
        self.display.event(f"{task_id}: will run again")

    # -- signals and the end -----------------------------------------------------------------
    def _install_signals(self) -> dict[int, object]:
        previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return previous
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, lambda n, _f: self.events.put(("signal", n)))
        return previous

    @staticmethod
    def _restore_signals(previous: dict[int, object]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _finish(self) -> int:
        self._close_all()
        self._sweep_now()  # what ended attempts left behind is gone before we are
        if self.interrupted is not None:
            return self._interrupt(self.interrupted)
        ok = self.scheduler.all_succeeded()
        counts: dict[str, int] = {}
        for st in self.scheduler.states.values():
            counts[st.state] = counts.get(st.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        for task_id, checkout in list(self.checkouts.items()):  # nothing should be left
            self.display.event(f"{task_id}: removing its leftover worktree {checkout.path}")
            with contextlib.suppress(worktrees.GitError):
                worktrees.remove(checkout)
        self.store.end_run(self.run_id, "finished", summary)
        self.display.event(f"run {self.run_id} finished: {summary}")
        for kept in self.kept_worktrees:
            self.display.event(f"worktree kept: {kept}")
        self.display.close(self.rows(), self._title())
        if self.created_session and not self.keep:
            tmux_panes.kill_session(self.client, self.session)
        return 0 if ok else 1

    def _interrupt(self, signame: str) -> int:
        reason = f"interrupted by {signame}"
        if self.keep:
            self.display.event(f"{reason}: agents keep running (--keep); run again to resume")
            self.store.end_run(self.run_id, "interrupted", reason + " (agents kept)")
        else:
            self.display.event(f"{reason}: stopping {len(self.attempts)} agent(s)")
            killers = []
            for attempt in list(self.attempts.values()):
                attempt.ending = True
                thread = threading.Thread(
                    target=proctree.kill_tree,
                    args=(attempt.pid or None, _marker(self.run_id, attempt)),
                    daemon=True,
                )
                thread.start()
                killers.append((attempt, thread))
            for attempt, thread in killers:
                thread.join()
                self._final_look(attempt)
                del self.attempts[attempt.task.id]
                st = self.scheduler.states[attempt.task.id]
                st.state = PENDING  # not finished: a later run resumes it
                self.store.end_attempt(
                    self.run_id,
                    attempt.task.id,
                    attempt.n,
                    exit_code=None,
                    outcome="interrupted",
                    reason=reason,
                    task_fields={"state": PENDING, "reason": reason},
                )
                if attempt.pane:
                    tmux_panes.kill_panes(self.client, [attempt.pane])
            self.store.end_run(self.run_id, "interrupted", reason)
            if self.created_session:
                tmux_panes.kill_session(self.client, self.session)
        self.display.close(self.rows(), self._title())
        return 1

    # -- what a person sees ----------------------------------------------------------------------
    def _last_line(self, attempt: Attempt | None) -> str:
        screen = self.poller.screen(attempt.pane) if attempt and attempt.pane else None
        lines = [ln for ln in (screen or "").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else ""

    def _title(self) -> str:
        return f"tmuxorch run {self.run_id} · session {self.session}"

    def rows(self) -> list[Row]:
        now = time.time()
        rows = []
        db = self.store.tasks(self.run_id)
        for task_id in self.graph.order:
            st = self.scheduler.states.get(task_id)
            if st is None:
                continue  # a follow-up not created
            attempt = self.attempts.get(task_id)
            record = db.get(task_id)
            runtime = None
            if attempt is not None:
                runtime = now - attempt.started
            elif record and record.started and record.ended and st.state in TERMINAL:
                runtime = record.ended - record.started
            state = st.state
            if state == RUNNING and self.activity.get(task_id) == WAITING:
                state = WAITING
            rows.append(
                Row(
                    task=task_id,
                    state=state,
                    pane=attempt.pane if attempt else self.kept.get(task_id),
                    attempt=st.attempts,
                    runtime=runtime,
                    last_line=self._last_line(attempt),
                    exit_code=st.exit_code,
                    reason=st.reason,
                )
            )
        return rows

    def _refresh(self) -> None:
        self.display.update(self.rows(), self._title())


def _marker(run_id: str, attempt: Attempt) -> str:
    return attempt_id(run_id, attempt.task.id, attempt.n)


def _read_exit(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


class _Either:
    """Set when either event is (a stop event for watchfiles)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)


def _describe(attempt: Attempt) -> str:
    done = attempt.task.done_when
    if done.kind == "result":
        return "writing its result ($TMUXORCH_RESULT)"
    if done.kind == "file":
        return f"writing {done.path}"
    return f"printing /{done.pattern}/"


def request(file: str, action: str, tasks: list[str], *, everything: bool = False) -> str:
    """Ask the supervisor of ``file``'s latest run to ``stop``/``retry`` (a watched file)."""
    store = Store(state_dir(file))
    try:
        runs = store.runs(file)
    finally:
        store.close()
    if not runs:
        raise LookupError(f"no run of {file} yet")
    folder = os.path.join(state_dir(file), "runs", runs[0].id, "requests")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{time.time_ns()}.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump({"action": action, "tasks": tasks, "all": everything}, handle)
    os.replace(path + ".tmp", path)
    return runs[0].id


__all__ = ["Supervisor", "SupervisorBusy", "request", "supervisor_alive"]
