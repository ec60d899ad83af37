"""The public entry point: a byte-level BPE tokenizer.json (GPT2, RoBERTa) as one ONNX tokenizer stage.

The graph uses standard ONNX ops (a Loop for the merge rounds), ``ai.onnx.ml.LabelEncoder`` and
the op profile's text split (GPT2Tokenizer over UTF-8 bytes by default, com.microsoft.Tokenizer in the portable profile) only, and gives the ids Hugging Face gives, truncation included.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.errors import ConfigError

from embedpipe_tokenizers.bpe.classes import build_char_table
from embedpipe_tokenizers.bpe.merges import merge_words, symbol_stream
from embedpipe_tokenizers.bpe.spec import BpeSpec, read_bpe_spec
from embedpipe_tokenizers.bpe.words import AddedTokens, first_words
from embedpipe_tokenizers.toolkit.graph import GraphBuilder, check_opset
from embedpipe_tokenizers.toolkit.outputs import stage_model, template_outputs
from embedpipe_tokenizers.toolkit.specials import special_table


def _added_tokens(spec: BpeSpec, special_chars: dict[str, int]) -> AddedTokens | None:
    tokens = spec.added_tokens
    if not tokens:
        return None
    return AddedTokens(
        special_table(tokens, special_chars, first_row=1),
        np.array([t.id for t in tokens], np.int64),
        np.array([t.lstrip for t in tokens], bool),
        np.array([t.rstrip for t in tokens], bool),
    )


def build_exact_bpe_graph(
    tokenizer_json: Path,
    max_length: int,
    *,
    with_token_type_ids: bool = False,
    prefix: str = "",
    opset: int = contract.DEFAULT_OPSET,
    op_profile: str = contract.DEFAULT_OP_PROFILE,
) -> onnx.ModelProto:
    """The tokenizer stage for a byte-level BPE model: ``input`` string [1] -> int64 [1, S] outputs.

    Ids equal ``tokenizers.Tokenizer.from_file(tokenizer_json)`` on ``prefix + input`` with
    truncation to ``max_length`` (special tokens kept). Raises UnsupportedModelError for what the
    graph cannot reproduce exactly.
    """
    check_opset(opset)
    spec = read_bpe_spec(Path(tokenizer_json))
    max_body = max_length - spec.template.added
    if max_body < 0:
        raise ConfigError(
            f"max_length {max_length} leaves no room for the {spec.template.added} special tokens", "use a larger max_length"
        )
    special_chars = {ch: i + 1 for i, ch in enumerate(sorted({ch for t in spec.added_tokens for ch in t.content}))}
    g = GraphBuilder(opset, op_profile=op_profile)
    words = first_words(
        g,
        contract.TEXT,
        build_char_table(special_chars),
        _added_tokens(spec, special_chars),
        add_prefix_space=spec.add_prefix_space,
        use_regex=spec.use_regex,
        max_words=max_body,
        prefix=prefix,
    )
    stream = symbol_stream(g, words.cp, words.token, words.word_start, spec.merges, spec.byte_ids)
    body = g.slice(merge_words(g, stream, spec.merges, spec.id_bound), 0, max_body)
    return stage_model(g, "exact_bpe_tokenizer", template_outputs(g, body, spec.template, with_token_type_ids))
