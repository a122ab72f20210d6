"""Agents: presets (data), and how a task's agent is launched."""
