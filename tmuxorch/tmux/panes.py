"""Agent panes: opened in task windows, tagged with ``@tmuxorch-*`` options, titled, read
back, and closed. Batched: one invocation opens every pane of a scheduling round."""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass

from tmuxorch.tmux.client import TmuxError
from tmuxorch.tmux.plan import HEIGHT, WIDTH

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tmuxorch.spec.model import Pairs
    from tmuxorch.tmux.client import Client

RUN, TASK, ATTEMPT = "@tmuxorch-run", "@tmuxorch-task", "@tmuxorch-attempt"
AGENT = "@tmuxorch-agent"
"""The agent preset a pane runs: how ``tmuxorch send`` times Enter, which patterns
``watch`` reads its state with."""
ENTER_DELAY = "@tmuxorch-enter-delay"
"""The profile's Enter delay (seconds), for ``send`` from another process."""
PATTERNS = "@tmuxorch-patterns"
"""The profile's state patterns as JSON when they are not its preset's."""
MADE = "@tmuxorch-made"
"""Set on a session tmuxorch made for a run (the run closes it when it is over)."""
_MARKS = f"#{{{MADE}}}\t#{{@tmuxorch-file}}"
WINDOW_TAG = "@tmuxorch-tasks"
"""Set on task windows: the run that made them."""
TASK_LAYOUT = "tiled"
_SEP = "\t"


@dataclass(frozen=True)
class PaneRequest:
    task: str
    attempt: int
    argv: tuple[str, ...]
    env: Pairs
    cwd: str
    window: str
    """Name of the task window to open it in."""
    new_window: bool
    """Create that window (with this pane as its first)."""
    agent: Pairs = ()
    """Pane options that say how to talk to its agent (:data:`AGENT`, :data:`ENTER_DELAY`,
    :data:`PATTERNS`)."""
    record: str = ""
    """Where to keep every byte its program writes (``pipe-pane``), if anywhere: the file
    is ``RECORD.part`` while the pane lives, ``RECORD`` once tmux has closed it."""


@dataclass(frozen=True)
class Opened:
    task: str
    attempt: int
    pane: str
    pid: int
    window: str
    window_id: str = ""
    session_id: str = ""


@dataclass(frozen=True)
class PaneFacts:
    pane: str
    pid: int
    dead: bool
    run: str
    task: str
    attempt: int
    window: str
    session: str


def _target(session: str, window: str) -> str:
    return f"={session}:={window}"


def open_panes(
    client: Client, session: str, run_id: str, requests: list[PaneRequest]
) -> list[Opened | TmuxError]:
    """Open every requested pane in one tmux invocation, then tag and title them in one more.

    The pane's program starts at once. Task windows keep dead panes (``remain-on-exit``) so
    the final screen can be read after the program ends; they show each pane's title
    (task and state) on its border. A request tmux refuses gets its error in its place;
    the others are still opened.
    """
    groups = [_open_commands(session, run_id, req) for req in requests]
    results: list[Opened | TmuxError | None] = [None] * len(requests)
    first = 0
    while first < len(groups):
        commands = [c for group in groups[first:] for c in group]
        try:
            outputs = client.run(commands)
            failed = None
        except TmuxError as exc:
            outputs, failed = exc.outputs, exc
        done = len(outputs)  # commands that ran to the end
        position = 0
        for index in range(first, len(groups)):
            size = len(groups[index])
            req = requests[index]
            if failed is not None and position + size > done:  # tmux stopped in this group
                if done > position:  # after its pane was made: the pane runs, keep it
                    results[index] = _opened(req, outputs[position][0])
                else:
                    results[index] = failed
                first = index + 1
                break
            results[index] = _opened(req, outputs[position][0])  # a group's first prints
            position += size
        else:
            first = len(groups)
    agents = {req.task: req.agent for req in requests}
    opened = [r for r in results if isinstance(r, Opened)]
    client.run_each(
        [c for o in opened for c in _tags(run_id, o.task, o.attempt, o.pane, agents[o.task])]
    )
    return [r if r is not None else TmuxError("not opened") for r in results]


