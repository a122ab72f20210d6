"""``tmuxorch agents``: the presets, whether each CLI is installed here, and its version."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tmuxorch.agents.presets import PRESETS, Preset
from tmuxorch.cli.output import EXIT_OK

VERSION_TIMEOUT = 15.0


def found(preset: Preset) -> dict[str, object]:
    """What this machine has of ``preset``'s CLI."""
    row: dict[str, object] = {
        "preset": preset.name,
        "description": preset.description,
        "modes": preset.mode_names,
        "program": preset.program,
        "path": None,
        "version": None,
        "resumes": any(mode.resume_argv for _, mode in preset.modes),
        "prompt": {name: mode.prompt for name, mode in preset.modes},
        "install": preset.install or None,
    }
    if preset.program is None:  # built in: needs nothing
        row["path"], row["version"] = sys.executable, "built in"
        return row
    path = shutil.which(preset.program)
    row["path"] = path
    if path:
        row["version"] = version(path)
    return row


def version(path: str) -> str:
    try:
        done = subprocess.run(
            [path, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc.__class__.__name__})"
    lines = [ln.strip() for ln in (done.stdout or done.stderr).splitlines() if ln.strip()]
    return lines[-1] if lines else f"unknown (exit {done.returncode})"


def agents(*, as_json: bool = False) -> int:
    with ThreadPoolExecutor(max_workers=len(PRESETS)) as pool:  # versions take a while each
        rows = list(pool.map(found, PRESETS))
    if as_json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, pad_edge=False)
    for column in ("preset", "here", "modes", "resumes", "what"):
        table.add_column(column, overflow="fold")
    for row in rows:
        here = str(row["version"]) if row["path"] else "[dim]not installed[/dim]"
        table.add_row(
            str(row["preset"]),
            here,
            ", ".join(row["modes"]),  # type: ignore[arg-type]
            "yes" if row["resumes"] else "no",
            str(row["description"]),
        )
    console = Console()
    console.print(table)
    missing = [row for row in rows if not row["path"]]
    if missing:
        console.print("\nto install:", style="dim")
        for row in missing:
            console.print(f"  {row['preset']}: {row['install']}", style="dim", soft_wrap=True)
    return EXIT_OK
