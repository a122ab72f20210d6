"""The chat, push and webhook channels ``tmuxorch serve`` talks through (the user config's
``channels:``), read and checked (pure)::

    channels:
      telegram:                          # the name is the kind, unless ``kind:`` says
        token_env: TMUXORCH_TELEGRAM_TOKEN   # secrets: NAME_env or NAME_file, never inline
        chat: -1001234567890
        allow: [123456789]               # user ids who may answer and command
        watch: [987654321]               # user ids who may only ask /status
        live_output: true                # each task's output too (rate-limited)
      ops-hook:
        kind: webhook
        url: https://hooks.example.com/tmuxorch
        secret_file: ~/.config/tmuxorch/hook-secret
      github:
        secret_env: GITHUB_WEBHOOK_SECRET
        handle: "@tmuxorch"
        run: ~/src/app/tasks.yaml
        agent: coder
        allow: [octocat]

Every problem is ``file:line:col: where: what``. A secret is named by where it is (an
environment variable, or a file), so the config can be shared and secrets never land in it
or in a log. Each kind's keys are in :data:`KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.spec import task_values as values
from tmuxorch.spec.source import MappingNode, Reader, ScalarNode, did_you_mean, join
from tmuxorch.spec.task_model import Origin

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.source import Node


@dataclass(frozen=True)
class Kind:
    """What one kind of channel takes: its required and optional settings (by type), and
    its secrets (each given as ``NAME_env`` or ``NAME_file``)."""

    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    optional_secrets: tuple[str, ...] = ()
    people: bool = True
    """``allow`` / ``watch`` (who may act) mean something for it."""


COMMON = ("kind", "allow", "watch", "live_output", "output_every")
KINDS: dict[str, Kind] = {
    "telegram": Kind(("chat",), ("topics", "api_url"), ("token",)),
    "slack": Kind(("channel",), ("api_url",), ("bot_token", "app_token")),
    "discord": Kind(("channel",), ("api_url",), ("token",)),
    "ntfy": Kind(("url",), ("reply_topic",), (), ("token",)),
    "webhook": Kind(("url",), (), (), ("secret",), people=False),
    "github": Kind(("run",), ("handle", "agent", "labels"), ("secret",)),
    "incoming": Kind(("run",), (), ("secret",), people=False),
}
"""Each kind's settings beyond :data:`COMMON`."""
TYPES: dict[str, str] = {
    "chat": "id",
    "channel": "id",
    "topics": "bool",
    "api_url": "url",
    "url": "url",
    "reply_topic": "text",
    "run": "path",
    "handle": "text",
    "agent": "text",
    "labels": "texts",
    "live_output": "bool",
    "output_every": "seconds",
    "allow": "ids",
    "watch": "ids",
}
"""How each setting is read: ``id`` (a number or a string, kept as a string), ``url``
(http or https), ``path`` (relative to the config), ``ids`` / ``texts`` (lists)."""
OUTPUT_EVERY = 10.0
"""Seconds between two live-output messages of one task, by default."""


@dataclass(frozen=True)
class Secret:
    """Where a secret is: an environment variable or a file (never its value)."""

    env: str | None = None
    file: str | None = None

    def __str__(self) -> str:
        return f"${self.env}" if self.env else f"file {self.file}"


@dataclass(frozen=True)
class ChannelSpec:
    name: str
    kind: str
    origin: Origin
    allow: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    live_output: bool = False
    output_every: float = OUTPUT_EVERY
    settings: tuple[tuple[str, object], ...] = ()
    secrets: tuple[tuple[str, Secret], ...] = ()

    def get(self, name: str, default: object = None) -> object:
        return dict(self.settings).get(name, default)

    def text(self, name: str, default: str = "") -> str:
        value = self.get(name, default)
        return value if isinstance(value, str) else default

    def secret(self, name: str) -> Secret | None:
        return dict(self.secrets).get(name)


def read_channels(reader: Reader, node: Node, base_dir: str) -> tuple[ChannelSpec, ...]:
    """The ``channels:`` mapping (name → settings); problems go to ``reader``."""
    if reader.is_null(node):
        return ()
    found = []
    for name, key_node, value in reader.free_mapping(node, "channels", "name: settings"):
        spec = _channel(reader, name, key_node, value, base_dir)
        if spec is not None:
            found.append(spec)
    return tuple(found)


