"""Where layout files are found by name (pure: reads directories, never tmux).

A project's own file sits in its directory (``.tmuxorch.yaml``, or tmuxp's ``.tmuxp.yaml``);
named layouts live in tmuxorch's folder (``$XDG_CONFIG_HOME/tmuxorch/layouts``, where
``tmuxorch freeze`` saves) and in tmuxp's (``$TMUXP_CONFIGDIR``, ``$XDG_CONFIG_HOME/tmuxp``,
``~/.tmuxp``), so ``tmuxorch ls``/``edit``/``convert`` (and ``layout NAME``) see what tmuxp
users already have. A name is looked up in that order; the first file wins.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

EXTENSIONS = (".yaml", ".yml", ".json")
LOCAL_NAMES = tuple(f".{tool}{ext}" for tool in ("tmuxorch", "tmuxp") for ext in EXTENSIONS)
"""A project's own layout, in its directory (the first found is the one used)."""


@dataclass(frozen=True)
class Found:
    name: str
    """What ``tmuxorch edit NAME`` takes: the file's name without extension in a layouts
    folder; the file name itself in a project directory."""
    path: str
    place: str
    """The directory it was found in."""
    shadowed: bool = False
    """Another file of the same name comes first (it is the one a name finds)."""


def config_home(env: Mapping[str, str]) -> str:
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        return xdg
    return os.path.join(_home(env), ".config")


def own_dir(env: Mapping[str, str] | None = None) -> str:
    """tmuxorch's folder of named layouts (where ``freeze`` saves by default)."""
    return os.path.join(config_home(os.environ if env is None else env), "tmuxorch", "layouts")


def layout_dirs(env: Mapping[str, str] | None = None) -> list[str]:
    """The folders of named layouts, in lookup order (existing or not; no repeats)."""
    env = os.environ if env is None else env
    dirs = [own_dir(env)]
    if env.get("TMUXP_CONFIGDIR"):
        dirs.append(_expand(env["TMUXP_CONFIGDIR"], env))
    dirs.append(os.path.join(config_home(env), "tmuxp"))
    dirs.append(os.path.join(_home(env), ".tmuxp"))
    unique: list[str] = []
    for d in dirs:
        d = os.path.normpath(d)
        if d not in unique:
            unique.append(d)
    return unique


def files_in(directory: str) -> list[str]:
    """Layout files in a folder of named layouts (not hidden ones), sorted by name."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(
        os.path.join(directory, n)
        for n in names
        if n.endswith(EXTENSIONS)
        and not n.startswith(".")
        and os.path.isfile(os.path.join(directory, n))
    )


def local_files(directory: str) -> list[str]:
    """A project directory's own layout files, in the order they are used."""
    return [
        os.path.join(directory, n)
        for n in LOCAL_NAMES
        if os.path.isfile(os.path.join(directory, n))
    ]


def find_all(cwd: str, env: Mapping[str, str] | None = None) -> list[Found]:
    """Every layout: ``cwd``'s own files first, then each folder's, in lookup order."""
    found = [Found(os.path.basename(p), p, cwd) for p in local_files(cwd)]
    seen: set[str] = set()
    for directory in layout_dirs(env):
        for path in files_in(directory):
            name = os.path.splitext(os.path.basename(path))[0]
            found.append(Found(name, path, directory, shadowed=name in seen))
            seen.add(name)
    return found


def is_name(arg: str) -> bool:
    """A bare name (``work``), not a path (``./work``, ``work.yaml``, ``a/b``)."""
    return bool(arg) and arg not in (".", "..") and "/" not in arg and not arg.endswith(EXTENSIONS)


def find_named(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The file a bare name means: ``NAME.yaml``/``.yml``/``.json`` in the first folder
    that has one."""
    for directory in layout_dirs(env):
        for ext in EXTENSIONS:
            path = os.path.join(directory, name + ext)
            if os.path.isfile(path):
                return path
    return None


def resolve(arg: str | None, cwd: str, env: Mapping[str, str] | None = None) -> str | None:
    """The layout file ``arg`` means: an existing file; a directory's own layout (``.``
    or none: ``cwd``'s); else a name looked up in the layout folders. None if none is."""
    if arg is None or arg in (".", "./"):
        local = local_files(cwd)
        return local[0] if local else None
    path = os.path.join(cwd, os.path.expanduser(arg))
    if os.path.isfile(path):
        return path
    local = local_files(path) if os.path.isdir(path) else []
    if local:
        return local[0]
    return find_named(arg, env) if is_name(arg) else None


def _home(env: Mapping[str, str]) -> str:
    return env.get("HOME") or os.path.expanduser("~")


def _expand(path: str, env: Mapping[str, str]) -> str:
    if path == "~" or path.startswith("~/"):
        return _home(env) + path[1:]
    return path
