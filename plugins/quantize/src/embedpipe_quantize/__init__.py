"""First-party quantizers for embedpipe: ``int8`` (dynamic, onnxruntime.quantization) and ``fp16``."""
