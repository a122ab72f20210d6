"""A run's engine: one loop, fed by inputs, deciding through small parts, telling its bus.

Everything the run learns enters :attr:`Run.inputs` — exit files, requests and results
(a watch of its folders), poller events, watched files (hot reload, file conditions),
control calls, signals, the end of a tree kill — and the loop alone acts on them, in
order, and on its own clock (timeouts, retries, idleness, the backstop). What it decides
leaves as domain events (:mod:`tmuxorch.run.events`) for its subscribers; it calls none of
them by name. Agents live in tmux panes, not under this process: if it dies they go on,
and the next engine of the same file adopts them.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time

from tmuxorch.run import conditions, events, worktree_end
from tmuxorch.run.actions import Actions
from tmuxorch.run.adoption import adopt
from tmuxorch.run.backstop import Backstop, read_exit
from tmuxorch.run.context import Run
from tmuxorch.run.control import Control, RunOver
from tmuxorch.run.ending import Ending
from tmuxorch.run.host_faults import HostFaults
from tmuxorch.run.interaction import Interaction
from tmuxorch.run.launching import Launcher
from tmuxorch.run.needs import QUORUM_MET
from tmuxorch.run.opening import open_run, resumable_here
from tmuxorch.run.placement import Placement
from tmuxorch.run.reloading import Reloading
from tmuxorch.run.scheduler import PENDING
from tmuxorch.run.stalls import Stalls
from tmuxorch.run.summary import summarize
from tmuxorch.run.watches import Watches
from tmuxorch.tmux import panes as tmux_panes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.bridge.poller import Event
    from tmuxorch.run.bus import Bus
    from tmuxorch.run.retry_policy import RetryPolicy
    from tmuxorch.run.store import Store
    from tmuxorch.spec.model import Workspace
    from tmuxorch.tmux.agent_panes import AgentPane
    from tmuxorch.tmux.client import Client

POLL = 0.25
"""Seconds between looks at file conditions whose folder is not watched (yet)."""
BACKSTOP = 2.0
"""Seconds between checks that every running pane is still there and alive."""


class Engine:
    def __init__(
        self,
        workspace: Workspace,
        client: Client,
        bus: Bus,
        *,
        keep: bool = False,
        inside: bool = False,
        clock: Callable[[], float] | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        run = self.run = Run(
            workspace, client, bus, keep=keep, inside=inside, clock=clock, policy=policy
        )
        bus.snapshot = run.snapshot
        self.placement = Placement(run)
        self.ending = Ending(run, self.placement)
        self.launcher = Launcher(run, self.placement, self.ending)
        self.interaction = Interaction(run, self.ending)
        self.backstop = Backstop(run, self.ending)
        self.stalls = Stalls(run, self.ending)
        self.reloading = Reloading(run)
        self.watches = Watches(run, self.reloading.sources)
        self.actions = Actions(run, self.ending)
        self.host_faults = HostFaults(run, self.ending, self.launcher)
        self.control = Control(run)
        """Stop, retry or add tasks from any thread (see :mod:`tmuxorch.run.control`)."""
        self.next_backstop = 0.0
        self.next_poll = 0.0

    def panes(self) -> dict[str, AgentPane]:
        """Each live attempt's pane as a ``libtmux.Pane``, by task id."""
        live = list(self.run.attempts.items())
        return {task: a.handle for task, a in live if a.handle is not None}

    # -- the whole run ---------------------------------------------------------------------
    def run_to_end(self, store: Store, *, fresh: bool = False) -> int:
        """Open (or resume) the run, go on until every task is over; 0 iff all succeeded."""
        run = self.run
        run.load_pane_maker_meanwhile()
        previous = self._install_signals()  # before any agent starts: Ctrl-C stops them
        try:
            resumable_here(run, store, fresh=fresh)  # its agents are not on another server
            self.placement.prepare()  # first: a session that is another run's stops it here
            recorded = open_run(run, store, fresh=fresh)
            run.skip_blocked()  # a resumed run may hold tasks that can never run
            run.poller.add_sink(self._from_poller)
            adopt(run, recorded, self.ending, self.launcher)
            if self.launcher.start_ready():  # the first agents before anything they do not need
                self.watches.update()
            run.poller.start()
            self.watches.start()
            self._poll()  # what was written before the watches were on (or while no one ran)
            try:
                self._loop()
            finally:
                self.watches.close()
            return self._finish()
        finally:
            self._restore_signals(previous)
            run.poller.stop()
            run.hosts.close()
            self._refuse_pending_calls()

    # -- the loop --------------------------------------------------------------------------
    def _loop(self) -> None:
        run = self.run
        while not run.scheduler.finished() and run.interrupted is None:
            if self.launcher.start_ready():
                self.watches.update()
            self.ending.close_overdue()
            now = time.monotonic()
            if now >= self.next_backstop:
                self.backstop.look()
                self._poll()  # a change the watch missed
                self._requests()  # dropped before the watch was on
                self.reloading.check_stamps()
                self.next_backstop = now + BACKSTOP
            if now >= self.next_poll and self.watches.unwatched():
                self._poll()
                self.next_poll = now + POLL
            self.backstop.check_timeouts()
            self._check_due()
            self.interaction.recheck_dialogs()
            self.interaction.check_typing()
            due = self.reloading.at is not None and now >= self.reloading.at
            if due and self.reloading.reload():
                self.watches.update()
            if run.scheduler.finished():
                break
            try:
                kind, payload = run.inputs.get(timeout=self._wait_time())
            except queue.Empty:
                continue
            self._handle(kind, payload)
            while True:  # drain what else arrived
                try:
                    kind, payload = run.inputs.get_nowait()
                except queue.Empty:
                    break
                self._handle(kind, payload)

    def _wait_time(self) -> float:
        now = time.monotonic()
        times = [self.next_backstop]
        if self.watches.unwatched():
            times.append(self.next_poll)
        for due in (
            self.backstop.due(),
            self.ending.due(),
            self.interaction.due(),
            self.stalls.due(),
        ):
            if due is not None:
                times.append(due)
        for attempt in self.run.attempts.values():
            due = conditions.of(attempt).due(attempt)
            if due is not None and not attempt.ending:
                times.append(due)
        retry = self.run.scheduler.next_retry()
        if retry is not None:
            times.append(now + max(0.0, retry - self.run.clock()))
        if self.reloading.at is not None:
            times.append(self.reloading.at)
        return max(0.0, min(times) - now)

    def _handle(self, kind: str, payload: object) -> None:
        run = self.run
        if kind == "files":
            assert isinstance(payload, set)
            for path in sorted(payload):
                self._file_changed(path)
        elif kind == "signal":
            assert isinstance(payload, int)
            run.interrupted = signal.Signals(payload).name
        elif kind == "killed":
            assert isinstance(payload, tuple)
            attempt, ok, code, reason = payload
            self.ending.complete(attempt, ok=ok, code=code, reason=reason)
        elif kind == "bridge":
            assert isinstance(payload, dict)
            self._on_output(payload)
        elif kind == "note":
            assert isinstance(payload, tuple)
            task, text = payload
            run.note(text, task)
        elif kind == "watched":
            assert isinstance(payload, set)
            self.reloading.changed(payload)
            self._poll()
        elif kind == "recheck":
            self._poll()
        elif kind == "control":
            assert isinstance(payload, tuple)
            self.actions.called(*payload)
        elif kind == "host":
            assert isinstance(payload, tuple)
            self.host_faults.handle(*payload)
        elif kind == "superfluous":  # the rest of a quorum group met without them
            assert isinstance(payload, tuple)
            self.actions.stop(list(payload), QUORUM_MET)

    def _file_changed(self, path: str) -> None:
        folder, name = os.path.split(path)
        kind = os.path.basename(folder)
        if kind == "requests" and name.endswith(".json"):
            self.actions.requested(path)
        elif kind == "results" and name.endswith(".json"):
            attempt = self.run.attempts.get(name[: -len(".json")])
            live = attempt is not None and not attempt.ending
            if live and attempt and conditions.of(attempt).met(self.run, attempt):
                self.ending.end(attempt, ok=True, code=None, reason=None)
        elif kind == "hooks" and name.endswith(".jsonl"):
            task_id, _, n = name[: -len(".jsonl")].rpartition(".")
            attempt = self.run.attempts.get(task_id)
            if attempt is not None and str(attempt.n) == n and not attempt.ending:
                self.interaction.hooked(attempt)
        elif kind == "exits" and not name.endswith(".tmp"):
            task_id, _, n = name.rpartition(".")
            attempt = self.run.attempts.get(task_id)
            if attempt is None or str(attempt.n) != n or attempt.ending:
                return
            code = read_exit(path)
            if code is not None:
                self.ending.exited(attempt, code)

    def _from_poller(self, event: Event) -> None:
        """(The poller's thread.) What the engine acts on goes into its inputs."""
        if event["type"] in ("state", "lines", "frame", "exit", "gone"):
            self.run.put("bridge", event)

    def _on_output(self, event: Event) -> None:
        run = self.run
        pane = str(event["pane"])
        if event["type"] in ("exit", "gone"):
            if pane in self.ending.closing:
                self.ending.close(pane)  # its transcript is complete: the pane may go
                return
            attempt = run.attempt_on(pane)
            code = read_exit(attempt.files.exit) if attempt and not attempt.ending else None
            if attempt is not None and code is not None:
                self.ending.exited(attempt, code)  # its exit file decides, as ever
            return
        attempt = run.attempt_on(pane)
        if attempt is None or attempt.ending:
            return
        if event["type"] == "lines" or (event["type"] == "frame" and event.get("patch")):
            attempt.output_at = time.monotonic()  # something new (not a keyframe of the same)
            self.stalls.hear(attempt)
        elif event["type"] == "state":
            self.stalls.hear(attempt)
        self.interaction.on_screen(attempt, event)
        if attempt.ending:
            return
        if event["type"] == "state":
            self.interaction.agent_state(attempt, str(event["state"]))
        elif conditions.of(attempt).on_output(run, attempt, event):
            self.ending.end(attempt, ok=True, code=None, reason=None)
        self.interaction.after_screen(attempt)

    def _poll(self) -> None:
        """Files that complete tasks (``done_when: {file: PATH}``, ``result``)."""
        for attempt in list(self.run.attempts.values()):
            if not attempt.ending and conditions.of(attempt).met(self.run, attempt):
                self.ending.end(attempt, ok=True, code=None, reason=None)
        if self.watches.unwatched():
            self.watches.update()  # its folder may exist now

    def _requests(self) -> None:
        """Request files the watch did not report (written before it was on)."""
        folder = os.path.join(self.run.run_dir, "requests")
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
        except OSError:
            return
        for name in names:
            self._file_changed(os.path.join(folder, name))

    def _check_due(self) -> None:
        """Conditions met by time alone (``done_when: idle``), and silent agents."""
        self.stalls.check()
        now = time.monotonic()
        for attempt in list(self.run.attempts.values()):
            due = conditions.of(attempt).due(attempt)
            if due is not None and now >= due and not attempt.ending:
                self.ending.end(attempt, ok=True, code=None, reason=None)

    # -- signals and the end -----------------------------------------------------------------
    def _install_signals(self) -> dict[int, object]:
        previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return previous
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            previous[sig] = signal.signal(sig, lambda n, _f: self.run.put("signal", n))
        return previous

    @staticmethod
    def _restore_signals(previous: dict[int, object]) -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]

    def _finish(self) -> int:
        run = self.run
        self.ending.close_all()
        self.ending.sweep_now()  # what ended attempts left behind is gone before we are
        if run.interrupted is not None:
            return self._interrupt(run.interrupted)
        ok, summary = summarize(run.scheduler.tasks, run.scheduler.states, run.order)
        worktree_end.remove_leftovers(run)
        self._over("finished", summary, ok=ok)
        return 0 if ok else 1

    def _interrupt(self, signame: str) -> int:
        run = self.run
        reason = f"interrupted by {signame}"
        if run.keep:
            run.note(f"{reason}: agents keep running (--keep); run again to resume")
            finished = reason + " (agents kept)"
        else:
            run.note(f"{reason}: stopping {len(run.attempts)} agent(s)")
            self._stop_all(reason)
            finished = reason
        self._over("interrupted", finished, ok=False)
        return 1

    def _over(self, state: str, summary: str, *, ok: bool) -> None:
        """Say the run is over; close the session it made (unless ``--keep``)."""
        run = self.run
        kept, proposed = list(run.kept_worktrees), list(run.pull_requests.values())
        fields: dict[str, object] = {"reason": summary, "summary": summary}
        fields.update(kept_worktrees=kept, pull_requests=proposed)
        run.publish(events.RUN_FINISHED, state=state, ok=ok, tasks=run.rows(), **fields)
        if not run.keep and not run.inside:  # the session tmuxorch made for it, if so
            tmux_panes.close_run_session(run.client, run.session, os.path.abspath(run.ws.file))
            run.hosts.close_sessions(os.path.abspath(run.ws.file))

    def _stop_all(self, reason: str) -> None:
        """Every live agent stopped (in parallel); their tasks pending again: a later run
        resumes them."""
        run = self.run
        killers = []
        for attempt in list(run.attempts.values()):
            attempt.ending = True
            thread = threading.Thread(target=run.stop_tree, args=(attempt,), daemon=True)
            thread.start()
            killers.append((attempt, thread))
        for attempt, thread in killers:
            thread.join()
            self.ending.final_look(attempt)
            del run.attempts[attempt.task.id]
            run.scheduler.states[attempt.task.id].state = PENDING
            run.task_event(
                events.ENDED, attempt.task.id, outcome="interrupted", reason=reason, took=None
            )
            if attempt.pane:
                run.kill_pane(attempt.pane)
                self.ending.closed(attempt)

    def _refuse_pending_calls(self) -> None:
        """Control calls the loop never got to: the run is over."""
        with self.run.closing:
            self.run.over = True
        while True:
            try:
                kind, payload = self.run.inputs.get_nowait()
            except queue.Empty:
                return
            if kind == "control":
                assert isinstance(payload, tuple)
                future = payload[2]
                if future.set_running_or_notify_cancel():
                    future.set_exception(RunOver("the run is over"))
