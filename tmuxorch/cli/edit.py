"""``tmuxorch edit``: open a layout file (a path, or a name as ``tmuxorch ls`` lists them)
in the user's editor."""

from __future__ import annotations

import os
import shlex

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, fail
from tmuxorch.spec.workspace_dirs import LOCAL_NAMES, layout_dirs, resolve


def not_found(layout: str | None) -> int:
    """Say where a layout was looked for (exit 2)."""
    if layout is None or layout in (".", "./"):
        return fail(f"no layout here: none of {', '.join(LOCAL_NAMES)}", EXIT_BAD_INPUT)
    folders = ", ".join(layout_dirs())
    return fail(f"no layout {layout!r}: not a file, nor a name in {folders}", EXIT_BAD_INPUT)


def editor_argv(env: dict[str, str] | None = None) -> list[str]:
    """``$VISUAL``, else ``$EDITOR``, else ``vi``, split as a shell would (``code --wait``)
    but never run by one."""
    env = dict(os.environ) if env is None else env
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            try:
                words = shlex.split(value)
            except ValueError:
                words = [value]
            if words:
                return words
    return ["vi"]


def edit(layout: str | None) -> int:
    """Replace this process with the editor, on the layout's file."""
    path = resolve(layout, os.getcwd())
    if path is None:
        return not_found(layout)
    argv = [*editor_argv(), path]
    try:
        os.execvp(argv[0], argv)
    except OSError as exc:
        return fail(f"cannot run the editor {argv[0]!r}: {exc.strerror or exc}", EXIT_FAILED)
    return EXIT_FAILED  # not reached: execvp does not return
