"""First-party tokenizer plugins for embedpipe."""
