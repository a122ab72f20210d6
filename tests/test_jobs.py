"""Scheduled jobs: read from the user config with positions, due at their minute (an
injected clock), the missed policy across a downtime, really run by Jobs.tick, listed by
`tmuxorch jobs`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Server, eventually, tmux_env, tmuxorch_argv
from tmuxorch.private import Unsafe
from tmuxorch.serve.jobs import Jobs, advance, due, latest, next_time, read_record
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.user_config import config_path, load_user_config, state_dir

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tmuxorch.serve.jobs import LastRun
    from tmuxorch.spec.jobs import Job

UTC = timezone.utc


def at(hour: int, minute: int, second: int = 0, day: int = 1) -> datetime:
    return datetime(2030, 1, day, hour, minute, second, tzinfo=UTC)


def write_config(text: str) -> Path:
    path = Path(config_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def jobs_of(text: str) -> tuple[Job, ...]:
    write_config(text)
    return load_user_config().jobs


def problems(text: str) -> list[str]:
    path = write_config(text)
    with pytest.raises(SpecError) as info:
        load_user_config()
    return [str(p).replace(str(path), "config.yaml") for p in info.value.problems]


# -- reading jobs ----------------------------------------------------------------------
def test_jobs_in_the_config(tmp_path: Path) -> None:
    (tmp_path / "review.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    nightly, inline = jobs_of(
        f"""
        agents: {{checker: shell}}
        jobs:
          - {{id: nightly-review, cron: "0 2 * * *", run: {tmp_path}/review.yaml, missed: once}}
          - id: check
            cron: "@hourly"
            cwd: {tmp_path}
            enabled: false
            tasks:
              - {{id: check, agent: checker, command: "echo 'a; b' $HOME"}}
        """
    )
    assert (nightly.id, nightly.cron, nightly.missed, nightly.enabled) == (
        "nightly-review",
        "0 2 * * *",
        "once",
        True,
    )
    assert nightly.file == str(tmp_path / "review.yaml") and nightly.inline is None
    assert nightly.folder == os.path.join(state_dir(), "jobs", "nightly-review")
    assert (inline.missed, inline.enabled) == ("skip", False)
    assert inline.file == os.path.join(state_dir(), "jobs", "check", "tasks.yaml")
    assert inline.inline is not None
    # what runs is a layout working in cwd, with the tasks as written
    Path(inline.folder).mkdir(parents=True)
    Path(inline.file).write_text(inline.inline)
    from tmuxorch.spec.workspace import load_workspace

    tasks = load_workspace(inline.file).workspace.tasks
    assert tasks is not None
    (task,) = tasks.tasks
    assert (task.agent, task.command, task.cwd) == ("checker", "echo 'a; b' $HOME", str(tmp_path))


def test_a_run_file_is_relative_to_the_config() -> None:
    path = write_config("jobs: [{id: j, cron: '* * * * *', run: tasks.yaml}]\n")
    (path.parent / "tasks.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    assert load_user_config().jobs[0].file == str(path.parent / "tasks.yaml")


BAD_JOBS = """
jobs:
  - {id: a, cron: "0 2 * *", run: /nowhere.yaml}
  - {id: b/c, cron: "61 * * * *", tasks: [{id: x, command: "true"}], missed: twice}
  - {cron: "@daily", run: /tmp, tasks: [], cwd: /tmp, enabled: sometimes}
  - {id: d, cron: "@daily", tasks: [{id: x, agent: nobody}, {id: y, command: "true"}]}
  - {id: e, cron: "@daily", tasks: tasks.yaml, colour: red}
  - {id: ok, cron: "@daily", run: /}
  - {id: ok, cron: "@weekly", run: /}
