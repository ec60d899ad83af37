"""Offline graph optimization at ONNX Runtime's levels, the ``--optimize 0|1|2|99`` of conversion scripts.

0 writes the exported encoder as it is; 1 (basic) folds constants and removes redundant nodes,
standard ops only; 2 (extended) fuses nodes into ONNX Runtime's ``com.microsoft`` contrib ops
(FusedMatMul, BiasGelu, and Attention or SkipLayerNormalization where it recognises them); 99
adds layouts chosen for this machine's CPU. Oracle documents no contrib op, so 2 and 99 need the
``portable`` op profile (``check_level``), and a 99 graph is tied to the CPU it was optimized on.

ONNX Runtime applies its levels again whenever it loads a graph, so an offline level mostly moves
work from every load to the conversion; the figures are in docs/optimization.md.

A model saved by a newer ONNX Runtime declares opset imports (ai.onnx.ml 5, training domains,
...) that ONNX Runtime 1.15.1 refuses to load; they are reset to the input's, plus ``com.microsoft``
when a fused op uses it. At level 1 a graph that gained any op is kept unoptimized.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from embedpipe import contract
from embedpipe.errors import ConfigError

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

LEVELS = (0, 1, 2, 99)  # ONNX Runtime's: disabled, basic, extended, all
BASIC = 1
FUSING_LEVELS = (2, 99)  # write com.microsoft contrib ops
CPU_SPECIFIC_LEVEL = 99


def default_level(quantized: bool) -> int:
    """What a conversion gets without ``optimize``: 1 before a quantizer (constants folded before weights are
    quantized, as before the option existed), else 0, the exported graph unchanged, which the runtime
    optimizes when it loads it."""
    return BASIC if quantized else 0


def check_level(level: object, op_profile: str) -> int:
    """``level`` when the op profile can hold what it writes; a one-line ``ConfigError`` otherwise."""
    if isinstance(level, bool) or level not in LEVELS:
        raise ConfigError(
            f"optimize {level!r} is not an optimization level",
            "use 0 (none), 1 (basic), 2 (extended: contrib ops) or 99 (all: also this CPU's layouts)",
        )
    if level in FUSING_LEVELS and op_profile != contract.PORTABLE_PROFILE:
        raise ConfigError(
            f"optimize {level} fuses ops into ONNX Runtime's {contract.CONTRIB_DOMAIN} contrib ops, which Oracle "
            f"does not document, so the {op_profile} op profile cannot hold them",
            f"use optimize 0 or 1 for Oracle, or op_profile {contract.PORTABLE_PROFILE} (CLI --op-profile portable) for a client-side graph",
        )
    assert isinstance(level, int)
    return level


def optimize(model: onnx.ModelProto, level: int) -> onnx.ModelProto:
    """``model`` after ONNX Runtime's optimizations at ``level``, with the input's opsets and IR version.

    ``model`` must be self-contained (its weights in memory); the result is too.
    """
    if level == 0:
        return model
    if level == CPU_SPECIFIC_LEVEL:
        log.warning("optimize %d writes layouts chosen for this machine's CPU: run the graph on this kind of CPU only", level)
    optimized = _run_optimizer(_with_shapes(model) if level in FUSING_LEVELS else model, level)
    new_ops = _ops(optimized) - _ops(model)
    if level == BASIC and new_ops:
        log.warning("basic optimization introduced %s; keeping the graph unoptimized", sorted(new_ops))
        return model
    domains = {domain for domain, _ in new_ops}
    del optimized.opset_import[:]
    optimized.opset_import.extend(model.opset_import)
    if contract.CONTRIB_DOMAIN in domains and all(o.domain != contract.CONTRIB_DOMAIN for o in model.opset_import):
        import onnx

        optimized.opset_import.append(onnx.helper.make_opsetid(contract.CONTRIB_DOMAIN, 1))
    optimized.ir_version = model.ir_version
    return optimized


def _with_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """``model`` with its values' shapes inferred: ONNX Runtime fuses an Add and a LayerNormalization into
    SkipLayerNormalization only where it knows both inputs' shapes (6 of all-MiniLM-L6-v2's 12 with them, none without)."""
    import onnx

    return onnx.shape_inference.infer_shapes(model)


def _run_optimizer(model: onnx.ModelProto, level: int) -> onnx.ModelProto:
    import onnx
    import onnxruntime as ort
    from onnxruntime_extensions import get_library_path

    levels = {
        1: ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        2: ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        99: ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    with tempfile.TemporaryDirectory(prefix="embedpipe-optimize-") as folder:
        output = Path(folder) / "optimized.onnx"
        options = ort.SessionOptions()
        options.register_custom_ops_library(get_library_path())
        options.graph_optimization_level = levels[level]
        options.optimized_model_filepath = str(output)
        ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return onnx.load(str(output))


def _ops(model: onnx.ModelProto) -> set[tuple[str, str]]:
    return {(node.domain, node.op_type) for node in model.graph.node}
