#!/usr/bin/env python3
"""A stand-in headless agent asked to route a task: it prints ``$ROUTER_SAYS`` (and logs
the question it got, its last argument, to ``$ROUTER_LOG``)."""

import os
import sys

with open(os.environ["ROUTER_LOG"], "a", encoding="utf-8") as log:
    log.write(sys.argv[-1] + "\n---\n")
print(os.environ.get("ROUTER_SAYS", ""))