"""
CRON_HINT = (
    '  hint: five fields: minute hour day-of-month month day-of-week ("0 2 * * *"), or @daily...'
)


def test_bad_jobs_are_reported_where_they_are() -> None:
    assert problems(BAD_JOBS) == [
        "config.yaml:3:19: jobs[0].cron: not a cron expression: '0 2 * *'\n" + CRON_HINT,
        "config.yaml:3:35: jobs[0].run: /nowhere.yaml does not exist",
        "config.yaml:4:10: jobs[1].id: 'b/c' is not a valid job id\n"
        "  hint: letters, digits, '.', '_' and '-', starting with a letter or digit",
        "config.yaml:4:21: jobs[1].cron: not a cron expression: '61 * * * *'\n" + CRON_HINT,
        "config.yaml:4:78: jobs[1].missed: unknown missed policy 'twice'\n"
        "  hint: skip (runs missed while serve was down are dropped) or once (one run on start)",
        "config.yaml:5:5: jobs[2].id: required key is missing",
        "config.yaml:5:33: jobs[2]: give run: FILE or inline tasks:, not both",
        "config.yaml:5:64: jobs[2].enabled: expected true or false, got text ('sometimes')",
        "config.yaml:6:52: jobs[3].tasks[0].agent: unknown agent 'nobody'\n"
        "  hint: known agents: aider, claude, codex, demo, gemini, goose, opencode, shell",
        "config.yaml:7:36: jobs[4].tasks: expected a list\n  hint: for a file: run: FILE",
        "config.yaml:7:48: jobs[4].colour: unknown key\n"
        "  hint: known keys: cron, cwd, enabled, id, missed, run, tasks",
        "config.yaml:9:10: jobs[6].id: duplicate job id (first on line 8)",
    ]
    assert problems("jobs: [{id: x, cron: '@daily'}]") == [
        "config.yaml:1:8: jobs[0]: a job needs run: FILE or inline tasks:"
    ]
    assert problems("jobs: [{id: x, cron: '@daily', run: /, cwd: /}]") == [
        "config.yaml:1:40: jobs[0].cwd: only used with inline tasks:"
    ]


# -- when: an injected clock -----------------------------------------------------------
def simulate(jobs: tuple[Job, ...], ticks: list[datetime]) -> list[tuple[str, datetime, bool]]:
    """serve's loop in time: what fired at which tick (job, tick, missed)."""
    fired: list[tuple[str, datetime, bool]] = []
    last: dict[str, datetime] = {}
    for now in ticks:
        fired += [(f.job.id, now, f.missed) for f in due(jobs, last, now)]
        last = advance(jobs, last, now)
    return fired


def every(start: datetime, end: datetime, step: float) -> list[datetime]:
    ticks = []
    while start <= end:
        ticks.append(start)
        start += timedelta(seconds=step)
    return ticks


