"""Ending attempts: what an exit means, stopping one still running, moving its task on
(success, a retry, a failure that skips what depends on it), and closing its pane once its
transcript is complete — then stopping what it left running."""

from __future__ import annotations

import threading
import time

from tmuxorch.agents.failures import TASK_FAILED, Failure
from tmuxorch.run import conditions, events, outcomes, proctree, worktree_end
from tmuxorch.run.diagnosis import diagnose
from tmuxorch.run.scheduler import FAILED, RETRYING

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.run.placement import Placement

NOT_FOUND = 127
"""The shell's exit status for a program it could not find: no retry will find it."""
SWEEP_AFTER = 0.5
"""Seconds after an attempt's end to stop what it left running."""
CLOSE_WITHIN = 3.0
"""How long a finished attempt's pane may take to show its program ended before it is closed
anyway."""


class Ending:
    def __init__(self, run: Run, placement: Placement) -> None:
        self.run = run
        self.placement = placement
        self.closing: dict[str, tuple[Attempt, bool, float]] = {}
        """Pane → its finished attempt, whether to keep it, and when to close it at the latest
        (it closes once the poller has seen its program end: the transcript is complete)."""
        self.sweeps: list[tuple[threading.Timer, str, int | None]] = []

    def exited(self, attempt: Attempt, code: int) -> None:
        """The agent's process ended with ``code``: does that complete the task?"""
        ok, reason = conditions.of(attempt).on_exit(self.run, attempt, code)
        self.complete(attempt, ok=ok, code=code, reason=reason)

    def end(self, attempt: Attempt, *, ok: bool, code: int | None, reason: str | None) -> None:
        """Stop a still-running attempt (tree kill in a thread), then complete it."""
        if attempt.ending:
            return
        attempt.ending = True

        def kill() -> None:
            self.run.stop_tree(attempt)
            self.run.put("killed", (attempt, ok, code, reason))

        threading.Thread(target=kill, daemon=True).start()

    def complete(
        self,
        attempt: Attempt,
        *,
        ok: bool,
        code: int | None,
        reason: str | None,
        final: bool = False,
    ) -> None:
        """Its task moves on; ``final``: a failure no retry can mend."""
        run = self.run
        task_id = attempt.task.id
        if run.attempts.get(task_id) is not attempt:
            return  # already completed
        del run.attempts[task_id]
        attempt.ending = True
        run.activity.pop(task_id, None)
        failure = diagnose(run, attempt, ok=ok, code=code, reason=reason)
        if failure is not None:  # why it failed (or, said on its screen, why it did not succeed)
            ok, reason = False, failure.reason
        elsewhere = self.agent_ended(attempt, failure.kind if failure else None)
        if ok:
            said = outcomes.verdict(attempt)
            if said.failure:
                ok, reason = False, said.failure
                failure = Failure(TASK_FAILED, said.failure)
            elif said.state:
                self._hold(attempt, said)
                return
        if ok and attempt.checkout is not None:
            unmerged = worktree_end.finish(run, attempt, succeeded=True)
            if unmerged is not None:
                ok, reason = False, unmerged
                failure = Failure(TASK_FAILED, unmerged)
        now, decided = time.time(), run.clock()
        final = final or code == NOT_FOUND
        outcome = run.scheduler.finish(
            task_id,
            decided,
            ok=ok,
            exit_code=code,
            reason=reason,
            final=final,
            failure=failure.kind if failure else None,
            resets_at=failure.resets_at if failure else None,
            elsewhere=elsewhere,
        )
        if outcome.state == FAILED and attempt.checkout is not None:
            worktree_end.finish(run, attempt, succeeded=False)
        run.times[task_id] = (run.times.get(task_id, (attempt.started, None))[0], now)
        retry_in = None
        if outcome.state == RETRYING:
            retry_in = (outcome.retry_at or decided) - decided
        run.task_event(
            events.ENDED,
            task_id,
            outcome=outcome.state,
            attempt=attempt.n,
            took=now - attempt.started,
            retry_at=outcome.retry_at,
            retry_in=retry_in,
            waits=run.scheduler.states[task_id].waits,
            attempt_pane=attempt.pane or None,
            elsewhere=elsewhere and outcome.state == RETRYING,
        )
        for skipped in outcome.skipped:
            run.task_event(events.SKIPPED, skipped)
        if outcome.stop:
            run.put("superfluous", outcome.stop)  # the loop stops them (see needs)
        if outcome.created:
            rows = [run.row(t) for t in outcome.created]
            run.publish(events.TASKS_ADDED, tasks=rows, follows=task_id, order=run.order)
        if attempt.pane:
            keep = outcome.state == FAILED and (run.inside or run.keep)
            self.closing[attempt.pane] = (attempt, keep, time.monotonic() + CLOSE_WITHIN)
            if not run.poller.expect_end(attempt.pane):
                self.close(attempt.pane)  # the poller saw it end already

    def agent_ended(self, attempt: Attempt, failure: str | None) -> bool:
        """Its agent is free again (its cap, its breaker: :mod:`tmuxorch.run.agent_choice`);
        whether another of the task's agents may try it at once."""
        run, agent = self.run, attempt.task.agent
        task = run.scheduler.tasks.get(attempt.task.id, attempt.task)  # its own, not this try's
        now = run.clock()
        changed = run.chooser.ended(task, agent, failure, now)
        if changed is not None:
            breaker = run.chooser.breakers[agent]
            until = (breaker.opened or now) + breaker.cooldown if changed == "open" else None
            run.publish(events.BREAKER, agent=agent, state=changed, until=until, task=task.id)
        return failure is not None and run.chooser.elsewhere(task, agent, failure)

    def _hold(self, attempt: Attempt, said: outcomes.Verdict) -> None:
        """Its agent ended its turn saying a person is needed: the task waits (its worktree
        kept as it is, unmerged, until someone approves or rejects its work)."""
        run, task_id = self.run, attempt.task.id
        assert said.state is not None
        run.scheduler.hold(task_id, said.state, said.reason)
        run.held[task_id] = attempt
        now = time.time()
        run.times[task_id] = (run.times.get(task_id, (attempt.started, None))[0], now)
        took = now - attempt.started
        fields = {"attempt": attempt.n, "took": took, "summary": said.summary}
        run.task_event(events.ENDED, task_id, outcome=said.state, **fields)
        if attempt.pane:
            self.closing[attempt.pane] = (attempt, False, time.monotonic() + CLOSE_WITHIN)
            if not run.poller.expect_end(attempt.pane):
                self.close(attempt.pane)

    def close(self, pane: str) -> None:
        """Close a finished attempt's pane, or keep it after a final failure (a person may
        want to look). Nothing waits for this: dependents start as soon as a task ends."""
        if pane not in self.closing:
            return
        attempt, keep, _ = self.closing.pop(pane)
        run = self.run
        run.poller.unwatch(pane)
        task_id = attempt.task.id
        files = {"transcript": attempt.files.transcript, "record": attempt.files.record}
        if keep:
            run.kept[task_id] = pane
            run.publish(events.PANE_KEPT, task=task_id, pane=pane, **files)
        else:
            run.kill_pane(pane)
            self.closed(attempt)
            self.placement_of(attempt).pane_closed(attempt.window)
            self.sweep(attempt)

    def sweep(self, attempt: Attempt) -> None:
        """Stop what an ended attempt left running (a ``nohup``/``setsid`` child outlives its
        pane), found by the attempt's marker: in a thread, a moment later (the look through
        ``/proc`` must not slow the start of what depended on the attempt)."""
        if attempt.host is not None:
            return  # its pane's process group was stopped there; no sweep by marker yet
        marker = self.run.marker(attempt)
        self.sweeps = [(t, m, p) for t, m, p in self.sweeps if t.is_alive()]
        session = attempt.pid or None
        sweep = threading.Timer(
            SWEEP_AFTER, proctree.kill_tree, args=(None, marker), kwargs={"session": session}
        )
        sweep.daemon = True
        sweep.start()
        self.sweeps.append((sweep, marker, session))

    def sweep_now(self) -> None:
        """The run ends: the sweeps not done yet, done now."""
        for sweep, marker, session in self.sweeps:
            if sweep.is_alive():
                sweep.cancel()
                sweep.join()
                proctree.kill_tree(None, marker, session=session)
        self.sweeps = []

    def due(self) -> float | None:
        return min((deadline for _, _, deadline in self.closing.values()), default=None)

    def close_overdue(self) -> None:
        """Panes whose end the poller has not seen in time (a process that will not die):
        the tree is killed with the pane."""
        now = time.monotonic()
        for pane, (attempt, _, deadline) in list(self.closing.items()):
            if now >= deadline:
                if attempt.host is None:
                    proctree.kill_tree(None, self.run.marker(attempt), session=attempt.pid or None)
                else:
                    self.run.stop_tree(attempt)
                self.close(pane)

    def close_all(self) -> None:
        """The run is over: a last look at each finishing pane, then close it."""
        for pane, (attempt, _, _) in list(self.closing.items()):
            self.final_look(attempt)
            self.close(pane)

    def final_look(self, attempt: Attempt) -> None:
        """The poller's last look (after the program ended): the transcript's end."""
        if attempt.pane:
            self.run.poller.finish(attempt.pane)

    def kill_now(self, attempt: Attempt) -> None:
        """Stop a live attempt here and now (a person asked): its tree, its last look, its
        pane; it is no longer live."""
        run = self.run
        attempt.ending = True
        self.agent_ended(attempt, "stopped")
        run.stop_tree(attempt)
        self.final_look(attempt)
        run.attempts.pop(attempt.task.id, None)
        if attempt.pane:
            run.kill_pane(attempt.pane)
            self.closed(attempt)
            self.placement_of(attempt).pane_closed(attempt.window)

    def placement_of(self, attempt: Attempt) -> Placement:
        """Where its pane was placed: here, or on its host."""
        link = self.run.hosts.find(attempt.host)
        return link.placement if link is not None and link.placement else self.placement

    def closed(self, attempt: Attempt) -> None:
        """Say its pane was closed (its transcript may be made whole)."""
        files = {"transcript": attempt.files.transcript, "record": attempt.files.record}
        self.run.publish(events.PANE_CLOSED, task=attempt.task.id, pane=attempt.pane, **files)
