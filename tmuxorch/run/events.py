"""The domain events a run publishes on its bus (see :mod:`tmuxorch.run.bus`).

Every event has ``type``, ``run``, ``t`` and ``seq``. Events about one task carry its row
as ``status --json`` shows it: ``task``, ``state`` (pending, running, retrying, succeeded,
failed, skipped, stopped), ``attempt``, ``pane``, ``exit_code``, ``reason``, and
``started`` / ``ended`` (wall clock of its latest attempt), ``activity`` (what its agent
is doing: busy, idle, waiting_input...), ``pull_request`` (``merge: pr``), ``failure`` (the
class of its latest failure: rate_limited, usage_limit, auth, network, not_installed,
crashed, timed_out, stalled, task_failed — see :mod:`tmuxorch.agents.failures`) and
``retry_at`` (while it is retrying: when, on the run's clock). Events about the whole run
carry ``tasks``: a row
per task, in the file's order (what a person reads top to bottom).
"""

from __future__ import annotations

RUN_OPENED = "run-opened"
"""A run began, or was resumed (``resumed``); ``file``, ``session``, ``server``, ``tasks``."""
RUN_SNAPSHOT = "run-snapshot"
"""Every task's row now (``tasks``): sent to a subscriber that fell behind, after a gap."""
TASKS_ADDED = "tasks-added"
"""Tasks joined the run (``tasks``, ``order``): follow-ups (``follows``), or a reload."""
TASK_ADDED = "task-added"
"""A task was added to the live run (``tmuxorch add``, ``Control.add``): ``task``, its id;
``tasks``: it and its follow-ups (``then:``). ``tasks-added`` has the rows of those that
joined the run."""
TASKS_REMOVED = "tasks-removed"
"""Tasks left the run before they started (``ids``, ``reason``, ``order``)."""
ATTEMPT_STARTING = "attempt-starting"
"""An attempt is recorded, before its pane exists (``pane`` is None; "" if it never will)."""
STARTED = "task-started"
"""Its pane runs its agent: ``pane``, ``pid``, ``window``, ``transcript``, ``branch``."""
ADOPTED = "task-adopted"
"""A pane of an earlier supervisor is followed again (``record``: it was never recorded)."""
FORGOTTEN = "attempt-forgotten"
"""An attempt recorded but never made a pane: as if it had not begun."""
ACTIVITY = "task-activity"
"""Its agent's screen says what it does (``activity``)."""
WAITING = "task-waiting"
"""Its agent waits for a person (``last_lines``: the screen's last lines)."""
STALLED = "task-stalled"
"""It has shown nothing new for a while (``quiet``: seconds; ``waiting``: its agent waits
for a person, and this is a reminder; ``fails_in``: seconds until it fails as stalled, or
None; ``last_lines``)."""
AGENT_CHOSEN = "task-agent"
"""Its attempt runs another agent than its own (``agent``, ``why``: a fallback, a route)."""
BREAKER = "agent-breaker"
"""An agent's breaker opened or closed (``agent``, ``state``, ``until``: when it half-opens)."""
CONVERSATION = "task-conversation"
"""Its agent's conversation id (``session``): a retry resumes it."""
ENDED = "task-ended"
"""An attempt ended: ``outcome`` (the task's state after it, or ``interrupted``), ``took``
(seconds), ``retry_in`` (seconds, when retrying), ``failure`` (why, when it failed),
``waits`` (its attempts that ended at a rate or usage limit: not counted as retries)."""
SKIPPED = "task-skipped"
"""It will never run: something it needs failed or was stopped (``reason``)."""
STOPPED = "task-stopped"
"""Stopped by a person (``reason``); ``live``: an attempt of it was running."""
RESET = "task-reset"
"""It will run again (``tmuxorch retry``)."""
PANE_KEPT = "pane-kept"
"""The pane of its final failure stays open for a person to look at (``pane``,
``transcript``, ``record``)."""
PANE_CLOSED = "pane-closed"
"""An attempt's pane was closed (``pane``, ``transcript``, ``record``: its byte record)."""
RELOADED = "tasks-reloaded"
"""The task files changed: ``added``, ``changed``, ``removed``, ``ignored``."""
NOTE = "note"
"""Something a person should read (``text``; ``task`` if it is about one). A task's branch
pushed by ``merge: pr`` adds ``pull_request`` (its address; None if it was not opened),
``branch``, ``base`` and ``remote``."""
HOST = "task-host"
"""The link to its host was cut (``link``: ``cut``; its state is ``unknown`` meanwhile) or
is back (``link``: ``back``, ``gap``: seconds without live output; the transcript comes
whole from the pane's record there), for a task running there (``host``)."""
RUN_FINISHED = "run-finished"
"""The run is over: ``state`` (finished, interrupted), ``summary``, ``ok``,
``kept_worktrees``, ``pull_requests`` (task, url, branch, base, remote)."""

TASK_EVENTS = frozenset(
    {ATTEMPT_STARTING, STARTED, ADOPTED, FORGOTTEN, ENDED, SKIPPED, STOPPED, RESET, HOST}
)
"""Events whose task row is up to date (the others only name their task)."""
