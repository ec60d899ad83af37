"""The BERT-family (WordPiece) tokenizer components: exact standard-op graph and the extension op."""

from __future__ import annotations

from collections.abc import Sequence

import onnx
from embedpipe.components import Limitation, TokenizerOptions
from embedpipe.source import ModelSource

from embedpipe_tokenizers.exact.utf8 import NUL_SPLIT

# Tokenizer classes whose Hugging Face tokenizer is BERT's WordPiece with a BertNormalizer.
WORDPIECE_CLASSES = frozenset(
    {"BertTokenizer", "DistilBertTokenizer", "MPNetTokenizer", "ElectraTokenizer", "MobileBertTokenizer", "SqueezeBertTokenizer", "LayoutLMTokenizer"}
)


def is_wordpiece(source: ModelSource) -> bool:
    """True when the model's own tokenizer files declare WordPiece."""
    return source.tokenizer_model_type == "WordPiece" or source.tokenizer_class in WORDPIECE_CLASSES


class ExactWordPieceTokenizer:
    """WordPiece from standard ONNX ops, LabelEncoder and the op profile's text split: HF-identical ids.

    The default (oracle) profile splits text with GPT2Tokenizer, an op Oracle documents; the
    portable one with com.microsoft.Tokenizer (exact/graph.py). Every table is derived from the
    model's tokenizer.json at export time.
    """

    limitations: Sequence[Limitation] = (NUL_SPLIT,)  # in the oracle op profile only

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        from embedpipe_tokenizers.exact import build_exact_wordpiece_graph

        return build_exact_wordpiece_graph(
            source.ensure_tokenizer_json(),
            options.max_length,
            with_token_type_ids=options.with_token_type_ids,
            do_lower_case=options.do_lower_case,
            prefix=options.prefix,
            opset=options.opset,
            op_profile=options.op_profile,
        )


class BertOpTokenizer:
    """onnxruntime-extensions' BertTokenizer op, configured as Hugging Face behaves.

    Small and fast, but the op cannot match Hugging Face on every input; the classes it misses
    are declared (with measured rates) so validation reports them instead of hiding them.
    """

    @property
    def limitations(self) -> Sequence[Limitation]:
        from embedpipe_tokenizers.bert_op import LIMITATIONS

        return LIMITATIONS

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto:
        from embedpipe_tokenizers.bert_op import build_bert_op_graph
        from embedpipe_tokenizers.op_limits import refuse_what_ops_cannot

        refuse_what_ops_cannot(options, "BertTokenizer")
        return build_bert_op_graph(
            source.path,
            options.max_length,
            with_token_type_ids=options.with_token_type_ids,
            do_lower_case=options.do_lower_case,
            opset=options.opset,
        )
