"""Exact BERT-family (WordPiece) tokenizer as an ONNX sub-graph from ops Oracle Database accepts."""

from embedpipe_tokenizers.exact.builder import build_exact_wordpiece_graph

__all__ = ["build_exact_wordpiece_graph"]
