"""The stage's outputs: the post-processor's special tokens around the body, the attention mask
and, where the model takes them, the token type ids, each int64 [1, S] under the contract's names;
and the stage as a checked model importing only the domains Oracle accepts."""

from __future__ import annotations

import numpy as np
import onnx
from embedpipe import contract
from embedpipe.errors import ConfigError
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.spec import Template
from onnx import TensorProto, helper


Part = tuple[str, int] | tuple[tuple[int, ...], tuple[int, ...]]  # (ids tensor, its type id) or (special ids, their type ids)


def body_budget(template: Template, max_length: int) -> int:
    """The tokens a single text keeps beside the template's special tokens, or the refusal."""
    if max_length < template.added:
        raise ConfigError(
            f"max_length {max_length} leaves no room for the {template.added} special tokens", "use a larger max_length"
        )
    return max_length - template.added


def template_outputs(g: GraphBuilder, body: str, template: Template, with_token_type_ids: bool) -> list[str]:
    """``body`` with the template's special tokens around it, the mask and the token types."""
    parts: list[Part] = [
        (template.prefix_ids, template.prefix_types),
        (body, template.body_type),
        (template.suffix_ids, template.suffix_types),
    ]
    return joined_outputs(g, parts, with_token_type_ids)


def joined_outputs(g: GraphBuilder, parts: list[Part], with_token_type_ids: bool) -> list[str]:
    """The outputs of ``parts`` in a row: token sequences (1-D int64 tensors, one type id each) and
    special tokens (constant ids and type ids).

    Without special tokens, a text with no token (GPT2's "") leaves S = 0, which no encoder takes:
    one pad id 0 with mask 0 stands in, the row Hugging Face pads such a text to in a batch, so
    pooling gives sentence-transformers' all-zero vector.
    """
    ids = g.concat([part[0] if isinstance(part[0], str) else g.const(np.array(part[0], np.int64), "specials") for part in parts])
    empty_pad = None if any(not isinstance(part[0], str) and part[0] for part in parts) else _one_when_empty(g, ids)
    if empty_pad is not None:
        ids = g.op("Pad", ids, g.concat([g.scalar(0, shape=(1,)), empty_pad]))
    g.nodes.append(helper.make_node("Unsqueeze", [ids, g.scalar(0, shape=(1,))], [contract.INPUT_IDS]))
    shape = g.op("Shape", contract.INPUT_IDS)
    ones = g.op("ConstantOfShape", shape, value=helper.make_tensor("one", TensorProto.INT64, [1], [1]))
    mask = ones if empty_pad is None else g.op("Mul", ones, g.op("Sub", g.scalar(1), empty_pad))
    g.nodes.append(helper.make_node("Identity", [mask], [contract.ATTENTION_MASK]))
    names = [contract.INPUT_IDS, contract.ATTENTION_MASK]
    if with_token_type_ids:
        types = g.concat(
            [
                g.op("Add", g.op("Mul", part[0], g.scalar(0)), g.scalar(part[1]))
                if isinstance(part[0], str)
                else g.const(np.array(part[1], np.int64), "special_types")
                for part in parts
            ]
        )
        if empty_pad is not None:
            types = g.op("Pad", types, g.concat([g.scalar(0, shape=(1,)), empty_pad]))
        g.nodes.append(helper.make_node("Unsqueeze", [types, g.scalar(0, shape=(1,))], [contract.TOKEN_TYPE_IDS]))
        names.append(contract.TOKEN_TYPE_IDS)
    return names


def _one_when_empty(g: GraphBuilder, body: str) -> str:
    """int64 [1]: 1 when ``body`` holds no token, else 0."""
    return g.op("Reshape", g.cast(g.op("Equal", g.op("Size", body), g.scalar(0)), TensorProto.INT64), g.scalar(1, shape=(1,)))


def stage_model(g: GraphBuilder, name: str, outputs: list[str], inputs: tuple[str, ...] = (contract.TEXT,)) -> onnx.ModelProto:
    """The tokenizer stage: the strings ``inputs`` [1] each (``input``, or a pair's two) -> the int64 [1, S] ``outputs``."""
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info(text, TensorProto.STRING, [1]) for text in inputs],
        [helper.make_tensor_value_info(output, TensorProto.INT64, [1, "sequence"]) for output in outputs],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=g.opset_imports(), ir_version=contract.DEFAULT_IR_VERSION, producer_name="embedpipe-tokenizers"
    )
    onnx.checker.check_model(model)
    return model
