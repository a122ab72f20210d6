"""What ``freeze`` writes reads back as the session it saw (pure: no tmux here).

Any names, directories, programs and jobs: the document, as YAML and as JSON, is a valid
layout whose panes start where they were, run the same program, and get the same job typed
(argv for argv, through the layout reader's ``$NAME`` expansion and the shell's quoting).
"""

from __future__ import annotations

import os
import shlex
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st

from tmuxorch.spec.documents import dump
from tmuxorch.spec.freezer import (
    PaneSeen,
    SessionSeen,
    WindowSeen,
    command_text,
    freeze,
    in_layout_order,
    readback_problems,
)
from tmuxorch.spec.workspace import load_workspace

ROOT = os.path.realpath(tempfile.mkdtemp(prefix="tmuxorch-freezer-"))
HOME = os.path.join(ROOT, "home")
PROJECT = os.path.join(HOME, "project")
PLAIN = ["", ROOT, HOME, PROJECT, f"{PROJECT}/src", f"{PROJECT}/~x", f"{ROOT}/a b", "/"]
DOLLAR = [f"{ROOT}/d$HOME", f"{PROJECT}/${{X}}y"]
for _d in PLAIN[1:] + DOLLAR:
    os.makedirs(_d, exist_ok=True)
ENV = {"HOME": HOME, "X": "expanded", "USER": "me"}

words = st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=8)
argv = st.lists(words, min_size=1, max_size=4).filter(lambda a: bool(a[0]))
name = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cc"], exclude_characters="$:."), min_size=1
).filter(lambda n: not n.startswith("~") and n.strip() == n and bool(n))


@st.composite
def panes(draw: st.DrawFn, count: int) -> tuple[PaneSeen, ...]:
    out = []
    for i in range(count):
        program = draw(st.one_of(st.just(()), argv.map(tuple)))
        job = draw(st.one_of(st.just(()), argv.map(tuple))) if not program else ()
        path = draw(st.sampled_from(PLAIN + DOLLAR))
        out.append(PaneSeen(f"%{i + 10}", path, False, program, job))
    active = draw(st.integers(0, count - 1))
    out[active] = PaneSeen(
        out[active].id, out[active].path, True, out[active].program, out[active].job
    )
    return tuple(out)


@st.composite
def sessions(draw: st.DrawFn) -> SessionSeen:
    windows = []
    indexes = sorted(draw(st.sets(st.integers(0, 9), min_size=1, max_size=3)))
    active = draw(st.sampled_from(indexes))
    for index in indexes:
        count = draw(st.integers(1, 4))
        seen = draw(panes(count))
        order = draw(st.permutations([p.id.lstrip("%") for p in seen]))
        cells = ",".join(f"220x10,0,{11 * i},{n}" for i, n in enumerate(order))
        layout = f"abcd,220x50,0,0[{cells}]" if count > 1 else f"abcd,220x50,0,0,{order[0]}"
        auto = draw(st.booleans())
        options = (("remain-on-exit", "on"), ("synchronize-panes", "on"))[: draw(st.integers(0, 2))]
        windows.append(WindowSeen(index, draw(name), layout, seen, auto, index == active, options))
    return SessionSeen(draw(name), tuple(windows))


@settings(max_examples=300, deadline=None)
@given(sessions(), st.sampled_from(["yaml", "json"]), st.sampled_from([PROJECT, None]))
def test_the_frozen_document_reads_back_as_the_session(
    session: SessionSeen, fmt: str, file_dir: str | None
) -> None:
    frozen = freeze(session, file_dir=file_dir, home=HOME)
    path = os.path.join(file_dir or ROOT, "frozen." + fmt)
    ws = load_workspace(path, env=ENV, text=dump(frozen.document, fmt)).workspace
    assert readback_problems(frozen, ws) == []
    assert ws.session_name == session.name
    assert len(ws.windows) == len(session.windows)
    for seen, built in zip(session.windows, ws.windows, strict=True):
        assert built.name == (None if seen.auto_name else seen.name)
        assert built.index == (
            None
            if [w.index for w in session.windows] == list(range(len(session.windows)))
            else seen.index
        )
        assert built.focus == (seen.active and len(session.windows) > 1)
        assert dict(built.options) == {k: v for k, v in seen.options if k != "synchronize-panes"}
        assert dict(built.options_after) == {
            k: v for k, v in seen.options if k == "synchronize-panes"
        }
        ordered = in_layout_order(seen.layout, seen.panes)
        if len(ordered) > 1:
            assert built.layout == seen.layout
        for pane, made in zip(ordered, built.panes, strict=True):
            if pane.path and pane.path not in DOLLAR:
                assert made.start_directory == pane.path
            else:
                assert made.start_directory != pane.path
            if pane.program:
                assert made.shell is not None and (
                    [made.shell] if len(pane.program) == 1 else shlex.split(made.shell)
                ) == list(pane.program)
            assert [shlex.split(c.text) for c in made.commands] == (
                [list(pane.job)] if pane.job else []
            )
            assert made.focus == (pane.active and len(ordered) > 1)
    left_out = {p.path for w in session.windows for p in w.panes if p.path in DOLLAR}
    assert all(any(d in note for note in frozen.notes) for d in left_out)


@given(argv)
def test_a_job_is_typed_argv_for_argv(words: list[str]) -> None:
    """Through the reader's ``$NAME`` expansion (``$HOME`` is set), then the shell."""
    text = command_text(tuple(words))
    doc = {"session_name": "s", "windows": [{"panes": [{"shell_command": [text]}]}]}
    ws = load_workspace(os.path.join(ROOT, "x.yaml"), env=ENV, text=dump(doc, "yaml")).workspace
    (command,) = ws.windows[0].panes[0].commands
    assert shlex.split(command.text) == words
