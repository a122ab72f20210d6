"""A run's other machines: for each host its tasks name, ONE ssh master connection carrying
the remote tmux server's control mode (:class:`tmuxorch.tmux.remote.RemoteClient`: pane
creation, capture, send-keys, the poller's wake-ups), and tmuxorch's own worker on the
remote side (:mod:`tmuxorch.hosts.worker`) whose files — exit status, result, hook events,
the pane's byte record — a mirror copies into the run's local folder, where the engine
reads them as it reads a local attempt's.

A remote pane is known here as ``%ID@HOST`` (tmux numbers panes per server: ``%3`` here
and ``%3`` there are two panes).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import threading
import time

from tmuxorch.agents.launch import AttemptFiles
from tmuxorch.bridge.poller import Poller
from tmuxorch.run.store import GITIGNORE

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.bridge.poller import Event
    from tmuxorch.hosts.mirror import Mirror
    from tmuxorch.hosts.remote_worker import RemoteWorker
    from tmuxorch.hosts.ssh import Connection
    from tmuxorch.run.placement import Placement
    from tmuxorch.spec.hosts import HostSpec
    from tmuxorch.tmux.remote import RemoteClient

KEEPALIVE = 2
"""Seconds between ssh's keepalives; a link missing ``KEEPALIVE_COUNT`` answers is cut."""
KEEPALIVE_COUNT = 2
CONNECT_TIMEOUT = 15.0
"""Seconds a first login may take (a slow remote ``.bashrc`` runs in no login of ours: the
master runs no command)."""
RETRY_EVERY = 2.0
"""Seconds between tries to reach a host whose link was cut."""
HOLDING_WINDOW = "tmuxorch"
FINE = "fine"
STATE = ".tmuxorch"
"""The run's files on a host: ``DIR/.tmuxorch/`` (as here, beside the project)."""


def split(pane: str) -> tuple[str, str | None]:
    """``%3@gpu1`` → (``%3``, ``gpu1``); a local ``%3`` → (``%3``, None)."""
    raw, at, host = pane.partition("@")
    return (raw, host) if at else (pane, None)


