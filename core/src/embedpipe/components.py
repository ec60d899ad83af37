"""What a plugin's component must provide, per kind (the plugin author's contract).

Plugins register *factories* (usually the component class itself) under a name; the core calls
a factory once per pipeline with keyword options and uses the returned object. Each component
emits a standalone ONNX stage that honours ``embedpipe.contract`` and, for poolers and
post-processors, a sentence-transformers style torch module that computes the same thing, so
validation can compare the graph with a real reference instead of with itself.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import onnx

from embedpipe import contract

if TYPE_CHECKING:
    import torch

    from embedpipe.source import ModelSource


@dataclass(frozen=True)
class Limitation:
    """An input class a tokenizer declares it cannot yet reproduce exactly.

    ``matches`` tells whether a text belongs to the class; validation forgives differences only
    on such texts and lists them, with ``measured_rate`` (share of texts of that class whose
    token ids differ, as measured by the plugin's author) in the report and the docs.
    """

    name: str
    description: str
    matches: Callable[[str], bool]
    measured_rate: str
    # The op profiles whose graphs have the limitation (a stage may split text differently per profile).
    op_profiles: frozenset[str] = frozenset(contract.OP_PROFILES)


@dataclass(frozen=True)
class TokenizerOptions:
    """What the core asks of a tokenizer stage."""

    max_length: int
    do_lower_case: bool | None  # None: as the model's tokenizer files declare
    with_token_type_ids: bool  # the encoder takes token_type_ids
    opset: int
    # Text put before every input inside the graph (a prompt). The stage tokenizes prefix + input as
    # one text, exactly as Hugging Face tokenizes the concatenation, or refuses with UnsupportedModelError.
    prefix: str = ""
    # Which op domains the stage may use (contract.OP_PROFILES): "oracle" allows the extension
    # tokenizer ops but no com.microsoft op, "portable" the reverse.
    op_profile: str = contract.DEFAULT_OP_PROFILE
    # Tokenize a pair: inputs contract.FIRST_TEXT and SECOND_TEXT (string [1] each) instead of TEXT,
    # ids as Hugging Face gives tokenizer([first], [second], truncation=True, max_length=max_length)
    # (longest_first, the model's pair template and token types; the batch form, as CrossEncoder
    # calls it: a single call drops an empty second text). A stage that cannot raises
    # UnsupportedModelError.
    pair: bool = False


@runtime_checkable
class Tokenizer(Protocol):
    """Emits the tokenizer stage: ``input`` string [1] -> int64 [1, S] ids and mask."""

    limitations: Sequence[Limitation]

    def build_graph(self, source: ModelSource, options: TokenizerOptions) -> onnx.ModelProto: ...


@runtime_checkable
class Pooler(Protocol):
    """Emits ``token_embeddings`` [1, S, H] + ``attention_mask`` [1, S] -> ``sentence_embedding`` [1, H]."""

    def build_graph(self, hidden_size: int, opset: int) -> onnx.ModelProto: ...

    def reference_module(self, hidden_size: int) -> torch.nn.Module: ...


@runtime_checkable
class PostProcessor(Protocol):
    """Emits ``features_in`` [1, D_in] -> ``features_out`` [1, D_out]."""

    def output_dim(self, input_dim: int) -> int: ...

    def build_graph(self, input_dim: int, opset: int) -> onnx.ModelProto: ...

    def reference_module(self, input_dim: int) -> torch.nn.Module: ...


@runtime_checkable
class Calibration(Protocol):
    """What a quantizer may learn from and is held to: the body's inputs for real texts, and the floors.

    ``feeds`` are the tokenizer stage's outputs for calibration texts (input name -> array [1, S]);
    ``accepts(body)`` runs a candidate body and tells whether it keeps the floors the export is held
    to (quality.py), so a quantizer can search for the fastest body that does.
    """

    feeds: Sequence[dict[str, Any]]

    def accepts(self, body: onnx.ModelProto) -> bool: ...


@runtime_checkable
class Quantizer(Protocol):
    """Transforms the graph's body (encoder, pooler, post-processors); never the tokenizer stage or IO types.

    Its options are the factory's keyword arguments, so ``quantize`` takes the model and the
    pipeline's ``Calibration``. ``quality_floor`` is the least mean cosine to the fp32 graph it
    promises for an embedding graph, ``neighbour_floor`` the least mean top-10 neighbour overlap:
    an export below either fails unless the config sets its own (rerankers and classifiers are
    held to score agreement, with floors of their own: quality.py). After ``quantize``,
    ``kept_float`` names the body's nodes it left in float arithmetic (the quality report lists them).
    """

    quality_floor: float
    neighbour_floor: float
    kept_float: tuple[str, ...]

    def quantize(self, model: onnx.ModelProto, calibration: Calibration) -> onnx.ModelProto: ...


@runtime_checkable
class Sink(Protocol):
    """Writes (or loads) the finished graph; returns the paths it wrote, if any."""

    def write(self, model: onnx.ModelProto, name: str, output_dir: Path, **options: Any) -> list[Path]: ...

