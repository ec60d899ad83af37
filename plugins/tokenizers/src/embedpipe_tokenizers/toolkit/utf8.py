"""Text to code points with a tokenizer op Oracle documents: UTF-8 bytes from GPT2Tokenizer, decoded by tensor ops.

No standard ONNX op below opset 20 splits a string, and ``com.microsoft.Tokenizer`` is not an op
Oracle documents. onnxruntime-extensions' ``GPT2Tokenizer`` is: given a vocabulary of the 256
ByteLevel symbols (symbol of byte b -> id b) and no real merge, it returns the input's UTF-8 bytes
one id each, in onnxruntime-extensions 0.10.1, 0.12.0 and 0.15.2 alike (tests/tokenizers/test_utf8.py).
Two quirks, both handled or declared:
- the op always treats ``<|endoftext|>`` as a special token, so the vocabulary names it (id 256)
  and the graph puts its 13 bytes back;
- the op stops at the first NUL: text from there on is lost (a declared limitation).
Merges cannot be empty in 0.15.2, so they hold only the version header.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

import numpy as np
from embedpipe import contract
from embedpipe.components import Limitation

if TYPE_CHECKING:
    from embedpipe_tokenizers.toolkit.graph import GraphBuilder

END_OF_TEXT = "<|endoftext|>"
_END_OF_TEXT_ID = 256


def _byte_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per byte value: its payload bits (the value bits a lead or continuation byte carries), and,
    as a lead byte, the weight of each byte of its character: 64**(bytes after it), 0 past the end."""
    payload = np.arange(256, dtype=np.int64)
    weights = np.zeros((256, 4), np.int64)
    for first, last, length in ((0x00, 0x7F, 1), (0xC0, 0xDF, 2), (0xE0, 0xEF, 3), (0xF0, 0xF7, 4)):
        payload[first : last + 1] -= first
        weights[first : last + 1, :length] = 64 ** np.arange(length - 1, -1, -1)
    payload[0x80:0xC0] -= 0x80
    return payload, weights

NUL_SPLIT = Limitation(
    "nul-character-oracle-profile",
    "In the oracle op profile the text is split by the GPT2Tokenizer op, which reads it only up to its first "
    "NUL (U+0000); Hugging Face tokenizes what follows. The portable profile has no such limit.",
    lambda text: "\x00" in text,
    "every text with a NUL loses what follows it (tests/tokenizers/test_utf8.py); 0 of 3,889 real corpus lines hold a NUL",
    frozenset({contract.ORACLE_PROFILE}),
)


@cache
def byte_symbols() -> tuple[str, ...]:
    """ByteLevel's printable symbol for each byte 0..255 (GPT-2's bytes_to_unicode table): printable
    Latin-1 bytes stand for themselves, the others for 256 + their rank among them."""
    kept = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    moved = [b for b in range(256) if b not in kept]
    symbols = dict(zip(kept, map(chr, kept))) | {b: chr(256 + i) for i, b in enumerate(moved)}
    return tuple(symbols[b] for b in range(256))


def _byte_table() -> np.ndarray:
    """[257, 13]: the bytes each id of the split op stands for, -1 padded (id 256: ``<|endoftext|>``)."""
    table = np.full((_END_OF_TEXT_ID + 1, len(END_OF_TEXT)), -1, np.int64)
    table[:256, 0] = np.arange(256)
    table[_END_OF_TEXT_ID] = list(END_OF_TEXT.encode())
    return table


def utf8_split_op(g: GraphBuilder, text: str) -> str:
    """The UTF-8 bytes of the string tensor [1] as int64 [N] (up to its first NUL)."""
    vocab = {symbol: b for b, symbol in enumerate(byte_symbols())} | {END_OF_TEXT: _END_OF_TEXT_ID}
    ids = g.op(
        "GPT2Tokenizer",
        text,
        hint="utf8_bytes",
        domain=contract.EXTENSIONS_DOMAIN,
        vocab=json.dumps(vocab, ensure_ascii=False),
        merges="#version: 0.2\n",
    )
    expanded = g.flatten(g.op("Gather", g.const(_byte_table(), "id_bytes"), g.flatten(ids)))
    return g.compress(expanded, g.op("GreaterOrEqual", expanded, g.scalar(0)))


def utf8_to_code_points(g: GraphBuilder, data: str) -> str:
    """Valid UTF-8 bytes [N] -> their code points [C]: each lead byte's window of four payloads,
    weighted by the lead byte's row (few nodes: on a short line each node's fixed cost dominates)."""
    payload, weights = _byte_tables()
    continuation = g.op("Equal", g.op("Div", data, g.scalar(64)), g.scalar(2))  # 0x80..0xBF
    leads = g.flatten(g.op("NonZero", g.op("Not", continuation)))
    padded = g.concat([g.op("Gather", g.const(payload, "utf8_payload"), data), g.const(np.zeros(3), "utf8_pad")])
    window = g.op("Gather", padded, g.op("Add", g.unsqueeze(leads, 1), g.const(np.arange(4)[None, :], "byte_column")))
    weight = g.op("Gather", g.const(weights, "utf8_weights"), g.op("Gather", data, leads))  # [C, 4]
    return g.op("ReduceSum", g.op("Mul", window, weight), g.const([1], "axes"), keepdims=0)