class HostLink:
    """One host as a run uses it."""

    def __init__(self, spec: HostSpec, session: str, run_id: str, file: str) -> None:
        self.spec = spec
        self.file = file
        """The run's file (here): its sessions there are marked with it."""
        self.name = spec.name
        self.session = session
        self.run_id = run_id
        self.connection: Connection | None = None
        self.client: RemoteClient | None = None
        self.worker: RemoteWorker | None = None
        self.mirror: Mirror | None = None
        self.poller: Poller | None = None
        self.root = ""
        """The run's state folder there (absolute)."""
        self.cwd = ""
        """Where its tasks work there (absolute)."""
        self.up = False
        self.lost_at: float | None = None
        """When the link was cut (wall clock), while it is."""
        self.on_close: Callable[[str, str], None] | None = None
        self.sinks: list[Callable[[Event], None]] = []
        self.placement: Placement | None = None
        """Its task windows there (see :mod:`tmuxorch.run.placement`)."""

    # -- connecting -------------------------------------------------------------------------
    def connect(self) -> None:
        """Log in (one master), start the worker, attach control mode, make the run's
        session there. Raises the ssh layer's error (host key, auth, unreachable, a missing
        program) or TmuxError — each saying what to do."""
        from tmuxorch.hosts import remote_worker
        from tmuxorch.hosts.mirror import Mirror
        from tmuxorch.hosts.ssh import Connection
        from tmuxorch.tmux.remote import RemoteClient

        spec = self.spec
        if self.connection is None:
            self.connection = Connection(
                spec.ssh,
                spec.ssh_options,
                connect_timeout=CONNECT_TIMEOUT,
                keepalive_interval=KEEPALIVE,
                keepalive_count=KEEPALIVE_COUNT,
            )
        self.connection.connect()
        folder = spec.dir or "~"
        root = posixpath.join(folder, STATE)
        self.worker = remote_worker.start(self.connection, root, python=spec.python, name=self.name)
        hello = self.worker.client.hello()
        self.root = str(hello["root"])
        self.cwd = posixpath.dirname(self.root)
        # run state (and task worktrees) there is not project code, as here
        self.worker.client.write(".gitignore", GITIGNORE)
        for sub in ("exits", "prompts", "results", "hooks"):
            self.worker.client.mkdir(posixpath.join("runs", self.run_id, sub))
        self.worker.client.mkdir(posixpath.join("transcripts", self.run_id))
        if self.mirror is None:
            self.mirror = Mirror(self.worker.client)
            self.mirror.start()
        else:
            self.mirror.reconnect(self.worker.client)
        if self.client is None:  # one for the run: it knows whether it may start a server
            self.client = RemoteClient(self.connection.command, host=self.name)
        client = self.client
        client.on_close = self._closed
        self._session()
        if self.poller is None:
            self.poller = Poller(client)
            self.poller.add_sink(self._relabel)
            self.poller.start()
        else:
            self.poller.client = client
        self.up = True  # (lost_at stays: the host's faults tell the gap from it)

    def _session(self) -> None:
        from tmuxorch.tmux import panes as tmux_panes
        from tmuxorch.tmux.client import TmuxError

        assert self.client is not None
        note = f"tmuxorch run {self.run_id}: its agents are in the task windows"
        argv = ("sh", "-c", 'printf "%s\\n" "$1"; exec tail -f /dev/null', "tmuxorch", note)
        target = f"={self.session}:"
        mark = ("set-option", "-t", target, "@tmuxorch-file", self.file)
        made = tmux_panes.ensure_session(self.client, self.session, HOLDING_WINDOW, argv, [mark])
        if made is None:  # there already: this run's (a reconnection), or another's
            owner = self.client.cmd("display-message", "-p", "-t", target, "#{@tmuxorch-file}")
            if owner and owner[0] and owner[0] != self.file:
                raise TmuxError(
                    f"session {self.session!r} on {self.name} belongs to the run of "
                    f"{owner[0]}: tmuxorch never touches another run's panes"
                )

    def _closed(self) -> None:
        """(The control client's thread.) Tell the run how the link closed — asking the
        host takes a moment (or ssh's timeout, when it is unreachable): in a thread."""
        if not self.up:
            return
        lost_at = time.time()

        def look() -> None:
            kind = self.lost()
            if kind == FINE:
                return  # (the link alone ended: the next command makes a new one)
            if not self.up:
                return
            self.up, self.lost_at = False, lost_at
            if self.on_close is not None:
                self.on_close(self.name, kind)

        threading.Thread(target=look, daemon=True, name="tmuxorch-lost").start()

    def lost(self) -> str:
        """How the link closed: ``"cut"`` (the host is unreachable, or was: its worker's
        link went with it — its tasks are unknown until the link is made again), ``"tmux"``
        (the host answers but its tmux server is gone, its panes with it), or ``"fine"``
        (the host, its tmux and the worker are all there)."""
        client = self.client
        running = client.server_running() if client is not None else None
        if running is False:
            return "tmux"
        worker, mirror = self.worker, self.mirror
        worker_up = worker is not None and worker.alive() and not worker.client.gone
        if running and worker_up and mirror is not None and mirror.lost is None:
            return FINE
        return "cut"

    def reconnect(self) -> str | None:
        """One try to reach the host again: None if it is back, else why not."""
        from tmuxorch.tmux import panes as tmux_panes

        self._drop_link()
        try:
            self.connect()
            assert self.client is not None
            tmux_panes.task_panes(self.client, self.run_id)  # back once its panes are told
        except Exception as exc:  # the ssh layer's errors, tmux's, the worker's: not back yet
            self.up = False
            self._drop_link()
            return str(exc) or type(exc).__name__
        return None

    def _drop_link(self) -> None:
        if self.worker is not None:
            with contextlib.suppress(Exception):
                self.worker.close()
            self.worker = None
        if self.client is not None:
            self.client.on_close = None
            with contextlib.suppress(Exception):
                self.client.close()  # its link; the next command makes a new one

    def close(self) -> None:
        """The run is over: everything mirrored, the link's processes gone (the master
        lingers as ssh's ControlPersist says, for ``tmuxorch send``/``attach``)."""
        self.up = False
        if self.mirror is not None:
            with contextlib.suppress(Exception):
                self.mirror.flush()
            self.mirror.stop()
        if self.poller is not None:
            self.poller.stop()
        self._drop_link()

    # -- what an attempt needs there ---------------------------------------------------------
    def files(self, task_id: str, n: int) -> AttemptFiles:
        """An attempt's files there."""
        return AttemptFiles.of(posixpath.join(self.root, "runs", self.run_id), task_id, n)

    def follow(self, remote: AttemptFiles, local: AttemptFiles) -> None:
        """Copy an attempt's files here as they are written there."""
        assert self.mirror is not None
        for folder in {os.path.dirname(p) for p in (local.exit, local.result, local.hooks)}:
            os.makedirs(folder, mode=0o700, exist_ok=True)
        self.mirror.follow(remote.exit, local.exit, "whole")
        self.mirror.follow(remote.result, local.result, "whole")
        self.mirror.follow(remote.hooks, local.hooks, "append")
        self.mirror.follow(remote.record, local.record, "record")

    def unfollow(self, remote: AttemptFiles) -> None:
        if self.mirror is not None:
            for path in (remote.exit, remote.hooks):
                self.mirror.drop(path)

    def exit_status(self, path: str) -> int | None:
        """The exit status an attempt's wrapper wrote there (``path``), if it did."""
        if self.worker is None:
            return None
        try:
            return int(self.worker.client.read_all(path).decode().strip())
        except Exception:  # none there (it never ended), or not a number
            return None

    def remove(self, path: str) -> None:
        """A file there gone (none there is fine)."""
        assert self.worker is not None
        with contextlib.suppress(Exception):
            self.worker.client.remove(path)

    def write(self, path: str, text: str) -> None:
        """A file there (a prompt, an agent's settings), private."""
        assert self.worker is not None
        self.worker.client.write(path, text.encode())

    def stop_tree(self, pid: int) -> None:
        """Stop an attempt's processes there: its pane's process group (tmux makes each
        pane's program the leader of its own), TERM then KILL."""
        if not pid or self.connection is None:
            return  # (over the master: it may be up while this link's tmux client is not)
        with contextlib.suppress(Exception):
            self.connection.stop_groups([pid])

    # -- the poller's events, named as the run knows the panes --------------------------------
    def _relabel(self, event: Event) -> None:
        if "pane" in event:
            event = {**event, "pane": f"{event['pane']}@{self.name}"}
        for sink in list(self.sinks):
            sink(event)


