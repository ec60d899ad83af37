"""Export the transformer encoder with torch.onnx: the tokenizer outputs in, token embeddings out."""

from __future__ import annotations

import gc
import inspect
import warnings
from collections.abc import Iterator
from typing import Any

import onnx

from embedpipe import contract
from embedpipe.errors import ExportError, ModelSourceError, UnsupportedModelError
from embedpipe.graph import node_reads
from embedpipe.source import ModelSource
from embedpipe.weights import WeightFolder

STREAM_ABOVE = 2**30  # bytes of safetensors weights above which the encoder's weights are streamed (see export_encoder)
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


def load_encoder(source: ModelSource, *, classifier: bool = False):  # type: ignore[no-untyped-def]
    """A fresh encoder in eval mode, from safetensors, with eager attention (traceable everywhere).

    ``classifier``: the model with its sequence-classification head (a reranker's or classifier's).
    """
    import transformers

    name = "AutoModelForSequenceClassification" if classifier else _ENCODER_CLASSES.get(source.model_type or "", "AutoModel")
    loader = getattr(transformers, name)
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


def safetensors_bytes(source: ModelSource) -> int:
    """What the model's safetensors weight files weigh on disk (known before anything is loaded)."""
    return sum(f.stat().st_size for f in source.path.glob("*.safetensors") if f.is_file())


def export_encoder(
    source: ModelSource,
    names: tuple[str, ...],
    weights: WeightFolder | None = None,
    *,
    opset: int = contract.DEFAULT_OPSET,
    dynamic_batch: bool = False,
    stream_weights: bool | None = None,
    classifier: bool = False,
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

    ``stream_weights`` (default: when the safetensors files weigh more than ``STREAM_ABOVE``)
    exports the graph alone instead, with ``export_params=False``: the exporter then copies no
    weight (no initializers, no constant-folded copies, no serialized weights), parameters become
    graph inputs named by their state_dict names, and ``_stream_parameters`` turns them into
    initializers written one tensor at a time from the torch model into ``encoder.dat``. Transposes
    of weights stay in that graph; ONNX Runtime folds them when a session is created, and the
    portable optimization before INT8 folds them too.

    ``classifier``: export the sequence-classification model instead, with its ``logits``
    [1, num_labels] as the output in place of ``token_embeddings``.
    """
    if weights is None:
        folder = WeightFolder()
        try:
            return folder.internalize(
                export_encoder(
                    source, names, folder, opset=opset, dynamic_batch=dynamic_batch, stream_weights=stream_weights, classifier=classifier
                )
            )
        finally:
            folder.cleanup()
    import torch

    if stream_weights is None:
        stream_weights = source.path is not None and safetensors_bytes(source) > STREAM_ABOVE
    model = load_encoder(source, classifier=classifier)
    output = contract.LOGITS if classifier else contract.TOKEN_EMBEDDINGS

    class Output(torch.nn.Module):
        """The model's one output the stage gives, from the tensors in ``names``' order."""

        def __init__(self, encoder: torch.nn.Module) -> None:
            super().__init__()
            self.model = encoder

        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            result = self.model(**dict(zip(names, tensors)))
            return result.logits if classifier else result.last_hidden_state

    wrapper = Output(model)
    fill = {contract.INPUT_IDS: 5, contract.ATTENTION_MASK: 1, contract.TOKEN_TYPE_IDS: 0}
    rows = 2 if dynamic_batch else 1
    dummy = tuple(torch.full((rows, 8), fill[name], dtype=torch.int64) for name in names)
    axes = {0: _BATCH, 1: _SEQUENCE} if dynamic_batch else {1: _SEQUENCE}
    # Logits [N, L] have no token axis: only a batch axis, if any.
    output_axes = {k: v for k, v in axes.items() if v == _BATCH} if classifier else axes
    exported_file = weights.path / "encoder-export.onnx"
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                wrapper,
                dummy,
                str(exported_file),
                input_names=list(names),
                output_names=[output],
                dynamic_axes={name: axes for name in names} | ({output: output_axes} if output_axes else {}),
                opset_version=opset,
                do_constant_folding=not stream_weights,
                export_params=not stream_weights,
                dynamo=False,
            )
    except Exception as exc:  # torch raises many types; the user needs one line
        raise ExportError(
            f"torch.onnx could not export the encoder of {source.name}: {str(exc).splitlines()[0]}",
            "report the model type to embedpipe; try another opset with --opset",
        ) from exc
    if stream_weights:
        exported = _stream_parameters(onnx.load(str(exported_file)), wrapper, names, weights, source.name)
        del model, wrapper, dummy
        gc.collect()
    else:
        del model, wrapper, dummy
        gc.collect()
        exported = weights.externalize(onnx.load(str(exported_file), load_external_data=False), "encoder.dat")
    exported_file.unlink()
    exported.ir_version = contract.DEFAULT_IR_VERSION
    return exported


def _stream_parameters(
    graph: onnx.ModelProto, wrapper: Any, names: tuple[str, ...], weights: WeightFolder, model_name: str
) -> onnx.ModelProto:
    """``graph`` (exported with ``export_params=False``) with its parameter inputs turned into initializers.

    Each input other than ``names`` is a parameter or buffer of ``wrapper`` by its state_dict name;
    its data is written straight from the torch tensor into ``encoder.dat``, one at a time. Inputs
    no node reads are dropped, as the normal export drops unused initializers. Constants that
    TorchScript inlined (non-persistent buffers, shapes) stay in the graph as they are.
    """
    import torch

    state = dict(wrapper.state_dict(keep_vars=False))
    used = {name for node in graph.graph.node for name in node_reads(node)}
    kept, wanted = [], []
    for value in graph.graph.input:
        if value.name in names:
            kept.append(value)
        elif value.name not in state:
            raise ExportError(
                f"torch.onnx left an input {value.name!r} in the encoder of {model_name} that is no parameter of the model",
                "report the model type to embedpipe",
            )
        elif value.name in used:
            wanted.append(value.name)
    types = _onnx_types()

    def tensors() -> Iterator[tuple[str, int, tuple[int, ...], memoryview]]:
        for name in wanted:
            tensor = state[name].detach().cpu().contiguous()
            if tensor.dtype not in types:
                raise ExportError(
                    f"parameter {name} of {model_name} has the unsupported type {tensor.dtype}", "convert the model to float32"
                )
            data = tensor.reshape(-1).view(torch.uint8).numpy() if tensor.numel() else b""
            yield name, types[tensor.dtype], tuple(tensor.shape), memoryview(data)

    made = weights.stream(tensors(), "encoder.dat")
    del graph.graph.input[:]
    graph.graph.input.extend(kept)
    graph.graph.initializer.extend(made)
    return graph


def _onnx_types() -> dict[Any, int]:
    import torch

    return {
        torch.float32: onnx.TensorProto.FLOAT,
        torch.float16: onnx.TensorProto.FLOAT16,
        torch.bfloat16: onnx.TensorProto.BFLOAT16,
        torch.float64: onnx.TensorProto.DOUBLE,
        torch.int64: onnx.TensorProto.INT64,
        torch.int32: onnx.TensorProto.INT32,
        torch.int8: onnx.TensorProto.INT8,
        torch.uint8: onnx.TensorProto.UINT8,
        torch.bool: onnx.TensorProto.BOOL,
    }
