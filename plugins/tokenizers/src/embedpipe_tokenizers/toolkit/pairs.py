"""A pair stage (rerankers, cross-encoders) for any exact family: both texts through the family's
body in one Loop, Hugging Face's longest_first truncation, then the pair template.

The family's body is built once, inside a Loop of two iterations over [first, second]: building it
twice would store its tables (large LabelEncoder attributes) twice. The Loop carries the ids of the
sides read so far and hands out each side's length as a scan output.

Truncation is the tokenizers library's ``truncate_encodings`` for LongestFirst, with the budget
B = max_length - the pair template's special tokens: with n1, n2 the sides' token counts, nothing
is cut when n1 + n2 <= B; else, with s <= l the two counts, l is cut to max(s, B - s) and, when
s + l still exceeds B, s to B // 2 and l to B // 2 + B % 2; each side keeps its first tokens.

Capping each side at B words (every word gives at least one token) is exact only for an even B:
each side's count then comes out as min(n, B), and the rule gives the same cut for min(n, B) as
for n. For an odd B, which side is longer decides which gets B // 2 + 1 when both exceed B, so
both sides are tokenized whole.
"""

from __future__ import annotations

from collections.abc import Callable

import onnx
from embedpipe import contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from onnx import TensorProto, helper

from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.outputs import Part, body_budget, joined_outputs, stage_model, template_outputs
from embedpipe_tokenizers.toolkit.spec import Template

# (builder, text tensor [1], max_words or None for all) -> the text's token ids without specials
# (1-D int64): its first max_words tokens, or all of them for None.
BodyIds = Callable[[GraphBuilder, str, int | None], str]


def pair_budget(template: Template, max_length: int, prefix: str) -> int:
    """The token budget B of both sides, or the refusal of what a pair stage cannot do (called
    before the family builds its tables)."""
    if prefix:
        raise ConfigError("a prefix (prompt) with a pair stage is not supported", "drop the prefix or export with pair=False")
    if template.pair is None:
        raise UnsupportedModelError(template.pair_problem, "export the model for single texts (pair=False)")
    budget = max_length - template.pair.added
    if budget < 0:
        raise ConfigError(
            f"max_length {max_length} leaves no room for the {template.pair.added} special tokens of a pair",
            "use a larger max_length",
        )
    return budget


def kept_lengths(g: GraphBuilder, n1: str, n2: str, budget: str) -> tuple[str, str]:
    """How many tokens each side keeps (at least its count when nothing is cut), elementwise over
    int64 tensors: longest_first as the library computes it (module docstring)."""
    swapped = g.op("Greater", n1, n2)
    short = g.op("Min", n1, n2)
    long = g.op("Max", short, g.op("Sub", budget, short))  # short when short alone exceeds the budget
    over = g.op("Greater", g.op("Add", short, long), budget)
    half = g.op("Div", budget, g.scalar(2))
    short = g.where(over, half, short)
    long = g.where(over, g.op("Sub", budget, half), long)
    return g.where(swapped, long, short), g.where(swapped, short, long)


def _both_sides(g: GraphBuilder, body_ids: BodyIds, max_words: int | None) -> tuple[str, str]:
    """Both texts' ids in a row [n1 + n2] and the counts [2], the body built once in a Loop."""
    texts = g.concat([contract.FIRST_TEXT, contract.SECOND_TEXT])
    b = g.subgraph("side")
    iteration, cond, ids_in = f"{b.prefix}/iteration", f"{b.prefix}/cond_in", f"{b.prefix}/ids_in"
    ids = body_ids(b, b.op("Gather", texts, b.unsqueeze(iteration, 0)), max_words)
    ids_out = b.concat([ids_in, ids])
    count = b.op("Shape", ids)
    cond_out = b.op("Identity", cond)
    body = helper.make_graph(
        b.nodes,
        "side",
        [
            helper.make_tensor_value_info(iteration, TensorProto.INT64, []),
            helper.make_tensor_value_info(cond, TensorProto.BOOL, []),
            helper.make_tensor_value_info(ids_in, TensorProto.INT64, None),
        ],
        [
            helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []),
            helper.make_tensor_value_info(ids_out, TensorProto.INT64, None),
            helper.make_tensor_value_info(count, TensorProto.INT64, [1]),
        ],
    )
    no_ids = g.const([], "no_ids")
    all_ids, counts = g.ops("Loop", g.scalar(2), g.scalar(True, bool), no_ids, outputs=2, hint="sides", body=body)
    return all_ids, g.flatten(counts)


def pair_stage(
    g: GraphBuilder, body_ids: BodyIds, template: Template, budget: int, *, with_token_type_ids: bool, name: str
) -> onnx.ModelProto:
    """The pair stage: ``first_input`` and ``second_input`` -> ids as Hugging Face encodes the pair
    with truncation (``budget`` from ``pair_budget``)."""
    pair = template.pair
    assert pair is not None, "pair_budget refuses a template without a pair form"
    all_ids, counts = _both_sides(g, body_ids, budget if budget % 2 == 0 else None)
    n1, n2 = g.slice(counts, 0, 1), g.slice(counts, 1, 2)
    k1, k2 = kept_lengths(g, n1, n2, g.scalar(budget, shape=(1,)))
    first = g.op("Slice", all_ids, g.scalar(0, shape=(1,)), g.op("Min", k1, n1))
    second = g.op("Slice", all_ids, n1, g.op("Add", n1, g.op("Min", k2, n2)))
    parts: list[Part] = [
        _specials(pair.before),
        (first, pair.first_type),
        _specials(pair.between),
        (second, pair.second_type),
        _specials(pair.after),
    ]
    outputs = joined_outputs(g, parts, with_token_type_ids)
    return stage_model(g, name, outputs, inputs=contract.PAIR_TEXTS)


def _specials(specials: tuple[tuple[int, int], ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    return tuple(i for i, _ in specials), tuple(t for _, t in specials)


def stage_budget(template: Template, max_length: int, prefix: str, *, pair: bool) -> int:
    """The token budget of a family's body in a single-text or a pair stage, or the refusal."""
    return pair_budget(template, max_length, prefix) if pair else body_budget(template, max_length)


def family_stage(
    g: GraphBuilder, body_ids: BodyIds, template: Template, budget: int, *, pair: bool, with_token_type_ids: bool, family: str
) -> onnx.ModelProto:
    """A family's stage around its body: ``exact_<family>_tokenizer`` on ``input``, or with ``pair``
    the pair stage ``exact_<family>_pair_tokenizer`` (``budget`` from ``stage_budget``)."""
    if pair:
        name = f"exact_{family}_pair_tokenizer"
        return pair_stage(g, body_ids, template, budget, with_token_type_ids=with_token_type_ids, name=name)
    outputs = template_outputs(g, body_ids(g, contract.TEXT, budget), template, with_token_type_ids)
    return stage_model(g, f"exact_{family}_tokenizer", outputs)
