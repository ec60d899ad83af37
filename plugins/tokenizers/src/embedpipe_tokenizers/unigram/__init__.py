"""Exact SentencePiece-Unigram (XLM-R, T5, ...) tokenizer as an ONNX sub-graph from ops Oracle accepts.

``build_exact_unigram_graph(tokenizer_json, max_length)`` gives a graph from a string ``input``
[1] to int64 ``input_ids``/``attention_mask`` [1, S] whose ids equal Hugging Face's, truncation
included, from standard ONNX ops, ``ai.onnx.ml.LabelEncoder`` and the op profile's text split (GPT2Tokenizer over UTF-8 bytes by default, com.microsoft.Tokenizer in the portable profile).

How, in one line per module:
- spec: read tokenizer.json, refuse what is outside Precompiled + Metaspace + Unigram.
- charsmap: the Precompiled rules, read from the charsmap and checked against the library.
- graphemes: grapheme boundaries, which decide where a multi-character rule applies.
- tables: per raw character and per rule output, what the graph needs.
- normalize: added tokens, then the rules grapheme by grapheme, as an item stream.
- words: Replace, WhitespaceSplit, Metaspace: the words the model sees.
- viterbi: every piece at every position, the best path with Hugging Face's tie-breaking, unknowns fused.
- builder: the public function.
"""

from embedpipe_tokenizers.unigram.builder import build_exact_unigram_graph

__all__ = ["build_exact_unigram_graph"]
