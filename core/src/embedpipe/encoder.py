"""Export the transformer encoder with torch.onnx: the tokenizer outputs in, token embeddings out."""

from __future__ import annotations

import gc
import inspect
import warnings

import onnx

from embedpipe import contract
from embedpipe.errors import ExportError, ModelSourceError, UnsupportedModelError
from embedpipe.source import ModelSource
from embedpipe.weights import WeightFolder

_SEQUENCE = "sequence"
_BATCH = "batch"
# Encoder-decoder families whose embedding comes from the encoder alone, as sentence-transformers loads them.
_ENCODER_CLASSES = {"t5": "T5EncoderModel", "mt5": "MT5EncoderModel", "umt5": "UMT5EncoderModel"}


def encoder_inputs(source: ModelSource) -> tuple[str, ...]:
    """The tokenizer outputs this encoder takes, in the contract's order.

    ``token_type_ids`` only where both the model's forward and its own tokenizer use it
    (XLM-R's forward accepts it, but its tokenizer never sends it).
    """
    import transformers

    model_class = _model_class(source, transformers)
    parameters = inspect.signature(model_class.forward).parameters
    wanted = [contract.INPUT_IDS, contract.ATTENTION_MASK]
    if contract.TOKEN_TYPE_IDS in parameters and contract.TOKEN_TYPE_IDS in source.model_input_names:
        wanted.append(contract.TOKEN_TYPE_IDS)
    return tuple(wanted)


def _model_class(source: ModelSource, transformers: object) -> type:
    from transformers import AutoConfig, AutoModel

    if source.model_type in _ENCODER_CLASSES:
        return getattr(transformers, _ENCODER_CLASSES[source.model_type])
    try:
        config = AutoConfig.from_pretrained(str(source.path), trust_remote_code=source.trust_remote_code)
        return AutoModel._model_mapping[type(config)]
    except (KeyError, ValueError) as exc:
        raise UnsupportedModelError(
            f"transformers has no encoder class for model type {source.model_type!r} of {source.name}",
            "use a model whose architecture transformers knows, or pass trust_remote_code=True for custom code",
        ) from exc


def load_encoder(source: ModelSource):  # type: ignore[no-untyped-def]
    """A fresh encoder in eval mode, from safetensors, with eager attention (traceable everywhere)."""
    import transformers

    loader = getattr(transformers, _ENCODER_CLASSES.get(source.model_type or "", "AutoModel"))
    try:
        model = loader.from_pretrained(
            str(source.path),
            use_safetensors=True,
            attn_implementation="eager",
            trust_remote_code=source.trust_remote_code,
        )
    except (OSError, ValueError, RuntimeError) as exc:
        raise ModelSourceError(
            f"cannot load the weights of {source.name}: {str(exc).splitlines()[0]}", "re-download the model"
        ) from exc
    return model.eval()


def export_encoder(
    source: ModelSource,
    names: tuple[str, ...],
    weights: WeightFolder | None = None,
    *,
    opset: int = contract.DEFAULT_OPSET,
    dynamic_batch: bool = False,
) -> onnx.ModelProto:
    """The encoder stage as an ONNX model with a dynamic sequence length (and batch, if asked: the
    batched client graph; traced with two rows so nothing is specialised to one).

    The legacy TorchScript exporter is used because it writes opset 17 directly; it may leave
    the model object changed, so it always gets a fresh model that nothing else uses. ``names``
    are the tokenizer outputs it takes, as ``encoder_inputs`` gives them. The export goes to a
    file in ``weights`` (torch writes external data itself above 2 GB) and the returned proto
    references its tensors there: the torch model is freed before the ONNX weights are read, so
    the two are never both in memory after the export. Without ``weights`` the stage comes back
    self-contained.
    """
    if weights is None:
        folder = WeightFolder()
        try:
            return folder.internalize(export_encoder(source, names, folder, opset=opset, dynamic_batch=dynamic_batch))
        finally:
            folder.cleanup()
    import torch

    model = load_encoder(source)

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.model = encoder

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return self.model(**dict(zip(names, tensors))).last_hidden_state

    fill = {contract.INPUT_IDS: 5, contract.ATTENTION_MASK: 1, contract.TOKEN_TYPE_IDS: 0}
    rows = 2 if dynamic_batch else 1
    dummy = tuple(torch.full((rows, 8), fill[name], dtype=torch.int64) for name in names)
    axes = {0: _BATCH, 1: _SEQUENCE} if dynamic_batch else {1: _SEQUENCE}
    exported_file = weights.path / "encoder-export.onnx"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                TokenEmbeddings(model),
                dummy,
                str(exported_file),
                input_names=list(names),
                output_names=[contract.TOKEN_EMBEDDINGS],
                dynamic_axes={name: axes for name in (*names, contract.TOKEN_EMBEDDINGS)},
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
    except Exception as exc:  # torch raises many types; the user needs one line
        raise ExportError(
            f"torch.onnx could not export the encoder of {source.name}: {str(exc).splitlines()[0]}",
            "report the model type to embedpipe; try another opset with --opset",
        ) from exc
    del model, dummy
    gc.collect()
    exported = weights.externalize(onnx.load(str(exported_file), load_external_data=False), "encoder.dat")
    exported_file.unlink()
    exported.ir_version = contract.DEFAULT_IR_VERSION
    return exported
