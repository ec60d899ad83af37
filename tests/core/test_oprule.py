"""Oracle's op rule on tiny hand-built graphs: what passes, what is flagged and where, per op profile."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from embedpipe import contract
from embedpipe.errors import ExportError
from embedpipe.oprule import assert_op_rule, check_op_rule, fitting_profile, undocumented_ops


def model_of(
    *nodes: onnx.NodeProto,
    opset: int = contract.DEFAULT_OPSET,
    ir_version: int = contract.DEFAULT_IR_VERSION,
    extra_opsets: tuple[onnx.OperatorSetIdProto, ...] = (),
) -> onnx.ModelProto:
    """A model holding ``nodes`` from string ``x`` to ``y``; the rule reads nodes, not whether the graph runs."""
    graph = helper.make_graph(
        list(nodes),
        "g",
        [helper.make_tensor_value_info("x", TensorProto.STRING, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(contract.EXTENSIONS_DOMAIN, 1), *extra_opsets]
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir_version)


def contrib(op: str) -> onnx.NodeProto:
    return helper.make_node(op, ["x"], ["y"], domain=contract.EXTENSIONS_DOMAIN, name=f"my_{op}")


def test_standard_op_passes() -> None:
    assert check_op_rule(model_of(helper.make_node("Identity", ["x"], ["y"]))) == []


def test_bert_tokenizer_passes() -> None:
    assert check_op_rule(model_of(contrib("BertTokenizer"))) == []


@pytest.mark.parametrize("op", sorted(contract.ALLOWED_EXTENSION_OPS))
def test_every_tokenizer_op_passes(op: str) -> None:
    assert check_op_rule(model_of(contrib(op))) == []


def test_string_regex_replace_is_refused() -> None:
    violations = check_op_rule(model_of(contrib("StringRegexReplace")))
    assert len(violations) == 1
    assert "StringRegexReplace" in violations[0] and "my_StringRegexReplace" in violations[0]


def test_unknown_domain_is_refused() -> None:
    node = helper.make_node("Frobnicate", ["x"], ["y"], domain="com.example")
    model = model_of(node, extra_opsets=(helper.make_opsetid("com.example", 1),))
    assert any("com.example::Frobnicate" in v for v in check_op_rule(model))


def _contrib_and_ml_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Gelu", ["x"], ["g"], domain="com.microsoft", name="my_gelu"),
        helper.make_node("Normalizer", ["g"], ["y"], domain="ai.onnx.ml"),
    ]
    extra = (helper.make_opsetid("com.microsoft", 1), helper.make_opsetid("ai.onnx.ml", 3))
    return model_of(*nodes, extra_opsets=extra)


def test_com_microsoft_and_ml_ops_pass_the_portable_profile() -> None:
    assert check_op_rule(_contrib_and_ml_model(), op_profile="portable") == []


def test_com_microsoft_is_refused_by_the_oracle_profile_and_named_undocumented() -> None:
    model = _contrib_and_ml_model()
    violations = check_op_rule(model)  # the default profile is oracle
    assert len(violations) == 1 and "my_gelu" in violations[0] and "does not document" in violations[0]
    assert undocumented_ops(model) == ["com.microsoft::Gelu"]
    assert fitting_profile(model) == "portable"


def test_a_contrib_op_inside_a_loop_body_is_found() -> None:
    body = helper.make_graph(
        [helper.make_node("Gelu", ["v"], ["w"], domain="com.microsoft")],
        "body",
        [helper.make_tensor_value_info("v", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("w", TensorProto.FLOAT, None)],
    )
    model = model_of(helper.make_node("If", ["x"], ["y"], then_branch=body, else_branch=body))
    assert undocumented_ops(model) == ["com.microsoft::Gelu"]
    assert len(check_op_rule(model)) == 2 and check_op_rule(model, op_profile="portable") == []


@pytest.mark.parametrize("op", sorted(contract.ALLOWED_EXTENSION_OPS))
def test_the_portable_profile_refuses_every_extension_op(op: str) -> None:
    model = model_of(contrib(op))
    violations = check_op_rule(model, op_profile="portable")
    assert len(violations) == 1 and "portable profile excludes" in violations[0]
    assert undocumented_ops(model) == [] and fitting_profile(model) == "oracle"


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown op profile"):
        check_op_rule(model_of(helper.make_node("Identity", ["x"], ["y"])), op_profile="oracel")


def test_string_normalizer_is_flagged() -> None:
    node = helper.make_node("StringNormalizer", ["x"], ["y"], case_change_action="LOWER", locale="en_US")
    violations = check_op_rule(model_of(node))
    assert len(violations) == 1 and "StringNormalizer" in violations[0] and "locale" in violations[0]


def test_violation_inside_if_subgraph_is_found() -> None:
    branch = helper.make_graph(
        [contrib("StringRegexReplace")], "then", [], [helper.make_tensor_value_info("y", TensorProto.STRING, None)]
    )
    clean = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])], "else", [], [helper.make_tensor_value_info("y", TensorProto.STRING, None)]
    )
    node = helper.make_node("If", ["cond"], ["y"], name="choose", then_branch=branch, else_branch=clean)
    violations = check_op_rule(model_of(node))
    assert len(violations) == 1
    assert "choose" in violations[0] and "then_branch" in violations[0] and "StringRegexReplace" in violations[0]


def test_violation_in_a_nested_loop_body_inside_if_is_found() -> None:
    body = helper.make_graph([contrib("StringJoin")], "body", [], [])
    loop = helper.make_node("Loop", ["n", "c"], [], name="loop", body=body)
    branch = helper.make_graph([loop], "then", [], [])
    node = helper.make_node("If", ["cond"], ["y"], name="outer", then_branch=branch, else_branch=branch)
    violations = check_op_rule(model_of(node))
    assert len(violations) == 2
    assert all("outer" in v and "node 'loop' > body" in v and "StringJoin" in v for v in violations)


def test_violation_in_local_function_is_found_and_call_passes() -> None:
    function = helper.make_function(
        "local", "Clean", ["a"], ["b"], [contrib("StringRegexReplace")], [helper.make_opsetid(contract.EXTENSIONS_DOMAIN, 1)]
    )
    model = model_of(helper.make_node("Clean", ["x"], ["y"], domain="local"))
    model.functions.append(function)
    violations = check_op_rule(model)
    assert len(violations) == 1 and "function 'local::Clean'" in violations[0]


def test_opset_19_is_flagged() -> None:
    violations = check_op_rule(model_of(helper.make_node("Identity", ["x"], ["y"]), opset=19, ir_version=9))
    assert violations == ["opset 19 of domain 'ai.onnx' is above the allowed 18"]


def test_max_opset_can_be_raised() -> None:
    assert check_op_rule(model_of(helper.make_node("Identity", ["x"], ["y"]), opset=19, ir_version=9), max_opset=19) == []


def test_ir_version_10_and_ml_opset_4_are_flagged() -> None:
    ml4 = (helper.make_opsetid("ai.onnx.ml", 4),)
    model = model_of(helper.make_node("Identity", ["x"], ["y"]), ir_version=10, extra_opsets=ml4)
    violations = check_op_rule(model)
    assert len(violations) == 2
    assert "IR version 10" in violations[0] and "ai.onnx.ml" in violations[1]


def test_assert_op_rule_raises_one_line_export_error() -> None:
    model = model_of(*(contrib(op) for op in ["StringRegexReplace", "StringJoin", "StringMapping", "StringSplit"]))
    with pytest.raises(ExportError) as caught:
        assert_op_rule(model)
    message = str(caught.value)
    assert "\n" not in message
    assert "StringRegexReplace" in message and "and 1 more" in message and "tokenizer" in message


def test_assert_op_rule_passes_a_clean_graph() -> None:
    assert_op_rule(model_of(contrib("BertTokenizer")))
