"""The class of an ended attempt's failure, from what its pane showed (the run's side of
:mod:`tmuxorch.agents.failures`): its screen as the poller last saw it and as tmux shows it
now (with some scrollback), or the end of its transcript once its pane is gone."""

from __future__ import annotations

from tmuxorch.agents import failures
from tmuxorch.run import conditions
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.agents.failures import Failure
    from tmuxorch.run.context import Attempt, Run

ENDS_BY_ITSELF = ("exit", "idle")
"""``done_when`` kinds whose success an agent's own last lines may still undo (a limit or a
lost login: the agent did not do the task). One that wrote its result or file did it."""


def diagnose(
    run: Run, attempt: Attempt, *, ok: bool, code: int | None, reason: str | None
) -> Failure | None:
    """Why ``attempt`` failed (None: it did not). ``ok``: it otherwise succeeded, and only
    its agent's own words can undo that (see :func:`failures.classify`)."""
    profile = run.profile(attempt)
    agent = profile.preset
    if ok:
        done = conditions.of(attempt).done.kind
        if done not in ENDS_BY_ITSELF or not attempt.pane or agent not in failures.PRESETS:
            return None  # nothing of its own that could say otherwise (a plain command...)
    ended = attempt.cause or (failures.EXITED if code is not None else failures.LOST)
    return failures.classify(
        shown(run, attempt),
        agent=agent,
        ended=ended,
        ok=ok,
        code=code,
        reason=reason,
        now=run.clock(),
    )


def shown(run: Run, attempt: Attempt) -> str:
    """What the attempt's pane showed last: the poller's last screen (seen while its
    program lived: a full-screen program takes its screen with it), then tmux's screen now
    with the scrollback above it — or, with no pane left, its transcript's end."""
    if not attempt.pane:
        from tmuxorch.bridge.sinks import transcript_end

        return "\n".join(transcript_end(attempt.files.transcript))
    from tmuxorch.tmux.panes import capture

    seen = run.poller.screen(attempt.pane) or ""
    try:
        client, raw = run.tmux(attempt.pane)
        now = capture(client, [raw], scrollback=failures.TAIL).get(raw, "")
    except TmuxError:
        now = ""
    if not now.strip():
        from tmuxorch.bridge.sinks import transcript_end

        now = "\n".join(transcript_end(attempt.files.transcript))
    return f"{seen}\n{now}"
