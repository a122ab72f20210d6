"""``tmuxorch plan "GOAL" -o FILE``: an agent, asked in headless mode, writes a tasks file
for the goal; it is checked as ``tmuxorch validate`` checks files, sent back once with its
problems if it has any, and written only when valid (never over an existing file without
``--force``). Then its graph and the command that runs it; ``--run`` runs it, after a yes.

Exit 2: bad input, or the agent's second answer is still invalid (nothing written; the
answer is kept in the state folder, which is said). Exit 1: the agent could not start,
failed, or gave no answer in time.
"""

from __future__ import annotations

import os
import shlex
import sys
import time

from tmuxorch.cli.output import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, bad_input, fail, info

TYPE_CHECKING = False  # cheaper than importing typing (~8 ms)
if TYPE_CHECKING:
    from tmuxorch.spec.errors import Problem
    from tmuxorch.spec.task_model import AgentProfile
    from tmuxorch.spec.user_config import UserConfig

DEFAULT_TIMEOUT = 600.0
PLANNER = "planner"
"""The user config's profile ``plan`` uses when not told (if there is one)."""
SUFFIXES = (".yaml", ".yml")


def plan(
    goal: str,
    *,
    output: str = "tasks.yaml",
    agent: str | None = None,
    run: bool = False,
    yes: bool = False,
    force: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    socket_name: str | None = None,
    socket_path: str | None = None,
) -> int:
    from tmuxorch.spec import planning
    from tmuxorch.spec.errors import SpecError
    from tmuxorch.spec.user_config import load_user_config

    goal = sys.stdin.read() if goal == "-" else goal
    bad = _bad_options(goal, output, timeout, run and bool(socket_name and socket_path), force)
    if bad:
        return fail(bad, EXIT_BAD_INPUT)
    try:
        user = load_user_config(sections=("agents",))
    except SpecError as exc:
        return bad_input(exc)
    asker = _asker(agent, user)
    if isinstance(asker, int):
        return asker
    first = planning.request(goal, output, _agent_lines(user))
    cwd = os.path.dirname(os.path.abspath(output))
    answer = _answer(asker, first, cwd, timeout, f"to plan {output}")
    if isinstance(answer, int):
        return answer
    text = planning.extract(answer)
    problems = planning.check(output, text)
    if problems:
        info(f"its answer has {len(problems)} problem(s); asked once more, with them:")
        for problem in problems:
            info(str(problem))
        second = planning.again(first, text, problems, output)
        answer = _answer(asker, second, cwd, timeout, f"to fix {output}")
        if isinstance(answer, int):
            return answer
        text = planning.extract(answer)
        problems = planning.check(output, text)
    if problems:
        return _rejected(output, text, problems)
    written = _write(output, text, force=force)
    if written:
        return written
    info(f"wrote {output}")
    from tmuxorch.cli import tasks as tasks_cmd

    tasks_cmd.graph(output)
    server = ("-L", socket_name) if socket_name else ("-S", socket_path) if socket_path else ()
    then = shlex.join(("tmuxorch", "run", *server, output))
    if not run:
        info(f"next: {then}")
        return EXIT_OK
    if not yes and not _confirmed(then):
        return EXIT_OK
    return tasks_cmd.run(output, socket_name=socket_name, socket_path=socket_path)


def _bad_options(goal: str, output: str, timeout: float, both: bool, force: bool) -> str | None:
    if not goal.strip():
        return "GOAL is empty: say what the tasks are to achieve"
    if not output.endswith(SUFFIXES):
        return f"-o {output}: plan writes YAML: give a .yaml or .yml file"
    if os.path.lexists(output) and not force:
        return f"{output} exists: not overwritten (--force replaces it)"
    if os.path.isdir(output):
        return f"{output} is a folder"
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        return f"-o {output}: no folder {os.path.dirname(os.path.abspath(output))}"
    if not timeout > 0:
        return f"--timeout {timeout:g}: must be more than 0 seconds"
    if both:
        return "give -L or -S, not both"
    return None


