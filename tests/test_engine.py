"""The run engine from Python: its bus, its control interface, its libtmux panes — in real
runs on real tmux (the engine in this process, agents in panes)."""

from __future__ import annotations

import ast
import json
import threading
from typing import TYPE_CHECKING

import libtmux
import pytest

from tests.conftest import ROOT, Server, eventually
from tests.test_run import tasks_file
from tmuxorch.run import events
from tmuxorch.run.control import RunOver
from tmuxorch.run.display import Display
from tmuxorch.run.supervisor import Supervisor
from tmuxorch.spec.workspace import load_workspace
from tmuxorch.tmux import panes as tmux_panes
from tmuxorch.tmux.agent_panes import socket_path

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tmuxorch.run.bus import Event


class Quiet(Display):
    """Keeps the run's lines (instead of printing them)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def event(self, text: str) -> None:
        self.lines.append(text)

    def close(self, rows: object, heading: object) -> None:
        del rows, heading


def supervisor(server: Server, file: str) -> Supervisor:
    ws = load_workspace(file).workspace
    return Supervisor(ws, server.client, Quiet(), fresh=True)


@pytest.fixture
def in_background() -> Iterator[list[threading.Thread]]:
    """Runs started in threads are over (or given up on) when the test ends."""
    threads: list[threading.Thread] = []
    yield threads
    for thread in threads:
        thread.join(timeout=60)


def start(sup: Supervisor, threads: list[threading.Thread]) -> list[int]:
    """Run ``sup`` in a thread; its exit status lands in the list returned."""
    code: list[int] = []
    thread = threading.Thread(target=lambda: code.append(sup.run()), daemon=True)
    thread.start()
    threads.append(thread)
    return code


def test_a_plain_function_on_the_bus_sees_every_task_start_then_end_in_order(
    tmux_server: Server, tmp_path: Path
) -> None:
    file = tasks_file(
        tmp_path,
        """
        tasks:
          - {id: a, command: 'echo a'}
          - {id: b, command: 'echo b; exit 3'}
          - {id: c, command: 'echo c', depends_on: [a]}
          - {id: d, command: 'echo d', depends_on: [b]}
        """,
    )
    sup = supervisor(tmux_server, file)
    seen: list[Event] = []
    sup.subscribe(seen.append)
    assert sup.run() == 1
    kinds = [e["type"] for e in seen]
    assert kinds[0] == events.RUN_OPENED and kinds[-1] == events.RUN_FINISHED
    numbers = [int(e["seq"]) for e in seen]  # type: ignore[call-overload]
    assert numbers == sorted(numbers)  # delivered in order
    life = {
        task: [e["type"] for e in seen if e.get("task") == task and e["type"] in LIFE]
        for task in "abcd"
    }
    assert life == {
        "a": [events.STARTED, events.ENDED],
        "b": [events.STARTED, events.ENDED],
        "c": [events.STARTED, events.ENDED],
        "d": [events.SKIPPED],
    }
    at = {(e["type"], e.get("task")): i for i, e in enumerate(seen)}
    assert at[(events.ENDED, "a")] < at[(events.STARTED, "c")]  # a dependent after its need
    ended = {e["task"]: e for e in seen if e["type"] == events.ENDED}
    assert ended["b"]["outcome"] == "failed" and ended["b"]["exit_code"] == 3
    assert ended["a"]["state"] == "succeeded" and ended["a"]["attempt"] == 1
    finished = seen[-1]
    assert finished["ok"] is False
    assert {r["task"]: r["state"] for r in finished["tasks"]} == {  # type: ignore[attr-defined]
        "a": "succeeded",
        "b": "failed",
        "c": "succeeded",
        "d": "skipped",
    }
    # the same events reached the run's log, and the store says what the bus said
    assert "b: failed (exit status 3)" in sup.display.lines  # type: ignore[attr-defined]
    logged = (tmp_path / ".tmuxorch" / "events.jsonl").read_text()
    assert '"type": "task-ended"' in logged and '"type": "run-finished"' in logged


LIFE = (events.STARTED, events.ENDED, events.SKIPPED)


def test_each_agent_runs_in_a_pane_opened_through_libtmux(
    tmux_server: Server, tmp_path: Path, in_background: list[threading.Thread]
) -> None:
    release = tmp_path / "release"
    wait = f"while [ ! -e {release} ]; do sleep 0.05; done"
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: one, command: 'echo "$TMUX_PANE $$" > {tmp_path}/one; echo hello; {wait}'}}
          - {{id: two, command: 'echo "$TMUX_PANE $$" > {tmp_path}/two; {wait}'}}
        """,
    )
    sup = supervisor(tmux_server, file)
    code = start(sup, in_background)
    for name in ("one", "two"):
        eventually((tmp_path / name).exists, what=f"{name} started")

    def both() -> dict[str, libtmux.Pane] | None:
        found = sup.panes()
        return found if len(found) == 2 else None

    panes = eventually(both, what="their panes")
    for name in ("one", "two"):
        pane = panes[name]
        assert isinstance(pane, libtmux.Pane)
        pane_id, _ = (tmp_path / name).read_text().split()
        assert pane.pane_id == pane_id  # the pane its agent runs in
        assert pane.session_name == sup.workspace.session_name
        running = tmux_panes.task_panes(tmux_server.client)
        assert {(f.pane, f.task) for f in running} >= {(pane_id, name)}
    # a Python user can work with it as with any libtmux pane
    assert eventually(lambda: "hello" in "\n".join(panes["one"].capture_pane()), what="hello")
    release.touch()
    eventually(lambda: code, what="the run ended")
    assert code == [0]
    assert sup.panes() == {}