class HostLinks:
    """Every host a run has reached, by name; links are made on first use."""

    def __init__(self, session: str, run_id: Callable[[], str], file: str) -> None:
        self.session = session
        self.file = file
        self.run_id = run_id
        self.links: dict[str, HostLink] = {}
        self.on_close: Callable[[str, str], None] | None = None
        self.sinks: list[Callable[[Event], None]] = []
        self._retrying: set[str] = set()
        self._lock = threading.Lock()

    def get(self, spec: HostSpec) -> HostLink:
        """The host's link, connected (raises as :meth:`HostLink.connect`)."""
        link = self.links.get(spec.name)
        if link is not None:
            return link
        link = self._made(spec)
        try:
            link.connect()
        except BaseException:
            link.close()  # what it started before it failed (a worker, a link) ends
            raise
        self.links[spec.name] = link
        return link

    def add(self, spec: HostSpec) -> HostLink:
        """The host's link, made but not connected (to be reached by :meth:`retry`)."""
        link = self.links.get(spec.name)
        if link is None:
            link = self.links[spec.name] = self._made(spec)
        return link

    def _made(self, spec: HostSpec) -> HostLink:
        link = HostLink(spec, self.session, self.run_id(), self.file)
        link.on_close = self.on_close
        link.sinks = self.sinks
        return link

    def find(self, name: str | None) -> HostLink | None:
        return self.links.get(name) if name else None

    def retry(
        self, name: str, back: Callable[[str], None], why: Callable[[str, str], None]
    ) -> None:
        """Try to reach ``name`` again every few seconds, in a thread, until it is back
        (then ``back(name)``) or the run closes the links; ``why(name, reason)`` each time
        the reason it is not back changes."""
        link = self.links.get(name)
        with self._lock:
            if link is None or name in self._retrying:
                return
            self._retrying.add(name)

        def again() -> None:
            try:
                said = None
                while self.links.get(name) is link:
                    reason = link.reconnect()
                    if reason is None:
                        back(name)
                        return
                    if reason != said:
                        why(name, reason)
                        said = reason
                    time.sleep(RETRY_EVERY)
            finally:
                with self._lock:
                    self._retrying.discard(name)

        threading.Thread(target=again, daemon=True, name=f"tmuxorch-host {name}").start()

    def close_sessions(self, file: str) -> None:
        """The run's sessions on its hosts closed (those it made, still reached)."""
        from tmuxorch.tmux import panes as tmux_panes
        from tmuxorch.tmux.client import TmuxError

        for link in self.links.values():
            if link.client is not None and link.up:
                with contextlib.suppress(TmuxError):
                    tmux_panes.close_run_session(link.client, self.session, file)

    def close(self) -> None:
        links, self.links = self.links, {}
        for link in links.values():
            link.close()
