"""``tmuxorch serve``: the runs on this machine's tmux servers over HTTP, for a browser,
a phone, a script or a lead agent. Loopback and a token unless told otherwise."""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import sys

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_OK, fail
from tmuxorch.tmux.client import Client

TYPE_CHECKING = False
if TYPE_CHECKING:
    from tmuxorch.spec.user_config import UserConfig

DEFAULT_PORT = 8765


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    *,
    host: str | None = None,
    port: int | None = None,
    socket_names: list[str] | None = None,
    socket_paths: list[str] | None = None,
    allow_remote: bool = False,
    token_file: str | None = None,
) -> int:
    """Options given win over the user config's ``serve:``, which wins over the defaults."""
    from tmuxorch.spec.errors import SpecError
    from tmuxorch.spec.user_config import load_user_config

    try:
        import aiohttp  # noqa: F401  (before anything is made: the token is shown once)
    except ImportError:
        return fail(
            "tmuxorch serve needs its extra: pip install 'tmuxorch[serve]' "
            "(from a checkout: .venv/bin/pip install -e '.[serve]')",
            EXIT_BAD_INPUT,
        )
    try:
        config = load_user_config()
    except SpecError as exc:
        return fail(str(exc), EXIT_BAD_INPUT)
    settings = config.serve
    host = host or settings.host
    port = (settings.port or DEFAULT_PORT) if port is None else port
    token_file = token_file or settings.token_file
    allow_remote = allow_remote or settings.allow_remote
    if not _loopback(host) and not allow_remote:
        return fail(
            f"--host {host} would let other machines reach every agent's pane (read and type);"
            " say --allow-remote if that is what you want (the token is still needed)",
            EXIT_BAD_INPUT,
        )
    from tmuxorch.serve.token import load_or_create, token_path

    path = token_file or token_path()
    try:
        token, made = load_or_create(path)
    except (OSError, ValueError) as exc:
        return fail(str(exc), EXIT_BAD_INPUT)
    if config.channels:
        from tmuxorch.channels.router import check
        from tmuxorch.serve.hooks import check as check_hooks

        problems = check(config.channels) + check_hooks(config.channels)
        if problems:
            return fail("\n".join(problems), EXIT_BAD_INPUT)
    clients = [Client(name) for name in socket_names or []]
    clients += [Client(socket_path=p) for p in socket_paths or []]
    if not clients:
        clients = [Client()]
    if not _loopback(host):
        print(
            f"tmuxorch serve: listening on {host}: anyone who can reach it and has the token "
            "can read and type into every agent's pane",
            file=sys.stderr,
        )
    try:
        asyncio.run(_serve(host, port, token, made, path, clients, config))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        return fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}")
    return EXIT_OK


async def _serve(
    host: str,
    port: int,
    token: str,
    made: bool,
    path: str,
    clients: list[Client],
    config: UserConfig,
) -> None:
    from aiohttp import web

    from tmuxorch.serve.app import make_app
    from tmuxorch.serve.state import SERVE

    app = make_app(token, clients, jobs=config.jobs, channels=config.channels)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}/"
    app[SERVE].url = url
    if made:
        print(f"tmuxorch serve: open {url}?token={token}", flush=True)
        print(f"(the token is kept in {path}; it is shown this once)", flush=True)
    else:
        print(f"tmuxorch serve: {url} (the token is in {path})", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
