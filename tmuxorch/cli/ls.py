"""``tmuxorch ls``: the layouts found (here and in the layout folders) and the runs on
this tmux server."""

from __future__ import annotations

import json
import os

from tmuxorch.cli.output import EXIT_OK, fail
from tmuxorch.spec.documents import read_document
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.expand import expand_shell
from tmuxorch.spec.workspace_dirs import find_all, layout_dirs
from tmuxorch.tmux.client import TmuxError
from tmuxorch.tmux.live_session import session_names
from tmuxorch.tmux.panes import run_sessions

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from typing import Any

    from tmuxorch.tmux.client import Client


def ls(client: Client, *, as_json: bool = False) -> int:
    cwd = os.getcwd()
    try:
        live = set(session_names(client))
        runs = run_sessions(client)
    except TmuxError as exc:
        return fail(str(exc))
    layouts = []
    for found in find_all(cwd):
        session, readable = _session_name(found.path)
        running = session is not None and expand_shell(session, os.environ)[0] in live
        layouts.append(
            {
                "name": found.name,
                "path": found.path,
                "place": found.place,
                "session": session,
                "readable": readable,
                "running": running,
                "shadowed": found.shadowed,
            }
        )
    if as_json:
        runs_out = [{"session": s, "file": f} for s, f in runs]
        print(json.dumps({"layouts": layouts, "runs": runs_out}, indent=2))
        return EXIT_OK
    _print_layouts(layouts, cwd)
    print()
    if not runs:
        print("Runs on this server: none")
    else:
        print("Runs on this server:")
        width = max(len(s) for s, _ in runs)
        for session, file in runs:
            print(f"  {session:<{width}}  {_short(file)}")
    return EXIT_OK


def _print_layouts(layouts: list[dict[str, Any]], cwd: str) -> None:
    width = max((len(lay["name"]) for lay in layouts), default=0)
    for place in [cwd, *layout_dirs()]:
        here = [lay for lay in layouts if lay["place"] == place]
        if place == cwd:
            print(f"Layouts here ({_short(place)}):" + ("" if here else " none"))
        elif here:
            print(f"Layouts in {_short(place)}:")
        for lay in here:
            if not lay["readable"]:
                about = "(does not read: see tmuxorch validate)"
            elif lay["session"]:
                about = f"session {lay['session']!r}"
            else:
                about = "(no session_name)"
            if lay["running"]:
                about += " (running)"
            if lay["shadowed"]:
                about += " (hidden by a layout of the same name above)"
            print(f"  {lay['name']:<{width}}  {about}")


def _session_name(path: str) -> tuple[str | None, bool]:
    """The file's ``session_name`` as written, and whether the file reads at all."""
    try:
        doc = read_document(path)
    except SpecError:
        return None, False
    name = doc.get("session_name") if isinstance(doc, dict) else None
    return (name if isinstance(name, str) else None), True


def _short(path: str) -> str:
    home = os.path.expanduser("~")
    if home != "/" and (path == home or path.startswith(home + "/")):
        return "~" + path[len(home) :]
    return path
