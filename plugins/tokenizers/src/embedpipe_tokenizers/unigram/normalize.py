"""The normalizer in the graph: added tokens, then the Precompiled rules grapheme by grapheme.

Hugging Face first cuts added tokens out of the raw text (with the whitespace an ``lstrip`` or
``rstrip`` token absorbs), then normalizes each piece of text between them alone. Within a piece,
a grapheme shorter than 6 UTF-8 bytes whose first characters spell a rule is replaced by the
output of the shortest such rule, the rest of the grapheme dropped ("A" U+0302 U+0301 -> "Â"); any
other character is replaced by its own rule, or kept.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto

from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.specials import SpecialTable, match_specials
from embedpipe_tokenizers.unigram.charsmap import SHORT_GRAPHEME_BYTES
from embedpipe_tokenizers.unigram.graphemes import grapheme_starts
from embedpipe_tokenizers.unigram.tables import SEGMENT, CharTables, RuleTrie


def _absorbed(g: GraphBuilder, start_row: str, inside: str, whitespace: str, lstrip: np.ndarray, rstrip: np.ndarray) -> str:
    """Whitespace an added token absorbs: the run right before a token that strips on its left,
    right after one that strips on its right. ``start_row``: 1 + the token's index where one
    starts, else 0; ``inside``: positions covered by a token."""
    starts = g.op("Greater", start_row, g.scalar(0))
    first = g.flatten(g.op("NonZero", starts))
    covering = g.take(
        g.concat([g.scalar(0, shape=(1,)), g.take(start_row, first)]),
        g.op("CumSum", g.cast(starts, TensorProto.INT64), g.scalar(0)),
    )
    covering = g.where(inside, covering, g.scalar(0))  # [N]: 1 + the token covering the position
    solid = g.op("Or", g.op("Not", whitespace), inside)
    solid_at = g.flatten(g.op("NonZero", solid))
    count = g.op("CumSum", g.cast(solid, TensorProto.INT64), g.scalar(0))  # solid positions up to here
    nothing = g.scalar(0, shape=(1,))
    after = g.take(g.concat([start_row, nothing]), g.take(g.concat([solid_at, g.op("Shape", solid)]), count))
    before = g.take(
        g.concat([nothing, covering]), g.op("Add", g.take(g.concat([g.scalar(-1, shape=(1,)), solid_at]), count), g.scalar(1))
    )
    strips = g.op(
        "Or",
        g.take(g.const(np.concatenate([[False], lstrip]), "lstrip", dtype=bool), after),
        g.take(g.const(np.concatenate([[False], rstrip]), "rstrip", dtype=bool), before),
    )
    return g.op("And", g.op("Not", solid), strips)


def _shortest_rule(g: GraphBuilder, field: dict[str, str], count: str, trie: RuleTrie) -> str:
    """Per position, as the start of a grapheme of ``count`` characters: the output row of the
    shortest rule its first characters spell (0: none)."""
    symbol = field["rule_symbol"]
    padded = g.concat([symbol, g.const(np.zeros(trie.depth), "pad")])
    position = g.arange(g.op("Shape", symbol))
    found = field["rule_output"]
    node = symbol
    node_output = g.const(trie.node_output, "rule_node_output")
    for length in range(2, trie.depth + 1):
        key = g.op("Add", g.op("Mul", node, g.scalar(trie.width)), g.take(padded, g.op("Add", position, g.scalar(length - 1))))
        node = g.label_encoder(key, trie.edge_keys or [-1], trie.edge_nodes or [0], 0, "rule_trie")
        output = g.where(g.op("Less", count, g.scalar(length)), g.scalar(0), g.take(node_output, node))
        found = g.where(g.op("Greater", found, g.scalar(0)), found, output)
    return found


def normalized_items(
    g: GraphBuilder, text: str, chars: CharTables, trie: RuleTrie, specials: SpecialTable | None, special_items: np.ndarray,
    lstrip: np.ndarray, rstrip: np.ndarray, prefix: str = "",
) -> str:  # fmt: skip
    """``prefix`` + raw string -> items [M]: normalized characters, SEGMENT around each added token's item."""
    row = g.character_rows(text, prefix, chars.keys, chars.key_rows, chars.default_row, "char_rows")
    field = {name: g.take(g.const(values, name), row) for name, values in chars.fields.items()}
    n = g.op("Shape", row)
    position = g.arange(n)
    if specials is not None:
        start_row, inside = match_specials(g, field["special_char"], position, specials)
        whitespace = g.op("Equal", g.op("Mod", field["self_item"], g.scalar(2)), g.scalar(1))
        removed = g.op("Or", inside, _absorbed(g, start_row, inside, whitespace, lstrip, rstrip))
    else:
        start_row, removed = g.op("Mul", position, g.scalar(0)), g.op("Less", position, g.scalar(0))

    # Graphemes, never across a removed position.
    after_removed = g.concat([g.scalar(True, bool, (1,)), g.slice(removed, 0, -1)])
    start = grapheme_starts(g, field["grapheme_class"], g.op("Or", removed, after_removed))
    first = g.flatten(g.op("NonZero", start))
    last = g.concat([g.slice(first, 1, np.iinfo(np.int64).max), n])
    length = g.concat([g.scalar(0, shape=(1,)), g.op("CumSum", field["utf8_length"], g.scalar(0))])
    grapheme_bytes = g.op("Sub", g.take(length, last), g.take(length, first))
    count = g.op("Sub", last, first)
    own = g.op("Sub", g.op("CumSum", g.cast(start, TensorProto.INT64), g.scalar(0)), g.scalar(1))  # grapheme index
    shortest = g.take(_shortest_rule(g, field, g.take(count, own), trie), first)  # per grapheme
    whole = g.op(
        "And",
        g.op("And", g.op("Less", grapheme_bytes, g.scalar(SHORT_GRAPHEME_BYTES)), g.op("Greater", count, g.scalar(1))),
        g.op("Greater", shortest, g.scalar(0)),
    )  # per grapheme: replaced as a whole
    in_whole = g.take(whole, own)
    output = g.where(in_whole, g.where(start, g.take(shortest, own), g.scalar(0)), field["rule_output"])
    own_item = g.where(g.op("Or", in_whole, g.op("Greater", field["rule_output"], g.scalar(0))), g.scalar(0), field["self_item"])
    own_item = g.where(removed, g.scalar(0), own_item)
    output = g.where(removed, g.scalar(0), output)
    # An added token: SEGMENT, its item, SEGMENT at its first position.
    token = g.op("Greater", start_row, g.scalar(0))
    own_item = g.where(token, g.take(g.const(np.concatenate([[0], special_items]), "special_items"), start_row), own_item)
    segment = g.where(token, g.scalar(SEGMENT), g.scalar(0))
    columns = [
        g.unsqueeze(segment, 1),
        g.unsqueeze(own_item, 1),
        g.op("Gather", g.const(chars.outputs, "rule_outputs"), output),
        g.unsqueeze(segment, 1),
    ]
    items = g.flatten(g.concat(columns, axis=1))
    return g.compress(items, g.op("Not", g.op("Equal", items, g.scalar(0))))
