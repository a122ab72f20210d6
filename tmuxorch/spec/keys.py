"""The keys each kind of mapping in a layout or tasks file accepts (a leaf module: the
layout reader knows the task keys without loading the task reader)."""

from __future__ import annotations

FILE_KEYS = frozenset(
    {
        "tasks",
        "max_parallel",
        "agents",
        "panes_per_window",
        "notify",
        "worktree",
        "timeout",
        "stall",
        "route",
        "hosts",
    }
)
TASK_KEYS = frozenset(
    [
        "id",
        "command",
        "agent",
        "prompt",
        "vars",
        "depends_on",
        "cwd",
        "env",
        "timeout",
        "stall",
        "retries",
        "retry_delay",
        "allow_failure",
        "locks",
        "done_when",
        "worktree",
        "then",
        "result_schema",
        "fallback",
        "labels",
        "paths",
        "host",
    ]
)
AGENT_KEYS = frozenset(
    [
        "preset",
        "mode",
        "program",
        "args",
        "env",
        "prompt",
        "ready",
        "ready_timeout",
        "enter_delay",
        "patterns",
        "dialogs",
        "done_when",
        "resume",
        "max_parallel",
        "breaker",
    ]
)
WORKTREE_KEYS = frozenset({"after", "merge", "failed", "remote"})
SESSION_KEYS = FILE_KEYS | frozenset(
    [
        "session_name",
        "start_directory",
        "before_script",
        "shell_command_before",
        "environment",
        "options",
        "global_options",
        "suppress_history",
        "windows",
        "plugins",
        "enable_pane_titles",
        "pane_title_position",
        "pane_title_format",
    ]
)
WINDOW_KEYS = frozenset(
    [
        "window_name",
        "window_index",
        "start_directory",
        "layout",
        "options",
        "options_after",
        "focus",
        "panes",
        "shell_command_before",
        "shell_command_after",
        "window_shell",
        "environment",
        "suppress_history",
    ]
)
PANE_KEYS = frozenset(
    [
        "shell_command",
        "shell_command_before",
        "start_directory",
        "shell",
        "environment",
        "focus",
        "suppress_history",
        "enter",
        "sleep_before",
        "sleep_after",
        "title",
    ]
)
COMMAND_KEYS = frozenset({"cmd", "enter", "sleep_before", "sleep_after"})
