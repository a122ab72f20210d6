"""Routing by asking: a ``route:`` rule with ``ask: NAME`` has the agent NAME (in headless
mode, :mod:`tmuxorch.agents.asking`) choose which of the rule's agents does a task, when the
task is about to start — in a thread of its own, so the run goes on meanwhile (the task
waits for the answer). The answer must name one of those agents; anything else (no
answer, an unknown name, a failure) leaves the rule's first agent, and the reason says
so."""

from __future__ import annotations

import re
import threading

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.run.context import Run
    from tmuxorch.spec.task_model import Task

TIMEOUT = 180.0
QUESTION = """You route coding tasks to AI agents. Choose the agent best suited to this task.

Agents (name: what it is):
{agents}

The task ({task}):
{prompt}

Answer with the agent's name only, on one line."""


class Asker:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.answers: dict[str, tuple[str, str]] = {}
        self.asked: set[str] = set()
        self._lock = threading.Lock()

    def choice(self, task: Task) -> tuple[str, str] | None:
        """The agent chosen for ``task`` and why; None while the answer is awaited (the
        question is asked on the first call)."""
        with self._lock:
            if task.id in self.answers:
                return self.answers[task.id]
            if task.id not in self.asked:
                self.asked.add(task.id)
                threading.Thread(target=self._ask, args=(task,), daemon=True).start()
        return None

    def _ask(self, task: Task) -> None:
        names = list(dict.fromkeys((task.agent, *task.fallback)))
        asked = str(task.ask)
        try:
            answer = ask_agent(self.run, task, names)
        except Exception as exc:  # it must answer something: the rule's first, and why
            answer = (names[0], f"route: {asked} could not be asked ({exc}); its first agent")
        with self._lock:
            self.answers[task.id] = answer


def ask_agent(run: Run, task: Task, names: list[str]) -> tuple[str, str]:
    from tmuxorch.agents.asking import ask

    asked = str(task.ask)
    described = "\n".join(f"- {n}: {run.taskset.agent(n).description or n}" for n in names)
    question = QUESTION.format(agents=described, task=task.id, prompt=task.prompt or task.command)
    got = ask(run.taskset.agent(asked), question, cwd=task.cwd or ".", timeout=TIMEOUT)
    said = got.text.strip()
    for word in re.findall(r"[\w.-]+", said):
        for name in names:
            if word.lower() == name.lower():
                return name, f"route: {asked} chose it"
    shown = said.splitlines()[0][:60] if said else "nothing"
    return names[0], f"route: {asked} answered {shown!r}, not one of its agents; its first agent"
