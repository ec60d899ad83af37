"""The stage's outputs: the post-processor's special tokens around the body, the attention mask
and, where the model takes them, the token type ids, each int64 [1, S] under the contract's names;
and the stage as a checked model importing only the domains Oracle accepts."""

from __future__ import annotations

import numpy as np
import onnx
from embedpipe import contract
from onnx import TensorProto, helper

from embedpipe_tokenizers.exact.graph import ML_DOMAIN, MS_DOMAIN, GraphBuilder
from embedpipe_tokenizers.exact.spec import Template


def template_outputs(g: GraphBuilder, body: str, template: Template, with_token_type_ids: bool) -> list[str]:
    ids = g.concat(
        [
            g.const(np.array(template.prefix_ids, np.int64), "prefix"),
            body,
            g.const(np.array(template.suffix_ids, np.int64), "suffix"),
        ]
    )
    g.nodes.append(helper.make_node("Unsqueeze", [ids, g.scalar(0, shape=(1,))], [contract.INPUT_IDS]))
    shape = g.op("Shape", contract.INPUT_IDS)
    g.nodes.append(
        helper.make_node(
            "ConstantOfShape", [shape], [contract.ATTENTION_MASK], value=helper.make_tensor("one", TensorProto.INT64, [1], [1])
        )
    )
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
        g.nodes.append(helper.make_node("Unsqueeze", [types, g.scalar(0, shape=(1,))], [contract.TOKEN_TYPE_IDS]))
        names.append(contract.TOKEN_TYPE_IDS)
    return names


def stage_model(g: GraphBuilder, name: str, outputs: list[str]) -> onnx.ModelProto:
    """The tokenizer stage: string ``input`` [1] -> the int64 [1, S] ``outputs``."""
    graph = helper.make_graph(
        g.nodes,
        name,
        [helper.make_tensor_value_info(contract.TEXT, TensorProto.STRING, [1])],
        [helper.make_tensor_value_info(output, TensorProto.INT64, [1, "sequence"]) for output in outputs],
        initializer=g.initializers,
    )
    opsets = [helper.make_opsetid("", g.opset), helper.make_opsetid(ML_DOMAIN, 2), helper.make_opsetid(MS_DOMAIN, 1)]
    model = helper.make_model(
        graph, opset_imports=opsets, ir_version=contract.DEFAULT_IR_VERSION, producer_name="embedpipe-tokenizers"
    )
    onnx.checker.check_model(model)
    return model
