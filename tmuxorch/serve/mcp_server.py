"""``tmuxorch mcp``'s tools: a lead agent orchestrates workers — lists runs and tasks, reads
a task's recent output, types into it, stops, retries, adds tasks, starts runs — over the
Model Context Protocol (the official SDK, stdio). Each tool is a thin door onto what the
command line and ``serve`` already do (:mod:`tmuxorch.serve.runs`, ``sending``,
``control``, ``output``, ``starting``); a refusal comes back as a tool error saying why.
Arguments reach tmux and processes as argv items and files, never through a shell."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from tmuxorch import __version__
from tmuxorch.serve.runs import Runs, report, summary
from tmuxorch.serve.sending import Refused
from tmuxorch.tmux.client import Client, TmuxError

if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.serve.runs import RunRef

T = TypeVar("T")

INSTRUCTIONS = """\
tmuxorch runs AI coding agents (Claude Code, Codex, Aider...) and plain commands as the
tasks of a run, each in its own tmux pane, in dependency order. A run comes from a tasks
file (YAML: tasks with id, agent + prompt or command, depends_on...). With these tools you
lead such workers: start_run a file, list_runs / run_status to see where they are,
task_output to read what a worker shows, send_input to answer or steer it, stop_tasks /
retry_tasks, and add_task to give a live run more work. A run goes on without you; a
person can watch or type into any pane with `tmux attach` at any time."""

RunId = Annotated[
    str,
    Field(description="A run id from list_runs; empty: the newest run."),
]
TaskList = Annotated[
    list[str] | None,
    Field(description="Task ids of the run (see run_status)."),
]
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
ACTS = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
STOPS = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)


def _guarded(work: Callable[[], T]) -> T:
    """``work()``, its refusals (and tmux's or the system's errors) as tool errors."""
    try:
        return work()
    except Refused as exc:
        raise ToolError(exc.why) from None
    except (TmuxError, OSError) as exc:
        raise ToolError(str(exc)) from None


def make_server(
    client: Client, server: tuple[str, ...] = (), runs: Runs | None = None
) -> MCPServer[Any]:
    """The MCP server over the tmux server ``client`` talks to (``server``: its ``-L``/``-S``
    arguments, given to the runs it starts)."""
    known = runs or Runs([client])
    mcp: MCPServer[Any] = MCPServer(
        "tmuxorch", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING"
    )

    def find(run: str) -> RunRef:
        known.scan()
        if not run:
            newest = known.all()
            if not newest:
                raise Refused(404, "no runs yet: start one with start_run")
            return newest[0]
        ref = known.find(run)
        if ref is None:
            ids = ", ".join(r.id for r in known.all()[:10]) or "none yet"
            raise Refused(404, f"no run {run!r} (runs, newest first: {ids})", field="run")
        return ref

    @mcp.tool(annotations=READ_ONLY)
    def list_runs() -> dict[str, Any]:
        """Every tmuxorch run on this tmux server (and those seen before), newest first:
        its id, file, tmux session, state (running, finished, stopped, interrupted, down),
        when it started and ended, and how many of its tasks are in each state."""

        def work() -> dict[str, Any]:
            known.scan()
            return {"runs": [summary(ref) for ref in known.all()]}

        return _guarded(work)

    @mcp.tool(annotations=READ_ONLY)
    def run_status(run: RunId = "") -> dict[str, Any]:
        """A run and each of its tasks, as `tmuxorch status --json` shows them: state
        (pending, running, succeeded, failed, skipped, stopped, retrying...), what its agent
        is doing (busy, idle, waiting_input), pane, attempt, runtime, last line, exit code,
        and its result. `supervised` says whether a supervisor runs it now (stop_tasks and
        retry_tasks need one; start_run resumes a run that has none)."""
        return _guarded(lambda: report(find(run), client))

    @mcp.tool(annotations=READ_ONLY)
    def task_output(
        task: Annotated[str, Field(description="The task's id.")],
        run: RunId = "",
        lines: Annotated[int, Field(description="How many of the last lines (1-10000).")] = 50,
        attempt: Annotated[
            int, Field(description="Which attempt (1 is the first); 0: the latest.")
        ] = 0,
    ) -> dict[str, Any]:
        """The last lines a task's pane shows while it runs (scrollback included), or of its
        transcript once that attempt is over: `text`, with `source` (pane or transcript),
        its state and attempt. Read it to see what a worker did, or what it asks."""
        from tmuxorch.serve.output import task_output as output

        return _guarded(
            lambda: output(find(run), task, lines=lines, attempt=attempt, chosen=client)
        )

    @mcp.tool(annotations=ACTS)
    def send_input(
        target: Annotated[
            str, Field(description="A task id, session:task, or a pane id such as %12.")
        ],
        text: Annotated[
            str, Field(description="Text to type, byte for byte (pasted if long or multi-line).")
        ] = "",
        keys: Annotated[
            list[str] | None,
            Field(description="Keys to press by name, after the text: Enter, Escape, C-c, Up..."),
        ] = None,
        enter: Annotated[bool, Field(description="Press Enter after the text.")] = True,
        when_idle: Annotated[
            bool, Field(description="First wait until the agent is ready for input.")
        ] = False,
        timeout: Annotated[float, Field(description="Seconds when_idle may wait.")] = 120.0,
        run: Annotated[
            str, Field(description="The run whose tmux server to look on (default: this one).")
        ] = "",
    ) -> dict[str, Any]:
        """Type into a task's pane as `tmuxorch send` does: the text exactly as given, then
        Enter (sent a moment later, as agent TUIs need, and checked); keys alone press only
        those keys. Use it to answer an agent's question or steer it; read task_output
        afterwards to see the effect. Refused (with why) if the task is not running or the
        agent is not ready within the timeout."""
        from tmuxorch.serve.sending import send_input as send

        def work() -> dict[str, Any]:
            clients = [client]
            if run:
                from tmuxorch.cli.runs import client_of

                clients = [client_of(find(run).row, client)]
            body: dict[str, object] = {
                "target": target,
                "text": text,
                "keys": list(keys or []),
                "enter": enter,
                "when_idle": when_idle,
                "timeout": timeout,
            }
            return {"delivered": True, "target": target, "pane": send(clients, body)}

        return _guarded(work)

    @mcp.tool(annotations=STOPS)
    def stop_tasks(
        tasks: TaskList = None,
        all_tasks: Annotated[bool, Field(description="Stop the whole run.")] = False,
        run: RunId = "",
    ) -> dict[str, Any]:
        """Stop tasks of a live run (each one's whole process tree): what needs them is
        skipped, the rest goes on. all_tasks stops the whole run. The run's supervisor acts
        at once; run_status shows the outcome."""
        from tmuxorch.serve.control import ask

        if all_tasks and tasks:
            raise ToolError("give tasks or all_tasks, not both")
        if not all_tasks and not tasks:
            raise ToolError("give tasks (a list of task ids) or all_tasks: true")
        return _guarded(lambda: ask(find(run), "stop", None if all_tasks else list(tasks or [])))

    @mcp.tool(annotations=ACTS)
    def retry_tasks(
        tasks: Annotated[list[str], Field(description="Task ids of the run (see run_status).")],
        run: RunId = "",
    ) -> dict[str, Any]:
        """Run finished tasks of a live run again (a new attempt each, in a new pane), and
        what they had skipped (failed or stopped, their dependents were skipped)."""
        from tmuxorch.serve.control import ask

        return _guarded(lambda: ask(find(run), "retry", list(tasks)))

    @mcp.tool(annotations=ACTS)
    def add_task(
        task: Annotated[
            dict[str, Any],
            Field(
                description="The task as in a tasks file: id, then agent + prompt or command;"
                " optional depends_on, done_when, timeout, retries, vars, then..."
            ),
        ],
        run: RunId = "",
        timeout: Annotated[
            float, Field(description="Seconds to wait for the live run's answer.")
        ] = 30.0,
    ) -> dict[str, Any]:
        """Add a task to a run, checked as a task of the run's file (its agent profiles,
        the tasks it may depend on); the file itself is not changed. A live run takes it
        at once and starts it when what it depends on has succeeded; a run no supervisor
        runs keeps it for `tmuxorch run FILE` (live: false). Bad data is refused with each
        field at fault (task.agent, task.depends_on[0]...) and the run goes on."""
        from tmuxorch.serve.control import add

        return _guarded(lambda: add(find(run), task, timeout=timeout))

    @mcp.tool(annotations=ACTS)
    def start_run(
        file: Annotated[
            str, Field(description="A tasks file, a folder of them, or a layout with tasks.")
        ],
        new: Annotated[
            bool, Field(description="Start a new run rather than resume the latest one.")
        ] = False,
        timeout: Annotated[
            float, Field(description="Seconds to wait for the run to start.")
        ] = 60.0,
    ) -> dict[str, Any]:
        """Start `tmuxorch run FILE` in the background (it outlives this server): the file
        is checked first, and its problems come back as file:line:col messages with
        nothing started. Returns the run's id (for the other tools), its tmux session, and
        the log of the run's own output. A run that was interrupted is resumed unless new."""
        from tmuxorch.serve.starting import start_run as start

        def work() -> dict[str, Any]:
            started = start(file, server=server, new=new, timeout=timeout)
            known.remember([str(started["file"])])
            return started

        return _guarded(work)

    return mcp
