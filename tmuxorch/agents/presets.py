"""Built-in agent presets. Data only: a new agent is a new entry, not a new code path.

A preset knows how to start its CLI in each mode it has (``interactive``: its TUI, for a
person to watch and talk to; ``headless``: a one-shot run that exits when done), how the
prompt gets in, how a later attempt resumes the same conversation, what its screens look
like (:mod:`tmuxorch.agents.patterns`), and the dialogs it may stop at on start.

Checked against the CLIs' ``--help`` and real screens on 2026-11-22 (Claude Code 2.1.197,
Codex 0.169.0, Gemini CLI 0.61.0, OpenCode 1.18.33) and their documentation (Aider, Goose).
Flags drift: a layout's ``agents:`` profile overrides any of this (see README).
"""

from __future__ import annotations

from dataclasses import dataclass

from tmuxorch.agents.patterns import PATTERNS
from tmuxorch.spec.task_model import AgentProfile, Dialog, DoneWhen

EXIT = DoneWhen("exit")
IDLE = DoneWhen("idle", seconds=5.0)

TRUST_CLAUDE = Dialog(
    "trust",
    r"Do you trust the files in this folder\?|Is this a project you created or one you trust\?",
    choose=r"Yes, (proceed|I trust this folder)",
)
TRUST_CODEX = Dialog("trust", r"Trust this folder\?", choose=r"Trust and continue")
TRUST_GEMINI = Dialog(
    "trust", r"Do you trust the files in this folder\?", choose=r"Trust folder \("
)
AIDER_DIALOGS = (  # asked on its command line: only while the question is the last line
    Dialog("gitignore", r"Add \.aider\*? to \.gitignore.*\[Yes\]: ?\Z", keys=("y", "Enter")),
    Dialog("git-repo", r"No git repo found, create one.*\[Yes\]: ?\Z", keys=("y", "Enter")),
)


@dataclass(frozen=True)
class Mode:
    argv: tuple[str, ...]
    prompt: str = "none"
    prompt_args: tuple[str, ...] = ()
    resume_argv: tuple[str, ...] | None = None
    ready: str | None = None
    done_when: DoneWhen = EXIT


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    modes: tuple[tuple[str, Mode], ...]
    """The first is the default."""
    program: str | None = None
    """The executable it needs (None: nothing to install)."""
    install: str = ""
    session_capture: str | None = None
    enter_delay: float = 0.1
    dialogs: tuple[Dialog, ...] = ()
    takes_command: bool = False

    @property
    def mode_names(self) -> list[str]:
        return [name for name, _ in self.modes]

    def profile(self, mode: str | None = None, name: str | None = None) -> AgentProfile:
        """This preset as an agent profile, in ``mode`` (default: its first)."""
        chosen = dict(self.modes)[mode] if mode else self.modes[0][1]
        return AgentProfile(
            name=name or self.name,
            preset=self.name,
            argv=chosen.argv,
            prompt=chosen.prompt,
            prompt_args=chosen.prompt_args,
            resume_argv=chosen.resume_argv,
            session_capture=self.session_capture,
            takes_command=self.takes_command,
            ready=chosen.ready,
            enter_delay=self.enter_delay,
            patterns=PATTERNS.get(self.name, PATTERNS["shell"]),
            dialogs=self.dialogs,
            mode=mode or self.modes[0][0],
            done_when=chosen.done_when,
            program=self.program,
            install=self.install,
            description=self.description,
        )


DEMO = ("{python}", "-m", "tmuxorch.demo_agent")

