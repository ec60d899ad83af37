"""First-party poolers for embedpipe: mean, cls, max and last-token, each an ONNX stage."""