def _asker(name: str | None, user: UserConfig) -> AgentProfile | int:
    """The agent to ask, in its headless form: ``name`` (a profile of the user config, or a
    preset), else the profile ``planner``, else the first profile or preset that can answer
    and is installed here; or the exit status of why none."""
    from tmuxorch.agents.asking import CannotAsk, headless
    from tmuxorch.agents.installed import missing
    from tmuxorch.agents.presets import PRESETS, find
    from tmuxorch.spec.source import did_you_mean

    profiles = {p.name: p for p in user.agents}
    if name is not None:
        found = profiles.get(name)
        preset = find(name)
        if found is None and preset is not None:
            found = preset.profile()
        if found is None:
            known = [*profiles, *(p.name for p in PRESETS)]
            hint = did_you_mean(name, known, "agents")
            said = f"--agent {name}: unknown agent" + (f" ({hint})" if hint else "")
            return fail(said, EXIT_BAD_INPUT)
        try:
            asker = headless(found)
        except CannotAsk as exc:
            return fail(f"--agent {name}: {exc}", EXIT_BAD_INPUT)
        why = missing(asker)
        if why:
            return fail(f"--agent {name}: {why}", EXIT_FAILED)
        return asker
    candidates = [*([profiles[PLANNER]] if PLANNER in profiles else []), *user.agents]
    candidates += [p.profile() for p in PRESETS if p.program]
    for candidate in candidates:
        try:
            asker = headless(candidate)
        except CannotAsk:
            continue
        if missing(asker) is None:
            return asker
    clis = ", ".join(p.name for p in PRESETS if p.program)
    return fail(
        f"no agent to plan with: none of {clis} is installed here (see 'tmuxorch agents'),"
        " and no profile of the user config can answer; name one with --agent",
        EXIT_FAILED,
    )


def _agent_lines(user: UserConfig) -> list[str]:
    """What the planner is told of each agent a task may name."""
    from tmuxorch.agents.installed import missing
    from tmuxorch.agents.presets import PRESETS, find

    lines = []
    for profile in user.agents:
        base = find(profile.preset)
        what = base.description if base else profile.preset
        here = "not installed here" if missing(profile) else "installed here"
        lines.append(f"{profile.name}: the user's profile of {what} ({profile.mode}); {here}")
    for preset in PRESETS:
        if preset.program is None or any(p.name == preset.name for p in user.agents):
            continue  # shell is `command:`; demo is a stand-in
        here = "not installed here" if missing(preset.profile()) else "installed here"
        lines.append(f"{preset.name}: {preset.description}; {here}")
    return lines


def _answer(asker: AgentProfile, prompt: str, cwd: str, timeout: float, why: str) -> str | int:
    """What ``asker`` printed, or the exit status of why there is no answer."""
    from tmuxorch.agents.asking import ask

    info(f"asking {asker.name} {why} (in {cwd}; at most {timeout:g} s)...")
    try:
        answer = ask(asker, prompt, cwd=cwd, timeout=timeout)
    except OSError as exc:
        return fail(f"{asker.name} could not start: {exc}")
    except KeyboardInterrupt:
        return fail(f"interrupted: {asker.name} was stopped, nothing written")
    if answer.code is None:
        return fail(f"{asker.name} gave no answer within {timeout:g} s: stopped, nothing written")
    if answer.code != 0:
        return fail(f"{asker.name} failed (exit status {answer.code}): nothing written")
    return answer.text


def _rejected(output: str, text: str, problems: tuple[Problem, ...]) -> int:
    """The second answer is still invalid: kept in the state folder, its problems said
    of where it is kept (their lines and columns are that file's)."""
    from tmuxorch import private
    from tmuxorch.spec import planning
    from tmuxorch.spec.user_config import state_dir

    folder = private.folder(os.path.join(state_dir(), "plans"))
    stem = os.path.splitext(os.path.basename(output))[0]
    kept = os.path.join(folder, f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{stem}.yaml")
    private.write(kept, text)
    for problem in planning.moved(problems, output, kept):
        print(problem, file=sys.stderr)
    return fail(
        f"{output} not written: the agent's second answer has problems too; it is kept in {kept}",
        EXIT_BAD_INPUT,
    )


def _write(output: str, text: str, *, force: bool) -> int:
    """``text`` into ``output`` (an existing one only with ``force``); 0 or why not."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(output, flags, 0o666)
    except FileExistsError:  # made while the agent thought
        return fail(f"{output} exists: not overwritten (--force replaces it)", EXIT_BAD_INPUT)
    except OSError as exc:
        return fail(f"cannot write {output}: {exc}")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    return EXIT_OK


def _confirmed(then: str) -> bool:
    """A person said yes to running it (no terminal to ask on: no, and said so)."""
    if not sys.stdin.isatty():
        info(f"not started: no terminal to confirm on (--yes runs it without asking): {then}")
        return False
    try:
        said = input(f"Run it now ({then})? [y/N] ")
    except (EOFError, KeyboardInterrupt):
        said = ""
        print(file=sys.stderr)
    if said.strip().lower() in ("y", "yes"):
        return True
    info(f"not started; to run it: {then}")
    return False
