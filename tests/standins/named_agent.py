#!/usr/bin/env python3
"""A stand-in agent that says who it is: it logs ``{"who": $WHO, "task", "at": start|end}``
to ``$STANDIN_LOG``; with ``$STANDIN_FAIL=auth`` it shows Claude's lost-login message and
exits 1, else it works ``$STANDIN_SLEEP`` seconds and exits 0."""

import json
import os
import sys
import time


def log(at: str) -> None:
    entry = {"who": os.environ.get("WHO", "?"), "task": os.environ["TMUXORCH_TASK"], "at": at}
    with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry) + "\n")


log("start")
if os.environ.get("STANDIN_FAIL") == "auth":
    print("Invalid API key · Please run /login", flush=True)
    sys.exit(1)
time.sleep(float(os.environ.get("STANDIN_SLEEP", "0")))
print("Done.", flush=True)
log("end")
