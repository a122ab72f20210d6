#!/usr/bin/env python3
"""A stand-in agent that shows a recorded screen (``$SCREEN_FILE``) and exits 1, as the
CLI did when it met what the screen says."""

import os
import sys

with open(os.environ["SCREEN_FILE"], encoding="utf-8") as handle:
    sys.stdout.write(handle.read())
sys.stdout.flush()
sys.exit(1)