def _opened(req: PaneRequest, printed: str) -> Opened:
    pane, pid, window_id, session_id = printed.split(_SEP)
    return Opened(req.task, req.attempt, pane, int(pid), req.window, window_id, session_id)


def _tags(run_id: str, task: str, attempt: int, pane: str, agent: Pairs) -> list[tuple[str, ...]]:
    return [
        *(("set-option", "-p", "-t", pane, name, value) for name, value in agent),
        ("set-option", "-p", "-t", pane, RUN, run_id),
        ("set-option", "-p", "-t", pane, TASK, task),
        ("set-option", "-p", "-t", pane, ATTEMPT, str(attempt)),
        ("select-pane", "-t", pane, "-T", f"{task} · running"),
    ]


def tag(client: Client, run_id: str, task: str, attempt: int, pane: str, agent: Pairs) -> None:
    """Tag a pane found by its command's marker (a supervisor died before tagging it)."""
    client.run_each(_tags(run_id, task, attempt, pane, agent))


def _open_commands(session: str, run_id: str, req: PaneRequest) -> list[tuple[str, ...]]:
    """The commands that open one pane; the first prints its id, pid, window and session."""
    where = _target(session, req.window)
    env = [arg for name, value in req.env for arg in ("-e", f"{name}={value}")]
    fmt = ("-P", "-F", _SEP.join(("#{pane_id}", "#{pane_pid}", "#{window_id}", "#{session_id}")))
    program = ("-c", req.cwd, *env, "--", *req.argv)
    # the record starts in the same command line as the pane: tmux reads none of the
    # program's output before the line is done, so not a byte is missed. It targets the
    # window's active pane: the new one (made active, then the last one made active again)
    record = [("pipe-pane", "-O", "-t", where, recorder(req.record))] if req.record else []
    if not req.new_window:
        if not record:
            return [
                ("split-window", "-d", "-t", where, *fmt, *program),
                ("select-layout", "-t", where, TASK_LAYOUT),
            ]
        return [
            ("split-window", "-t", where, *fmt, *program),
            *record,
            ("last-pane", "-t", where),
            ("select-layout", "-t", where, TASK_LAYOUT),
        ]
    return [
        ("new-window", "-d", "-t", f"={session}:", "-n", req.window, *fmt, *program),
        *record,
        ("set-option", "-w", "-t", where, "remain-on-exit", "on"),
        ("set-option", "-w", "-t", where, "pane-border-status", "top"),
        ("set-option", "-w", "-t", where, "pane-border-format", " #{pane_title} "),
        ("set-option", "-w", "-t", where, WINDOW_TAG, run_id),
    ]


def recorder(path: str) -> str:
    """The ``pipe-pane`` command that keeps a pane's bytes in ``path``: private, and renamed
    from ``path.part`` once tmux closes the pipe (the record is whole)."""
    part = shlex.quote(path + ".part")
    return f"umask 077 && cat > {part} && mv -f {part} {shlex.quote(path)}"


MARKER = "tmuxorch-task:"
"""The wrapper's ``$0`` is ``tmuxorch-task:RUN/TASK/N``: a pane is known by its command even
before (or without) its ``@tmuxorch-*`` tags."""


def task_panes(client: Client, run_id: str | None = None) -> list[PaneFacts]:
    """Every pane of a task on the server (of ``run_id`` if given): by its tags, or by the
    marker in its command (the supervisor may have died between making and tagging it)."""
    fields = (
        "#{pane_id}",
        "#{pane_pid}",
        "#{pane_dead}",
        f"#{{{RUN}}}",
        f"#{{{TASK}}}",
        f"#{{{ATTEMPT}}}",
        "#{window_name}",
        "#{session_name}",
        "#{pane_start_command}",
    )
    try:
        rows = client.cmd("list-panes", "-a", "-F", _SEP.join(fields))
    except TmuxError as exc:
        if exc.nothing_there:
            return []
        raise
    facts = []
    for row in rows:
        pane, pid, dead, run, task, attempt, window, session, command = row.split(_SEP, 8)
        if not run and MARKER in command:
            marked = command.split(MARKER, 1)[1].split(" ", 1)[0].strip('"')
            run, _, rest = marked.partition("/")
            task, _, attempt = rest.rpartition("/")
        if not run or (run_id is not None and run != run_id):
            continue
        facts.append(
            PaneFacts(
                pane, int(pid or 0), dead == "1", run, task, int(attempt or 0), window, session
            )
        )
    return facts


