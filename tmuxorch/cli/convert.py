"""``tmuxorch convert``: a layout file from YAML to JSON or back, written beside it
(tmuxp's ``convert``)."""

from __future__ import annotations

import os

from tmuxorch.cli.edit import not_found
from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, bad_input, fail, info
from tmuxorch.spec.documents import dump, format_of, read_document
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.workspace_dirs import resolve

OTHER = {"yaml": "json", "json": "yaml"}


def convert(layout: str, *, yes: bool = False) -> int:
    """Write ``FILE.json`` from ``FILE.yaml`` (or ``.yml``), or ``FILE.yaml`` from
    ``FILE.json``; an existing one only with ``yes``. Comments are not carried over."""
    path = resolve(layout, os.getcwd())
    if path is None:
        return not_found(layout)
    fmt = format_of(path)
    if fmt is None:
        return fail(f"{path}: not a .yaml, .yml or .json file", EXIT_BAD_INPUT)
    try:
        document = read_document(path)
    except SpecError as exc:
        return bad_input(exc)
    target = os.path.splitext(path)[0] + "." + OTHER[fmt]
    if os.path.exists(target) and not yes:
        return fail(f"{target} exists: give --yes (-y) to overwrite it", EXIT_BAD_INPUT)
    try:
        with open(target, "w" if yes else "x", encoding="utf-8") as f:
            f.write(dump(document, OTHER[fmt]))
    except FileExistsError:
        return fail(f"{target} exists: give --yes (-y) to overwrite it", EXIT_BAD_INPUT)
    except OSError as exc:
        return fail(f"cannot write {target}: {exc.strerror or exc}")
    info(f"wrote {target}")
    return EXIT_OK
