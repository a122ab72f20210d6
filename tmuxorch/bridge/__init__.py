"""The bridge: pane output out to subscribers (poller, events, detection) and input in (send)."""
