"""Compose stage graphs into one model along the contract's tensor names.

Every stage is a standalone ``onnx.ModelProto``. Composition keeps the contract names that wire
stages together, prefixes every other name with the stage's prefix (so two stages can both have a
``Shape_0``), merges opset imports, and checks the result with onnx's checker.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import onnx
from onnx import helper

from embedpipe import contract
from embedpipe.errors import ExportError


@dataclass
class Stage:
    """A stage graph, its name prefix, and how its IO names map onto the composed graph."""

    prefix: str
    model: onnx.ModelProto
    wiring: Mapping[str, str] = field(default_factory=dict)  # stage IO name -> composed name


def _graph_names(graph: onnx.GraphProto) -> set[str]:
    """Every tensor name defined or used in ``graph`` and its subgraphs."""
    names = {t.name for t in graph.initializer} | {t.values.name for t in graph.sparse_initializer}
    names |= {v.name for v in (*graph.input, *graph.output, *graph.value_info)}
    for node in graph.node:
        names.update(n for n in (*node.input, *node.output) if n)
        for attribute in node.attribute:
            for sub in subgraphs(attribute):
                names |= _graph_names(sub)
    return names


def subgraphs(attribute: onnx.AttributeProto) -> list[onnx.GraphProto]:
    """The graphs an attribute holds (a Loop's or If's bodies), or none."""
    if attribute.type == onnx.AttributeProto.GRAPH:
        return [attribute.g]
    if attribute.type == onnx.AttributeProto.GRAPHS:
        return list(attribute.graphs)
    return []


def node_reads(node: onnx.NodeProto) -> list[str]:
    """The names a node reads: its inputs, and what its subgraphs, at any depth, read from outside them."""
    reads = [name for name in node.input if name]
    for attribute in node.attribute:
        for sub in subgraphs(attribute):
            local = {v.name for v in sub.input} | {t.name for t in sub.initializer}
            local |= {out for inner in sub.node for out in inner.output}
            reads.extend(name for inner in sub.node for name in node_reads(inner) if name not in local)
    return reads


def _rename_graph(graph: onnx.GraphProto, mapping: Mapping[str, str], prefix: str) -> None:
    """Rename tensors (and node names) in place, recursing into subgraphs."""

    def rename(name: str) -> str:
        return mapping.get(name, name) if name else name

    for tensor in graph.initializer:
        tensor.name = rename(tensor.name)
    for sparse in graph.sparse_initializer:
        sparse.values.name = rename(sparse.values.name)
    for value in (*graph.input, *graph.output, *graph.value_info):
        value.name = rename(value.name)
    for index, node in enumerate(graph.node):
        node.input[:] = [rename(n) for n in node.input]
        node.output[:] = [rename(n) for n in node.output]
        # Every node gets a stage-prefixed name, so later passes can tell the stages apart.
        node.name = f"{prefix}{node.name or f'{node.op_type}#{index}'}"
        for attribute in node.attribute:
            for sub in subgraphs(attribute):
                _rename_graph(sub, mapping, prefix)


def _prepared(stage: Stage) -> onnx.GraphProto:
    """A copy of the stage's graph with internal names prefixed and IO names wired."""
    graph = onnx.GraphProto()
    graph.CopyFrom(stage.model.graph)
    io_names = {v.name for v in (*graph.input, *graph.output)}
    mapping = {name: f"{stage.prefix}{name}" for name in _graph_names(graph) if name not in io_names}
    mapping.update({name: stage.wiring.get(name, name) for name in io_names})
    _rename_graph(graph, mapping, stage.prefix)
    return graph


def _merged_opsets(models: Iterable[onnx.ModelProto], opset: int) -> list[onnx.OperatorSetIdProto]:
    versions: dict[str, int] = {"": opset}
    for model in models:
        for entry in model.opset_import:
            domain = "" if entry.domain == "ai.onnx" else entry.domain
            if domain == "" and entry.version > opset:
                raise ExportError(
                    f"a stage needs ai.onnx opset {entry.version}, above the requested {opset}",
                    f"raise the opset (at most {contract.MAX_OPSET}) or fix that plugin",
                )
            versions[domain] = max(versions.get(domain, 0), entry.version)
    return [helper.make_opsetid(domain, version) for domain, version in sorted(versions.items())]


def compose(
    stages: list[Stage],
    *,
    inputs: Iterable[str],
    outputs: Iterable[str],
    opset: int = contract.DEFAULT_OPSET,
    ir_version: int = contract.DEFAULT_IR_VERSION,
    name: str = "embedpipe",
    doc: str = "",
) -> onnx.ModelProto:
    """One model from ``stages``; ``inputs``/``outputs`` are the composed graph's IO names."""
    graphs = [(_prepared(stage), stage) for stage in stages]
    values = {}
    for graph, _ in graphs:
        for value in (*graph.input, *graph.output):
            values.setdefault(value.name, value)
    missing = [n for n in (*inputs, *outputs) if n not in values]
    if missing:
        raise ExportError(f"no stage provides or takes {', '.join(missing)}", "check the stages' contract names")
    composed = helper.make_graph(
        nodes=[node for graph, _ in graphs for node in graph.node],
        name=name,
        inputs=[values[n] for n in inputs],
        outputs=[values[n] for n in outputs],
        initializer=[t for graph, _ in graphs for t in graph.initializer],
        value_info=[v for graph, _ in graphs for v in graph.value_info],
        doc_string=doc,
    )
    composed.sparse_initializer.extend(s for graph, _ in graphs for s in graph.sparse_initializer)
    model = helper.make_model(
        composed,
        opset_imports=_merged_opsets((stage.model for stage in stages), opset),
        ir_version=ir_version,
        producer_name="embedpipe",
    )
    _check_wiring(composed)
    return model


def _check_wiring(graph: onnx.GraphProto) -> None:
    """Every node input must be produced by something: a dangling name means a broken contract."""
    available = {v.name for v in graph.input} | {t.name for t in graph.initializer} | {""}
    available |= {s.values.name for s in graph.sparse_initializer}
    for node in graph.node:
        available.update(node.output)
    dangling = sorted({name for node in graph.node for name in node.input if name not in available})
    if dangling:
        raise ExportError(f"composed graph has inputs nothing produces: {', '.join(dangling[:5])}", "a stage broke the contract")