def test_a_job_fires_at_its_minute_and_not_before(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    jobs = jobs_of(f"jobs: [{{id: j, cron: '30 2 * * *', run: {tmp_path}/t.yaml}}]\n")
    assert latest("30 2 * * *", at(2, 30)) == at(2, 30)
    yesterday = at(2, 30) - timedelta(days=1)
    assert latest("30 2 * * *", at(2, 29, 59)) == yesterday
    assert next_time("30 2 * * *", at(2, 30)) == at(2, 30, day=2)
    assert due(jobs, {"j": yesterday}, at(2, 29, 59)) == []
    (firing,) = due(jobs, {"j": yesterday}, at(2, 30))
    assert (firing.job.id, firing.slot, firing.missed) == ("j", at(2, 30), False)
    # ticking every 7 s from 02:00 to 03:00: once, in its minute
    assert simulate(jobs, every(at(2, 0), at(3, 0), 7)) == [("j", at(2, 30, 6), False)]  # 258 x 7 s
    # a tick exactly at the minute fires then; the next ticks in that minute do not again
    assert simulate(jobs, every(at(2, 29), at(2, 32), 15)) == [("j", at(2, 30), False)]
    # a new job first seen in its minute fires; first seen later, it waits for tomorrow
    assert simulate(jobs, [at(2, 30, 59)]) == [("j", at(2, 30, 59), False)]
    assert simulate(jobs, [at(2, 31), at(2, 40)]) == []
    # over two days: each day at 02:30
    fired = simulate(jobs, every(at(0, 0), at(23, 59, day=2), 45))
    assert [(when.day, when.hour, when.minute) for _, when, _ in fired] == [
        (1, 2, 30),
        (2, 2, 30),
    ]


@pytest.mark.parametrize("policy", ["skip", "once"])
def test_runs_missed_during_a_downtime(tmp_path: Path, policy: str) -> None:
    (tmp_path / "t.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    jobs = jobs_of(
        f"jobs: [{{id: j, cron: '*/15 * * * *', run: {tmp_path}/t.yaml, missed: {policy}}}]\n"
    )
    up = every(at(1, 1), at(1, 20), 10)  # fires at 01:15
    down_until = every(at(3, 5, 20), at(3, 20), 10)  # 01:30 ... 03:00 were missed
    fired = simulate(jobs, up + down_until)
    on_time = [("j", at(1, 15), False), ("j", at(3, 15), False)]
    if policy == "skip":
        assert fired == on_time
    else:  # once for all the missed ones, at the first tick back
        assert fired == [on_time[0], ("j", at(3, 5, 20), True), on_time[1]]


def test_a_disabled_job_never_fires_and_does_not_catch_up(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    on, off = jobs_of(
        f"""
        jobs:
          - {{id: on, cron: '0 * * * *', run: {tmp_path}/t.yaml, missed: once}}
          - {{id: off, cron: '0 * * * *', run: {tmp_path}/t.yaml, missed: once, enabled: false}}
        """
    )
    last = advance((on, off), {}, at(0, 30))
    assert [f.job.id for f in due((on, off), last, at(1, 0))] == ["on"]
    last = advance((on, off), last, at(3, 30))  # off's 01:00 ... 03:00 passed unrun
    assert due((on, off), last, at(4, 30)) == due((on,), last, at(4, 30))


# -- the runner ------------------------------------------------------------------------
TASKS = """
    tasks:
      - id: hello
        command: printf '%s\\n' "ran in $(pwd)" > {out}
    """


@pytest.fixture
def stopped() -> Iterator[list[Jobs]]:
    """Jobs objects whose runs the test ends if they are still going."""
    made: list[Jobs] = []
    yield made
    for jobs in made:
        for child in jobs.children.values():
            child.terminate()
            child.wait(timeout=60)


def test_tick_runs_the_due_jobs_and_records_them(
    tmux_server: Server, tmp_path: Path, stopped: list[Jobs]
) -> None:
    project, work = tmp_path / "project", tmp_path / "work"
    project.mkdir()
    work.mkdir()
    (project / "tasks.yaml").write_text(textwrap.dedent(TASKS.format(out=project / "out")))
    jobs = jobs_of(
        f"""
        jobs:
          - {{id: file, cron: "0 2 * * *", run: {project}/tasks.yaml}}
          - id: inline
            cron: "0 2 * * *"
            cwd: {work}
            tasks:
              - {{id: here, command: "pwd > here.txt; echo 'a; b' >> here.txt"}}
        """
    )
    runner = Jobs(jobs, run_args=["-L", tmux_server.name], env=tmux_env())
    stopped.append(runner)
    assert runner.tick(at(1, 59, 50)) == []  # first seen: nothing to catch up
    assert runner.tick(at(1, 59, 59)) == []
    started = runner.tick(at(2, 0, 3))
    assert [run.job for run in started] == ["file", "inline"]
    assert runner.tick(at(2, 0, 9)) == []  # its minute is dealt with
    for run in started:
        assert run.pid is not None and run.note is None and run.log is not None
        assert run.argv[-6:] == (
            "tmuxorch",
            "run",
            "--new",
            jobs[0 if run.job == "file" else 1].file,
            "-L",
            tmux_server.name,
        )

    def ended() -> list[LastRun] | None:
        runner.tick(at(2, 0, 30))
        record = read_record(runner.state_dir)
        last = [record[job].last for job in ("file", "inline")]
        return [run for run in last if run] if all(r and r.exit is not None for r in last) else None

    done = eventually(ended, timeout=120, what="both runs ended")
    logs = [Path(run.log or "").read_text() for run in done]
    assert [run.exit for run in done] == [0, 0], logs
    assert (project / "out").read_text() == f"ran in {project}\n"
    assert (work / "here.txt").read_text() == f"{work}\na; b\n"
    assert logs[0].startswith(f"# job file for {at(2, 0).isoformat()}: ")
    # private: the state folder, the record, the logs, the inline tasks written
    state = Path(runner.state_dir)
    for path in (state, state / "jobs", state / "jobs" / "inline"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700
    for path in (state / "jobs.json", Path(done[0].log or ""), state / "jobs/inline/tasks.yaml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600

    # `tmuxorch jobs` shows the last runs (and their next times)
    listed = subprocess.run(
        tmuxorch_argv("jobs", "--json"), env=tmux_env(), capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert [(j["id"], j["last"]["exit"], j["last"]["state"]) for j in shown] == [
        ("file", 0, "exit 0"),
        ("inline", 0, "exit 0"),
    ]
    assert shown[0]["last"]["slot"] == at(2, 0).isoformat()


def test_missed_once_runs_after_a_restart(
    tmux_server: Server, tmp_path: Path, stopped: list[Jobs]
) -> None:
    (tmp_path / "tasks.yaml").write_text(textwrap.dedent(TASKS.format(out=tmp_path / "out")))
    for policy, expect in (("skip", []), ("once", ["j"])):
        jobs = jobs_of(
            f"jobs: [{{id: j-{policy}, cron: '0 2 * * *', run: {tmp_path}/tasks.yaml,"
            f" missed: {policy}}}]"
        )
        before = Jobs(jobs, run_args=["-L", tmux_server.name], env=tmux_env())
        stopped.append(before)
        before.tick(at(1, 0, day=10 if policy == "skip" else 20))  # then serve went down
        after = Jobs(jobs, run_args=["-L", tmux_server.name], env=tmux_env())  # a new serve
        stopped.append(after)
        started = after.tick(at(5, 0, day=10 if policy == "skip" else 20))
        assert [run.job for run in started] == [f"j-{policy}" for _ in expect]
    (run,) = started
    assert run.missed and run.slot == at(2, 0, day=20).isoformat()

    def exit_code() -> tuple[int] | None:
        after.tick(at(5, 1, day=20))
        last = read_record(after.state_dir)["j-once"].last
        return None if last is None or last.exit is None else (last.exit,)

    assert eventually(exit_code, timeout=120) == (0,)
    assert (tmp_path / "out").read_text() == f"ran in {tmp_path}\n"


def test_a_job_still_running_is_not_started_again(
    tmux_server: Server, tmp_path: Path, stopped: list[Jobs]
) -> None:
    (tmp_path / "tasks.yaml").write_text("tasks: [{id: long, command: sleep 600}]\n")
    jobs = jobs_of(f"jobs: [{{id: j, cron: '* * * * *', run: {tmp_path}/tasks.yaml}}]")
    runner = Jobs(jobs, run_args=["-L", tmux_server.name], env=tmux_env())
    stopped.append(runner)
    (first,) = runner.tick(at(2, 0))
    (second,) = runner.tick(at(2, 1))
    assert first.pid is not None and first.note is None
    assert second.pid is None
    assert second.note == f"not started: its previous run (pid {first.pid}) is on"
    assert read_record(runner.state_dir)["j"].last == first  # the run that is on
    runner.children["j"].terminate()  # it ends: its exit is recorded, and it runs again
    runner.children["j"].wait(timeout=60)
    runner.tick(at(2, 1, 30))
    ended = read_record(runner.state_dir)["j"].last
    assert ended is not None and (ended.pid, ended.ended) == (first.pid, at(2, 1, 30).isoformat())
    assert ended.exit is not None
    (third,) = runner.tick(at(2, 2))
    assert third.pid is not None and third.pid != first.pid and third.note is None


def test_a_planted_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    jobs = jobs_of(f"jobs: [{{id: j, cron: '0 2 * * *', run: {tmp_path}/t.yaml}}]")
    runner = Jobs(jobs)
    os.makedirs(runner.state_dir, mode=0o700)
    (tmp_path / "elsewhere").write_text("")
    os.symlink(tmp_path / "elsewhere", os.path.join(runner.state_dir, "jobs.lock"))
    with pytest.raises(Unsafe):
        runner.tick(at(1, 0))


def test_jobs_command_lists_them(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text("tasks: [{id: a, command: 'true'}]\n")
    listed = subprocess.run(tmuxorch_argv("jobs"), env=tmux_env(), capture_output=True, text=True)
    assert listed.returncode == 0 and listed.stdout == ""
    assert "no jobs" in listed.stderr
    write_config(
        f"""
        jobs:
          - {{id: new-year, cron: "0 0 1 1 *", run: {tmp_path}/t.yaml, missed: once}}
          - {{id: off, cron: "@hourly", run: {tmp_path}/t.yaml, enabled: false}}
        """
    )
    listed = subprocess.run(tmuxorch_argv("jobs"), env=tmux_env(), capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    year = datetime.now().astimezone().year + 1
    new_year = datetime(year, 1, 1).astimezone()
    assert listed.stdout.splitlines() == [
        "JOB       CRON       NEXT                  LAST RUN  MISSED  RUNS",
        f"new-year  0 0 1 1 *  {new_year:%a} {year}-01-01 00:00  never     once    {tmp_path}/t.yaml",
        f"off       @hourly    disabled              never     skip    {tmp_path}/t.yaml",
    ]
    as_json = subprocess.run(
        tmuxorch_argv("jobs", "--json"), env=tmux_env(), capture_output=True, text=True
    )
    assert json.loads(as_json.stdout)[0] == {
        "id": "new-year",
        "cron": "0 0 1 1 *",
        "next": new_year.isoformat(),
        "enabled": True,
        "missed": "once",
        "file": f"{tmp_path}/t.yaml",
        "inline": False,
        "last": None,
    }
    path = write_config("jobs: [{id: x, cron: '@daily'}]\n")
    bad = subprocess.run(tmuxorch_argv("jobs"), env=tmux_env(), capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[0] == (
        f"{path}:1:8: jobs[0]: a job needs run: FILE or inline tasks:"
    )
