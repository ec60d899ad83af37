"""One module per publisher on the hub, each with a ``PRESETS`` dict of its models."""
