"""Whether a graph keeps to the ops Oracle documents; a graph that does not gets one warning line.

Oracle documents standard ONNX, ai.onnx.ml and the onnxruntime-extensions tokenizer ops, and says
every other custom op fails on import; it says nothing of ONNX Runtime's com.microsoft contrib ops,
which ``--op-profile portable`` graphs use. Such a graph may still load, so it is a warning, given
before anything is sent, not an error.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from embedpipe import contract
from embedpipe.manifest import recorded_op_profile
from embedpipe.oprule import undocumented_ops


def undocumented_ops_warning(path: Path) -> str | None:
    """One line naming the graph's ops (subgraphs included) outside Oracle's documented set and the fix, or None.

    Parses the file with onnx (external weights stay on disk): ONNX Runtime's session, which gives
    the interface, does not list a graph's ops.
    """
    model = onnx.load(str(path), load_external_data=False)
    ops = undocumented_ops(model)
    if not ops:
        return None
    profile = recorded_op_profile(model)
    built = f" (built with --op-profile {profile})" if profile else ""
    return (
        f"{path.name}{built} uses ops Oracle does not document ({', '.join(ops)}), so the database may refuse it; "
        f"re-export it with the default --op-profile {contract.ORACLE_PROFILE} (op_profile='{contract.ORACLE_PROFILE}')"
    )
