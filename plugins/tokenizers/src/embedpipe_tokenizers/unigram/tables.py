"""Export-time tables: what the graph needs to know about every raw character and every output.

A normalized character travels through the graph as one int64 *item*: ``(symbol + 1) * 16 +
flags``, where the symbol is its index in the vocabulary's alphabet (0: in no piece) and the flags
say whether the pre-tokenizer splits on it (WHITESPACE), whether it is U+0020 (SPACE, which
Metaspace replaces) and whether it is the replacement character itself (META). SPECIAL marks an
added token's single item; SEGMENT (-1) separates texts normalized apart (around added tokens).

A raw character's *row* holds its grapheme class and UTF-8 length, the output of its charsmap rule
(0: none, it stands for itself), its own item, its symbol among the characters of multi-character
rules, and its index among the added tokens' characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np
from tokenizers import Tokenizer, pre_tokenizers

from embedpipe_tokenizers.toolkit.library import CODE_POINTS, SPACE, pretokenizer_classes

WHITESPACE, SPACE_FLAG, META, SPECIAL = 1, 2, 4, 8
FLAGS = 16
SEGMENT = -1
ROW_FIELDS = ("grapheme_class", "utf8_length", "rule_output", "self_item", "rule_symbol", "special_char")


@dataclass(frozen=True)
class CharTables:
    keys: list[str]  # LabelEncoder: raw character -> row (others: default_row)
    key_rows: list[int]
    default_row: int
    fields: dict[str, np.ndarray]  # ROW_FIELDS -> [R]
    outputs: np.ndarray  # [O, K] items of each rule output (row 0: no rule), 0-padded


@dataclass(frozen=True)
class RuleTrie:
    """Multi-character rules as a trie over rule symbols: the node after ``parent`` and symbol s is
    ``edges[parent * width + s]`` (first characters are nodes 1..width-1, their own symbol);
    ``node_output[node]``: the output row of the rule ending there (0: none)."""

    width: int
    depth: int
    edge_keys: list[int]
    edge_nodes: list[int]
    node_output: np.ndarray


@cache  # the library's answer does not change within a process
def whitespace_mask() -> np.ndarray:
    """[0x110000] Rust's char::is_whitespace, asked of WhitespaceSplit (it removes exactly those)."""
    probe = Tokenizer.from_str(
        '{"version":"1.0","model":{"type":"WordLevel","vocab":{},"unk_token":"[UNK]"},"pre_tokenizer":{"type":"WhitespaceSplit"}}'
    )
    probe.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    all_code_points = "".join(chr(cp) if not 0xD800 <= cp <= 0xDFFF else "a" for cp in range(CODE_POINTS))
    mask = pretokenizer_classes(probe, all_code_points) == SPACE
    mask.flags.writeable = False
    return mask


def item_of(text: str, alphabet: dict[str, int], whitespace: np.ndarray, replacement: str) -> list[int]:
    return [
        (alphabet.get(ch, 0) + 1) * FLAGS
        + WHITESPACE * int(whitespace[ord(ch)])
        + SPACE_FLAG * int(ch == " ")
        + META * int(ch == replacement)
        for ch in text
    ]


def _unique_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(table, axis=0, return_inverse=True)``, same order, by 1-D uniques column after
    column (a row's rank so far times the column's distinct count plus its rank there is
    lexicographic): seconds faster on a million rows."""
    rank = np.zeros(len(table), np.int64)
    for column in table.T:
        values, column_rank = np.unique(column, return_inverse=True)
        _, first, rank = np.unique(rank * len(values) + column_rank.reshape(-1), return_index=True, return_inverse=True)
        rank = rank.reshape(-1)
    return table[first], rank


def build_tables(
    rules: dict[str, str],
    classes: np.ndarray,
    alphabet: dict[str, int],
    whitespace: np.ndarray,
    replacement: str,
    special_chars: dict[str, int],
) -> tuple[CharTables, RuleTrie]:
    singles = sorted(k for k in rules if len(k) == 1)
    multis = sorted(k for k in rules if len(k) > 1)
    texts = [rules[k] for k in singles + multis]
    width = max(map(len, texts), default=1)
    outputs = np.zeros((1 + len(texts), width), np.int64)
    for row, text in enumerate(texts, 1):
        outputs[row, : len(text)] = item_of(text, alphabet, whitespace, replacement)

    cps = np.arange(CODE_POINTS)
    utf8 = 1 + (cps >= 0x80) + (cps >= 0x800) + (cps >= 0x10000)
    rule_output = np.zeros(CODE_POINTS, np.int64)
    rule_output[[ord(k) for k in singles]] = np.arange(1, len(singles) + 1)
    symbols = np.zeros(CODE_POINTS, np.int64)
    symbols[[ord(ch) for ch in alphabet]] = list(alphabet.values())
    self_item = (symbols + 1) * FLAGS + WHITESPACE * whitespace + SPACE_FLAG * (cps == 0x20) + META * (cps == ord(replacement))
    rule_chars = sorted({ch for k in multis for ch in k})
    rule_symbol = np.zeros(CODE_POINTS, np.int64)
    rule_symbol[[ord(ch) for ch in rule_chars]] = np.arange(1, len(rule_chars) + 1)
    special = np.zeros(CODE_POINTS, np.int64)
    special[[ord(ch) for ch in special_chars]] = list(special_chars.values())

    stacked = np.stack([classes, utf8, rule_output, self_item, rule_symbol, special], axis=1)
    valid = (cps < 0xD800) | (cps > 0xDFFF)
    rows, inverse = _unique_rows(stacked[valid])
    default = int(np.bincount(inverse).argmax())
    listed = inverse != default
    chars = CharTables(
        list(map(chr, cps[valid][listed].tolist())),
        inverse[listed].tolist(),
        default,
        dict(zip(ROW_FIELDS, rows.T.copy())),
        outputs,
    )

    trie_width = len(rule_chars) + 1
    nodes: dict[tuple[int, int], int] = {}
    node_output = [0] * trie_width
    for row, key in enumerate(multis, 1 + len(singles)):
        node = int(rule_symbol[ord(key[0])])
        for ch in key[1:]:
            edge = (node, int(rule_symbol[ord(ch)]))
            if edge not in nodes:
                nodes[edge] = len(node_output)
                node_output.append(0)
            node = nodes[edge]
        node_output[node] = row
    trie = RuleTrie(
        trie_width,
        max(map(len, multis), default=1),
        [parent * trie_width + s for parent, s in nodes],
        list(nodes.values()),
        np.array(node_output, np.int64),
    )
    return chars, trie
