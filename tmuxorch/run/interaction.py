"""Talking with agents through their screens: what each agent is doing, its start-up
dialogs (answered, left to a person, or the end of the attempt, as its profile says), its
prompt typed once it is ready, and its conversation id when it shows one."""

from __future__ import annotations

import re
import threading
import time

from tmuxorch.agents import dialogs, failures
from tmuxorch.agents.patterns import IDLE, WAITING
from tmuxorch.run import events
from tmuxorch.run.context import DIALOG_SETTLE
from tmuxorch.tmux.client import TmuxError

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from collections.abc import Callable

    from tmuxorch.bridge.poller import Event
    from tmuxorch.run.context import Attempt, Run
    from tmuxorch.run.ending import Ending
    from tmuxorch.spec.task_model import AgentProfile
    from tmuxorch.tmux.client import Client

DIALOG_TRIES = 3
"""Answers to one dialog before it is left to a person."""
LAST_LINES = 5


class Interaction:
    def __init__(self, run: Run, ending: Ending) -> None:
        self.run = run
        self.ending = ending

    def on_screen(self, attempt: Attempt, event: Event) -> None:
        """A poller event (lines, a frame) of a live attempt's pane."""
        profile = self.run.profile(attempt)
        if profile.session_capture and event["type"] in ("lines", "frame"):
            self._capture_session(attempt, profile, event)
        if profile.dialogs and event["type"] == "frame":
            self.dialogs(attempt)

    def after_screen(self, attempt: Attempt) -> None:
        """Once the screen was looked at: type the prompt if the agent is ready for it."""
        if not attempt.typed and self.run.profile(attempt).prompt == "type":
            self._type_prompt(attempt)

    def hooked(self, attempt: Attempt) -> None:
        """Its agent's hooks said something (see :mod:`tmuxorch.agents.hooks`): first-hand
        news of what it does, acted on as the screen's would be."""
        from tmuxorch.agents.hooks import read_events, state_of

        try:
            with open(attempt.files.hooks, "rb") as handle:
                handle.seek(attempt.hooks_read)
                data = handle.read().decode("utf-8", "replace")
        except OSError:
            return
        found, used = read_events(data)
        attempt.hooks_read += len(data[:used].encode("utf-8"))
        for event in found:
            state = state_of(event)
            if state is not None and not attempt.ending:
                said = event.get("message")
                self.agent_state(attempt, state, said=str(said) if said else None)

    def agent_state(self, attempt: Attempt, state: str, said: str | None = None) -> None:
        run = self.run
        task_id = attempt.task.id
        previous = run.activity.get(task_id)
        run.activity[task_id] = state
        attempt.idle_since = time.monotonic() if state == IDLE else None
        run.publish(events.ACTIVITY, task=task_id, pane=attempt.pane, activity=state)
        if state == WAITING and previous != WAITING and not self._answering(attempt):
            self._waiting(attempt, said)

    def _waiting(self, attempt: Attempt, said: str | None = None) -> None:
        """Tell people: the agent waits for one of them (``said``: what its hook said)."""
        screen = self.run.poller.screen(attempt.pane) or ""
        lines = [ln for ln in screen.splitlines() if ln.strip()][-LAST_LINES:]
        if said:
            lines.append(said)
        task_id = attempt.task.id
        self.run.publish(events.WAITING, task=task_id, pane=attempt.pane, last_lines=lines)

    def _answering(self, attempt: Attempt) -> bool:
        """A dialog tmuxorch answers itself is on screen (no person is needed for it)."""
        profile = self.run.profile(attempt)
        if profile.dialog_policy != "accept" or not profile.dialogs:
            return False
        if attempt.dialog_gave_up:
            return False
        screen = self.run.poller.screen(attempt.pane) or ""
        return any(dialogs.showing(d, screen) for d in profile.dialogs)

    def _capture_session(self, attempt: Attempt, profile: AgentProfile, event: Event) -> None:
        """The agent showed its conversation id (codex prints it, claude on exit...)."""
        assert profile.session_capture is not None
        if event["type"] == "lines":
            text = "\n".join(str(line) for line in event["lines"])  # type: ignore[attr-defined]
        else:
            text = self.run.poller.screen(attempt.pane) or ""
        found = re.search(profile.session_capture, text)
        task_id = attempt.task.id
        if found and self.run.sessions.get(task_id) != found.group(1):
            self.run.sessions[task_id] = found.group(1)
            self.run.publish(events.CONVERSATION, task=task_id, session=found.group(1))

    def dialogs(self, attempt: Attempt) -> None:
        """A start-up dialog on screen: answered (policy accept), left to a person (ask,
        or when the answer cannot be told), or the end of the attempt (fail). Looked at on
        each new screen, and again a moment later (a screen that stays put sends none)."""
        run, profile = self.run, self.run.profile(attempt)
        attempt.dialog_recheck = None
        screen = run.poller.screen(attempt.pane) or ""
        dialog = next((d for d in profile.dialogs if dialogs.showing(d, screen)), None)
        if dialog is None or profile.dialog_policy == "ask":
            return
        task_id = attempt.task.id
        if profile.dialog_policy == "fail":
            why = f"stopped at its {dialog.name} dialog (dialogs: fail)"
            attempt.cause = failures.STOPPED
            self.ending.end(attempt, ok=False, code=None, reason=why)
            return
        now = time.monotonic()
        answers = attempt.dialog_answers = attempt.dialog_answers or {}
        tries = answers.get(dialog.name, 0)
        if now < attempt.dialog_at + DIALOG_SETTLE:
            attempt.dialog_recheck = attempt.dialog_at + DIALOG_SETTLE
            return  # the last answer may not have been drawn yet
        keys = dialogs.answer(dialog, screen)
        if keys is None and tries < DIALOG_TRIES:  # half drawn, maybe: look again soon
            answers[dialog.name], attempt.dialog_at = tries + 1, now
            attempt.dialog_recheck = now + DIALOG_SETTLE
            return
        if keys is None or tries >= DIALOG_TRIES:
            if tries <= DIALOG_TRIES:
                answers[dialog.name] = DIALOG_TRIES + 1
                attempt.dialog_gave_up = True
                run.note(
                    f"{task_id}: its {dialog.name} dialog needs you (tmuxorch attach {task_id})",
                    task_id,
                )
                self._waiting(attempt)  # now a person is needed
            return
        answers[dialog.name], attempt.dialog_at = tries + 1, now
        attempt.dialog_recheck = now + DIALOG_SETTLE  # still there then: answer again
        run.note(f"{task_id}: answered its {dialog.name} dialog ({' '.join(keys)})", task_id)
        from tmuxorch.bridge.send import press

        def answer(client: Client, pane: str) -> str | None:
            return press(client, pane, keys, delay=profile.enter_delay)

        _in_pane(run, attempt, answer, "could not answer its dialog")

    def due(self) -> float | None:
        """When a dialog is to be looked at again, or a typed prompt has waited too long."""
        times = [a.dialog_recheck for a in self.run.attempts.values() if a.dialog_recheck]
        times += [t for a in self.run.attempts.values() if (t := self._type_by(a)) is not None]
        return min(times, default=None)

    def _type_by(self, attempt: Attempt) -> float | None:
        """When its typed prompt must have been delivered (monotonic), if still due."""
        profile = self.run.profile(attempt)
        if attempt.typed or attempt.ending or profile.prompt != "type":
            return None
        return attempt.begun + profile.ready_timeout

    def check_typing(self) -> None:
        """A prompt never typed (its ``ready`` never showed) fails the attempt: an agent
        that never got its task has not done it."""
        now = time.monotonic()
        for attempt in list(self.run.attempts.values()):
            due = self._type_by(attempt)
            if due is not None and now >= due:
                profile = self.run.profile(attempt)
                shown = f"/{profile.ready}/" if profile.ready else "its prompt"
                why = f"its prompt was never typed: {shown} did not show within {profile.ready_timeout:g}s"
                attempt.cause = failures.STOPPED
                self.ending.end(attempt, ok=False, code=None, reason=why)

    def recheck_dialogs(self) -> None:
        now = time.monotonic()
        for attempt in list(self.run.attempts.values()):
            due = attempt.dialog_recheck
            if due is not None and now >= due and not attempt.ending:
                self.dialogs(attempt)

    def _type_prompt(self, attempt: Attempt) -> None:
        """Type delivery: once the agent's ``ready`` pattern shows, paste the prompt and
        press Enter (in a thread: the Enter protocol waits)."""
        from tmuxorch.bridge.send import deliver

        run, profile = self.run, self.run.profile(attempt)
        screen = run.poller.screen(attempt.pane) or ""
        if profile.ready and not re.search(profile.ready, screen, re.MULTILINE):
            return
        if any(dialogs.showing(d, screen) for d in profile.dialogs):
            return
        attempt.typed = True
        prompt = attempt.typed_prompt or ""

        def type_it(client: Client, pane: str) -> str | None:
            return deliver(client, pane, prompt, delay=profile.enter_delay)

        _in_pane(run, attempt, type_it, "could not type the prompt")


def _in_pane(
    run: Run, attempt: Attempt, act: Callable[[Client, str], str | None], failed: str
) -> None:
    """``act(client, pane)`` in a thread, on the attempt's pane here or on its host; what
    went wrong, in the run's notes."""
    task_id = attempt.task.id

    def work() -> None:
        try:
            client, pane = run.tmux(attempt.pane)
        except TmuxError as exc:
            why: str | None = str(exc)
        else:
            why = act(client, pane)
        if why:
            run.put("note", (task_id, f"{task_id}: {failed}: {why}"))

    threading.Thread(target=work, daemon=True).start()
