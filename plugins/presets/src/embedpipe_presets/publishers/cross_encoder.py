"""sentence-transformers' MS MARCO cross-encoders: rerankers (one label) on MiniLM uncased."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import CARD, head_preset

_ORG = "cross-encoder"


def _ms_marco_minilm(name: str) -> dict[str, Any]:
    """The card loads it with ``CrossEncoder(..., max_length=512)``; config.json has 512 positions."""
    return head_preset(
        f"{_ORG}/{name}",
        sources={"max_seq_length": CARD},
        function=contract.REGRESSION,
        max_seq_length=512,
        do_lower_case=True,
        _architecture="bert",
        _tokenizer_family=contract.WORDPIECE,
        _num_labels=1,
    )


HEAD_PRESETS: dict[str, dict[str, Any]] = {
    f"{_ORG}/{name}": _ms_marco_minilm(name) for name in ("ms-marco-MiniLM-L-6-v2", "ms-marco-MiniLM-L-12-v2")
}
