"""Preconfigured model specifications for embedpipe."""
