"""Starting attempts: every task the scheduler lets start gets what it needs (its worktree,
its prompt, its conversation id, its command line), is recorded, and then all of a round's
panes are opened at once, through libtmux (:mod:`tmuxorch.tmux.agent_panes`)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import replace

from tmuxorch import private
from tmuxorch.agents import failures, installed
from tmuxorch.agents.launch import launch, needs_session, pane_options
from tmuxorch.run import elsewhere, events, results, worktrees, worktrees_there
from tmuxorch.run.context import Attempt
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.agents.launch import Launch
    from tmuxorch.run.context import Run
    from tmuxorch.run.ending import Ending
    from tmuxorch.run.host_links import HostLink
    from tmuxorch.run.placement import Placement
    from tmuxorch.spec.task_model import Task
    from tmuxorch.tmux.panes import Opened

RESUME_PROMPT = (
    "(tmuxorch) This is attempt {attempt} of task {task}. The last attempt ended: {reason}. "
    "Carry on with the task from where it stopped; its instructions are earlier in this "
    "conversation."
)
"""What a resumed conversation is told (its first prompt is already in it)."""


Starting = tuple["Task", "Launch", "worktrees.Checkout | None"]


class Launcher:
    def __init__(self, run: Run, placement: Placement, ending: Ending) -> None:
        self.run = run
        self.placement = placement
        self.ending = ending
        self.elsewhere = elsewhere.Elsewhere(run, placement)
        """Tasks on other hosts (:mod:`tmuxorch.run.elsewhere`)."""

    def start_ready(self) -> bool:
        """Start what may start now; whether anything did."""
        run = self.run
        tasks = self._with_agents(run.scheduler.startable(run.clock()))
        if not tasks:
            return False
        requests: dict[str | None, list[tmux_panes.PaneRequest]] = {}
        starting: dict[str | None, list[Starting]] = {}
        for task in tasks:
            link: HostLink | None = None
            if task.host is not None:
                reached = self.elsewhere.link(task)
                if isinstance(reached, elsewhere.Refused):
                    self.refuse(task, reached.reason, final=reached.final, cause=reached.cause)
                    continue
                link = reached
            missing = installed.missing(run.taskset.agent(task.agent)) if link is None else None
            if missing is not None:  # no retry will install it
                self.refuse(task, missing, final=True)
                continue
            prepared = self._prepare(task, link)
            if isinstance(prepared, str):
                self.refuse(task, prepared)
                continue
            n, spec, checkout = prepared
            with contextlib.suppress(FileNotFoundError):
                os.unlink(run.files(task.id, n).exit)
            self._record(task.id, n, None, None if link is None else link.name)
            window, new = self.elsewhere.placement(link).place()
            agent = pane_options(run.taskset.agent(task.agent))
            record = run.files(task.id, n).record
            private.folder(os.path.dirname(os.path.dirname(record)))  # transcripts/
            private.folder(os.path.dirname(record))  # transcripts/RUN/: before tmux writes
            if link is not None:
                record = link.files(task.id, n).record  # tmux writes it there
            requests.setdefault(task.host, []).append(
                tmux_panes.PaneRequest(
                    task.id, n, spec.argv, spec.env, spec.cwd, window, new, agent, record
                )
            )
            starting.setdefault(task.host, []).append((task, spec, checkout))
        for host, asked in requests.items():
            opened = self._open(asked) if host is None else self.elsewhere.open(host, asked)
            for (task, spec, checkout), result in zip(starting[host], opened, strict=True):
                n = run.scheduler.start(task.id)
                if isinstance(result, elsewhere.Unreached):
                    self.elsewhere.never_started(task, n, str(result))
                    continue
                if isinstance(result, TmuxError):
                    self.refuse(task, f"could not open a pane: {result}", n)
                    continue
                self._started(task, n, spec, checkout, result)
        return True

    def _with_agents(self, tasks: list[Task]) -> list[Task]:
        """Each task with the agent its attempt runs (its own, a fallback, its route's, as
        caps and breakers allow: :mod:`tmuxorch.run.agent_choice`); those none may run now
        wait."""
        run, now = self.run, self.run.clock()
        chosen: list[Task] = []
        for task in tasks:
            if task.host_choices:  # the first of its hosts with room
                host = self.elsewhere.with_room(task, chosen)
                if host is None:
                    continue  # every one of them is full (or out of reach): next time
                task = replace(task, host=host)
            elif task.host in run.unreachable:
                continue  # its host is out of reach: it waits until the link is back
            elif task.host is not None and self.elsewhere.busy(task.host, chosen):
                continue  # its host runs what its max_parallel allows: next time
            if task.ask:  # an agent chooses: it goes first, the others stay its fallback
                answer = run.asker.choice(task)
                if answer is None:
                    continue  # (asked: the answer comes in a thread, looked at next round)
                first, why = answer
                others = tuple(n for n in (task.agent, *task.fallback) if n != first)
                task = replace(task, agent=first, fallback=others, routed=why)
            choice = run.chooser.choose(task, now)
            if choice is None:
                continue
            if choice.why or task.routed:
                why = choice.why or str(task.routed)
                run.publish(events.AGENT_CHOSEN, task=task.id, agent=choice.agent, why=why)
            run.chooser.started(choice.agent, now)
            chosen.append(replace(task, agent=choice.agent))
        return chosen

    def _open(self, requests: list[tmux_panes.PaneRequest]) -> list[Opened | TmuxError]:
        run = self.run
        maker = run.pane_maker()
        opened = maker.open(run.session, run.run_id, requests)
        if all(isinstance(r, TmuxError) for r in opened) and self.placement.gone():
            # someone closed the session (or the whole server): make it again, once
            self.placement.make_again()
            places = [self.placement.place() for _ in requests]
            requests = [
                replace(r, window=w, new_window=new)
                for r, (w, new) in zip(requests, places, strict=True)
            ]
            opened = maker.open(run.session, run.run_id, requests)
        if any(isinstance(r, TmuxError) for r in opened):
            self.placement.count_windows()  # what tmux refused was counted in
        return opened

    def _started(
        self,
        task: Task,
        n: int,
        spec: Launch,
        checkout: worktrees.Checkout | None,
        opened: Opened,
    ) -> None:
        run = self.run
        started = run.times.get(task.id, (None, None))[0] or time.time()
        deadline = time.monotonic() + task.timeout if task.timeout is not None else None
        files = run.files(task.id, n)
        attempt = Attempt(task, n, opened.pane, opened.pid, files, started, deadline, opened.window)
        if task.host is None:
            attempt.handle = run.pane_maker().pane(
                opened.pane,
                opened.pid,
                window_id=opened.window_id,
                window_name=opened.window,
                session_id=opened.session_id,
                session_name=run.session,
            )
        else:
            self.elsewhere.started(attempt)
        attempt.begun = attempt.output_at = time.monotonic()
        attempt.cwd, attempt.checkout = spec.cwd, checkout
        attempt.profile, attempt.typed_prompt = run.taskset.agent(task.agent), spec.type_prompt
        run.attempts[task.id] = attempt
        run.task_event(
            events.STARTED,
            task.id,
            pid=opened.pid,
            window=opened.window,
            transcript=files.transcript,
            branch=checkout.branch if checkout else None,
        )
        self.follow(attempt)

    def follow(self, attempt: Attempt) -> None:
        """Have the poller follow the pane from its first line: transcript, agent state."""
        profile = self.run.profile(attempt)
        self.run.poller.watch(
            attempt.pane, label=attempt.task.id, patterns=profile.patterns, from_start=True
        )

    def _record(self, task_id: str, n: int, pane: str | None, host: str | None = None) -> None:
        """The attempt is on record before its pane exists (``pane`` "": it never will), with
        the host it is made on (a supervisor that comes back looks for it there)."""
        run = self.run
        now = time.time()
        run.times[task_id] = (now, None)
        fields = {"state": "running", "attempt": n, "pane": pane, "started": now, "ended": None}
        fields.update(exit_code=None, reason=None, activity=None, host=host)
        run.task_event(events.ATTEMPT_STARTING, task_id, **fields)

    def refuse(
        self,
        task: Task,
        reason: str,
        n: int | None = None,
        *,
        final: bool = False,
        cause: str | None = None,
    ) -> None:
        """An attempt that could not even start: it counts, and fails (``final``: and no
        retry can mend it; ``cause``: how it ended, if not for a missing program)."""
        run = self.run
        n = n or run.scheduler.start(task.id)
        self._record(task.id, n, "")
        started = time.time()
        attempt = Attempt(task, n, "", 0, run.files(task.id, n), started, None, "")
        attempt.checkout = run.checkouts.get(task.id)
        attempt.cause = cause or (failures.MISSING if final else failures.STOPPED)
        run.attempts[task.id] = attempt
        self.ending.complete(attempt, ok=False, code=None, reason=reason, final=final)

    def _prepare(
        self, task: Task, link: HostLink | None
    ) -> tuple[int, Launch, worktrees.Checkout | None] | str:
        """Everything an attempt needs before its pane: its worktree, its prompt (run-time
        fields filled, or what a resumed conversation is told), its conversation id, its
        command line. A string: why it cannot start."""
        run = self.run
        n = run.scheduler.states[task.id].attempts + 1
        profile = run.taskset.agent(task.agent)
        files = run.files(task.id, n)
        checkout = run.checkouts.get(task.id)
        if link is not None:
            if task.worktree is not None and checkout is None:
                try:
                    checkout = worktrees_there.prepare(link, run.run_id, task.id)
                except worktrees.GitError as exc:
                    return f"could not make its worktree on {link.name}: {exc}"
                run.checkouts[task.id] = checkout
            files = link.files(task.id, n)  # the wrapper and the agent write them there
        elif task.worktree is not None and checkout is None:
            try:
                checkout = worktrees.prepare(
                    task.cwd or os.getcwd(), run.state_dir, run.run_id, task.id
                )
            except worktrees.GitError as exc:
                return f"could not make its worktree: {exc}"
            run.checkouts[task.id] = checkout
        cwd = checkout.cwd if checkout else (task.cwd or os.getcwd())
        if link is not None:
            cwd = checkout.cwd if checkout else link.cwd
        elif not os.path.isdir(cwd):
            # tmux would start the pane elsewhere: an agent in the wrong place is worse
            return f"its working directory {cwd} does not exist"
        session = run.sessions.get(task.id)
        resume = n > 1 and profile.resume_argv is not None
        resume = resume and run.agent_of.get(task.id, task.agent) == task.agent
        run.agent_of[task.id] = task.agent
        if resume and needs_session(profile, resume=True) and not session:
            resume = False  # no conversation to go back to: start afresh
        if not resume and needs_session(profile, resume=False):
            import uuid  # 4 ms: only for agents whose conversation tmuxorch names

            session = str(uuid.uuid4())
            run.sessions[task.id] = session
            run.publish(events.CONVERSATION, task=task.id, session=session)
        prompt = task.prompt
        if resume:
            st = run.scheduler.states[task.id]
            prompt = RESUME_PROMPT.format(
                attempt=n, task=task.id, reason=st.reason or "it was interrupted"
            )
        elif task.prompt_fields:
            fixed = {
                "result_file": files.result,
                "run": run.run_id,
                "attempt": str(n),
                "worktree": checkout.path if checkout else "",
                "branch": checkout.branch if checkout else "",
            }
            try:
                prompt = results.fill(task, fixed, lambda t: run.files(t, 1).result)
            except results.ResultError as exc:
                return f"its prompt needs a result: {exc}"
        note = run.notes.pop(task.id, None)
        if note:
            prompt = f"{prompt}\n\n{note}" if prompt else note
        results.clear(run.files(task.id, n).result)
        if link is not None:
            link.remove(files.result)
        spec = launch(
            task,
            profile,
            run_id=run.run_id,
            attempt=n,
            files=files,
            prompt=prompt,
            cwd=cwd,
            session=session,
            resume=resume,
            **({"python": link.spec.python} if link is not None else {}),
        )
        write = private.write if link is None else link.write
        if spec.prompt_file is not None:
            write(spec.prompt_file, prompt or "")
        if spec.settings is not None:
            write(*spec.settings)
        if resume:
            run.note(f"{task.id}: resuming its conversation {session or ''}".rstrip(), task.id)
        return n, spec, checkout