def run_sessions(client: Client) -> list[tuple[str, str]]:
    """``(session, file)`` of each session a run marked with ``@tmuxorch-file``, the most
    recently active first; none if the server is not running."""
    fields = _SEP.join(("#{session_activity}", "#{session_name}", "#{@tmuxorch-file}"))
    try:
        rows = client.cmd("list-sessions", "-F", fields)
    except TmuxError as exc:
        if exc.nothing_there:
            return []
        raise
    marked = sorted((r.split(_SEP) for r in rows if not r.endswith(_SEP)), reverse=True)
    return [(session, file) for _, session, file in marked]


def list_windows(session: str) -> tuple[str, ...]:
    """The command that lists a session's windows for :func:`parse_windows`."""
    return ("list-windows", "-t", f"={session}", "-F", f"#{{window_name}}{_SEP}#{{window_panes}}")


def parse_windows(rows: list[str]) -> dict[str, int]:
    """Window name → number of panes, from :func:`list_windows`."""
    return {name: int(count) for name, count in (r.rsplit(_SEP, 1) for r in rows)}


def set_titles(client: Client, titles: Iterable[tuple[str, str]]) -> None:
    client.run_each([("select-pane", "-t", pane, "-T", title) for pane, title in titles])


def capture(
    client: Client, panes: list[str], *, history: bool = False, scrollback: int = 0
) -> dict[str, str]:
    """The screen (with ``history``, also the scrollback; or its last ``scrollback``
    lines) of each pane, in one invocation.

    Panes that no longer exist are left out.
    """
    start = ("-S", "-") if history else ("-S", f"-{scrollback}") if scrollback > 0 else ()
    outputs = client.run_each([("capture-pane", "-p", "-J", *start, "-t", pane) for pane in panes])
    return {
        pane: "\n".join(out) for pane, out in zip(panes, outputs, strict=True) if out is not None
    }


def kill_panes(client: Client, panes: Iterable[str]) -> None:
    """Close panes (their programs get SIGHUP); ones already gone are fine."""
    client.run_each([("kill-pane", "-t", pane) for pane in panes])


def ensure_session(
    client: Client,
    session: str,
    window: str,
    argv: tuple[str, ...],
    then: Sequence[Sequence[str]] = (),
) -> list[list[str] | None] | None:
    """Create ``session`` (its first window running ``argv``, kept if that program ends)
    and run ``then`` on it, in one tmux invocation; None if it existed already (``then`` is
    not run), else the output of each of ``then`` (None for one that failed)."""
    size = ("-x", str(WIDTH), "-y", str(HEIGHT))
    making = [
        ("new-session", "-d", "-s", session, *size, "-n", window, "--", *argv),
        ("set-option", "-w", "-t", f"={session}:={window}", "remain-on-exit", "on"),
        ("set-option", "-t", f"={session}:", MADE, "1"),
    ]
    try:
        outputs: list[list[str] | None] = list(client.run([*making, *then]))
    except TmuxError as exc:
        if not exc.outputs and "duplicate session" in exc.message:
            return None
        if len(exc.outputs) < len(making):
            raise  # it could not be made
        done = exc.outputs[len(making) :]  # made: the rest, one by one
        return [*done, *client.run_each(then[len(done) :])]
    return outputs[len(making) :]


def close_run_session(client: Client, session: str, file: str) -> bool:
    """Close ``session`` if tmuxorch made it for the run of ``file`` (never a session a person
    made, or another run's); whether it did."""
    try:
        marks = client.cmd("display-message", "-p", "-t", f"={session}:", _MARKS)
    except TmuxError:
        return False  # not there
    if marks != [f"1{_SEP}{file}"]:
        return False
    kill_session(client, session)
    return True


def kill_session(client: Client, session: str) -> None:
    with contextlib.suppress(TmuxError):
        client.cmd("kill-session", "-t", f"={session}")
