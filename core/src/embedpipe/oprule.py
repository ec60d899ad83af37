"""Oracle's op rule: which ops, opsets and IR versions a graph may use, per op profile.

Oracle documents standard ONNX, ai.onnx.ml (its classic-ML imports) and the onnxruntime-extensions
tokenizer ops, and says every other custom op fails on import; it says nothing of ONNX Runtime's
com.microsoft contrib ops. So the ``oracle`` profile allows exactly the documented set, and the
``portable`` profile (no extension op, for runtimes without the extensions library) allows
com.microsoft instead of the tokenizer ops. Both: the embedded ONNX Runtime (1.15.1 in 23ai) loads
IR <= 9 and ai.onnx.ml opset <= 3, and lacks opset-19 kernels of some ops (Identity, Cast), so the
default domain stays at ``contract.MAX_OPSET``. ``StringNormalizer`` is refused too: it needs its
locale to exist on the database host, which nobody can promise.
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


def check_op_rule(
    model: onnx.ModelProto, *, max_opset: int = contract.MAX_OPSET, op_profile: str = contract.DEFAULT_OP_PROFILE
) -> list[str]:
    """Every way ``model`` breaks the op profile's rule, one readable sentence each; empty when it keeps it."""
    if op_profile not in contract.OP_PROFILES:
        raise ValueError(f"unknown op profile {op_profile!r}")
    return [*_check_versions(model, max_opset), *_check_nodes(model, op_profile)]


def undocumented_ops(model: onnx.ModelProto) -> list[str]:
    """The graph's ops outside what Oracle documents (``domain::op``, sorted): what a database may refuse."""
    local = {(f.domain, f.name) for f in model.functions}
    return sorted(
        {
            f"{node.domain}::{node.op_type}"
            for node in _all_nodes(model)
            if node.domain not in contract.ORACLE_DOCUMENTED_DOMAINS
            and not (node.domain == contract.EXTENSIONS_DOMAIN and node.op_type in contract.ALLOWED_EXTENSION_OPS)
            and (node.domain, node.op_type) not in local
        }
    )


def fitting_profile(model: onnx.ModelProto) -> str | None:
    """The first op profile whose rule the graph keeps (``oracle`` before ``portable``), or None."""
    return next((p for p in contract.OP_PROFILES if not check_op_rule(model, op_profile=p)), None)


def assert_op_rule(
    model: onnx.ModelProto, *, max_opset: int = contract.MAX_OPSET, op_profile: str = contract.DEFAULT_OP_PROFILE
) -> None:
    """Raise ``ExportError`` naming the first violations when ``model`` breaks the op profile's rule."""
    violations = check_op_rule(model, max_opset=max_opset, op_profile=op_profile)
    if not violations:
        return
    shown = "; ".join(violations[:3])
    more = f" (and {len(violations) - 3} more)" if len(violations) > 3 else ""
    allowed = (
        f"of the custom ops only the tokenizers ({', '.join(sorted(contract.ALLOWED_EXTENSION_OPS))})"
        if op_profile == contract.ORACLE_PROFILE
        else f"no custom op but {contract.CONTRIB_DOMAIN}'s"
    )
    raise ExportError(
        f"the graph breaks the {op_profile} op profile ({len(violations)} problems): {shown}{more}",
        f"use standard ONNX ops at opset <= {max_opset}, IR <= {MAX_IR_VERSION}, ai.onnx.ml, and {allowed}",
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


def _check_nodes(model: onnx.ModelProto, op_profile: str) -> Iterator[str]:
    """Each node, in the main graph, its subgraphs and the model's local functions, that the profile refuses."""
    functions = {(f.domain, f.name) for f in model.functions}
    yield from _check_node_list(model.graph.node, "graph", functions, op_profile)
    for function in model.functions:
        yield from _check_node_list(function.node, f"function '{function.domain}::{function.name}'", functions, op_profile)


def _with_subgraphs(nodes: Iterable[onnx.NodeProto], where: str) -> Iterator[tuple[str, onnx.NodeProto]]:
    """Each node with a readable place, and every node of the subgraphs it holds (If, Loop, Scan bodies)."""
    for index, node in enumerate(nodes):
        label = f"{where} > node '{node.name}'" if node.name else f"{where} > node #{index}"
        yield label, node
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else attribute.graphs:
                yield from _with_subgraphs(subgraph.node, f"{label} > {attribute.name}")


def _all_nodes(model: onnx.ModelProto) -> Iterator[onnx.NodeProto]:
    for function in model.functions:
        yield from (node for _, node in _with_subgraphs(function.node, ""))
    yield from (node for _, node in _with_subgraphs(model.graph.node, ""))


def _check_node_list(
    nodes: Iterable[onnx.NodeProto], where: str, functions: set[tuple[str, str]], op_profile: str
) -> Iterator[str]:
    for label, node in _with_subgraphs(nodes, where):
        problem = _node_problem(node, op_profile, functions)
        if problem:
            yield f"{label} {problem}"


def _node_problem(node: onnx.NodeProto, op_profile: str, functions: set[tuple[str, str]]) -> str | None:
    """Why the profile refuses this one node, or None when it accepts it."""
    domain, op = node.domain, node.op_type
    if domain in contract.ORACLE_DOCUMENTED_DOMAINS:
        if op in LOCALE_DEPENDENT_OPS:
            return f"uses {op}, which fails to load where the locale it names is missing on the database host"
        return None
    if domain == contract.CONTRIB_DOMAIN:
        if op_profile == contract.PORTABLE_PROFILE:
            return None
        return (
            f"uses {domain}::{op}, an ONNX Runtime contrib op Oracle does not document "
            f"(export with op_profile='{contract.PORTABLE_PROFILE}' only for runtimes known to have it)"
        )
    if domain == contract.EXTENSIONS_DOMAIN:
        if op_profile == contract.PORTABLE_PROFILE:
            return f"uses {domain}::{op}, an onnxruntime-extensions op the {contract.PORTABLE_PROFILE} profile excludes"
        if op in contract.ALLOWED_EXTENSION_OPS:
            return None
        return f"uses {domain}::{op}, a custom op Oracle refuses (of {domain} only the tokenizer ops are allowed)"
    if (domain, op) in functions:
        return None
    return f"uses {domain}::{op}, an op of domain '{domain}' that Oracle's ONNX Runtime does not provide"
