"""The pipeline configuration: OML4Py's property names plus embedpipe's own, templates, presets.

An unset property (``None``) means "as the model declares". A property set by the user, a template
or a preset overrides only what it names; ``resolve`` turns the config and the model's
declarations into the ``Settings`` the pipeline builds from.
"""

from __future__ import annotations

import copy
import enum
import logging
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from embedpipe import classifier, contract
from embedpipe.errors import ConfigError, UnsupportedModelError
from embedpipe.optimize import check_level, default_level
from embedpipe.plugins import PluginManager, get_plugin_manager
from embedpipe.source import ModelSource

log = logging.getLogger(__name__)

# OML4Py's "text" template: mean pooling then Normalize. Lower-casing is left to the model's own
# tokenizer files (OML4Py forces it on, which changes a cased model's vectors).
TEMPLATES: dict[str, dict[str, Any]] = {
    "text": {"pooling": "mean", "normalize": True},
}
DEFAULT_POOLING = "mean"  # what sentence-transformers uses for a plain transformer folder
# OML4Py's rule: above 1 GB of weights a model goes out as external data (23ai refuses more in one piece).
EXTERNAL_DATA_THRESHOLD = 2**30


class MiningFunction(enum.Enum):
    """OML4Py's functions, so ``ONNXPipelineConfig(function=MiningFunction.REGRESSION.name)`` works as there."""

    EMBEDDING = contract.EMBEDDING_FUNCTION
    REGRESSION = contract.REGRESSION
    CLASSIFICATION = contract.CLASSIFICATION


