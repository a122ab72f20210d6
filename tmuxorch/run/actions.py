"""What people may ask of a live run, done in its loop: stop tasks, run tasks again, add a
task.

``stop`` and ``retry`` take task ids (unknown ones are left out) and return those they
acted on; ``add`` takes a task as data and returns an :class:`~tmuxorch.run.adding.Added`
(see :mod:`tmuxorch.run.adding`). The transports — request files
(:mod:`tmuxorch.run.requests`), and in-process callers through
:class:`tmuxorch.run.control.Control` — all end here.
"""

from __future__ import annotations

import contextlib
import time

from tmuxorch.run import adding, events, requests, worktree_end
from tmuxorch.run.outcomes import NOTES
from tmuxorch.run.scheduler import BLOCKED, NEEDS_REVIEW, TERMINAL

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from concurrent.futures import Future

    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.run.ending import Ending


RESOLVE = ("approve", "reject", "unblock")


class Actions:
    def __init__(self, run: Run, ending: Ending) -> None:
        self.run = run
        self.ending = ending
        self.table: dict[str, Callable[[list[str]], list[str]]] = {  # (and RESOLVE)
            "stop": self.stop,
            "retry": self.retry,
        }

    def called(self, action: str, asked: object, future: Future[object]) -> None:
        """A control call (see :class:`~tmuxorch.run.control.Control`): done, its future
        given the answer."""
        if not future.set_running_or_notify_cancel():
            return
        if action == "add":
            future.set_result(self.add(asked))
        elif action in RESOLVE:
            assert isinstance(asked, tuple)
            tasks, text = asked
            future.set_result(self.resolve(action, self.known(tasks), text))
        else:
            assert asked is None or isinstance(asked, list)
            future.set_result(self.table[action](self.known(asked)))

    def requested(self, path: str) -> None:
        """A request file (see :mod:`tmuxorch.run.requests`): read, removed, done; an
        ``add`` is answered in a reply file next to it."""
        asked = requests.read(path)
        if asked is None:
            return
        if asked.action == "add":
            added = self.add(asked.task)
            if asked.reply:
                with contextlib.suppress(OSError):  # its folder gone: no one to tell
                    requests.answer(path, added.as_json())
        elif asked.action in RESOLVE:
            self.resolve(asked.action, self.known(asked.tasks), asked.text)
        elif asked.action in self.table:
            self.table[asked.action](self.known(asked.tasks))

    def add(self, data: object) -> adding.Added:
        """Add a task (data: a mapping of task keys) to the run, as if it were in its file."""
        return adding.add(self.run, data)

    def known(self, tasks: list[str] | None) -> list[str]:
        """``tasks`` that are part of the run (None: all of them)."""
        states = self.run.scheduler.states
        asked = list(self.run.scheduler.tasks) if tasks is None else tasks
        return [t for t in asked if t in states]  # a follow-up not created is not part of it

    def stop(self, tasks: list[str], reason: str = "stopped by request") -> list[str]:
        done = []
        for task_id in tasks:
            if self._stop(task_id, reason):
                done.append(task_id)
        return done

    def _stop(self, task_id: str, reason: str) -> bool:
        run = self.run
        attempt = run.attempts.get(task_id)
        st = run.scheduler.states[task_id]
        live = None
        if attempt is not None:
            if attempt.ending:
                return False
            self.ending.kill_now(attempt)
            live = attempt.n
        elif st.state in TERMINAL:
            return False
        outcome = run.scheduler.stop(task_id, reason)
        if live is not None:
            started = run.times.get(task_id, (None, None))[0]
            run.times[task_id] = (started, time.time())
        run.task_event(events.STOPPED, task_id, live=live)
        if attempt is not None and attempt.checkout is not None:
            worktree_end.finish(run, attempt, succeeded=False)
        for skipped in outcome.skipped:
            run.task_event(events.SKIPPED, skipped)
        return True

    def resolve(self, action: str, tasks: list[str], text: str = "") -> list[str]:
        """A person answers tasks that wait for one: ``approve`` (a success: what depends
        on it goes on; its worktree's work is merged now), ``reject`` / ``unblock`` (it
        runs again, ``text`` in its prompt)."""
        run = self.run
        done = []
        for task_id in tasks:
            st = run.scheduler.states[task_id]
            wanted = (NEEDS_REVIEW,) if action in ("approve", "reject") else (BLOCKED,)
            if st.state not in wanted:
                continue
            attempt = run.held.pop(task_id, None)
            if action == "approve":
                self._approve(task_id, attempt)
            else:
                run.scheduler.reopen(task_id)
                if text:
                    run.notes[task_id] = NOTES[action].format(text=text)
                run.task_event(
                    events.RESET, task_id, requested=task_id, resolved=action, words=text
                )
            done.append(task_id)
        return done

    def _approve(self, task_id: str, attempt: Attempt | None) -> None:
        run = self.run
        ok, reason = True, None
        if attempt is None and run.scheduler.tasks[task_id].worktree is not None:
            run.note(
                f"{task_id}: approved after its run was resumed: its worktree's work is not "
                "merged by tmuxorch (see git worktree list, and merge its branch yourself)",
                task_id,
            )
        if attempt is not None and attempt.checkout is not None:
            unmerged = worktree_end.finish(run, attempt, succeeded=True)
            if unmerged is not None:
                ok, reason = False, unmerged
        outcome = run.scheduler.finish(
            task_id, time.time(), ok=ok, exit_code=0, reason=reason, final=True
        )
        run.task_event(events.ENDED, task_id, outcome=outcome.state, resolved="approve")
        for skipped in outcome.skipped:
            run.task_event(events.SKIPPED, skipped)
        if outcome.created:
            rows = [run.row(t) for t in outcome.created]
            run.publish(events.TASKS_ADDED, tasks=rows, follows=task_id, order=run.order)

    def retry(self, tasks: list[str]) -> list[str]:
        run = self.run
        done = []
        for task_id in tasks:
            if run.scheduler.states[task_id].state not in TERMINAL:
                continue
            pane = run.kept.pop(task_id, None)
            if pane:
                run.kill_pane(pane)
            again = run.scheduler.retry(task_id)
            for t in again:
                run.task_event(events.RESET, t, requested=task_id)
            done.append(task_id)
        run.skip_blocked()  # one that needs another task that failed cannot run again
        return done
