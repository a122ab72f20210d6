#!/usr/bin/env python3
"""A stand-in agent that ends its turn saying what a person should do (its result's
``status``): ``$STANDIN_STATUS`` on its first attempt, ``done`` after. It logs each prompt
it was given (the last argument) to ``$STANDIN_LOG``; ``$STANDIN_RESULT`` (JSON), when
set, is written as its result as it is."""

import json
import os
import sys

attempt = int(os.environ.get("TMUXORCH_ATTEMPT", "1"))
with open(os.environ["STANDIN_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({"attempt": attempt, "prompt": sys.argv[-1]}) + "\n")
status = os.environ.get("STANDIN_STATUS", "done") if attempt == 1 else "done"
raw = os.environ.get("STANDIN_RESULT")
result = json.loads(raw) if raw else {"status": status, "summary": f"attempt {attempt}"}
if status == "blocked":
    result["reason"] = "the API key is missing"
path = os.environ["TMUXORCH_RESULT"]
with open(path + ".tmp", "w", encoding="utf-8") as handle:
    json.dump(result, handle)
os.replace(path + ".tmp", path)
print(f"finished attempt {attempt}: {result.get('status', '-')}", flush=True)
