"""Tiny random-weight sequence classifiers (a reranker, a three-class classifier) for the head tests.

The tokenizer is trained as tests/models.py trains each family's; the model is the family's
``*ForSequenceClassification`` saved with save_pretrained beside it, its weights drawn wide
(initializer_range 0.3) so one different token moves a score by ~0.1, far above the 1e-4 tolerance.
"""

from __future__ import annotations

from pathlib import Path

from tests.models import FAMILIES, HIDDEN, _save_tokenizer

_CLASSIFIERS = {"bert-uncased": "BertForSequenceClassification", "roberta": "RobertaForSequenceClassification", "xlmr": "XLMRobertaForSequenceClassification"}


def build_classifier(root: Path, family_name: str, id2label: dict[int, str], *, seed: int = 0, **config: object) -> Path:
    """A transformers folder: the family's trained tokenizer and a random classifier with ``id2label``."""
    import torch
    import transformers

    family = FAMILIES[family_name]
    folder = root / family_name
    folder.mkdir(parents=True, exist_ok=True)
    tokenizer = _save_tokenizer(family_name, family, folder, 3000)
    torch.manual_seed(seed)
    sizes = {"hidden_size": HIDDEN, "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 130}
    options = {
        "vocab_size": len(tokenizer),
        **sizes,
        **family.config,
        "initializer_range": 0.3,
        "id2label": id2label,
        "label2id": {v: k for k, v in id2label.items()},
        **config,
    }
    model_config = getattr(transformers, family.config_class)(**options)
    getattr(transformers, _CLASSIFIERS[family_name])(model_config).save_pretrained(str(folder))
    return folder
