"""embedpipe Oracle sink."""
