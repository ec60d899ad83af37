"""The byte-level BPE (GPT2, RoBERTa) tokenizer component: exact standard-op graph."""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.source import ModelSource

from embedpipe_tokenizers.toolkit.utf8 import NUL_SPLIT


class ExactBpeTokenizer:
    """Byte-level BPE from standard ONNX ops (a Loop for the merges), LabelEncoder and the op
    profile's text split: HF-identical ids, typed special tokens included (NUL in the portable profile).

    Every table is derived from the model's tokenizer.json (and the installed tokenizers library's
    regex classes) at export time.
    """

    limitations: Sequence[Limitation] = (NUL_SPLIT,)  # in the oracle op profile only

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        from embedpipe_tokenizers.bpe import build_exact_bpe_graph

        return build_exact_bpe_graph(
            source.ensure_tokenizer_json(),
            options.max_length,
            with_token_type_ids=options.with_token_type_ids,
            prefix=options.prefix,
            opset=options.opset,
            op_profile=options.op_profile,
            pair=options.pair,
        )
