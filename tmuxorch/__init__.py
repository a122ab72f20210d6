"""tmuxorch: a tmux-native session manager and bridge for AI coding agents."""

__version__ = "0.1.0"