def _channel(
    reader: Reader, name: str, key_node: Node, node: Node, base_dir: str
) -> ChannelSpec | None:
    where = join("channels", name)
    kind_name = name
    if not isinstance(node, MappingNode):
        reader.error(node, where, "expected a mapping of settings")
        return None
    loose = {
        str(k.value): (k, v) for k, v in node.value if isinstance(k, ScalarNode)
    }  # a first look, for its kind (the checked read is below)
    if "kind" in loose:
        kind_name = reader.text(loose["kind"][1], join(where, "kind")) or ""
    kind = KINDS.get(kind_name)
    if kind is None:
        known = ", ".join(sorted(KINDS))
        at = loose["kind"][1] if "kind" in loose else key_node
        label = join(where, "kind") if "kind" in loose else where
        reader.error(
            at,
            label,
            f"unknown channel kind {kind_name!r} (known: {known})",
            did_you_mean(kind_name, KINDS, "kinds"),
        )
        return None
    secret_keys = {f"{s}_{way}" for s in kind.secrets + kind.optional_secrets for way in WAYS}
    inline = kind.secrets + kind.optional_secrets  # refused below, with a hint
    allowed = frozenset(COMMON + kind.required + kind.optional + inline) | secret_keys
    entries = reader.mapping(node, where, allowed)
    if entries is None:
        return None
    for secret in inline:
        if secret in entries:
            reader.error(
                entries[secret][1],
                join(where, secret),
                "a secret is never written in the config",
                f"give {secret}_env (an environment variable) or {secret}_file (a file)",
            )
    for key in kind.required:
        if key not in entries:
            reader.error(node, where, f"{key} is needed for a {kind_name} channel")
    read: dict[str, object] = {}
    for key, (_, value) in entries.items():
        if key == "kind" or key in secret_keys or key in inline:
            continue
        got = _value(reader, value, join(where, key), TYPES[key], base_dir)
        if got is not None:
            read[key] = got
    if not kind.people:
        for key in ("allow", "watch"):
            if key in entries:
                reader.error(
                    entries[key][1], join(where, key), f"a {kind_name} channel has no people"
                )
    secrets = []
    for secret in kind.secrets + kind.optional_secrets:
        found = _secret(reader, node, entries, where, secret, base_dir, secret in kind.secrets)
        if found is not None:
            secrets.append((secret, found))
    origin = Origin(
        reader.file, key_node.start_mark.line + 1, key_node.start_mark.column + 1, where
    )
    allow = read.pop("allow", ())
    watch = read.pop("watch", ())
    return ChannelSpec(
        name=name,
        kind=kind_name,
        origin=origin,
        allow=allow,  # type: ignore[arg-type]
        watch=watch,  # type: ignore[arg-type]
        live_output=bool(read.pop("live_output", False)),
        output_every=float(read.pop("output_every", OUTPUT_EVERY)),  # type: ignore[arg-type]
        settings=tuple(sorted(read.items())),
        secrets=tuple(secrets),
    )


WAYS = ("env", "file")


def _secret(
    reader: Reader,
    node: Node,
    entries: dict[str, tuple[Node, Node]],
    where: str,
    name: str,
    base_dir: str,
    required: bool,
) -> Secret | None:
    env, file = f"{name}_env", f"{name}_file"
    if env in entries and file in entries:
        reader.error(entries[file][0], join(where, file), f"give {env} or {file}, not both")
        return None
    if env in entries:
        value = reader.text(entries[env][1], join(where, env))
        if value is not None and not _is_env_name(value):
            reader.error(entries[env][1], join(where, env), f"{value!r} is not a variable name")
            return None
        return Secret(env=value) if value else None
    if file in entries:
        raw = reader.text(entries[file][1], join(where, file))
        if not raw:
            return None
        return Secret(file=values.resolve(base_dir, raw))
    if required and name not in entries:  # (written inline: said already)
        reader.error(node, where, f"{name} is needed: give {env} or {file}")
    return None


def _is_env_name(value: str) -> bool:
    return (
        bool(value)
        and (value[0].isalpha() or value[0] == "_")
        and all(c.isalnum() or c == "_" for c in value)
    )


def _value(reader: Reader, node: Node, where: str, kind: str, base_dir: str) -> object:
    if kind == "bool":
        return reader.boolean(node, where)
    if kind == "seconds":
        return values.seconds(reader, node, where)
    if kind in ("ids", "texts"):
        items = reader.sequence(node, where)
        if items is None:
            return None
        got = [_id(reader, item, join(where, i)) for i, item in enumerate(items)]
        return tuple(g for g in got if g is not None)
    if kind == "id":
        return _id(reader, node, where)
    text = reader.text(node, where)
    if text is None:
        return None
    if kind == "url" and not text.startswith(("http://", "https://")):
        reader.error(node, where, f"expected an http:// or https:// URL, got {text!r}")
        return None
    if kind == "path":
        return values.resolve(base_dir, text)
    return text


def _id(reader: Reader, node: Node, where: str) -> str | None:
    if isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:int":
        return str(int(node.value))
    return reader.text(node, where)
