"""Chat, push and webhook channels, run inside ``tmuxorch serve`` (see :mod:`.base`)."""
