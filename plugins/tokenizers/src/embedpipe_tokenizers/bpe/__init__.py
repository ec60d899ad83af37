"""Exact byte-level BPE (GPT2, RoBERTa) tokenizer as an ONNX sub-graph from ops Oracle Database accepts."""

from embedpipe_tokenizers.bpe.builder import build_exact_bpe_graph

__all__ = ["build_exact_bpe_graph"]
