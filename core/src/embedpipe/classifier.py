"""What a sequence classifier's files declare: its function, its labels, the activation CrossEncoder applies.

Read from config.json (and sentence-transformers' config_sentence_transformers.json) without loading
weights, so a wrong ``function`` is refused before any export.
"""

from __future__ import annotations

import json
from typing import Any

from embedpipe import contract
from embedpipe.errors import ConfigError
from embedpipe.source import ModelSource

_CLASSIFIER_SUFFIX = "ForSequenceClassification"
# The torch modules CrossEncoder names as its activation, by the head activation each one is.
_TORCH_ACTIVATIONS = {
    "torch.nn.modules.activation.Sigmoid": contract.SIGMOID,
    "torch.nn.modules.linear.Identity": contract.IDENTITY,
    "torch.nn.modules.activation.Softmax": contract.SOFTMAX,
}


def is_classifier(source: ModelSource) -> bool:
    """Whether config.json declares a sequence-classification head (``*ForSequenceClassification``)."""
    return any(str(a).endswith(_CLASSIFIER_SUFFIX) for a in source.config.get("architectures") or ())


def num_labels(source: ModelSource) -> int:
    """The head's outputs: id2label's size, as transformers derives ``num_labels`` (2 when nothing says)."""
    declared = source.config.get("id2label")
    if isinstance(declared, dict) and declared:
        return len(declared)
    return int(source.config.get("num_labels", 2))


def labels(source: ModelSource) -> tuple[str, ...]:
    """The class names in label-id order (transformers' LABEL_i where config.json names none)."""
    declared = source.config.get("id2label")
    if not isinstance(declared, dict) or not declared:
        return tuple(f"LABEL_{i}" for i in range(num_labels(source)))
    return tuple(str(declared[key]) for key in sorted(declared, key=int))


def detected_function(source: ModelSource) -> str:
    """The function the model's files imply: a classifier head with one label is a reranker."""
    if not is_classifier(source):
        return contract.EMBEDDING_FUNCTION
    return contract.REGRESSION if num_labels(source) == 1 else contract.CLASSIFICATION


def crossencoder_activation(source: ModelSource) -> str:
    """The activation ``CrossEncoder.predict`` applies by default, as sentence-transformers 6.x resolves it.

    The saved ``activation_fn`` (config_sentence_transformers.json, config.json's
    ``sentence_transformers`` entry, or the older ``sbert_ce_default_activation_function``) wins;
    otherwise sigmoid for one label, identity for several.
    """
    declared = _declared_activation(source)
    if declared is None:
        return contract.SIGMOID if num_labels(source) == 1 else contract.IDENTITY
    if declared not in _TORCH_ACTIVATIONS:
        raise ConfigError(
            f"{source.name} declares the activation {declared!r}, which embedpipe cannot put into the graph",
            f"set activation to one of {', '.join(contract.ACTIVATIONS)}",
        )
    return _TORCH_ACTIVATIONS[declared]


def _declared_activation(source: ModelSource) -> str | None:
    st_config: dict[str, Any] = {}
    path = source.path / "config_sentence_transformers.json"
    if path.is_file():
        st_config = json.loads(path.read_text(encoding="utf-8"))
    nested = source.config.get("sentence_transformers")
    for value in (
        st_config.get("activation_fn"),
        nested.get("activation_fn") if isinstance(nested, dict) else None,
        source.config.get("sbert_ce_default_activation_function"),
    ):
        if value:
            return str(value)
    return None