PRESETS: tuple[Preset, ...] = (
    Preset(
        "shell",
        "the task's command, run with sh -c",
        (("headless", Mode(("sh", "-c", "{command}"))),),
        takes_command=True,
        enter_delay=0.0,
    ),
    Preset(
        "demo",
        "the bundled demo agent (no API key): streams work, asks, writes files",
        (
            (
                "headless",
                Mode(
                    (*DEMO, "--session-id", "{session}"),
                    "file",
                    ("--prompt-file", "{prompt_file}"),
                    resume_argv=(*DEMO, "--resume", "{session}"),
                ),
            ),
            (
                "interactive",
                Mode(
                    (*DEMO, "--interactive", "--session-id", "{session}"),
                    "file",
                    ("--prompt-file", "{prompt_file}"),
                    resume_argv=(*DEMO, "--interactive", "--resume", "{session}"),
                    ready=r"^❯ ",
                    done_when=IDLE,
                ),
            ),
        ),
        session_capture=r"demo --resume ([0-9a-f-]{36})",
        dialogs=(TRUST_CLAUDE,),
        enter_delay=0.05,
    ),
    Preset(
        "claude",
        "Claude Code (Anthropic)",
        (
            (
                "interactive",
                Mode(
                    ("claude", "--session-id", "{session}", "--settings", "{claude_settings}"),
                    "argument",
                    ("{prompt}",),
                    resume_argv=(
                        "claude",
                        "--resume",
                        "{session}",
                        "--settings",
                        "{claude_settings}",
                    ),
                    ready=r"\? for shortcuts",
                    done_when=IDLE,
                ),
            ),
            (
                "headless",
                Mode(
                    ("claude", "-p", "--session-id", "{session}"),
                    "argument",
                    ("{prompt}",),
                    resume_argv=("claude", "-p", "--resume", "{session}"),
                ),
            ),
        ),
        program="claude",
        install="npm install -g @anthropic-ai/claude-code",
        session_capture=r"claude --resume ([0-9a-f-]{36})",
        enter_delay=0.3,
        dialogs=(TRUST_CLAUDE,),
    ),
    Preset(
        "codex",
        "Codex CLI (OpenAI)",
        (
            (
                "interactive",
                Mode(
                    ("codex",),
                    "argument",
                    ("{prompt}",),
                    resume_argv=("codex", "resume", "{session}"),
                    ready=r"\? for shortcuts",
                    done_when=IDLE,
                ),
            ),
            (
                "headless",
                Mode(
                    ("codex", "exec"),
                    "argument",
                    ("{prompt}",),
                    resume_argv=("codex", "exec", "resume", "{session}"),
                ),
            ),
        ),
        program="codex",
        install="npm install -g @openai/codex",
        session_capture=r"(?:session id:|codex resume) ([0-9a-f-]{36})",
        enter_delay=0.3,
        dialogs=(TRUST_CODEX,),
    ),
    Preset(
        "aider",
        "Aider (aider.chat)",
        (
            (
                "interactive",
                Mode(
                    ("aider",),
                    "type",
                    resume_argv=("aider", "--restore-chat-history"),
                    ready=r"(^|\n)(aider|architect|ask|code)?> ?\Z",
                    done_when=IDLE,
                ),
            ),
            (
                "headless",
                Mode(
                    ("aider", "--yes-always"),
                    "file",
                    ("--message-file", "{prompt_file}"),
                    resume_argv=("aider", "--yes-always", "--restore-chat-history"),
                ),
            ),
        ),
        program="aider",
        install="python -m pip install aider-install && aider-install",
        enter_delay=0.1,
        dialogs=AIDER_DIALOGS,
    ),
    Preset(
        "gemini",
        "Gemini CLI (Google)",
        (
            (
                "interactive",
                Mode(
                    ("gemini", "--session-id", "{session}"),
                    "argument",
                    ("--prompt-interactive", "{prompt}"),
                    resume_argv=("gemini", "--resume", "{session}"),
                    ready=r"Type your message",
                    done_when=IDLE,
                ),
            ),
            (
                "headless",
                Mode(
                    ("gemini", "--session-id", "{session}"),
                    "argument",
                    ("--prompt", "{prompt}"),
                    resume_argv=("gemini", "--resume", "{session}"),
                ),
            ),
        ),
        program="gemini",
        install="npm install -g @google/gemini-cli",
        enter_delay=0.3,
        dialogs=(TRUST_GEMINI,),
    ),
    Preset(
        "goose",
        "Goose (Block)",
        (
            (
                "interactive",
                Mode(
                    ("goose", "session", "--name", "{session}"),
                    "type",
                    resume_argv=("goose", "session", "--resume", "--name", "{session}"),
                    ready=r"(^|\n)\s*(\( O\)>|Goose>|>) ?\Z",
                    done_when=IDLE,
                ),
            ),
            (
                "headless",
                Mode(
                    ("goose", "run", "--name", "{session}"),
                    "file",
                    ("--instructions", "{prompt_file}"),
                    resume_argv=("goose", "run", "--resume", "--name", "{session}"),
                ),
            ),
        ),
        program="goose",
        install="see https://block.github.io/goose/docs/getting-started/installation",
        enter_delay=0.2,
    ),
    Preset(
        "opencode",
        "OpenCode (sst)",
        (
            (
                "interactive",
                Mode(
                    ("opencode",),
                    "argument",
                    ("--prompt", "{prompt}"),
                    resume_argv=("opencode", "--session", "{session}"),
                    ready=r"Ask anything|tab agents",
                    done_when=IDLE,
                ),
            ),
            (
                "headless",
                Mode(
                    ("opencode", "run"),
                    "argument",
                    ("{prompt}",),
                    resume_argv=("opencode", "run", "--session", "{session}"),
                ),
            ),
        ),
        program="opencode",
        install="npm install -g opencode-ai",
        session_capture=r"\b(ses_[A-Za-z0-9]{8,})\b",
        enter_delay=0.3,
    ),
)


def find(name: str) -> Preset | None:
    return next((p for p in PRESETS if p.name == name), None)


def preset(name: str) -> AgentProfile | None:
    """The preset ``name`` in its default mode, as a profile (for ``agent: NAME``)."""
    found = find(name)
    return found.profile() if found else None
