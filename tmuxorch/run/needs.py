"""What a task needs of the tasks it depends on, judged from their states (pure: the
scheduler's rules for partial success).

- A dependency needed on its own must succeed, or fail for good with ``allow_failure:
  true`` (its own failure: a follow-up that never came to be because its task failed is
  not allowed through by that task's ``allow_failure``).
- Of a quorum group (``depends_on: {any: 2, of: [r1, r2, r3]}``) ``any`` must succeed; an
  allowed failure is not a success. The task starts as soon as enough have; it is skipped
  as soon as too many failed, were skipped or stopped for that to happen.
- The rest of a group whose quorum is met go on (``then: finish``, the default), or stop
  (``then: stop``): those still pending, retrying or running are stopped, with the reason
  :data:`QUORUM_MET`, at the success that meets the quorum — unless another task still
  waits for them.
"""

from __future__ import annotations

from tmuxorch.run.scheduler import FAILED, PENDING, SKIPPED, STOPPED, SUCCEEDED, TERMINAL

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from tmuxorch.graph import Graph
    from tmuxorch.run.scheduler import TaskState
    from tmuxorch.spec.task_model import Quorum, Task

QUORUM_MET = "quorum met"
"""The reason of a task stopped because its group had enough without it."""
_ENDED = {FAILED: "failed", SKIPPED: "was skipped", STOPPED: "was stopped"}


class Needs:
    def __init__(
        self, tasks: Mapping[str, Task], states: Mapping[str, TaskState], graph: Graph
    ) -> None:
        self.tasks = tasks
        self.states = states
        self.graph = graph

    # -- one dependency --------------------------------------------------------------------
    def done_with(self, dep: str) -> bool:
        """``dep`` lets what needs it on its own start: it succeeded, or failed, allowed."""
        st = self.states.get(dep)
        if st is None:
            return False
        return st.state == SUCCEEDED or (st.state == FAILED and self.tasks[dep].allow_failure)

    def lost(self, dep: str) -> tuple[str, TaskState] | None:
        """Why ``dep`` will never succeed: the task (``dep``, or for a follow-up never made,
        the task it follows) that failed, was skipped or stopped, and its state; None if it
        still may."""
        st = self.states.get(dep)
        while st is None and (parent := self.tasks[dep].follows):
            dep, st = parent, self.states.get(parent)
        if st is not None and st.state in _ENDED:
            return dep, st
        return None

    def succeeded(self, group: Quorum) -> int:
        return sum(1 for d in group.of if (st := self.states.get(d)) and st.state == SUCCEEDED)

    # -- one task --------------------------------------------------------------------------
    def met(self, task: Task) -> bool:
        """Everything ``task`` needs is there: it may start."""
        return all(self.done_with(d) for d in task.required) and all(
            self.succeeded(group) >= group.any for group in task.quorums
        )

    def blocked(self, task: Task) -> str | None:
        """Why ``task`` can never start (None: it still may)."""
        for dep in task.required:
            lost = self.lost(dep)
            if lost is None:
                continue
            cause, st = lost
            if cause == dep and st.state == FAILED and self.tasks[dep].allow_failure:
                continue
            if st.state == SKIPPED and st.reason:
                return st.reason  # the same cause as the task it needs
            return needs(cause, st.state)
        for group in task.quorums:
            gone = [(d, self.lost(d)) for d in group.of]
            ended = [(d, lost) for d, lost in gone if lost is not None]
            if len(group.of) - len(ended) >= group.any:
                continue
            said = [
                f"{d} {_ENDED[st.state]}"
                if cause == d
                else f"{d} will not run ({cause} {_ENDED[st.state]})"
                for d, (cause, st) in ended
            ]
            return f"needs {group}, but {', '.join(said)}"
        return None

    # -- then: stop ------------------------------------------------------------------------
    def to_stop(self, done: str) -> list[str]:
        """What ``done``'s success makes superfluous: the unfinished rest of each ``then:
        stop`` group it is in whose quorum is now met, that no other task waits for."""
        found: list[str] = []
        for dependent in self.graph.dependents.get(done, ()):
            if dependent not in self.states:
                continue
            for group in self.tasks[dependent].quorums:
                if group.then != "stop" or done not in group.of:
                    continue
                if self.succeeded(group) < group.any:
                    continue
                for member in group.of:
                    st = self.states.get(member)
                    if st is None or st.state in TERMINAL or member in found:
                        continue
                    if not self._waited_for(member):
                        found.append(member)
        return found

    def _waited_for(self, member: str) -> bool:
        """A task that has not started (or a follow-up not made yet) still needs
        ``member``: on its own, or in a group short of its quorum."""
        for dependent in self.graph.dependents.get(member, ()):
            st = self.states.get(dependent)
            if st is not None and st.state != PENDING:
                continue
            task = self.tasks[dependent]
            if member in task.required:
                return True
            for group in task.quorums:
                if member in group.of and self.succeeded(group) < group.any:
                    return True
        return False


def needs(task_id: str, state: str) -> str:
    return f"needs {task_id}, which {'was stopped' if state == STOPPED else 'failed'}"
