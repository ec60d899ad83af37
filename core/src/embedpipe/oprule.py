"""Oracle's op rule: which ops, opsets and IR versions a graph may use to load in the database.

Oracle refuses every custom op except the tokenizers. Its embedded ONNX Runtime (1.15.1 in 23ai)
loads IR <= 9 and ai.onnx.ml opset <= 3, and lacks opset-19 kernels of some ops (Identity, Cast),
so the default domain stays at ``contract.MAX_OPSET``. ``StringNormalizer`` is refused too: it
needs its locale to exist on the database host, which nobody can promise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import onnx

from embedpipe import contract
from embedpipe.errors import ExportError

MAX_IR_VERSION = 9
MAX_ML_OPSET = 3
LOCALE_DEPENDENT_OPS = frozenset({"StringNormalizer"})
_DEFAULT_DOMAINS = ("", "ai.onnx")


def check_op_rule(model: onnx.ModelProto, *, max_opset: int = contract.MAX_OPSET) -> list[str]:
    """Every way ``model`` breaks the op rule, one readable sentence each; empty when it keeps it."""
    return [*_check_versions(model, max_opset), *_check_nodes(model)]


def assert_op_rule(model: onnx.ModelProto, *, max_opset: int = contract.MAX_OPSET) -> None:
    """Raise ``ExportError`` naming the first violations when ``model`` breaks the op rule."""
    violations = check_op_rule(model, max_opset=max_opset)
    if not violations:
        return
    shown = "; ".join(violations[:3])
    more = f" (and {len(violations) - 3} more)" if len(violations) > 3 else ""
    raise ExportError(
        f"the graph would not load in Oracle ({len(violations)} problems): {shown}{more}",
        f"use standard ONNX ops at opset <= {max_opset}, IR <= {MAX_IR_VERSION}, and of the custom ops only "
        f"the tokenizers ({', '.join(sorted(contract.ALLOWED_EXTENSION_OPS))})",
    )


def _check_versions(model: onnx.ModelProto, max_opset: int) -> Iterator[str]:
    """IR version and opset imports beyond what the database's ONNX Runtime can load."""
    if model.ir_version > MAX_IR_VERSION:
        yield f"IR version {model.ir_version} is above {MAX_IR_VERSION}, the highest ONNX Runtime 1.15.1 loads"
    limits = {domain: max_opset for domain in _DEFAULT_DOMAINS} | {"ai.onnx.ml": MAX_ML_OPSET}
    for opset in model.opset_import:
        limit = limits.get(opset.domain)
        if limit is not None and opset.version > limit:
            yield f"opset {opset.version} of domain '{opset.domain or 'ai.onnx'}' is above the allowed {limit}"


def _check_nodes(model: onnx.ModelProto) -> Iterator[str]:
    """Each node, in the main graph, its subgraphs and the model's local functions, that Oracle refuses."""
    functions = {(f.domain, f.name) for f in model.functions}
    yield from _check_node_list(model.graph.node, "graph", functions)
    for function in model.functions:
        yield from _check_node_list(function.node, f"function '{function.domain}::{function.name}'", functions)


def _check_node_list(nodes: Iterable[onnx.NodeProto], where: str, functions: set[tuple[str, str]]) -> Iterator[str]:
    """The violations of ``nodes`` and of every subgraph they hold (If branches, Loop and Scan bodies)."""
    for index, node in enumerate(nodes):
        label = f"{where} > node '{node.name}'" if node.name else f"{where} > node #{index}"
        problem = _node_problem(node, functions)
        if problem:
            yield f"{label} {problem}"
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else attribute.graphs:
                yield from _check_node_list(subgraph.node, f"{label} > {attribute.name}", functions)


def _node_problem(node: onnx.NodeProto, functions: set[tuple[str, str]]) -> str | None:
    """Why Oracle refuses this one node, or None when it accepts it."""
    domain, op = node.domain, node.op_type
    if domain in contract.STANDARD_DOMAINS:
        if op in LOCALE_DEPENDENT_OPS:
            return f"uses {op}, which fails to load where the locale it names is missing on the database host"
        return None
    if domain == contract.EXTENSIONS_DOMAIN:
        if op in contract.ALLOWED_EXTENSION_OPS:
            return None
        return f"uses {domain}::{op}, a custom op Oracle refuses (of {domain} only the tokenizer ops are allowed)"
    if (domain, op) in functions:
        return None
    return f"uses {domain}::{op}, an op of domain '{domain}' that Oracle's ONNX Runtime does not provide"