@dataclass(init=False)
class ONNXPipelineConfig:
    """How to turn a model into a graph. ``None`` everywhere means "all from the model itself"."""

    max_seq_length: int | None = None
    do_lower_case: bool | None = None
    post_processors: list[dict[str, Any]] | None = None  # OML4Py form: [{"name": "Pooling", "type": "mean"}, ...]
    pooling: str | None = None
    normalize: bool | None = None
    tokenizer: str | None = None
    quantize_model: bool = False
    use_float16: bool = False
    use_external_data: bool = False
    external_data_threshold: int = EXTERNAL_DATA_THRESHOLD  # bytes of weights above which external data is automatic
    quantize_options: dict[str, Any] | None = None  # passed to the quantizer, e.g. {"weight_type": "quint8"}
    # The least a quantized graph may agree with its fp32 graph (quality.py): mean cosine for an embedding
    # (default: the quantizer's), rank correlation for a reranker, same-label share for a classifier.
    quality_floor: float | None = None
    neighbour_floor: float | None = None  # an embedding's least mean top-10 neighbour overlap (default: the quantizer's)
    distance_metrics: list[str] | None = None
    languages: list[str] | None = None
    prompts: dict[str, str] | None = None  # sentence-transformers' named prompts, e.g. {"query": "query: "}
    default_prompt_name: str | None = None
    prompt: str | None = None  # text put before every input, inside the graph
    prompt_name: str | None = None  # one of ``prompts``
    truncate_dim: int | None = None  # Matryoshka: keep the first k dimensions
    batch: bool = False  # string [N] -> float32 [N, D], for client-side throughput
    batch_chunk: int | None = None  # strings per encoder run in the batched graph (default 16; 1 with INT8)
    opset: int = contract.DEFAULT_OPSET
    op_profile: str = contract.DEFAULT_OP_PROFILE  # which op domains the graph may use (contract.OP_PROFILES)
    optimize: int | None = None  # ONNX Runtime's level written into the graph: 0, 1, 2, 99 (optimize.py; default 0, 1 if quantized)
    # What the graph computes (contract.FUNCTIONS, any case; default: as config.json's architectures imply).
    function: str | None = None
    # The head's activation (contract.ACTIVATIONS, or "model": what CrossEncoder.predict applies); default:
    # identity (the raw logit) for regression, softmax for classification, as OML4Py does.
    activation: str | None = None
    labels: list[str] | None = None  # classification: names for the model's labels, in label-id order (default: id2label)
    pair: bool | None = None  # classification: take a pair of texts (regression always does)
    validate: bool = True
    trust_remote_code: bool = False
    revision: str | None = None
    cache_dir: str | None = None
    force_download: bool = False

    def __init__(self, model_name: str | None = None, **properties: Any) -> None:
        for item in fields(self):
            setattr(self, item.name, None if item.default is MISSING else item.default)
        # The model whose preset fills what its own files leave open (see ``resolve``). It is looked
        # up in the plugin manager resolution is given, so a pipeline's own manager is honoured.
        self.preset_name = model_name
        self._preset: dict[str, Any] | None = None
        self._update(properties)

    @property
    def preset(self) -> dict[str, Any]:
        """The preset's config properties: those of the manager this config was bound to by
        resolution, else (read outside a resolution) those of the installed plugins."""
        if self._preset is None:
            self._preset = _preset_of(get_plugin_manager(), self.preset_name)
        return self._preset

    def bound(self, plugins: PluginManager) -> ONNXPipelineConfig:
        """A copy whose preset comes from ``plugins``: what resolution and its hooks read."""
        bound = copy.copy(self)
        bound._preset = _preset_of(plugins, self.preset_name)
        return bound

    def _update(self, properties: dict[str, Any]) -> None:
        known = {f.name for f in fields(self)}
        for key, value in properties.items():
            if key not in known:
                raise ConfigError(
                    f"unknown config property {key!r}",
                    f"use one of: {', '.join(sorted(known))}",
                )
            setattr(self, key, copy.deepcopy(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- OML4Py-compatible class methods -----------------------------------------------------
    @classmethod
    def from_template(cls, name: str, **properties: Any) -> ONNXPipelineConfig:
        """A config from a named template, with ``properties`` on top (``max_seq_length`` required)."""
        if name not in TEMPLATES:
            raise ConfigError(f"no template named {name!r}", f"use one of: {', '.join(TEMPLATES)}")
        if properties.get("max_seq_length") is None:
            raise ConfigError("a template needs max_seq_length", f'pass it: from_template("{name}", max_seq_length=512)')
        return cls(**{**TEMPLATES[name], **properties})

    @staticmethod
    def show_templates() -> list[str]:
        return list(TEMPLATES)

    @staticmethod
    def show_preconfigured(include_properties: bool = False, model_name: str | None = None) -> list[str] | dict[str, dict[str, Any]]:
        """Preset names, or (with ``include_properties``) their specifications."""
        presets = get_plugin_manager().presets()
        if model_name is not None:
            presets = {k: v for k, v in presets.items() if k == model_name}
        return presets if include_properties else sorted(presets)


def _preset_of(plugins: PluginManager, model_name: str | None) -> dict[str, Any]:
    """The config properties of ``model_name``'s preset in ``plugins`` (facts starting with _ dropped)."""
    if model_name is None:
        return {}
    found = plugins.preset(model_name)
    if found is None:
        log.info("no preset for %s; everything comes from the model's own files", model_name)
        return {}
    return {k: v for k, v in found.items() if not k.startswith("_")}


@dataclass(frozen=True)
class PostProcessorSpec:
    """One post-processor to build: its registered name and the options its factory takes."""

    name: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Head:
    """A reranker's or classifier's head: its function, activation, labels and whether it takes a pair."""

    function: str
    activation: str
    labels: tuple[str, ...]
    pair: bool

    @property
    def output(self) -> str:
        """The graph's output name: ``probabilities`` for softmaxed classes, else ``logits`` (as OML4Py)."""
        return contract.PROBABILITIES if self.activation == contract.SOFTMAX else contract.LOGITS


@dataclass(frozen=True)
class Settings:
    """The fully resolved configuration the pipeline builds from."""

    tokenizer: str
    max_seq_length: int
    do_lower_case: bool | None
    pooling: str
    post_processors: tuple[PostProcessorSpec, ...]
    opset: int
    quantizer: str | None
    quantizer_options: dict[str, Any]
    quality_floor: float | None
    use_external_data: bool
    external_data_threshold: int
    distance_metrics: tuple[str, ...]
    languages: tuple[str, ...]
    validate: bool
    prefix: str = ""  # the prompt the graph puts before every input
    batch: bool = False  # string [N] -> [N, D] (client-side only)
    batch_chunk: int = 0  # strings of similar length per encoder run in the batched graph (0: not batched)
    op_profile: str = contract.DEFAULT_OP_PROFILE  # which op domains the graph may use
    optimize: int = 0  # ONNX Runtime's optimization level applied to the body (optimize.LEVELS)
    head: Head | None = None  # a reranker's or classifier's head; None for an embedding
    neighbour_floor: float | None = None  # an embedding's least mean top-10 neighbour overlap (None: the quantizer's)

    @property
    def function(self) -> str:
        return self.head.function if self.head is not None else contract.EMBEDDING_FUNCTION

    @property
    def normalizes(self) -> bool:
        return any(p.name == "normalize" for p in self.post_processors)


def resolve(
    config: ONNXPipelineConfig, source: ModelSource, *, plugins: PluginManager | None = None, tokenizer_given: bool = False
) -> Settings:
    """Settings from the config where it speaks, from the model's declarations elsewhere.

    ``tokenizer_given``: the caller passes its own tokenizer object, so none is looked up.
    """
    plugins = plugins or get_plugin_manager()
    config = config.bound(plugins)
    if not contract.DEFAULT_OPSET <= config.opset <= contract.MAX_OPSET:
        raise ConfigError(
            f"opset {config.opset} is outside what Oracle's runtimes load",
            f"use {contract.DEFAULT_OPSET} to {contract.MAX_OPSET}",
        )
    if config.op_profile not in contract.OP_PROFILES:
        raise ConfigError(
            f"unknown op profile {config.op_profile!r}",
            f"use {' or '.join(contract.OP_PROFILES)} ({contract.ORACLE_PROFILE}: what Oracle documents; "
            f"{contract.PORTABLE_PROFILE}: no onnxruntime-extensions op)",
        )
    head = _head(config, source)
    if head is not None:
        _refuse_for_head(config, head.function)
    pooling, post = _declared_chain(source, config.preset) if head is None else ("", [])
    if config.post_processors is not None:
        pooling, post = _chain_from_oml4py(config.post_processors, source, pooling)
    if config.pooling is not None:
        pooling = config.pooling.lower()
    if config.normalize is True and not any(p.name == "normalize" for p in post):
        post.append(PostProcessorSpec("normalize", {}))
    elif config.normalize is False:
        post = [p for p in post if p.name != "normalize"]
    post = _with_truncation(post, config.truncate_dim)
    if config.quantize_model and config.use_float16:
        raise ConfigError("quantize_model and use_float16 are both set", "choose INT8 (quantize_model) or FP16 (use_float16)")
    quantizer = "int8" if config.quantize_model else "fp16" if config.use_float16 else None
    if quantizer is None and (config.quantize_options or config.quality_floor is not None):
        raise ConfigError("quantize_options or quality_floor is set but nothing is quantized", "set quantize_model or use_float16")
    if config.quality_floor is not None and not 0 < config.quality_floor <= 1:
        raise ConfigError(f"quality_floor {config.quality_floor!r} is not in (0, 1] (a cosine, or a head's agreement)", "use e.g. 0.98")
    if isinstance(config.external_data_threshold, bool) or not isinstance(config.external_data_threshold, int) or config.external_data_threshold < 0:
        raise ConfigError(f"external_data_threshold {config.external_data_threshold!r} is not a size in bytes", "use a whole number >= 0")
    return Settings(
        tokenizer="(given)" if tokenizer_given else _tokenizer_name(config, source, plugins),
        max_seq_length=_max_seq_length(config, source),
        do_lower_case=config.do_lower_case,
        pooling=pooling,
        post_processors=tuple(post),
        opset=config.opset,
        quantizer=quantizer,
        quantizer_options=dict(config.quantize_options or {}),
        quality_floor=config.quality_floor,
        use_external_data=config.use_external_data,
        external_data_threshold=config.external_data_threshold,
        distance_metrics=tuple(config.distance_metrics or config.preset.get("distance_metrics") or ("COSINE",)),
        languages=tuple(config.languages or config.preset.get("languages") or ()),
        validate=config.validate,
        prefix=_prefix(config, source, plugins) if head is None else "",
        batch=bool(config.batch),
        batch_chunk=_batch_chunk(config, quantizer),
        op_profile=config.op_profile,
        optimize=default_level(quantizer is not None) if config.optimize is None else check_level(config.optimize, config.op_profile),
        head=head,
        neighbour_floor=_neighbour_floor(config, quantizer, head),
    )


def _neighbour_floor(config: ONNXPipelineConfig, quantizer: str | None, head: Head | None) -> float | None:
    """The neighbour floor asked for, checked: an overlap share, for a quantized embedding graph only."""
    floor = config.neighbour_floor
    if floor is None:
        return None
    if quantizer is None or head is not None:
        raise ConfigError("neighbour_floor is set but no embedding graph is quantized", "set quantize_model or use_float16, or drop neighbour_floor")
    if isinstance(floor, bool) or not isinstance(floor, (int, float)) or not 0 <= floor <= 1:
        raise ConfigError(f"neighbour_floor {floor!r} is not in [0, 1] (a share of each query's top-10 neighbours)", "use e.g. 0.95")
    return float(floor)


def _function(config: ONNXPipelineConfig, source: ModelSource) -> str:
    """The configured function (any case, or a ``MiningFunction``), else the one the model's files imply."""
    if config.function is None:  # a head preset's function only confirms what the files say
        return _declared_or_preset("function", classifier.detected_function(source), config.preset, source)
    value = config.function.value if isinstance(config.function, MiningFunction) else str(config.function).lower()
    if value not in contract.FUNCTIONS:
        raise ConfigError(f"unknown function {config.function!r}", f"use one of: {', '.join(contract.FUNCTIONS)}")
    return value


def _head(config: ONNXPipelineConfig, source: ModelSource) -> Head | None:
    """The head a reranker or classifier gets; None for an embedding (and its options refused there)."""
    function = _function(config, source)
    if function == contract.EMBEDDING_FUNCTION:
        if config.activation is not None or config.labels is not None or config.pair:
            raise ConfigError("activation, labels and pair are for regression or classification", "drop them, or set function")
        return None
    if not classifier.is_classifier(source):
        raise ConfigError(
            f"{source.name} has no sequence-classification head (config.json architectures: "
            f"{', '.join(source.config.get('architectures') or ['none'])}), so it cannot be a {function} model",
            "convert a *ForSequenceClassification model, or drop function for an embedding",
        )
    count = classifier.num_labels(source)
    if function == contract.REGRESSION and count != 1:
        raise ConfigError(
            f"{source.name} has {count} labels; a regression (reranker) graph gives one score",
            "use function classification, or a model with one label",
        )
    if function == contract.CLASSIFICATION and count < 2:
        raise ConfigError(f"{source.name} has one label: it is a reranker", "use function regression")
    names = tuple(config.labels) if config.labels is not None else classifier.labels(source)
    if len(names) != count:
        raise ConfigError(
            f"labels names {len(names)} classes but {source.name} has {count} ({', '.join(classifier.labels(source))})",
            f"give {count} labels in label-id order, or drop labels",
        )
    if function == contract.REGRESSION and (config.labels is not None or config.pair is False):
        raise ConfigError("a regression graph scores a pair and has no labels", "drop labels and pair")
    regression = function == contract.REGRESSION
    return Head(function, _activation(config, source, function), () if regression else names, regression or bool(config.pair))


def _activation(config: ONNXPipelineConfig, source: ModelSource, function: str) -> str:
    if config.activation is None:
        return contract.IDENTITY if function == contract.REGRESSION else contract.SOFTMAX
    value = str(config.activation).lower()
    if value == contract.MODEL_ACTIVATION:
        return classifier.crossencoder_activation(source)
    if value not in contract.ACTIVATIONS:
        choices = ", ".join((*contract.ACTIVATIONS, contract.MODEL_ACTIVATION))
        raise ConfigError(f"unknown activation {config.activation!r}", f"use one of: {choices}")
    return value


# What a reranker's or classifier's preset may set; anything else in a preset is an embedding's.
_HEAD_PRESET_KEYS = frozenset({"function", "max_seq_length", "do_lower_case", "labels"})


def _refuse_for_head(config: ONNXPipelineConfig, function: str) -> None:
    """What an embedding-only feature would silently get wrong on a reranker or classifier."""
    embedding_only = {
        "batch": config.batch and function == contract.CLASSIFICATION,  # a reranker batches its passages
        "pooling": config.pooling is not None,
        "normalize": config.normalize is not None,
        "post_processors": config.post_processors is not None,
        "truncate_dim": config.truncate_dim is not None,
        "prompt": bool(config.prompt or config.prompt_name),
        "the preset's embedding settings": bool(set(config.preset) - _HEAD_PRESET_KEYS),
    }
    used = [name for name, on in embedding_only.items() if on]
    if used:
        fix = "convert without the preset (--no-preset)" if used[0].startswith("the preset") else f"drop {used[0]}"
        raise ConfigError(f"{', '.join(used)} is not supported for {function} graphs", fix)


def _with_truncation(post: list[PostProcessorSpec], truncate_dim: int | None) -> list[PostProcessorSpec]:
    """Matryoshka: keep the first ``truncate_dim`` dimensions, then normalize again if the chain normalizes.

    ``SentenceTransformer(truncate_dim=k)`` cuts after the whole chain; cutting before the final
    normalization gives the same direction and keeps the vector unit length.
    """
    if truncate_dim is None:
        return post
    truncate = PostProcessorSpec("truncate", {"dim": truncate_dim})
    if post and post[-1].name == "normalize":
        return [*post[:-1], truncate, post[-1]]
    return [*post, truncate, *([PostProcessorSpec("normalize", {})] if any(p.name == "normalize" for p in post) else [])]


def _prefix(config: ONNXPipelineConfig, source: ModelSource, plugins: PluginManager) -> str:
    """The prompt a plugin resolves for this model and config (``embedpipe-prompts``), or ""."""
    prefix = plugins.text_prefix(source, config)
    if prefix is None and (config.prompt or config.prompt_name):
        raise ConfigError(
            "a prompt is configured but no installed plugin puts prompts into the graph",
            "install embedpipe-prompts (contrib/prompts)",
        )
    return prefix or ""


def _batch_chunk(config: ONNXPipelineConfig, quantizer: str | None) -> int:
    """How many strings of similar length the batched graph sends through the encoder at once.

    INT8's dynamic quantization scales whatever runs together, so with INT8 a chunk is one string:
    no padding, and each row exactly the single-string graph's.
    """
    from embedpipe.batching import DEFAULT_CHUNK  # onnx and numpy: not for every command that reads the config
    chunk = config.batch_chunk
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        raise ConfigError(f"batch_chunk {chunk!r} is not a positive number of strings", "use e.g. 16, or 1 for no padding at all")
    if not config.batch:
        if chunk is not None:
            raise ConfigError("batch_chunk is set but batch is not", "set batch=True (CLI --batch) too, or drop batch_chunk")
        return 0
    if quantizer == "int8":
        if chunk not in (None, 1):
            raise ConfigError(
                f"batch_chunk {chunk} with INT8: dynamic quantization scales a chunk as a whole, so a row would depend on its neighbours",
                "drop batch_chunk (INT8 batches run one string at a time), or use FP16 (use_float16)",
            )
        return 1
    return chunk or DEFAULT_CHUNK


def _declared_or_preset(key: str, declared: Any, preset: dict[str, Any], source: ModelSource) -> Any:
    """The model's own value wins over the preset's; a disagreement is worth a warning."""
    suggested = preset.get(key)
    if declared is not None and suggested is not None and declared != suggested:
        log.warning("%s declares %s=%r but its preset says %r; using the model's own value", source.name, key, declared, suggested)
    return declared if declared is not None else suggested


def _declared_chain(source: ModelSource, preset: dict[str, Any]) -> tuple[str, list[PostProcessorSpec]]:
    post = [
        PostProcessorSpec(m.kind, {"path": m.path} if m.path is not None else {}) for m in source.post_modules
    ]
    declares_chain = source.is_sentence_transformer
    if not declares_chain and preset.get("normalize"):
        post.append(PostProcessorSpec("normalize", {}))
    pooling = _declared_or_preset("pooling", source.pooling, preset, source)
    if pooling is None:
        log.warning("%s declares no pooling; using %s pooling as sentence-transformers does", source.name, DEFAULT_POOLING)
    return pooling or DEFAULT_POOLING, post


def _chain_from_oml4py(entries: list[dict[str, Any]], source: ModelSource, pooling: str) -> tuple[str, list[PostProcessorSpec]]:
    """OML4Py's ``post_processors`` list; a Dense entry takes its weights from the model's own Dense modules."""
    declared_dense = [m.path for m in source.post_modules if m.kind == "dense"]
    post: list[PostProcessorSpec] = []
    for entry in entries:
        options = {k: v for k, v in entry.items() if k not in ("name", "type")}
        kind = str(entry.get("name", "")).lower()
        if kind == "pooling":
            pooling = str(entry.get("type", DEFAULT_POOLING)).lower()
        elif kind == "dense" and "path" not in options and "weight" not in options:
            if not declared_dense:
                raise ConfigError(
                    f"a Dense post-processor was asked for, but {source.name} has no Dense module with its weights",
                    "remove the Dense entry, or give its weights (path to a sentence-transformers Dense folder)",
                )
            post.append(PostProcessorSpec("dense", {"path": declared_dense.pop(0), **options}))
        elif kind:
            post.append(PostProcessorSpec(kind, options))
        else:
            raise ConfigError(f"post_processors entry {entry!r} has no name", 'write it as {"name": "Normalize"}')
    return pooling, post


def _tokenizer_name(config: ONNXPipelineConfig, source: ModelSource, plugins: PluginManager) -> str:
    if config.tokenizer:
        return config.tokenizer
    name = plugins.resolve_tokenizer(source)
    if name is None:
        known = ", ".join(sorted(plugins.registry("tokenizers"))) or "none installed"
        raise UnsupportedModelError(
            f"no installed tokenizer plugin supports {source.tokenizer_class or 'the tokenizer'} of {source.name} "
            f"(model type {source.model_type or '?'}; installed: {known})",
            "install a plugin for it, or write one (see docs/plugins.md)",
        )
    return name


def _max_seq_length(config: ONNXPipelineConfig, source: ModelSource) -> int:
    limit = source.position_limit
    if config.max_seq_length is not None:
        value = config.max_seq_length
    elif (declared := _declared_or_preset("max_seq_length", source.max_seq_length, config.preset, source)) is not None:
        value = declared
    else:
        declared = source.tokenizer_config.get("model_max_length")
        candidates = [int(v) for v in (declared, limit) if isinstance(v, int | float) and v < 1e9]
        if not candidates:
            raise ConfigError(f"{source.name} declares no maximum sequence length", "set max_seq_length in the config")
        value = min(candidates)
    if not isinstance(value, int) or isinstance(value, bool) or value < 2:
        raise ConfigError(f"max_seq_length {value!r} is impossible", "use a whole number of tokens, at least 2")
    if limit is not None and value > limit:
        raise ConfigError(
            f"max_seq_length {value} exceeds the {limit} positions {source.name}'s encoder has",
            f"use at most {limit}",
        )
    return value
