"""Screens as diff-match-patch patches, diffed by line (character mode on two screens that
differ a lot hits its timeout: a full 200x50 redraw costs a second)."""

from __future__ import annotations

import functools

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from diff_match_patch import diff_match_patch


@functools.cache
def _matcher() -> diff_match_patch:
    """Loaded with the first frame (urllib.parse comes with it: not before the first panes)."""
    from diff_match_patch import diff_match_patch

    dmp = diff_match_patch()
    dmp.Diff_Timeout = 0.1  # a guard only: line mode takes well under a millisecond
    return dmp


def make_patch(old: str, new: str) -> str:
    """A patch (``patch_toText``) turning ``old`` into ``new``."""
    if old == new:
        return ""
    _dmp = _matcher()
    chars_old, chars_new, lines = _dmp.diff_linesToChars(old, new)
    diffs = _dmp.diff_main(chars_old, chars_new, False)
    _dmp.diff_charsToLines(diffs, lines)
    return str(_dmp.patch_toText(_dmp.patch_make(old, diffs)))


def apply_patch(old: str, patch: str) -> str:
    """``old`` with ``patch`` applied; ValueError if it does not apply exactly."""
    if not patch:
        return old
    _dmp = _matcher()
    new, applied = _dmp.patch_apply(_dmp.patch_fromText(patch), old)
    if not all(applied):
        raise ValueError("patch does not apply to this frame")
    return str(new)
