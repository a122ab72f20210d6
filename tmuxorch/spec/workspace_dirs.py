"""Where layout files are found, as tmuxp finds its workspaces (and tmuxorch's own folder).

- A name (no folder, no ``.``, e.g. ``myproject``) is looked up in the layout folders of
  :func:`workspace_dirs`, as ``NAME.yaml``, ``NAME.yml`` or ``NAME.json`` (a name given
  with one of those endings is looked up as it is).
- A folder holding a layout of its own (``.tmuxorch.yaml``, ``.tmuxp.yaml``... see
  :data:`LOCAL_FILES`) means that layout: ``tmuxorch layout .`` in a project.

Pure apart from reading the environment and the file system; ``tmuxorch layout`` and
``tmuxorch ls`` use the same folders.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

    from tmuxorch.spec.errors import Problem

EXTENSIONS = (".yaml", ".yml", ".json")
"""Endings of layout files, in the order a name is tried (tmuxp's order)."""

LOCAL_FILES = (
    ".tmuxorch.yaml",
    ".tmuxorch.yml",
    ".tmuxorch.json",
    ".tmuxp.yaml",
    ".tmuxp.yml",
    ".tmuxp.json",
)
"""A project folder's own layout, first found wins (tmuxorch's before tmuxp's)."""
LOCAL_NAMES = LOCAL_FILES


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


def workspace_dirs(env: Mapping[str, str] | None = None) -> list[str]:
    """The folders named layouts are looked up in, first first (they need not exist).

    ``$XDG_CONFIG_HOME/tmuxorch/layouts`` (default ``~/.config/tmuxorch/layouts``), then
    tmuxp's: ``$TMUXP_CONFIGDIR``, ``$XDG_CONFIG_HOME/tmuxp`` (default
    ``~/.config/tmuxp``) and ``~/.tmuxp``. tmuxp itself uses only the first of its folders
    that exists; here a name is looked for in each, in this order.
    """
    env = os.environ if env is None else env
    home = env.get("HOME") or os.path.expanduser("~")
    config = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    dirs = [os.path.join(config, "tmuxorch", "layouts")]
    if env.get("TMUXP_CONFIGDIR"):
        dirs.append(_expand(env["TMUXP_CONFIGDIR"], home))
    dirs += [os.path.join(config, "tmuxp"), os.path.join(home, ".tmuxp")]
    seen: list[str] = []
    for folder in dirs:
        folder = os.path.normpath(folder)
        if folder not in seen:
            seen.append(folder)
    return seen


def own_dir(env: Mapping[str, str] | None = None) -> str:
    """tmuxorch's folder of named layouts (where ``freeze`` saves by default)."""
    return workspace_dirs(env)[0]


layout_dirs = workspace_dirs


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


def find_all(cwd: str, env: Mapping[str, str] | None = None) -> list[Found]:
    """Every layout: ``cwd``'s own files first, then each folder's, in lookup order."""
    found = [Found(os.path.basename(p), p, cwd) for p in local_layouts(cwd)]
    seen: set[str] = set()
    for directory in workspace_dirs(env):
        for path in files_in(directory):
            name = os.path.splitext(os.path.basename(path))[0]
            found.append(Found(name, path, directory, shadowed=name in seen))
            seen.add(name)
    return found


def resolve(arg: str | None, cwd: str, env: Mapping[str, str] | None = None) -> str | None:
    """The layout file ``arg`` means: an existing file; a directory's own layout (``.``
    or none: ``cwd``'s); else a name looked up in the layout folders. None if none is."""
    if arg is None or arg in (".", "./"):
        local = local_layouts(cwd)
        return local[0] if local else None
    path = os.path.join(cwd, os.path.expanduser(arg))
    if os.path.isfile(path):
        return path
    local = local_layouts(path) if os.path.isdir(path) else []
    if local:
        return local[0]
    return find_named(arg, env) if is_name(arg) else None


def is_name(arg: str) -> bool:
    """Whether ``arg`` names a layout rather than a path: no folder in it, not ``.``."""
    return bool(arg) and os.sep not in arg and not arg.startswith(("~", ".")) and arg != ".."


def candidates(name: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The files ``name`` may mean, in the order they are tried."""
    if not is_name(name):
        return []
    endings = ("",) if name.endswith(EXTENSIONS) else EXTENSIONS
    return [os.path.join(folder, name + end) for folder in workspace_dirs(env) for end in endings]


def find_named(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The layout file called ``name`` in the folders of :func:`workspace_dirs`, or None."""
    for path in candidates(name, env):
        if os.path.isfile(path):
            return path
    return None


def local_layouts(folder: str) -> list[str]:
    """The layout files of a project folder (:data:`LOCAL_FILES` that exist), in order."""
    return [
        os.path.join(folder, name)
        for name in LOCAL_FILES
        if os.path.isfile(os.path.join(folder, name))
    ]


def find_layout(arg: str, env: Mapping[str, str] | None = None) -> tuple[str, list[Problem]]:
    """The file ``arg`` means for ``tmuxorch layout``, and warnings about the choice.

    An existing file is itself; a folder is its own layout (:func:`local_layouts`) if it has
    one, else itself (a folder of task files); a name that is no file here is looked up
    with :func:`find_named` (:class:`~tmuxorch.spec.errors.SpecError` if it is nowhere).
    Anything else is returned as it is, for the reader to say what is wrong with it.
    """
    from tmuxorch.spec.errors import Problem

    if os.path.isdir(arg):
        found = local_layouts(arg)
        if not found:
            return arg, []
        family = [f for f in found if _stem(f) == _stem(found[0])]
        warnings = []
        if len(family) > 1:
            others = ", ".join(os.path.basename(f) for f in family[1:])
            warnings.append(
                Problem(found[0], 1, 1, "(file)", f"the folder also holds {others}: using this one")
            )
        return found[0], warnings
    if os.path.lexists(arg) or not is_name(arg):
        return arg, []
    named = find_named(arg, env)
    if named is not None:
        return named, []
    from tmuxorch.spec.errors import SpecError

    home = (os.environ if env is None else env).get("HOME") or os.path.expanduser("~")
    endings = "" if arg.endswith(EXTENSIONS) else "{" + ",".join(EXTENSIONS) + "}"
    folders = ", ".join(_tilde(folder, home) for folder in workspace_dirs(env))
    raise SpecError(
        [
            Problem(
                arg,
                1,
                1,
                "(file)",
                "no such file, and no layout of that name",
                f"looked for {arg}{endings} in {folders}",
            )
        ]
    )


def _stem(path: str) -> str:
    return os.path.basename(path).rsplit(".", 1)[0]


def _tilde(path: str, home: str) -> str:
    home = home.rstrip(os.sep)
    if home and (path == home or path.startswith(home + os.sep)):
        return "~" + path[len(home) :]
    return path


def _expand(path: str, home: str) -> str:
    if path == "~" or path.startswith("~/"):
        return home + path[1:]
    return path
