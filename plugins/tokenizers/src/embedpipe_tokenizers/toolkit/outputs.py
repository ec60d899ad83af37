"""The stage's outputs: the post-processor's special tokens around the body, the attention mask
and, where the model takes them, the token type ids, each int64 [1, S] under the contract's names;
and the stage as a checked model importing only the domains Oracle accepts."""

from __future__ import annotations

import numpy as np
import onnx
from embedpipe import contract
from embedpipe_tokenizers.toolkit.graph import GraphBuilder
from embedpipe_tokenizers.toolkit.spec import Template
from onnx import TensorProto, helper


def template_outputs(g: GraphBuilder, body: str, template: Template, with_token_type_ids: bool) -> list[str]:
    """``body`` with the template's special tokens around it, the mask and the token types.

    A template without special tokens leaves a text with no token (GPT2's "") with S = 0, which no
    encoder takes: one pad id 0 with mask 0 stands in, the row Hugging Face pads such a text to in a
    batch, so pooling gives sentence-transformers' all-zero vector.
    """
    ids = g.concat(
        [
            g.const(np.array(template.prefix_ids, np.int64), "prefix"),
            body,
            g.const(np.array(template.suffix_ids, np.int64), "suffix"),
        ]
    )
    empty_pad = None if template.prefix_ids or template.suffix_ids else _one_when_empty(g, body)
    if empty_pad is not None:
        ids = g.op("Pad", ids, g.concat([g.scalar(0, shape=(1,)), empty_pad]))
    g.nodes.append(helper.make_node("Unsqueeze", [ids, g.scalar(0, shape=(1,))], [contract.INPUT_IDS]))
    shape = g.op("Shape", contract.INPUT_IDS)
    ones = g.op("ConstantOfShape", shape, value=helper.make_tensor("one", TensorProto.INT64, [1], [1]))
    mask = ones if empty_pad is None else g.op("Mul", ones, g.op("Sub", g.scalar(1), empty_pad))
    g.nodes.append(helper.make_node("Identity", [mask], [contract.ATTENTION_MASK]))
    names = [contract.INPUT_IDS, contract.ATTENTION_MASK]
    if with_token_type_ids:
        body_types = g.op("Add", g.op("Mul", body, g.scalar(0)), g.scalar(template.body_type))
        types = g.concat(
            [
                g.const(np.array(template.prefix_types, np.int64), "prefix_types"),
                body_types,
                g.const(np.array(template.suffix_types, np.int64), "suffix_types"),
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


def stage_model(g: GraphBuilder, name: str, outputs: list[str]) -> onnx.ModelProto:
    """The tokenizer stage: string ``input`` [1] -> the int64 [1, S] ``outputs``."""
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info(contract.TEXT, TensorProto.STRING, [1])],
        [helper.make_tensor_value_info(output, TensorProto.INT64, [1, "sequence"]) for output in outputs],
        initializer=g.initializers,
    )
    model = helper.make_model(
        graph, opset_imports=g.opset_imports(), ir_version=contract.DEFAULT_IR_VERSION, producer_name="embedpipe-tokenizers"
    )
    onnx.checker.check_model(model)
    return model
