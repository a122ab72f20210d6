"""The typer command ``plan``: a tasks file for a goal, written by an agent (registered on
:data:`tmuxorch.cli.app.app` when that module is imported)."""

from __future__ import annotations

from typing import Annotated

import typer

from tmuxorch.cli.app import SocketName, SocketPath, _done, app


@app.command()
def plan(
    goal: Annotated[
        str,
        typer.Argument(
            metavar="GOAL", help="What the tasks are to achieve, in words ('-' reads stdin)."
        ),
    ],
    output: Annotated[
        str,
        typer.Option(
            "-o", "--output", metavar="FILE", help="The tasks file to write (.yaml or .yml)."
        ),
    ] = "tasks.yaml",
    agent: Annotated[
        str | None,
        typer.Option(
            "--agent",
            metavar="NAME",
            help="Who plans: a profile of your user config or a preset (default: the profile"
            " 'planner', else the first profile or preset installed here).",
        ),
    ] = None,
    run: Annotated[
        bool, typer.Option("--run", help="Then run it (as 'tmuxorch run FILE'), once you say yes.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="With --run: run it without asking.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing FILE.")] = False,
    timeout: Annotated[
        float,
        typer.Option("--timeout", metavar="SECONDS", help="Seconds the agent has for each answer."),
    ] = 600.0,
    socket_name: SocketName = None,
    socket_path: SocketPath = None,
) -> None:
    """Have an agent (headless) write a tasks file for GOAL, written only once valid.

    Its answer is checked as 'validate' checks files; one with problems goes back to it
    once, with them. Then the graph, and the command that runs it. Exit 2 if the second
    answer is still invalid (nothing written; it is kept in the state folder, which is
    said), 1 if the agent failed or took too long.
    """
    from tmuxorch.cli.plan import plan as plan_cmd

    _done(
        plan_cmd(
            goal,
            output=output,
            agent=agent,
            run=run,
            yes=yes,
            force=force,
            timeout=timeout,
            socket_name=socket_name,
            socket_path=socket_path,
        )
    )
