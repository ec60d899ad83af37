"""The public entry point: a byte-level BPE tokenizer.json (GPT2, RoBERTa) as one ONNX tokenizer stage.

The graph uses standard ONNX ops (a Loop for the merge rounds), ``ai.onnx.ml.LabelEncoder`` and
the op profile's text split (GPT2Tokenizer over UTF-8 bytes by default, com.microsoft.Tokenizer in the portable profile) only, and gives the ids Hugging Face gives, truncation included.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import onnx
from embedpipe import contract

from embedpipe_tokenizers.bpe.classes import CharTable, build_char_table
from embedpipe_tokenizers.bpe.merges import merge_words, symbol_stream
from embedpipe_tokenizers.bpe.spec import BpeSpec, read_bpe_spec
from embedpipe_tokenizers.bpe.words import AddedTokens, first_words
from embedpipe_tokenizers.toolkit.graph import INT64_MAX, GraphBuilder, check_opset
from embedpipe_tokenizers.toolkit.pairs import family_stage, stage_budget
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


def _body_ids(
    spec: BpeSpec, chars: CharTable, tokens: AddedTokens | None, prefix: str, g: GraphBuilder, text: str, max_words: int | None
) -> str:
    """The ids of ``prefix`` + ``text`` without specials: the first ``max_words`` tokens (all for None)."""
    words = first_words(
        g,
        text,
        chars,
        tokens,
        add_prefix_space=spec.add_prefix_space,
        use_regex=spec.use_regex,
        max_words=max_words,
        prefix=prefix,
    )
    stream = symbol_stream(g, words.cp, words.token, words.word_start, spec.merges, spec.byte_ids)
    return g.slice(merge_words(g, stream, spec.merges, spec.id_bound), 0, INT64_MAX if max_words is None else max_words)


def build_exact_bpe_graph(
    tokenizer_json: Path,
    max_length: int,
    *,
    with_token_type_ids: bool = False,
    prefix: str = "",
    opset: int = contract.DEFAULT_OPSET,
    op_profile: str = contract.DEFAULT_OP_PROFILE,
    pair: bool = False,
) -> onnx.ModelProto:
    """The tokenizer stage for a byte-level BPE model: ``input`` string [1] -> int64 [1, S] outputs.

    Ids equal ``tokenizers.Tokenizer.from_file(tokenizer_json)`` on ``prefix + input`` with
    truncation to ``max_length`` (special tokens kept). ``pair``: the two inputs of
    toolkit/pairs.py instead, encoded as the library encodes a pair. Raises UnsupportedModelError
    for what the graph cannot reproduce exactly.
    """
    check_opset(opset)
    spec = read_bpe_spec(Path(tokenizer_json))
    budget = stage_budget(spec.template, max_length, prefix, pair=pair)
    special_chars = {ch: i + 1 for i, ch in enumerate(sorted({ch for t in spec.added_tokens for ch in t.content}))}
    g = GraphBuilder(opset, op_profile=op_profile)
    body_ids = partial(_body_ids, spec, build_char_table(special_chars), _added_tokens(spec, special_chars), prefix)
    return family_stage(
        g, body_ids, spec.template, budget, pair=pair, with_token_type_ids=with_token_type_ids, family="bpe"
    )
