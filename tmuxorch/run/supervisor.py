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

from tmuxorch.agents.launch import AttemptFiles, launch
from tmuxorch.agents.patterns import IDLE, WAITING, for_agent
from tmuxorch.bridge.poller import Poller
from tmuxorch.bridge.sinks import EventLog, Transcripts
from tmuxorch.run import proctree
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
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import TextIO

    from tmuxorch.bridge.poller import Event
    from tmuxorch.spec.model import Workspace
    from tmuxorch.spec.task_model import Task, TaskSet
    from tmuxorch.tmux.client import Client

POLL = 0.25
"""Seconds between looks at panes whose task ends on output, a file, or idleness."""
BACKSTOP = 2.0
"""Seconds between checks that every running pane is still there and alive."""
EXIT_GRACE = 1.0
"""How long a dead pane may wait for its exit file before it counts as lost."""
CLOSE_WITHIN = 3.0
"""How long a finished attempt's pane may take to show its program ended before it is closed
anyway."""
STATUS_WINDOW = "tmuxorch"
HISTORY = 200_000
"""Lines of history each agent pane keeps (tmux's default is 2,000)."""
WATCH_STEP_MS = 2


class SupervisorBusy(Exception):
    """Another supervisor already runs this file."""


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


def run_id_now() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:4]


