"""all-MiniLM-L6-v2 exported once per session as INT8 and as FP16 (each validated and measured on export)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import Convert

if TYPE_CHECKING:
    from embedpipe import ONNXPipeline


@pytest.fixture(scope="session")
def minilm_int8(minilm_dir: Path, converted: Convert) -> tuple[ONNXPipeline, Path]:
    """(pipeline, file) of the INT8 export with the default options."""
    return converted(minilm_dir, quantize_model=True)


@pytest.fixture(scope="session")
def minilm_fp16(minilm_dir: Path, converted: Convert) -> tuple[ONNXPipeline, Path]:
    """(pipeline, file) of the FP16 export with the default options."""
    return converted(minilm_dir, use_float16=True)


@pytest.fixture(scope="session")
def real_lines(real_text: list[str]) -> list[str]:
    """200 real lines spread over the corpus, none of them in the retrieval set the export measured itself on."""
    from embedpipe.quality import retrieval_texts

    seen = set(retrieval_texts())
    lines = [line for line in real_text if line.strip() and line.strip() not in seen]
    return lines[:: max(1, len(lines) // 200)][:200]


@pytest.fixture(scope="session")
def minilm_reference_vectors(minilm_reference, real_lines: list[str]):  # type: ignore[no-untyped-def]
    """sentence-transformers' own vectors for ``real_lines``: the reference the quantized graphs are held to."""
    return minilm_reference.encode(real_lines, batch_size=16, convert_to_numpy=True, show_progress_bar=False)
