"""Single-model publishers on OML4Py's list and among users' requests: TaylorAI, thenlper, mixedbread-ai,
infgrad and nomic-ai, all shipped as sentence-transformers repositories."""

from __future__ import annotations

from typing import Any

from embedpipe import contract

from embedpipe_presets.facts import BGE_QUERY, ENGLISH, preset


def _english_bert(repo: str, *, pooling: str, normalize: bool, dim: int, **facts: Any) -> dict[str, Any]:
    return preset(
        repo,
        max_seq_length=facts.pop("max_seq_length", 512),
        do_lower_case=True,
        pooling=pooling,
        normalize=normalize,
        languages=ENGLISH,
        _architecture=facts.pop("_architecture", "bert"),
        _tokenizer_family=contract.WORDPIECE,
        _embedding_dim=dim,
        **facts,
    )


PRESETS: dict[str, dict[str, Any]] = {
    # Distilled from bge-small-en-v1.5 and gte-small; their modules.json ends at Pooling.
    "TaylorAI/bge-micro-v2": _english_bert("TaylorAI/bge-micro-v2", pooling="mean", normalize=False, dim=384),
    "TaylorAI/gte-tiny": _english_bert("TaylorAI/gte-tiny", pooling="mean", normalize=False, dim=384),
    "thenlper/gte-small": _english_bert("thenlper/gte-small", pooling="mean", normalize=True, dim=384),
    "thenlper/gte-base": _english_bert("thenlper/gte-base", pooling="mean", normalize=True, dim=768),
    # "No prefix text needed" (model card).
    "infgrad/stella-base-en-v2": _english_bert("infgrad/stella-base-en-v2", pooling="mean", normalize=True, dim=768),
    # CLS pooling, no Normalize module; query prompt and an empty passage prompt in
    # config_sentence_transformers.json; the card truncates to 512 dimensions (Matryoshka).
    "mixedbread-ai/mxbai-embed-large-v1": _english_bert(
        "mixedbread-ai/mxbai-embed-large-v1",
        sources={"prompts": "config_sentence_transformers.json"},
        pooling="cls",
        normalize=False,
        dim=1024,
        prompts={"query": BGE_QUERY, "passage": ""},
        _matryoshka_dims=[1024, 512],
    ),
    # nomic_bert (rotary positions, SwiGLU) is code in the repository: trust_remote_code. Task
    # prefixes from config_sentence_transformers.json; Matryoshka sizes and the final L2
    # normalization from the model card.
    "nomic-ai/nomic-embed-text-v1.5": _english_bert(
        "nomic-ai/nomic-embed-text-v1.5",
        sources={"prompts": "config_sentence_transformers.json", "normalize": "README.md"},
        max_seq_length=8192,
        pooling="mean",
        normalize=True,
        dim=768,
        _architecture="nomic_bert",
        _remote_code=True,
        prompts={
            "query": "search_query: ",
            "document": "search_document: ",
            "classification": "classification: ",
            "clustering": "clustering: ",
        },
        _matryoshka_dims=[768, 512, 256, 128, 64],
    ),
}
