"""Scheduled jobs: which are due (pure, an injected clock), the record of what fired
(``$XDG_STATE_HOME/tmuxorch/jobs.json``), and :class:`Jobs`, whose :meth:`Jobs.tick`
serve's loop calls every few seconds to start them.

A job fires in the minute its cron names (``now`` within :data:`ON_TIME` of the time).
A time that passed while nothing ticked (serve was down, the machine asleep) was
missed: ``missed: skip`` drops it, ``missed: once`` runs the job once on the next tick
however many were missed. A job seen for the first time (or whose cron changed) counts
from then: nothing before it was missed. A disabled job's times pass unrun.

Each run is ``tmuxorch run --new FILE`` (argv, no shell) as a process of its own session,
which outlives serve; its output goes to a log in the job's folder
(``$XDG_STATE_HOME/tmuxorch/jobs/ID/``, the last :data:`KEEP_LOGS` kept). A job whose
previous run (started by this :class:`Jobs`) is still going is not started again.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from tmuxorch import private
from tmuxorch.run.background import start_detached
from tmuxorch.spec.user_config import state_dir as default_state_dir

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from tmuxorch.spec.jobs import Job

ON_TIME = timedelta(seconds=60)
"""How late a tick may be and still fire a job on time (later: missed)."""
KEEP_LOGS = 20
RECORD = "jobs.json"


# -- when (pure) -----------------------------------------------------------------------
def local_now() -> datetime:
    """Now, in the local time zone (crons are read in the zone of the ``now`` given)."""
    from dateutil.tz import tzlocal

    return datetime.now(tzlocal())


def latest(cron: str, now: datetime) -> datetime:
    """The last time ``cron`` names at or before ``now``."""
    from croniter import croniter

    before = croniter(cron, now).get_prev(datetime)  # strictly before now
    at = croniter(cron, before).get_next(datetime)
    return at if at <= now else before


def next_time(cron: str, now: datetime) -> datetime:
    """The first time ``cron`` names after ``now``."""
    from croniter import croniter

    return croniter(cron, now).get_next(datetime)


@dataclass(frozen=True)
class Firing:
    """A job to start now, for its time ``slot`` (``missed``: a late run, policy once)."""

    job: Job
    slot: datetime
    missed: bool = False


def due(jobs: Iterable[Job], last_fired: Mapping[str, datetime], now: datetime) -> list[Firing]:
    """The jobs to start at ``now``; ``last_fired``: by job id, the latest time already
    dealt with (fired, skipped or passed while disabled); a job not in it is new."""
    firings = []
    for job in jobs:
        if not job.enabled:
            continue
        slot = latest(job.cron, now)
        last = last_fired.get(job.id)
        if last is not None and slot <= last:
            continue
        if now - slot < ON_TIME:
            firings.append(Firing(job, slot))
        elif last is not None and job.missed == "once":
            firings.append(Firing(job, slot, missed=True))
    return firings


def advance(
    jobs: Iterable[Job], last_fired: Mapping[str, datetime], now: datetime
) -> dict[str, datetime]:
    """``last_fired`` after a tick at ``now``: every job's times up to ``now`` are dealt
    with (what fired stays fired should the clock go back)."""
    after = {}
    for job in jobs:
        slot = latest(job.cron, now)
        last = last_fired.get(job.id)
        after[job.id] = slot if last is None or slot > last else last
    return after


# -- the record ------------------------------------------------------------------------
@dataclass(frozen=True)
class LastRun:
    """Job ``job``'s latest run: started at ``started`` for time ``slot`` (``missed``: a
    late one), ``pid`` and ``log``; ``exit`` and ``ended`` once seen to end; ``note`` when
    it was not started (its previous run still going, or it could not start). Times are
    ISO 8601 with their offset."""

    job: str
    slot: str
    started: str
    missed: bool = False
    pid: int | None = None
    log: str | None = None
    argv: tuple[str, ...] = ()
    exit: int | None = None
    ended: str | None = None
    note: str | None = None


@dataclass
class _Entry:
    cron: str
    slot: str | None = None
    last: LastRun | None = None


def read_record(state_dir: str) -> dict[str, _Entry]:
    """What fired, by job id (empty if no record or an unreadable one)."""
    try:
        fd = private.open_fd(os.path.join(state_dir, RECORD), os.O_RDONLY)
    except FileNotFoundError:
        return {}
    with os.fdopen(fd, encoding="utf-8") as handle:
        try:
            data = json.load(handle)
            return {
                job_id: _Entry(
                    entry["cron"],
                    entry.get("slot"),
                    _last_run(entry["last"]) if entry.get("last") else None,
                )
                for job_id, entry in data["jobs"].items()
            }
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}  # damaged: start afresh (nothing is run twice in its minute)


def _last_run(data: dict[str, object]) -> LastRun:
    return LastRun(**{**data, "argv": tuple(data.get("argv") or ())})  # type: ignore[arg-type]


def _dump(record: Mapping[str, _Entry]) -> str:
    data = {"version": 1, "jobs": {job_id: asdict(entry) for job_id, entry in record.items()}}
    return json.dumps(data, indent=1) + "\n"


def _write_record(state_dir: str, text: str) -> None:
    path = os.path.join(state_dir, RECORD)
    private.write(path + ".new", text)
    os.replace(path + ".new", path)  # whole or not at all


@contextlib.contextmanager
def _locked(state_dir: str) -> Iterator[None]:
    """One tick at a time, whichever process ticks (two serves never fire a job twice)."""
    import fcntl

    fd = private.open_fd(os.path.join(state_dir, "jobs.lock"), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# -- what `tmuxorch jobs` shows --------------------------------------------------------
@dataclass(frozen=True)
class JobStatus:
    job: Job
    next: datetime | None
    """``None``: disabled."""
    last: LastRun | None


def statuses(
    jobs: Iterable[Job], state_dir: str | None = None, now: datetime | None = None
) -> list[JobStatus]:
    """Each job with its next time and its latest run."""
    now = local_now() if now is None else now
    record = read_record(state_dir or default_state_dir())
    return [
        JobStatus(
            job,
            next_time(job.cron, now) if job.enabled else None,
            record[job.id].last if job.id in record else None,
        )
        for job in jobs
    ]


# -- the runner ------------------------------------------------------------------------
class Jobs:
    """Starts the jobs that are due, each time :meth:`tick` is called.

    ``run_args``: added to each ``tmuxorch run`` (the tmux server: ``["-L", NAME]``);
    ``env``: the runs' environment (default this process's, without ``$TMUX``); ``state_dir``: default
    ``$XDG_STATE_HOME/tmuxorch``. ``jobs`` may be replaced between ticks (a new config).
    """

    def __init__(
        self,
        jobs: Sequence[Job],
        *,
        state_dir: str | None = None,
        run_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.jobs = tuple(jobs)
        self.state_dir = state_dir or default_state_dir(env)
        self.run_args = tuple(run_args)
        self.env = dict(os.environ if env is None else env)
        for name in ("TMUX", "TMUX_PANE"):  # a job's run is in no pane of serve's
            self.env.pop(name, None)
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        """The runs this object started and has not seen end, by job id."""

    def tick(self, now: datetime | None = None) -> list[LastRun]:
        """Record the runs that ended, start the jobs due at ``now`` (default: now, local
        time); the runs started (or refused, with a ``note``)."""
        now = local_now() if now is None else now
        private.folder(self.state_dir)
        with _locked(self.state_dir):
            record = read_record(self.state_dir)
            before = _dump(record)
            self._reap(record, now)
            last = {
                job.id: datetime.fromisoformat(entry.slot)
                for job in self.jobs
                if (entry := record.get(job.id)) and entry.cron == job.cron and entry.slot
            }
            started = []
            for firing in due(self.jobs, last, now):
                run = self._start(firing, now)
                if run.pid is not None or firing.job.id not in self.children:
                    record.setdefault(firing.job.id, _Entry(firing.job.cron)).last = run
                started.append(run)  # a refusal is said, not recorded over the run that is on
            crons = {job.id: job.cron for job in self.jobs}
            for job_id, slot in advance(self.jobs, last, now).items():
                entry = record.setdefault(job_id, _Entry(crons[job_id]))
                entry.cron, entry.slot = crons[job_id], slot.isoformat()
            if (after := _dump(record)) != before:  # most ticks change nothing
                _write_record(self.state_dir, after)
        return started

    def statuses(self, now: datetime | None = None) -> list[JobStatus]:
        return statuses(self.jobs, self.state_dir, now)

    def _reap(self, record: dict[str, _Entry], now: datetime) -> None:
        for job_id, child in list(self.children.items()):
            code = child.poll()
            if code is None:
                continue
            del self.children[job_id]
            entry = record.get(job_id)
            if entry and entry.last and entry.last.pid == child.pid:
                entry.last = _replace(entry.last, exit=code, ended=now.isoformat())

    def _start(self, firing: Firing, now: datetime) -> LastRun:
        job = firing.job
        run = LastRun(job.id, firing.slot.isoformat(), now.isoformat(), missed=firing.missed)
        previous = self.children.get(job.id)
        if previous is not None:  # not reaped this tick: still on
            return _replace(run, note=f"not started: its previous run (pid {previous.pid}) is on")
        argv = (sys.executable, "-m", "tmuxorch", "run", "--new", job.file, *self.run_args)
        try:
            private.folder(os.path.join(self.state_dir, "jobs"))
            folder = private.folder(job.folder)
            if job.inline is not None:
                private.write(job.file, job.inline)
            log = os.path.join(folder, f"{now:%Y%m%d-%H%M%S}.log")
        except OSError as exc:
            return _replace(run, argv=argv, note=f"not started: {exc}")
        late = " (missed while serve was down: run once)" if firing.missed else ""
        try:
            child = start_detached(  # it outlives serve, and serve's Ctrl-C
                argv,
                log,
                cwd=job.file if os.path.isdir(job.file) else os.path.dirname(job.file),
                env=self.env,
                header=f"# job {job.id} for {run.slot}{late}: {shlex.join(argv)}\n",
            )
        except OSError as exc:
            return _replace(run, argv=argv, log=log, note=f"not started: {exc}")
        self.children[job.id] = child
        _prune(folder)
        return _replace(run, argv=argv, log=log, pid=child.pid)


def _replace(run: LastRun, **changes: object) -> LastRun:
    from dataclasses import replace

    return replace(run, **changes)  # type: ignore[arg-type]


def _prune(folder: str) -> None:
    logs = sorted(name for name in os.listdir(folder) if name.endswith(".log"))
    for name in logs[:-KEEP_LOGS]:
        with contextlib.suppress(OSError):
            os.unlink(os.path.join(folder, name))


__all__ = [
    "ON_TIME",
    "Firing",
    "JobStatus",
    "Jobs",
    "LastRun",
    "advance",
    "due",
    "latest",
    "local_now",
    "next_time",
    "read_record",
    "statuses",
]
