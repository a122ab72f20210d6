"""``python -m tmuxorch``."""

from tmuxorch.cli import main

main()
