"""Command line: ``tmuxorch COMMAND ...``.

:func:`main` is the console script. Hot commands are read without typer (see
:mod:`tmuxorch.cli.fast`); everything else, help included, goes to the typer application.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    from tmuxorch.cli import fast
    from tmuxorch.private import Unsafe

    try:
        code = fast.run(args)
        if code is not None:
            sys.exit(code)
        from tmuxorch.cli.app import app

        app(args, prog_name="tmuxorch")
    except Unsafe as exc:  # a state path planted or taken by someone else: said, not used
        print(f"tmuxorch: {exc}", file=sys.stderr)
        sys.exit(1)
