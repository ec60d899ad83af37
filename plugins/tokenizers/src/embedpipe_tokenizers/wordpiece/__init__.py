"""Exact BERT-family (WordPiece) tokenizer as an ONNX sub-graph from ops Oracle Database accepts.

``build_exact_wordpiece_graph(tokenizer_json, max_length, ...)`` gives a graph from a string
``input`` [1] to int64 ``input_ids``/``attention_mask`` (and ``token_type_ids``) [1, S] whose ids
equal Hugging Face's for every input, truncation included. It uses standard ONNX ops,
``ai.onnx.ml.LabelEncoder`` and one op to split the string into code points, per op profile
(GPT2Tokenizer over UTF-8 bytes by default, com.microsoft.Tokenizer in the portable profile):
no locale-dependent StringNormalizer, no Loop.

How, in one line per module (toolkit: the parts every exact family shares):
- spec: read tokenizer.json, refuse what is not the BERT WordPiece family.
- toolkit.library: ask the model's own normalizer and pre-tokenizer about every code point.
- tables: one LabelEncoder from a raw character to a row of normalized items.
- toolkit.specials: added tokens typed in the raw text.
- toolkit.pieces: the vocabulary as a hash-keyed trie, verified in the graph so collisions cannot matter.
- words, walk: words, early truncation, longest pieces in parallel, the greedy walk by
  pointer doubling.
- toolkit.graph: a small ONNX builder; builder: the public function; component: the stage.

Per-model caveat: the tables normalize one code point at a time. Accent stripping (NFD) reorders
adjacent combining marks by combining class, so a model is refused (UnsupportedModelError) when two
marks that survive normalization with different non-zero classes are both in its vocabulary; for
all-MiniLM-L6-v2 no such pair exists (its vocabulary's marks are all spacing marks of class 0).
"""

from embedpipe_tokenizers.wordpiece.builder import build_exact_wordpiece_graph

__all__ = ["build_exact_wordpiece_graph"]
