"""``tmuxorch mcp``: an MCP server on stdin/stdout for a lead agent (Claude Code, Codex...)
that orchestrates workers: see :mod:`tmuxorch.serve.mcp_server` for its tools. Register it
with the agent (README: "A lead agent over MCP"); it runs as long as the agent keeps it."""

from __future__ import annotations

import contextlib

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, fail
from tmuxorch.tmux.client import Client


def mcp(*, socket_name: str | None = None, socket_path: str | None = None) -> int:
    """Serve the runs of one tmux server (``-L``/``-S``, else the default one) over MCP
    until the client closes stdin."""
    if socket_name and socket_path:
        return fail("give -L or -S, not both", EXIT_BAD_INPUT)
    try:
        from tmuxorch.serve.mcp_server import make_server
    except ImportError as exc:
        return fail(
            f"tmuxorch mcp needs the MCP SDK: pip install 'tmuxorch[serve]' ({exc})", EXIT_FAILED
        )
    server: tuple[str, ...] = ()
    if socket_name:
        server = ("-L", socket_name)
    elif socket_path:
        server = ("-S", socket_path)
    with contextlib.suppress(KeyboardInterrupt):
        make_server(Client(socket_name, socket_path), server).run("stdio")
    return EXIT_OK
