"""First-party sinks for embedpipe: where a finished graph goes."""
