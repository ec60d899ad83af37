"""embedpipe: Hugging Face text-embedding models as one string-in, vector-out ONNX graph."""
