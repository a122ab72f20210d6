"""A typer-free reading of the command lines of hot commands.

Importing typer costs ~40 ms, most of the time ``tmuxorch layout -d`` needs in all. The
commands listed here are read from plain argv when it is unambiguous; anything else
(``--help``, an unknown or malformed option, a missing argument) goes to the typer
application, which owns help and usage errors. ``tests/test_cli.py`` checks that
every option here is an option of the same typer command.
"""

from __future__ import annotations

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


class Grammar:
    """Options and arguments of one command (a plain class: ``typing`` costs 5 ms here)."""

    __slots__ = ("flags", "lists", "many", "positionals", "rest", "values")

    def __init__(
        self,
        flags: dict[str, str],
        values: dict[str, str],
        positionals: tuple[str, ...],
        *,
        lists: frozenset[str] = frozenset(),
        rest: str | None = None,
        many: bool = False,
    ) -> None:
        self.flags = flags
        """Option → keyword set to True (a keyword starting with ``no_``... is set False)."""
        self.values = values
        """Option taking a value → keyword."""
        self.positionals = positionals
        self.lists = lists
        """Keywords of ``values`` that may repeat (collected in a list)."""
        self.rest = rest
        """Keyword collecting every positional argument (instead of ``positionals``)."""
        self.many = many
        """The last of ``positionals`` takes one or more words (a list); options may
        come anywhere (unlike ``rest``, after which every word is text)."""


def _send(kwargs: dict[str, object]) -> int:
    from tmuxorch.cli import send

    words = kwargs.pop("words")
    assert isinstance(words, list)
    if "delay" in kwargs or "timeout" in kwargs:
        for name in ("delay", "timeout"):
            if name in kwargs:
                kwargs[name] = float(str(kwargs[name]))
    return send.send(words, **kwargs)  # type: ignore[arg-type]


def _layout(kwargs: dict[str, object]) -> int:
    from tmuxorch.cli import layout

    files = kwargs.pop("files")
    assert isinstance(files, list)
    return layout.layout(files, **kwargs)  # type: ignore[arg-type]


def _run(kwargs: dict[str, object]) -> int:
    from tmuxorch.cli import tasks

    file = kwargs.pop("file")
    assert isinstance(file, str)
    return tasks.run(file, **kwargs)  # type: ignore[arg-type]


SERVER = {"-L": "socket_name", "--socket-name": "socket_name"} | {
    "-S": "socket_path",
    "--socket-path": "socket_path",
}

COMMANDS: dict[str, tuple[Grammar, Callable[[dict[str, object]], int]]] = {
    "send": (
        Grammar(
            flags={"--no-enter": "enter", "--when-idle": "when_idle", "--all": "everything"},
            values=SERVER | {"--key": "keys", "--timeout": "timeout", "--delay": "delay"},
            positionals=(),
            lists=frozenset({"keys"}),
            rest="words",
        ),
        _send,
    ),
    "layout": (
        Grammar(
            flags={
                "-d": "detach",
                "--detach": "detach",
                "--append": "append",
                "--dry-run": "dry_run",
                "--fix-name": "fix_name",
            },
            values=SERVER,
            positionals=("files",),
            many=True,
        ),
        _layout,
    ),
    "run": (
        Grammar(
            flags={"--keep": "keep", "--new": "new", "--inside": "inside"},
            values=SERVER,
            positionals=("file",),
        ),
        _run,
    ),
}


def parse(grammar: Grammar, args: Sequence[str]) -> dict[str, object] | None:
    """Keyword arguments for ``args``, or ``None`` if typer should read them."""
    kwargs: dict[str, object] = {}
    positionals: list[str] = []
    i = 0
    options = True
    while i < len(args):
        arg = args[i]
        i += 1
        if options and arg == "--":
            options = False
            if grammar.rest is not None and positionals:
                positionals.append(arg)  # after the target: it says the rest is text
        elif options and arg.startswith("-") and arg != "-":
            name, eq, value = arg.partition("=")
            if name in grammar.flags and not eq:
                keyword = grammar.flags[name]
                kwargs[keyword] = not name.startswith("--no-")
                continue
            if name in grammar.values and eq and name.startswith("--"):
                keyword, value = grammar.values[name], value
            elif name in grammar.values and not eq:
                if i >= len(args):
                    return None
                keyword, value = grammar.values[name], args[i]
                i += 1
            elif arg[:2] in grammar.values and len(arg) > 2 and not arg.startswith("--"):
                keyword, value = grammar.values[arg[:2]], arg[2:]  # -Lname
            else:
                return None
            if keyword in grammar.lists:
                listed = kwargs.setdefault(keyword, [])
                assert isinstance(listed, list)
                listed.append(value)
            else:
                kwargs[keyword] = value
        else:
            positionals.append(arg)
            if grammar.rest is not None:
                options = False  # after the target, every word is text
    if grammar.rest is not None:
        kwargs[grammar.rest] = positionals
        return kwargs
    wanted = len(grammar.positionals)
    if grammar.many and len(positionals) >= wanted > 0:
        kwargs.update(zip(grammar.positionals[:-1], positionals, strict=False))
        kwargs[grammar.positionals[-1]] = positionals[wanted - 1 :]
        return kwargs
    if len(positionals) != wanted:
        return None
    kwargs.update(zip(grammar.positionals, positionals, strict=True))
    return kwargs


def _completion(option: str, shell: str) -> int:
    from tmuxorch.cli import completion

    return (
        completion.show(shell) if option == "--show-completion" else completion.install_for(shell)
    )


COMPLETION = ("--show-completion", "--install-completion")
"""Root options typer reads bare; named here with their optional SHELL (``--show-completion
bash``), which a typer option cannot take."""


def run(args: Sequence[str]) -> int | None:
    """Run a hot command without typer; ``None`` if this command line is typer's to read."""
    if len(args) == 2 and args[0] in COMPLETION and not args[1].startswith("-"):
        return _completion(args[0], args[1])
    if not args or args[0] not in COMMANDS:
        return None
    grammar, call = COMMANDS[args[0]]
    kwargs = parse(grammar, args[1:])
    return None if kwargs is None else call(kwargs)
