"""The agents' panes, made through libtmux and handed out as ``libtmux.Pane`` objects.

A scheduling round opens all its panes in ONE tmux invocation (``new-window`` /
``split-window -P -F``, then their tags), sent through libtmux's ``Server.cmd``: libtmux's
``Session.new_window`` and ``Window.split`` cost 2 and 9 tmux processes *each* (they list
sessions, windows and panes again after every step), ten times what three agents may take
to start. Each pane made becomes a ``libtmux.Pane`` built from what tmux printed (its id,
pid, window and session), so Python users get libtmux objects without another listing.

Listing stays ours (:func:`tmuxorch.tmux.panes.task_panes`, one ``list-panes`` of our own
format): libtmux 0.53.1–0.62.0 zip a fixed list of ~125 fields with ``strict=True`` and
raise ``ValueError`` on a row that does not split into exactly that many (a value with a
newline in it: a directory name, a title), which agents' panes make likely.
"""

from __future__ import annotations

import os
import threading

import libtmux
from libtmux.exc import TmuxCommandNotFound

from tmuxorch.tmux import proc
from tmuxorch.tmux.client import INSTALL_HINT, Client, TmuxError, TmuxNotFound
from tmuxorch.tmux.panes import open_panes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from libtmux.common import tmux_cmd

    from tmuxorch.tmux.panes import Opened, PaneRequest

AgentPane = libtmux.Pane
"""What an attempt's pane is to Python users."""


def socket_path(client: Client) -> str:
    """The socket ``client`` talks to, chosen as tmux chooses it (``-S``; ``-L`` in
    ``$TMUX_TMPDIR``; the server of ``$TMUX``; ``default``), with the client's environment."""
    args = client.argv[1:]
    if "-S" in args:
        return args[args.index("-S") + 1]
    env = client.env if client.env is not None else os.environ
    name = args[args.index("-L") + 1] if "-L" in args else None
    if name is None and env.get("TMUX"):
        return env["TMUX"].split(",", 1)[0]
    folder = os.path.join(env.get("TMUX_TMPDIR") or "/tmp", f"tmux-{os.getuid()}")
    return os.path.join(folder, name or "default")


class AgentPanes:
    """Opens attempts' panes on ``client``'s server through libtmux."""

    def __init__(self, client: Client) -> None:
        args = client.argv[1:]
        config = args[args.index("-f") + 1] if "-f" in args else None
        self.server = libtmux.Server(
            socket_path=socket_path(client), config_file=config, tmux_bin=client.argv[0]
        )
        self.client: Client = _ThroughLibtmux(client, self.server)
        """A client whose invocations are libtmux's ``Server.cmd``."""

    def open(
        self, session: str, run_id: str, requests: list[PaneRequest]
    ) -> list[Opened | TmuxError]:
        """Open (and tag) every requested pane in one invocation; see
        :func:`tmuxorch.tmux.panes.open_panes`."""
        return open_panes(self.client, session, run_id, requests)

    def pane(
        self,
        pane_id: str,
        pid: int = 0,
        *,
        window_id: str = "",
        window_name: str = "",
        session_id: str = "",
        session_name: str = "",
    ) -> AgentPane:
        """The ``libtmux.Pane`` of a pane we know (made or adopted), without a listing."""
        return libtmux.Pane(
            server=self.server,
            pane_id=pane_id,
            pane_pid=str(pid) if pid else None,
            window_id=window_id or None,
            window_name=window_name or None,
            session_id=session_id or None,
            session_name=session_name or None,
        )


class _ThroughLibtmux(Client):
    """A :class:`Client` (batches, markers, errors) whose tmux processes libtmux runs."""

    __slots__ = ("server",)

    def __init__(self, client: Client, server: libtmux.Server) -> None:
        super().__init__(timeout=client.timeout, env=client.env, tmux=client.argv[0])
        self.argv = client.argv
        self.server = server

    def _spawn(self, argv: list[str], input: bytes | None, timeout: float | None) -> proc.Finished:
        head = len(self.argv) + 1  # tmux -u SERVER-ARGS: libtmux puts its own in front
        if input is not None or argv[1:2] != ["-u"]:
            return super()._spawn(argv, input, timeout)  # stdin, or ``tmux -V``
        args = argv[head:]
        seconds = timeout or self.timeout
        try:
            done = _within(seconds, lambda: self.server.cmd(args[0], *args[1:]))
        except TmuxCommandNotFound:
            raise TmuxNotFound(f"tmux is not installed or not on PATH; {INSTALL_HINT}") from None
        if done is None:
            raise TmuxError(f"tmux did not answer within {seconds:g}s (server busy or hung?)")
        out = "".join(f"{line}\n" for line in done.stdout)
        err = "\n".join(done.stderr)
        return proc.Finished(
            tuple(argv),
            int(done.returncode or 0),
            out.encode("utf-8", "surrogateescape"),
            err.encode("utf-8", "surrogateescape"),
        )


def _within(seconds: float, call: Callable[[], tmux_cmd]) -> tmux_cmd | None:
    """``call()`` with a deadline (libtmux's tmux calls have none): None if it is late;
    its exception if it raised."""
    box: list[tmux_cmd | BaseException] = []

    def target() -> None:
        try:
            box.append(call())
        except BaseException as exc:  # handed to the caller's thread
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True, name="tmuxorch-libtmux")
    thread.start()
    thread.join(seconds)
    if not box:
        return None
    if isinstance(box[0], BaseException):
        raise box[0]
    return box[0]
