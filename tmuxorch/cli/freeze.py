"""``tmuxorch freeze``: a live session → a layout file that builds it again."""

from __future__ import annotations

import os
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail, info
from tmuxorch.spec.documents import dump, format_of
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.freezer import freeze as freeze_session
from tmuxorch.spec.freezer import readback_problems
from tmuxorch.spec.workspace import load_workspace
from tmuxorch.spec.workspace_dirs import own_dir
from tmuxorch.tmux.client import TmuxError
from tmuxorch.tmux.live_session import NoSession, pick_session, read_session

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.tmux.client import Client

STDOUT = "-"


def freeze(
    client: Client,
    session: str | None,
    *,
    output: str | None = None,
    fmt: str | None = None,
    force: bool = False,
) -> int:
    """Write the layout of ``session`` (default: the current or most recent one) to
    ``output`` (default: ``SESSION.yaml`` in tmuxorch's layouts folder; ``-``: stdout)."""
    if fmt not in (None, "yaml", "json"):
        return fail(f"--format is yaml or json, not {fmt!r}", EXIT_BAD_INPUT)
    try:
        name = pick_session(client, session)
        seen = read_session(client, name)
    except NoSession as exc:
        return fail(str(exc), EXIT_BAD_INPUT if session else EXIT_FAILED)
    except TmuxError as exc:
        return fail(str(exc))
    if output is None:
        output = os.path.join(own_dir(), _file_name(name) + "." + (fmt or "yaml"))
    to_stdout = output == STDOUT
    if not to_stdout:
        output = os.path.abspath(os.path.expanduser(output))
        fmt = fmt or format_of(output)
        if fmt is None:
            return fail(f"{output}: name it .yaml, .yml or .json (or give --format)", 2)
        if os.path.exists(output) and not force:
            return fail(f"{output} exists: give --force to overwrite it", EXIT_BAD_INPUT)
    file_dir = None if to_stdout else os.path.dirname(output)
    frozen = freeze_session(seen, file_dir=file_dir, home=os.path.expanduser("~"))
    if not frozen.document["windows"]:
        return fail(f"session {name!r} has no window of its own to freeze")
    text = dump(frozen.document, fmt or "yaml")
    where = os.path.join(file_dir or os.getcwd(), "frozen." + (fmt or "yaml"))
    try:
        workspace = load_workspace(where, text=text).workspace
    except SpecError as exc:  # a bug of ours: say it, write nothing
        print(exc, file=sys.stderr)
        return fail(f"the layout made from session {name!r} does not read back; not written")
    for note in frozen.notes:
        info(f"note: {note}")
    for problem in readback_problems(frozen, workspace):
        info(f"warning: {problem}")
    if to_stdout:
        sys.stdout.write(text)
        return EXIT_OK
    try:
        os.makedirs(os.path.dirname(output), exist_ok=True)
        with open(output, "w" if force else "x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        return fail(f"{output} exists: give --force to overwrite it", EXIT_BAD_INPUT)
    except OSError as exc:
        return fail(f"cannot write {output}: {exc.strerror or exc}")
    windows = frozen.document["windows"]
    panes = sum(len(w["panes"]) for w in windows)
    info(f"froze session {name!r} ({len(windows)} window(s), {panes} pane(s)) to {output}")
    return EXIT_OK


def _file_name(session: str) -> str:
    """A file name for a session name (no ``/``, not hidden)."""
    cleaned = session.replace("/", "_").replace(os.sep, "_").lstrip(".")
    return cleaned or "session"
