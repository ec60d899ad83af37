"""The BERT-family (WordPiece) tokenizer component: exact standard-op graph."""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.source import ModelSource

from embedpipe_tokenizers.toolkit.utf8 import NUL_SPLIT


class ExactWordPieceTokenizer:
    """WordPiece from standard ONNX ops, LabelEncoder and the op profile's text split: HF-identical ids.

    The default (oracle) profile splits text with GPT2Tokenizer, an op Oracle documents; the
    portable one with com.microsoft.Tokenizer (toolkit/graph.py). Every table is derived from the
    model's tokenizer.json at export time.
    """

    limitations: Sequence[Limitation] = (NUL_SPLIT,)  # in the oracle op profile only

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        from embedpipe_tokenizers.wordpiece.builder import build_exact_wordpiece_graph

        return build_exact_wordpiece_graph(
            source.ensure_tokenizer_json(),
            options.max_length,
            with_token_type_ids=options.with_token_type_ids,
            do_lower_case=options.do_lower_case,
            prefix=options.prefix,
            opset=options.opset,
            op_profile=options.op_profile,
            pair=options.pair,
        )
