"""``tmuxorch hosts``: the hosts tasks may run on (list, check, install), typer-free."""

from __future__ import annotations

import sys

from tmuxorch.cli.output import bad_input, fail

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.hosts.ssh import Connection
    from tmuxorch.spec.hosts import HostSpec

_DIR_CHECK = 'd=$1; case $d in "~"|"~/"*) d=$HOME${d#"~"} ;; esac; test -d "$d"'


def known(file: str | None) -> tuple[HostSpec, ...]:
    """The user config's hosts, and ``file``'s own over them (raises SpecError)."""
    if file is not None:
        from tmuxorch.spec.tasks import load_tasks

        return load_tasks(file).tasks.hosts
    from tmuxorch.spec.user_config import load_user_config

    return load_user_config(sections=("hosts",)).hosts


def list_hosts(file: str | None) -> int:
    from tmuxorch.spec.errors import SpecError

    try:
        hosts = known(file)
    except SpecError as error:
        return bad_input(error)
    if not hosts:
        print("no hosts: define them under hosts: in your user config or a tasks file")
        return 0
    rows = [("NAME", "SSH", "DIR", "MAX", "PYTHON", "DEFINED AT")]
    for h in hosts:
        where = f"{h.origin.file}:{h.origin.line}"
        limit = "-" if h.max_parallel is None else str(h.max_parallel)
        ssh = " ".join([*h.ssh_options, h.ssh])
        rows.append((h.name, ssh, h.dir or "~", limit, h.python, where))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    return 0


def _find(name: str, file: str | None) -> HostSpec | int:
    from tmuxorch.spec.errors import SpecError

    try:
        hosts = {h.name: h for h in known(file)}
    except SpecError as error:
        return bad_input(error)
    if name not in hosts:
        from tmuxorch.spec.source import did_you_mean

        hint = (did_you_mean(name, hosts, "hosts") if hosts else None) or "define it under hosts:"
        if file is None:  # a tasks file's own hosts are known with --file
            hint += ", or give --file FILE if a tasks file defines it"
        return fail(f"unknown host {name!r} ({hint})", 2)
    return hosts[name]


def _connection(spec: HostSpec) -> Connection:
    from tmuxorch.hosts.ssh import Connection

    return Connection(spec.ssh, spec.ssh_options)


def check(name: str, file: str | None) -> int:
    """Connect, and say what runs there; 1 (with what to do) when something lacks."""
    from tmuxorch import __version__
    from tmuxorch.hosts import remote_worker
    from tmuxorch.hosts.errors import SshError
    from tmuxorch.tmux.client import MIN_VERSION

    spec = _find(name, file)
    if isinstance(spec, int):
        return spec
    conn = _connection(spec)
    shared = conn.alive()  # a run's master: it goes on after this check
    lacking = 0
    try:
        conn.connect()
        print(f"ssh:      ok ({conn.by_hand})")
        worker = remote_worker.start(conn, "~", python=spec.python, name=name)
        hello = worker.hello
        worker.close()
        print(f"python:   {hello.get('python')} ({spec.python})")
        there = hello.get("version")
        same = (
            "" if there == __version__ else f" (here: {__version__}; tmuxorch hosts install {name})"
        )
        print(f"tmuxorch: {there}{same}")
        tmux = hello.get("tmux")
        need = ".".join(map(str, MIN_VERSION))
        if tmux is None:
            print(f"tmux:     MISSING: install tmux >= {need} on {name}")
            lacking += 1
        elif tuple(int(p) for p in str(tmux).split(".")[:2]) < MIN_VERSION:
            print(f"tmux:     {tmux}: TOO OLD: tmuxorch needs tmux >= {need} there")
            lacking += 1
        else:
            print(f"tmux:     {tmux}")
        if spec.dir is not None:
            found = conn.run(["sh", "-c", _DIR_CHECK, "sh", spec.dir]).code == 0
            print(f"dir:      {spec.dir}" + ("" if found else ": MISSING: make it, or fix dir:"))
            lacking += not found
    except SshError as error:
        print(f"tmuxorch: {name}: {error}", file=sys.stderr)
        return 1
    finally:
        if not shared:
            conn.close()
    return 1 if lacking else 0


def install(name: str, file: str | None, *, venv: str, python: str, deps: bool) -> int:
    """Install this tmuxorch there; print the ``python:`` setting to use."""
    from tmuxorch.hosts import install as installing
    from tmuxorch.hosts import remote_worker
    from tmuxorch.hosts.errors import SshError

    spec = _find(name, file)
    if isinstance(spec, int):
        return spec
    conn = _connection(spec)
    shared = conn.alive()  # a run's master: it goes on after this
    try:
        print(f"installing tmuxorch into {venv} on {name}...", file=sys.stderr)
        path = installing.install(conn, venv=venv, python=python, deps=deps)
        remote_worker.start(conn, "~", python=path, name=name).close()
    except SshError as error:
        print(f"tmuxorch: {name}: {error}", file=sys.stderr)
        return 1
    finally:
        if not shared:
            conn.close()
    print(f"installed. Put this in {name}'s settings (hosts: {name}: ...):")
    print(f"python: {path}")
    return 0
