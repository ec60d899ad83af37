"""The plugin guide's example must keep working: run its code block against the real pipeline."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

GUIDE = Path(__file__).parents[1] / "docs" / "plugins.md"


def _first_python_block_with(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    return next(b for b in blocks if marker in b)


def test_guide_pooler_example_matches_sentence_transformers() -> None:
    namespace: dict = {}
    exec(_first_python_block_with("class FirstTokenPooler"), namespace)  # noqa: S102 - our own docs
    pooler = namespace["FirstTokenPooler"]()
    session = ort.InferenceSession(pooler.build_graph(8, 17).SerializeToString())
    x = np.random.default_rng(0).standard_normal((1, 5, 8)).astype(np.float32)
    mask = np.ones((1, 5), dtype=np.int64)
    got = session.run(None, {"token_embeddings": x, "attention_mask": mask})[0]
    want = pooler.reference_module(8)({"token_embeddings": torch.tensor(x), "attention_mask": torch.tensor(mask)})
    np.testing.assert_allclose(got, want["sentence_embedding"].numpy(), atol=1e-6)
