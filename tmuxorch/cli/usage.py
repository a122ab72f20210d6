"""Help that names what to type: ``tmuxorch logs [OPTIONS] TASK``, ``--file FILE``.

Typer (0.28) writes a required argument as ``{task}`` in usage lines and a text value as
``<str>``; every command of :class:`App` shows its arguments by their metavars (the
argument's name in capitals when it gives none) and text options by theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import typer
from typer.core import TyperCommand


class _Plain:
    """A text type that adds no ``<str>`` to the help (the metavar says what it is)."""

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        return ""


_plain_types: dict[type[Any], type[Any]] = {}


def _plain(kind: type[Any]) -> Any:
    if kind not in _plain_types:
        _plain_types[kind] = type(f"Plain{kind.__name__}", (_Plain, kind), {})
    return _plain_types[kind]()


class Command(TyperCommand):
    """A typer command whose usage line and help show plain metavars."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            if getattr(param.type, "name", "") != "str" or getattr(param, "is_flag", False):
                continue
            if param.metavar is None:
                param.metavar = (param.name or "").upper()
            if param.param_type_name == "argument":
                param.type = _plain(type(param.type))

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name != "argument":
                continue
            name = param.metavar or (param.name or "").upper()
            if "[" in name:  # spelled out in full (send's TARGET [TEXT...])
                pieces.append(name)
                continue
            if param.nargs != 1:
                name += "..."
            pieces.append(name if param.required else f"[{name}]")
        return pieces


F = TypeVar("F", bound=Callable[..., Any])


class App(typer.Typer):
    """A typer application whose commands are :class:`Command` unless they say."""

    def command(
        self, *args: Any, cls: type[TyperCommand] | None = None, **kwargs: Any
    ) -> Callable[[F], F]:
        decorate: Callable[[F], F] = super().command(*args, cls=cls or Command, **kwargs)
        return decorate
