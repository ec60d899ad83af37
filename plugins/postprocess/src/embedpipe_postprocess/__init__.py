"""First-party post-processors for embedpipe: normalize and dense, each an ONNX stage."""