def test_the_run_survives_panes_that_vanish_and_rows_libtmux_cannot_read(
    tmux_server: Server, tmp_path: Path, in_background: list[threading.Thread]
) -> None:
    """libtmux 0.62 cannot list this server (a pane's directory has a newline in its name:
    its listing raises ValueError), and a dozen panes come and go while the run lists them:
    the run reads its own format and finishes every task."""
    odd = tmp_path / "odd\nname"
    odd.mkdir()
    release = tmp_path / "release"
    quick = "\n".join(f"  - {{id: q{i}, command: 'echo q{i}'}}" for i in range(12))
    file = tasks_file(
        tmp_path,
        f"tasks:\n  - {{id: odd, cwd: {json.dumps(str(odd))}, command: 'while [ ! -e {release} ]; do"
        f" sleep 0.05; done'}}\n{quick}\n",
    )
    sup = supervisor(tmux_server, file)
    listings: list[int] = []
    stop = threading.Event()

    def list_meanwhile() -> None:  # what the engine's backstop does, as fast as it can
        while not stop.is_set():
            listings.append(len(tmux_panes.task_panes(tmux_server.client)))
            sup.panes()

    lister = threading.Thread(target=list_meanwhile, daemon=True)
    code = start(sup, in_background)
    lister.start()
    eventually(lambda: "odd" in sup.panes(), what="the odd task's pane")
    with pytest.raises(ValueError, match="zip"):
        libtmux.Server(socket_path=socket_path(tmux_server.client)).panes  # noqa: B018
    eventually(lambda: len(sup.panes()) == 1 and len(listings) > 5, what="quick ones done")
    release.touch()
    eventually(lambda: code, timeout=60, what="the run ended")
    stop.set()
    lister.join(timeout=10)
    assert code == [0]
    assert "needs" not in " ".join(sup.display.lines)  # type: ignore[attr-defined]


def test_control_stops_and_retries_a_live_run_from_another_thread(
    tmux_server: Server, tmp_path: Path, in_background: list[threading.Thread]
) -> None:
    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: long, command: 'touch {tmp_path}/long.$TMUXORCH_ATTEMPT; sleep 300'}}
          - {{id: after, command: 'echo after', depends_on: [long]}}
          - {{id: other, command: 'sleep 300'}}
        """,
    )
    sup = supervisor(tmux_server, file)
    seen: list[Event] = []
    sup.subscribe(seen.append)
    code = start(sup, in_background)
    eventually(lambda: (tmp_path / "long.1").exists(), what="long started")
    assert sup.control.stop(["long", "nosuch"]).result(timeout=30) == ["long"]
    assert sup.control.stop(["long"]).result(timeout=30) == []  # stopped already
    eventually(lambda: (events.SKIPPED, "after") in [(e["type"], e.get("task")) for e in seen])
    kinds = [(e["type"], e.get("task")) for e in seen]  # (seen in its own thread: once there)
    assert (events.STOPPED, "long") in kinds
    assert sup.control.retry(["long"]).result(timeout=30) == ["long"]
    eventually(lambda: (tmp_path / "long.2").exists(), what="long again")
    assert sup.control.stop().result(timeout=30) == ["long", "other"]  # None: every task
    eventually(lambda: code, what="the run ended")
    assert code == [1]
    with pytest.raises(RunOver):
        sup.control.stop(["long"]).result(timeout=5)
    with pytest.raises(ValueError, match="no action"):
        sup.control.ask("explode", None)


def test_a_request_file_the_watch_never_reported_is_acted_on(
    tmux_server: Server, tmp_path: Path, in_background: list[threading.Thread]
) -> None:
    """A request dropped while the run's watch is not on (it starts after the first agents;
    a request written then was never read, and the run went on forever) is found by the
    run's own look at its requests folder."""
    from tmuxorch.run.requests import request

    file = tasks_file(
        tmp_path,
        f"""
        tasks:
          - {{id: long, command: 'touch {tmp_path}/long.$TMUXORCH_ATTEMPT; sleep 300'}}
        """,
    )
    sup = supervisor(tmux_server, file)
    code = start(sup, in_background)
    eventually(lambda: (tmp_path / "long.1").exists(), what="long started")
    sup.engine.watches.close()  # the watch reports nothing from here on
    eventually(lambda: not any(t.is_alive() for t in sup.engine.watches._threads))
    request(file, "stop", [], everything=True)
    eventually(lambda: code, what="the run ended")
    assert code == [1]


def test_only_the_tmux_package_touches_tmux_or_libtmux() -> None:
    """libtmux is imported under tmuxorch/tmux/ alone (and the engine's panes come from
    there); the scheduler imports nothing that could reach tmux or the disk."""
    package = ROOT / "tmuxorch"
    importers = set()
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "libtmux" or n.startswith("libtmux.") for n in names):
                importers.add(path.relative_to(package).as_posix())
    assert importers == {"tmux/agent_panes.py"}
    imported = set()
    for name in ("scheduler", "needs"):  # the scheduler, and its rules for partial success
        for node in ast.walk(ast.parse((package / "run" / f"{name}.py").read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add(str(node.module))
    assert imported <= {"__future__", "random", "dataclasses", "tmuxorch.graph"} | {
        "tmuxorch.spec.task_model",
        "collections.abc",
        "tmuxorch.run.scheduler",
        "tmuxorch.run.needs",
    }


def test_no_module_is_over_400_lines() -> None:
    long = {
        path.relative_to(ROOT).as_posix(): n
        for path in (ROOT / "tmuxorch").rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 400
    }
    assert long == {}
