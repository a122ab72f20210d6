#!/usr/bin/env python3
"""A stand-in for Claude Code's hooks (no model here): it reads the ``--settings`` file
tmuxorch gives it, runs each hook command the way Claude Code does (the event's JSON on
stdin, in its own environment), and shows nothing on screen a pattern would take for a
question: only the hook says it waits."""

import json
import subprocess
import sys
from typing import Any


def fire(settings: dict[str, Any], event: str, **fields: object) -> None:
    payload = json.dumps({"hook_event_name": event, "session_id": "s", **fields})
    for group in settings.get("hooks", {}).get(event, []):
        for hook in group.get("hooks", []):
            subprocess.run(["bash", "-c", hook["command"]], input=payload.encode(), check=True)


args = sys.argv[1:]
with open(args[args.index("--settings") + 1]) as handle:
    settings = json.load(handle)
fire(settings, "UserPromptSubmit", prompt=args[-1])
print("Working on it.", flush=True)
fire(settings, "Notification", message="Claude needs your permission to use Bash")
answer = sys.stdin.readline().strip()
print(f"You said {answer}.", flush=True)
fire(settings, "Stop", stop_hook_active=False)
sys.exit(0 if answer == "yes" else 3)
