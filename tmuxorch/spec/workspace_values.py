"""The values of a workspace file's sessions, windows and panes, read and checked (pure):
commands (tmuxp's shorthands), flags, durations, directories, scripts, environments, tmux
options and layouts. :class:`ValueReader` is what the workspace parser builds on."""

from __future__ import annotations

import os
from dataclasses import dataclass

from tmuxorch.spec import tmux_options
from tmuxorch.spec.expand import expand_shell
from tmuxorch.spec.keys import COMMAND_KEYS
from tmuxorch.spec.source import MappingNode, ScalarNode, join

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from tmuxorch.spec.model import Pairs
    from tmuxorch.spec.source import Node, Reader

LAYOUTS = frozenset(
    [
        "even-horizontal",
        "even-vertical",
        "main-horizontal",
        "main-vertical",
        "tiled",
        "main-horizontal-mirrored",
        "main-vertical-mirrored",
    ]
)
_BLANK_WORDS = ("blank", "pane")
_BLANK_WORDS = ("blank", "pane")


@dataclass(frozen=True)
class Step:
    """A command before pane-level defaults are applied (``None`` = not set here)."""

    text: str
    enter: bool | None = None
    sleep_before: float | None = None
    sleep_after: float | None = None


class ValueReader:
    def __init__(self, reader: Reader, env: Mapping[str, str], base_dir: str) -> None:
        self.r = reader
        self.env = env
        self.base_dir = base_dir

    def pane_titles(self, entries: dict[str, tuple[Node, Node]]) -> Pairs:
        """tmuxp's ``enable_pane_titles``: pane border options given to every window."""
        enabled = self.flag(entries, "enable_pane_titles", "")
        position = "top"
        if "pane_title_position" in entries:
            node = entries["pane_title_position"][1]
            position = self.r.text(node, "pane_title_position") or "top"
            if position not in ("top", "bottom", "off"):
                self.r.error(node, "pane_title_position", "expected top, bottom or off")
        fmt = "#{pane_index}: #{pane_title}"
        if "pane_title_format" in entries:
            fmt = self.r.text(entries["pane_title_format"][1], "pane_title_format") or fmt
        if not enabled:
            return ()
        return (("pane-border-status", position), ("pane-border-format", fmt))

    def layout(self, node: Node, where: str) -> str | None:
        layout = self.r.text(node, where)
        if layout is None or layout in LAYOUTS or _is_custom_layout(layout):
            return layout
        from tmuxorch.spec.source import did_you_mean

        hint = did_you_mean(layout, LAYOUTS, "layouts") or ""
        self.r.error(node, where, f"unknown layout {layout!r}", hint)
        return None

    # -- commands --------------------------------------------------------------------
    def commands(
        self, entries: dict[str, tuple[Node, Node]], key: str, where: str
    ) -> tuple[Step, ...]:
        if key not in entries:
            return ()
        return tuple(self.command_list(entries[key][1], join(where, key)))

    def command_list(self, node: Node, where: str) -> list[Step]:
        """tmuxp's shorthand rules for a ``shell_command`` value."""
        r = self.r
        if r.is_null(node):
            return []
        if isinstance(node, ScalarNode):
            text = r.text(node, where)
            if text is None or text in _BLANK_WORDS:
                return []
            return [Step(self.shell_text(text, node, where))]
        items = r.sequence(node, where)
        if items is None:
            return []
        if len(items) == 1 and (
            r.is_null(items[0])
            or (isinstance(items[0], ScalarNode) and items[0].value in _BLANK_WORDS)
        ):
            return []
        steps = []
        for i, item in enumerate(items):
            step = self.command(item, join(where, i))
            if step is not None:
                steps.append(step)
        return steps

    def command(self, node: Node, where: str) -> Step | None:
        r = self.r
        if not isinstance(node, MappingNode):
            text = r.text(node, where)
            return None if text is None else Step(self.shell_text(text, node, where))
        entries = r.mapping(node, where, COMMAND_KEYS)
        if entries is None:
            return None
        if "cmd" not in entries:
            r.error(node, join(where, "cmd"), "required key is missing")
            return None
        cmd_node = entries["cmd"][1]
        text = r.text(cmd_node, join(where, "cmd"))
        if text is None:
            return None
        return Step(
            self.shell_text(text, cmd_node, join(where, "cmd")),
            self.flag(entries, "enter", where),
            self.seconds(entries, "sleep_before", where),
            self.seconds(entries, "sleep_after", where),
        )

    # -- values ----------------------------------------------------------------------
    def shell_text(self, raw: str, node: Node, where: str) -> str:
        """A command as tmuxp would type it (see the module docstring on ``\\;``)."""
        text = self.expand(raw, node, where)
        return text[:-2] + ";" if text.endswith("\\;") else text

    def expand(self, raw: str, node: Node, where: str, *, warn_missing: bool = False) -> str:
        value, missing = expand_shell(raw, self.env)
        if missing and warn_missing:
            names = ", ".join(f"${m}" for m in missing)
            self.r.warn(node, where, f"{names} not set; left as written")
        return value

    def flag(self, entries: dict[str, tuple[Node, Node]], key: str, where: str) -> bool | None:
        if key not in entries:
            return None
        return self.r.boolean(entries[key][1], join(where, key))

    def seconds(self, entries: dict[str, tuple[Node, Node]], key: str, where: str) -> float | None:
        if key not in entries:
            return None
        return self.r.number(entries[key][1], join(where, key), minimum=0)

    def directory(self, node: Node, where: str, parent: str) -> str | None:
        if self.r.is_null(node):
            self.r.error(
                node,
                where,
                "expected a directory, got nothing (null)",
                "a bare ~ is null in YAML: write '~'",
            )
            return None
        raw = self.r.text(node, where)
        if raw is None:
            return None
        value, missing = expand_shell(raw, self.env)
        path = os.path.normpath(os.path.join(parent, value))
        if not os.path.isdir(path):
            unset = f"; ${', $'.join(missing)} not set" if missing else ""
            what = "does not exist" if not os.path.exists(path) else "is not a directory"
            self.r.error(node, where, f"{path} {what}{unset}")
            return None
        return path

    def before_script(self, node: Node, directory: str) -> str | None:
        import shlex
        import shutil

        raw = self.r.text(node, "before_script")
        if raw is None:
            return None
        script, missing = expand_shell(raw, self.env)
        if script.startswith("."):
            head, sep, rest = script.partition(" ")
            script = os.path.normpath(os.path.join(self.base_dir, head)) + sep + rest
        try:
            program = shlex.split(script)[0]
        except (ValueError, IndexError) as exc:
            self.r.error(node, "before_script", f"cannot parse {script!r}: {exc or 'empty'}")
            return None
        unset = f" (${', $'.join(missing)} not set)" if missing else ""
        if "/" in program:
            path = program if os.path.isabs(program) else os.path.join(directory, program)
            if not os.path.isfile(path):
                self.r.error(node, "before_script", f"{path} does not exist{unset}")
                return None
            if not os.access(path, os.X_OK):
                self.r.error(node, "before_script", f"{path} is not executable", f"chmod +x {path}")
                return None
        elif shutil.which(program, path=self.env.get("PATH")) is None:
            self.r.error(node, "before_script", f"{program!r} not found on PATH{unset}")
            return None
        return script

    def environment(
        self, entries: dict[str, tuple[Node, Node]], where: str, directory: str
    ) -> Pairs:
        if "environment" not in entries:
            return ()
        sub = join(where, "environment")
        pairs = []
        for name, key_node, value_node in self.r.free_mapping(
            entries["environment"][1], sub, "NAME: value"
        ):
            if not name or "=" in name:
                self.r.error(key_node, join(sub, name), "not a valid variable name")
                continue
            raw = self.r.text(value_node, join(sub, name), allow_null=True)
            value = "" if raw is None else self.expand(raw, value_node, join(sub, name))
            if value.startswith(("./", "../")):
                value = os.path.normpath(os.path.join(directory, value))
            pairs.append((name, value))
        return tuple(pairs)

    def options(self, entries: dict[str, tuple[Node, Node]], key: str, where: str) -> Pairs:
        if key not in entries:
            return ()
        sub = join(where, key)
        pairs = []
        for name, key_node, value_node in self.r.free_mapping(
            entries[key][1], sub, "tmux-option: value"
        ):
            opt_where = join(sub, name)
            if not tmux_options.is_known(name):
                self.unknown_option(key_node, opt_where, name)
            if self.r.is_null(value_node):
                self.r.error(value_node, opt_where, "expected a value, got nothing (null)")
                continue
            if isinstance(value_node, ScalarNode) and value_node.tag.endswith(":bool"):
                value = "on" if self.r.boolean(value_node, opt_where) else "off"
            else:
                raw = self.r.text(value_node, opt_where)
                if raw is None:
                    continue
                value = self.expand(raw, value_node, opt_where, warn_missing=True)
            pairs.append((name, value))
        return tuple(pairs)

    def unknown_option(self, node: Node, where: str, name: str) -> None:
        import difflib

        close = difflib.get_close_matches(name, sorted(tmux_options.ALL_OPTIONS), n=1, cutoff=0.8)
        if close:
            self.r.error(node, where, "unknown tmux option", f"did you mean '{close[0]}'?")
        else:
            self.r.warn(node, where, "not an option tmux 3.2-3.5 knows; passed to tmux as is")


def _is_custom_layout(layout: str) -> bool:
    """A layout string as tmux prints it (``#{window_layout}``): ``b25d,220x50,0,0{...}``."""
    head, _, rest = layout.partition(",")
    return len(head) == 4 and all(c in "0123456789abcdef" for c in head) and "x" in rest
