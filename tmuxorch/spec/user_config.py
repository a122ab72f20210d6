"""The user's own settings, ``$XDG_CONFIG_HOME/tmuxorch/config.yaml`` (optional), read and
checked (pure apart from reading the file)::

    agents:                    # profiles, as in task files; a file's own of the same name wins
      coder: {preset: claude, args: [--model, opus]}
    defaults:                  # what a tasks file or task does not say
      timeout: 30m
      retries: 1
      retry_delay: 10s
      max_parallel: 3
      panes_per_window: 4
      worktree: true
      notify: notify-send tmuxorch
      stall: 15m               # an agent silent this long is told of; twice it, it fails
    serve:                     # for `tmuxorch serve`
      host: 127.0.0.1
      port: 7340
      token_file: ~/.config/tmuxorch/token
      allow_remote: false      # true: a host other than loopback may be given
    jobs:                      # run by `tmuxorch serve` (see tmuxorch.spec.jobs)
      - {id: nightly-review, cron: "0 2 * * *", run: ~/src/app/tasks/review.yaml}
    channels:                  # chat, push and webhooks, run by `tmuxorch serve`
      telegram: {token_env: TMUXORCH_TELEGRAM_TOKEN, chat: -100123, allow: [42]}
      (see tmuxorch.spec.channels)
    hosts:                     # other machines, over ssh (see tmuxorch.spec.hosts)
      gpu1: {ssh: user@gpu1, dir: ~/work/repo, max_parallel: 2}

Every problem is ``file:line:col: where: what`` (bad input, exit 2). Loading task files
reads only ``agents``, ``defaults``, ``route`` and ``hosts`` (see :data:`TASK_SECTIONS`): a bad job or serve
setting does not stop a run, and croniter stays off that path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tmuxorch.spec import profiles as profile_spec
from tmuxorch.spec import task_values as values
from tmuxorch.spec.errors import SpecError
from tmuxorch.spec.source import Reader, join, load_nodes

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from tmuxorch.spec.channels import ChannelSpec
    from tmuxorch.spec.hosts import HostSpec
    from tmuxorch.spec.jobs import Job
    from tmuxorch.spec.routing import Rule
    from tmuxorch.spec.source import Node
    from tmuxorch.spec.task_model import AgentProfile, Stall, Worktree

SECTIONS = ("agents", "defaults", "route", "serve", "jobs", "channels", "hosts")
TASK_SECTIONS = ("agents", "defaults", "route", "hosts")
"""What loading a tasks or layout file merges under it."""
DEFAULT_KEYS = frozenset(
    {
        "timeout",
        "retries",
        "retry_delay",
        "max_parallel",
        "panes_per_window",
        "worktree",
        "notify",
        "stall",
    }
)
SERVE_KEYS = frozenset({"host", "port", "token_file", "allow_remote"})


@dataclass(frozen=True)
class Defaults:
    """What applies where a tasks file and its task say nothing (the built-in values
    unless the user config says otherwise; ``None``: no limit / none)."""

    timeout: float | None = None
    retries: int = 0
    retry_delay: float = 1.0
    max_parallel: int | None = None
    """``None``: every ready task at once."""
    panes_per_window: int = 4
    worktree: Worktree | None = None
    notify: str | None = None
    stall: Stall | None = None
    stall_given: bool = False
    """It says something of ``stall`` (else each agent task has the built-in one)."""


@dataclass(frozen=True)
class ServeSettings:
    """Where ``tmuxorch serve`` listens. ``port`` ``None``: serve's own default;
    ``token_file`` an absolute path or ``None``; a ``host`` other than loopback is
    accepted only with ``allow_remote``."""

    host: str = "127.0.0.1"
    port: int | None = None
    token_file: str | None = None
    allow_remote: bool = False


@dataclass(frozen=True)
class UserConfig:
    """The user config as read; ``file`` is ``None`` when there is none."""

    file: str | None = None
    agents: tuple[AgentProfile, ...] = ()
    defaults: Defaults = Defaults()
    serve: ServeSettings = ServeSettings()
    jobs: tuple[Job, ...] = ()
    channels: tuple[ChannelSpec, ...] = ()
    route: tuple[Rule, ...] = ()
    """Rules choosing the agents of tasks that name none (after a tasks file's own)."""
    hosts: tuple[HostSpec, ...] = ()
    """Other machines, over ssh (a tasks file's own of the same name win; not used by
    runs yet)."""


def config_path(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_CONFIG_HOME/tmuxorch/config.yaml`` (default ``~/.config/...``)."""
    return os.path.join(_xdg(env, "XDG_CONFIG_HOME", ".config"), "tmuxorch", "config.yaml")


def state_dir(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/tmuxorch`` (default ``~/.local/state/tmuxorch``): jobs' records
    and logs (not made here)."""
    return os.path.join(_xdg(env, "XDG_STATE_HOME", os.path.join(".local", "state")), "tmuxorch")


def _xdg(env: Mapping[str, str] | None, name: str, fallback: str) -> str:
    env = os.environ if env is None else env
    value = env.get(name, "")
    if os.path.isabs(value):  # the XDG spec: a relative value is ignored
        return value
    return os.path.join(env.get("HOME") or os.path.expanduser("~"), fallback)


def load_user_config(
    path: str | None = None,
    *,
    sections: Collection[str] = SECTIONS,
    env: Mapping[str, str] | None = None,
) -> UserConfig:
    """Read the user config (``path``, default :func:`config_path`); only ``sections``
    are read (every top-level key is checked). No file: the built-in defaults. Raises
    :class:`~tmuxorch.spec.errors.SpecError` if bad."""
    path = config_path(env) if path is None else path
    if not os.path.lexists(path):
        return UserConfig()
    root = load_nodes(path)
    reader = Reader(path)
    if root is None or reader.is_null(root):
        return UserConfig(file=path)
    entries = reader.mapping(root, "", frozenset(SECTIONS))
    if entries is None:
        reader.raise_if_problems()
        return UserConfig(file=path)
    base_dir = os.path.dirname(os.path.abspath(path))
    config = UserConfig(file=path)
    if "agents" in entries and "agents" in sections:
        config = _replace(config, agents=_agents(reader, entries["agents"][1]))
    if "defaults" in entries and "defaults" in sections:
        config = _replace(config, defaults=_defaults(reader, entries["defaults"][1]))
    if "route" in entries and "route" in sections:
        from tmuxorch.spec.routing import read_routes

        config = _replace(config, route=read_routes(reader, entries["route"][1], "route"))
    if "serve" in entries and "serve" in sections:
        config = _replace(config, serve=_serve(reader, entries["serve"][1], base_dir))
    if "jobs" in entries and "jobs" in sections:
        from tmuxorch.spec.jobs import read_jobs  # croniter: only when jobs are wanted

        jobs = read_jobs(reader, entries["jobs"][1], base_dir, config, state_dir(env))
        config = _replace(config, jobs=jobs)
    if "channels" in entries and "channels" in sections:
        from tmuxorch.spec.channels import read_channels

        channels = read_channels(reader, entries["channels"][1], base_dir)
        config = _replace(config, channels=channels)
    if "hosts" in entries and "hosts" in sections:
        from tmuxorch.spec.hosts import read_hosts

        config = _replace(config, hosts=read_hosts(reader, entries["hosts"][1]))
    if reader.problems:
        raise SpecError(sorted(reader.problems, key=lambda p: (p.line, p.col)))
    return config


def _replace(config: UserConfig, **changes: object) -> UserConfig:
    from dataclasses import replace

    return replace(config, **changes)  # type: ignore[arg-type]


def _agents(reader: Reader, node: Node) -> tuple[AgentProfile, ...]:
    found = []
    for name, _, value in reader.free_mapping(node, "agents", "name: profile"):
        profile = profile_spec.profile(reader, name, value, join("agents", name))
        if profile is not None:
            found.append(profile)
    return tuple(found)


def _defaults(reader: Reader, node: Node) -> Defaults:
    if reader.is_null(node):
        return Defaults()
    entries = reader.mapping(node, "defaults", DEFAULT_KEYS)
    if entries is None:
        return Defaults()
    given: dict[str, object] = {}
    for key, (_, value) in entries.items():
        where = join("defaults", key)
        read: object
        if key in ("timeout", "retry_delay"):
            read = values.seconds(reader, value, where)
        elif key == "retries":
            read = reader.integer(value, where, minimum=0)
        elif key in ("max_parallel", "panes_per_window"):
            read = reader.integer(value, where, minimum=1)
        elif key == "worktree":
            given[key] = values.worktree(reader, value, where)
            continue
        elif key == "stall":
            given.update(stall=values.stall(reader, value, where), stall_given=True)
            continue
        else:
            read = reader.text(value, where)
        if read is not None:
            given[key] = read
    return Defaults(**given)  # type: ignore[arg-type]


def _serve(reader: Reader, node: Node, base_dir: str) -> ServeSettings:
    if reader.is_null(node):
        return ServeSettings()
    entries = reader.mapping(node, "serve", SERVE_KEYS)
    if entries is None:
        return ServeSettings()
    given: dict[str, object] = {}
    if "host" in entries:
        host = reader.text(entries["host"][1], "serve.host")
        if host == "":
            reader.error(entries["host"][1], "serve.host", "must not be empty")
        elif host is not None:
            given["host"] = host
    if "port" in entries:
        port = reader.integer(entries["port"][1], "serve.port", minimum=0)
        if port is not None and port > 65535:
            reader.error(entries["port"][1], "serve.port", f"must be at most 65535, got {port}")
        elif port is not None:
            given["port"] = port
    if "token_file" in entries:
        raw = reader.text(entries["token_file"][1], "serve.token_file")
        if raw:
            given["token_file"] = values.resolve(base_dir, raw)
    if "allow_remote" in entries:
        allow = reader.boolean(entries["allow_remote"][1], "serve.allow_remote")
        if allow is not None:
            given["allow_remote"] = allow
    settings = ServeSettings(**given)  # type: ignore[arg-type]
    if not settings.allow_remote and not is_loopback(settings.host):
        reader.error(
            entries["host"][1],
            "serve.host",
            f"{settings.host!r} is not a loopback address: others could reach serve",
            "set allow_remote: true to mean it",
        )
        return ServeSettings(**{**given, "host": ServeSettings.host})  # type: ignore[arg-type]
    return settings


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


__all__ = [
    "SECTIONS",
    "TASK_SECTIONS",
    "Defaults",
    "ServeSettings",
    "UserConfig",
    "config_path",
    "load_user_config",
    "state_dir",
]