def lock_path(file: str) -> str:
    digest = hashlib.sha1(os.path.abspath(file).encode()).hexdigest()[:12]
    return os.path.join(state_dir(file), f"supervisor-{digest}.lock")


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
        ids = [t.id for t in self.taskset.tasks]
        previous = self.store.runs(self.ws.file)
        latest = previous[0] if previous else None
        if latest and not self.fresh:
            rows = self.store.tasks(latest.id)
            if any(rows.get(t) is None or rows[t].state not in TERMINAL for t in ids):
                self.run_id = latest.id
                self.store.add_tasks(latest.id, ids)
                self.store.adopt(latest.id)
                rows = self.store.tasks(latest.id)
                states = {
                    t: TaskState(r.state, r.attempts, r.reason, r.exit_code, r.retry_at)
                    for t, r in rows.items()
                    if t in ids
                }
                self._paths()
                self.display.event(f"resuming run {self.run_id}")
                return Scheduler(self.taskset, self.graph, states)
        self.run_id = run_id_now()
        self.store.new_run(self.run_id, self.ws.file, self.session, self.client.server_args, ids)
        self._paths()
        self.display.event(f"run {self.run_id}: {len(ids)} task(s), session {self.session!r}")
        return Scheduler(self.taskset, self.graph)

    def _paths(self) -> None:
        self.run_dir = os.path.join(state_dir(self.ws.file), "runs", self.run_id)
        for sub in ("exits", "prompts", "requests"):
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
                continue
            if row is not None and row.pane is None:  # made but not yet recorded, nor tagged
                self.store.attempt_opened(self.run_id, task_id, n, fact.pane, fact.pid)
                preset = self.taskset.agent(task.agent).preset
                tmux_panes.tag(self.client, self.run_id, task_id, n, fact.pane, preset)
            deadline = None
            if task.timeout is not None:
                deadline = time.monotonic() + max(0.0, started + task.timeout - time.time())
            attempt = Attempt(task, n, fact.pane, fact.pid, files, started, deadline, fact.window)
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
                self.next_backstop = now + BACKSTOP
            if now >= self.next_poll and self._needs_polling():
                self._poll()
                self.next_poll = now + POLL
            self._check_timeouts()
            self._check_idle()
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
        times += [
            a.idle_since + a.task.done_when.seconds
            for a in self.attempts.values()
            if a.idle_since and a.task.done_when.kind == "idle" and not a.ending
        ]
        retry = self.scheduler.next_retry()
        if retry is not None:
            times.append(now + max(0.0, retry - time.time()))
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

    def _file_changed(self, path: str) -> None:
        folder, name = os.path.split(path)
        if os.path.basename(folder) == "requests" and name.endswith(".json"):
            self._request(path)
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
        for task in [t for t in tasks if t.cwd and not os.path.isdir(t.cwd)]:
            # tmux would start the pane elsewhere: an agent in the wrong place is worse
            tasks.remove(task)
            self._refuse(task, f"its working directory {task.cwd} does not exist")
        requests = []
        for task in tasks:
            n = self.scheduler.states[task.id].attempts + 1
            files = AttemptFiles.of(self.run_dir, task.id, n)
            spec = launch(
                task, self.taskset.agent(task.agent), run_id=self.run_id, attempt=n, files=files
            )
            if spec.prompt_file is not None:
                with open(spec.prompt_file, "w", encoding="utf-8") as handle:
                    handle.write(task.prompt or "")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(files.exit)
            self.store.start_attempt(self.run_id, task.id, n, None, None, time.time())
            window, new = self._place()
            agent = self.taskset.agent(task.agent).preset
            requests.append(
                tmux_panes.PaneRequest(
                    task.id, n, spec.argv, spec.env, spec.cwd, window, new, agent
                )
            )
        results = tmux_panes.open_panes(self.client, self.session, self.run_id, requests)
        refused = all(isinstance(r, TmuxError) for r in results)
        if refused and not self.inside and not tmux_panes.session_exists(self.client, self.session):
            # someone closed the session (or the whole server): make it again, once
            self.display.event(f"session {self.session!r} is gone: making it again")
            self._ensure_session()
            places = [self._place() for _ in requests]
            requests = [
                replace(r, window=w, new_window=new)
                for r, (w, new) in zip(requests, places, strict=True)
            ]
            results = tmux_panes.open_panes(self.client, self.session, self.run_id, requests)
        if any(isinstance(r, TmuxError) for r in results):
            self._count_windows()  # what tmux refused was counted in
        for task, result in zip(tasks, results, strict=True):
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
            self.attempts[task.id] = attempt
            self._follow(attempt)
            self.store.attempt_opened(self.run_id, task.id, n, result.pane, result.pid)
            again = f" (attempt {n})" if n > 1 else ""
            self.display.event(f"{task.id}: started in {result.pane}{again}")
        self.next_display = 0.0

    def _refuse(self, task: Task, reason: str, n: int | None = None) -> None:
        """An attempt that could not even start: it counts, and fails."""
        n = n or self.scheduler.start(task.id)
        started = time.time()
        self.store.start_attempt(self.run_id, task.id, n, "", None, started)
        files = AttemptFiles.of(self.run_dir, task.id, n)
        attempt = Attempt(task, n, "", 0, files, started, None, "")
        self.attempts[task.id] = attempt
        self._complete(attempt, ok=False, code=None, reason=reason)

    def _follow(self, attempt: Attempt) -> None:
        """Have the poller follow the pane from its first line: transcript, agent state."""
        self.transcripts.assign(attempt.pane, attempt.files.transcript)
        preset = self.taskset.agent(attempt.task.agent).preset
        self.poller.watch(
            attempt.pane, label=attempt.task.id, patterns=for_agent(preset), from_start=True
        )

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
        if done.kind == "file":
            return done.path is not None and os.path.exists(done.path)
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
        outcome = self.scheduler.finish(task_id, time.time(), ok=ok, exit_code=code, reason=reason)
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
        for skipped in outcome.skipped:
            why = self.scheduler.states[skipped].reason
            self.store.update_task(self.run_id, skipped, "skipped", state="skipped", reason=why)
            self.display.event(f"{skipped}: skipped ({why})")
        took = time.time() - attempt.started
        if outcome.state == SUCCEEDED:
            self.display.event(f"{task_id}: succeeded in {took:.1f}s")
        elif outcome.state == RETRYING:
            wait = (st.retry_at or time.time()) - time.time()
            self.display.event(f"{task_id}: {reason}; retrying in {wait:.1f}s")
        else:
            self.display.event(f"{task_id}: {outcome.state} ({reason})")
        if attempt.pane:
            keep = outcome.state == FAILED and (self.inside or self.keep)
            self.closing[attempt.pane] = (attempt, keep, time.monotonic() + CLOSE_WITHIN)
            if not self.poller.expect_end(attempt.pane):
                self._close(attempt.pane)  # the poller saw it end already
        self.next_display = 0.0

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
        import watchfiles

        folders = [os.path.join(self.run_dir, sub) for sub in ("exits", "requests")]
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
        return any(a.task.done_when.kind == "file" for a in self.attempts.values())

    def _types(self, attempt: Attempt) -> bool:
        return not attempt.typed and self.taskset.agent(attempt.task.agent).prompt == "type"

    def _poll(self) -> None:
        """Files that complete tasks (``done_when: {file: PATH}``)."""
        for attempt in list(self.attempts.values()):
            file = attempt.task.done_when.kind == "file"
            if file and not attempt.ending and self._condition_met(attempt):
                self._end(attempt, ok=True, code=None, reason=None)

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

        profile = self.taskset.agent(attempt.task.agent)
        screen = self.poller.screen(attempt.pane) or ""
        if profile.ready and not re.search(profile.ready, screen, re.MULTILINE):
            return
        attempt.typed = True
        prompt = attempt.task.prompt or ""

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
        if self.interrupted is not None:
            return self._interrupt(self.interrupted)
        ok = self.scheduler.all_succeeded()
        counts: dict[str, int] = {}
        for st in self.scheduler.states.values():
            counts[st.state] = counts.get(st.state, 0) + 1
        summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
        self.store.end_run(self.run_id, "finished", summary)
        self.display.event(f"run {self.run_id} finished: {summary}")
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
            st = self.scheduler.states[task_id]
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
    return f"{run_id}/{attempt.task.id}/{attempt.n}"


def _read_exit(path: str) -> int | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def _describe(attempt: Attempt) -> str:
    done = attempt.task.done_when
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
