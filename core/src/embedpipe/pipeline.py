"""ONNXPipeline: build the one graph from a model, validate it, hand it to a sink."""

from __future__ import annotations

import gc
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import onnx

from embedpipe import classifier, contract
from embedpipe.batching import batched
from embedpipe.components import Limitation, Pooler, PostProcessor, Quantizer, Sink, Tokenizer, TokenizerOptions
from embedpipe.config import Head, ONNXPipelineConfig, Settings, resolve
from embedpipe.encoder import encoder_inputs, export_encoder
from embedpipe.errors import ConfigError, ExportError, ValidationError
from embedpipe.graph import Stage, compose
from embedpipe.head import head_stage
from embedpipe.manifest import attach, build_manifest
from embedpipe.naming import check_export_name
from embedpipe.oprule import assert_op_rule
from embedpipe.optimize import BASIC, default_level, optimize
from embedpipe.plugins import PluginManager, get_plugin_manager
from embedpipe.quality import HEAD_FLOORS, BodyCalibration, HeadQualityReport, QualityReport, body_feeds, measure, measure_head, retrieval_texts
from embedpipe.samples import SAMPLES
from embedpipe.scoring import ScoreReport, compare_scores, hard_inputs, reference_scores
from embedpipe.source import ModelSource, load_source
from embedpipe.validate import ValidationReport, compare, reference_model, reference_vectors
from embedpipe.weights import ExternalDataLayout, WeightFolder, has_external_data, weight_bytes

if TYPE_CHECKING:
    import numpy as np
    import onnxruntime as ort

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class Components:
    """The built components of one pipeline (built once, reused for every call)."""

    tokenizer: Tokenizer
    pooler: Pooler | None  # None for a reranker or classifier (its head is the model's own)
    post_processors: list[PostProcessor]
    quantizer: Quantizer | None


class ONNXPipeline:
    """A model turned into one string-in, vector-out ONNX graph.

    Components come from the registered plugins by the names the resolved configuration gives;
    any of them can be passed in as ready objects instead (programmatic assembly), e.g. a pooler
    written in the caller's own code without installing a distribution.
    """

    def __init__(
        self,
        model_name: str | os.PathLike[str],
        config: ONNXPipelineConfig | None = None,
        *,
        tokenizer: Tokenizer | None = None,
        pooler: Pooler | None = None,
        post_processors: Sequence[PostProcessor] | None = None,
        plugins: PluginManager | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config if config is not None else ONNXPipelineConfig()
        self.plugins = plugins or get_plugin_manager()
        self._progress = progress or (lambda step: log.info(step))
        self._progress("reading the model")
        self.source: ModelSource = load_source(
            model_name,
            revision=self.config.revision,
            cache_dir=self.config.cache_dir,
            force_download=self.config.force_download,
            trust_remote_code=self.config.trust_remote_code,
        )
        self.settings: Settings = resolve(self.config, self.source, plugins=self.plugins, tokenizer_given=tokenizer is not None)
        self.components = Components(
            tokenizer=tokenizer or self.plugins.create("tokenizers", self.settings.tokenizer),
            pooler=pooler or (self.plugins.create("poolers", self.settings.pooling) if self.settings.head is None else None),
            post_processors=list(post_processors)
            if post_processors is not None
            else [self.plugins.create("postprocessors", p.name, **p.options) for p in self.settings.post_processors],
            quantizer=self.plugins.create("quantizers", self.settings.quantizer, **self.settings.quantizer_options)
            if self.settings.quantizer
            else None,
        )
        self._model: onnx.ModelProto | None = None
        self._fp32_model: onnx.ModelProto | None = None  # the unquantized graph, kept as the quality reference
        self._weights = WeightFolder()  # external tensors of the graphs being built; removed with the pipeline
        self.report: ValidationReport | ScoreReport | None = None
        self.quality: QualityReport | HeadQualityReport | None = None
        self._export_report: ValidationReport | ScoreReport | None = None  # the built-in samples' check, run once per pipeline
        self._check_dimension()

    def _check_dimension(self) -> None:
        """Fail before any export on a post-processor chain the model's dimension rules out.

        The dimension comes from config.json, so e.g. a ``truncate_dim`` wider than the embedding
        is refused here rather than after minutes of encoder export.
        """
        if self.settings.head is None and not 1 <= self.embedding_dim <= contract.MAX_EMBEDDING_DIM:
            raise ExportError(
                f"embedding dimension {self.embedding_dim} is outside Oracle's 1..{contract.MAX_EMBEDDING_DIM}",
                "change the Dense layers",
            )

    # -- building ----------------------------------------------------------------------------
    @cached_property
    def encoder_inputs(self) -> tuple[str, ...]:
        """The tokenizer outputs the encoder takes (worked out once: it loads the model's config)."""
        return encoder_inputs(self.source)

    @property
    def embedding_dim(self) -> int:
        """The vector's length: the model's hidden size through each post-processor (they refuse impossible ones)."""
        dim = self.source.hidden_size
        for post in self.components.post_processors:
            dim = post.output_dim(dim)
        return dim

    def build(self) -> onnx.ModelProto:
        """The composed graph (built once, then cached)."""
        if self._model is None:
            self._model = self._build()
        return self._model

    def fp32_graph(self) -> onnx.ModelProto:
        """The unquantized graph: ``build()`` itself unless a quantizer is configured (its weights may stay external)."""
        self.build()
        assert self._fp32_model is not None
        return self._fp32_model

    def tokenizer_graph(self) -> onnx.ModelProto:
        """The tokenizer stage alone (string in, ids out), e.g. for a token-id comparison."""
        self._progress("building the tokenizer stage")
        options = TokenizerOptions(
            max_length=self.settings.max_seq_length,
            do_lower_case=self.settings.do_lower_case,
            with_token_type_ids=contract.TOKEN_TYPE_IDS in self.encoder_inputs,
            opset=self.settings.opset,
            prefix=self.settings.prefix,
            op_profile=self.settings.op_profile,
            pair=self.settings.head is not None and self.settings.head.pair,
        )
        return self.components.tokenizer.build_graph(self.source, options)

    def _build(self) -> onnx.ModelProto:
        """Tokenizer + body (encoder, pooler, post-processors); a quantizer only ever sees the body.

        Weights stay in the pipeline's weight folder while stages are composed; the finished graph
        is made self-contained again unless it goes out as external data.
        """
        tokenizer = Stage(contract.TOKENIZER_STAGE, self.tokenizer_graph())
        body = self._body()
        level = self.settings.optimize
        self._fp32_model = self._with_tokenizer(tokenizer, body if level == 0 or self.components.quantizer else self._optimized(body, level))
        model = self._fp32_model
        if self.components.quantizer is not None:
            # ONNX Runtime's quantizer cannot type the fused contrib ops' outputs: it sees at most the basic
            # level, and the extended levels fuse the quantized body.
            optimized = self._optimized(body, min(level, BASIC))
            self._progress(f"quantizing ({self.settings.quantizer}, calibrated on real text within the floors)")
            quantized = self.components.quantizer.quantize(optimized, self._calibration(tokenizer.model, optimized))
            if level > BASIC:
                quantized = self._optimized(quantized, level)
            model = self._with_tokenizer(tokenizer, self._weights.externalize(quantized, f"{self.settings.quantizer}.dat"))
        if self.uses_external_data(model):
            model = self._weights.externalize(model, "graph.dat")  # the other stages' tensors too
        else:
            model = self._weights.internalize(model)
        if self.settings.batch:
            self._progress(f"batching: the tokenizer runs per string, the rest on chunks of {self.settings.batch_chunk} strings of similar length")
            # The last input is the batched one: an embedding's texts, a reranker's passages (its query stays one string).
            model = batched(model, self.settings.max_seq_length, self.settings.batch_chunk, over=self.input_names[-1])
        if self.components.quantizer is None:
            self._fp32_model = model
        self._check(model)
        return model

    def _optimized(self, body: onnx.ModelProto, level: int) -> onnx.ModelProto:
        """A self-contained copy of the body at ONNX Runtime's ``level``. The tokenizer stage is never
        optimized: it is exact as written, and nothing in it is worth fusing."""
        if level > 0:
            self._progress(f"optimizing the body (ONNX Runtime level {level})")
        return optimize(self._weights.internalize(_copy(body)), level)

    @property
    def output_name(self) -> str:
        """The graph's output: ``embedding``, or the head's ``logits`` / ``probabilities``."""
        return contract.EMBEDDING if self.settings.head is None else self.settings.head.output

    @property
    def input_names(self) -> tuple[str, ...]:
        """The graph's string inputs: ``input``, or ``first_input`` and ``second_input`` for a pair."""
        return contract.PAIR_TEXTS if self.settings.head is not None and self.settings.head.pair else (contract.TEXT,)

    @property
    def _dynamic_batch(self) -> bool:
        """Whether the encoder needs a batch axis: chunks of one string need none, and the encoder is then
        exactly the single-string graph's."""
        return self.settings.batch_chunk > 1

    def _body(self) -> onnx.ModelProto:
        """Encoder, pooler and post-processors composed: the tokenizer's outputs in, ``embedding`` out."""
        if self.settings.head is not None:
            return self._head_body(self.settings.head)
        assert self.components.pooler is not None
        source, opset = self.source, self.settings.opset
        self._progress("exporting the encoder with torch.onnx")
        encoder = export_encoder(source, self.encoder_inputs, self._weights, opset=opset, dynamic_batch=self._dynamic_batch)
        stages = [Stage(contract.ENCODER_STAGE, encoder)]
        stages.append(Stage(contract.POOLER_STAGE, self.components.pooler.build_graph(source.hidden_size, opset)))
        previous, dim = contract.SENTENCE_EMBEDDING, source.hidden_size
        for index, post in enumerate(self.components.post_processors):
            last = index == len(self.components.post_processors) - 1
            prefix = contract.postprocessor_stage(index)
            output = contract.EMBEDDING if last else f"{prefix}{contract.POSTPROCESS_OUTPUT}"
            stage = Stage(
                prefix,
                post.build_graph(dim, opset),
                {contract.POSTPROCESS_INPUT: previous, contract.POSTPROCESS_OUTPUT: output},
            )
            stages.append(stage)
            previous, dim = output, post.output_dim(dim)
        if previous == contract.SENTENCE_EMBEDDING:
            stages[1].wiring = {contract.SENTENCE_EMBEDDING: contract.EMBEDDING}
        self._progress("composing the graph")
        return compose(stages, inputs=self.encoder_inputs, outputs=[contract.EMBEDDING], opset=opset, name="body")

    def _head_body(self, head: Head) -> onnx.ModelProto:
        """A classifier's encoder (its ``logits``) and the head's activation: the tokenizer's outputs in, the head's output out."""
        opset, count = self.settings.opset, classifier.num_labels(self.source)
        self._progress("exporting the sequence classifier with torch.onnx")
        encoder = export_encoder(self.source, self.encoder_inputs, self._weights, opset=opset, dynamic_batch=self._dynamic_batch, classifier=True)
        raw = f"{contract.ENCODER_STAGE}{contract.LOGITS}"
        stages = [
            Stage(contract.ENCODER_STAGE, encoder, {contract.LOGITS: raw}),
            Stage(
                contract.HEAD_STAGE,
                head_stage(head.activation, count, opset),
                {contract.HEAD_INPUT: raw, contract.HEAD_OUTPUT: head.output},
            ),
        ]
        self._progress("composing the graph")
        return compose(stages, inputs=self.encoder_inputs, outputs=[head.output], opset=opset, name="body")

    def _with_tokenizer(self, tokenizer: Stage, body: onnx.ModelProto) -> onnx.ModelProto:
        """The whole string-in graph, with the settings recorded in its metadata."""
        model = compose(
            [tokenizer, Stage("", body)],
            inputs=self.input_names,
            outputs=[self.output_name],
            opset=self.settings.opset,
            doc=f"embedpipe: {self.source.name} as one string-in, {self.settings.function}-out graph",
        )
        onnx.helper.set_model_props(model, {contract.SETTINGS_KEY: json.dumps(self.settings_properties()), contract.SOURCE_KEY: self.source.name})
        return model

    def uses_external_data(self, model: onnx.ModelProto) -> bool:
        """Whether ``model`` goes out as external data: asked for, or its weights are above the threshold."""
        return self.settings.use_external_data or weight_bytes(model) > self.settings.external_data_threshold

    def open_session(self, model: onnx.ModelProto | None = None) -> ort.InferenceSession:
        """An ONNX Runtime session on ``model`` (default: the built graph), external data included."""
        from embedpipe.runtime import open_session

        model = self.build() if model is None else model
        if has_external_data(model):
            return open_session(self._weights.graph_file(model, f"session-{id(model)}"))
        return open_session(model)

    def _check(self, model: onnx.ModelProto) -> None:
        # With external data the checker reads the graph beside its tensor files (it checks those exist).
        checked = str(self._weights.graph_file(model, "check")) if has_external_data(model) else model
        try:
            onnx.checker.check_model(checked)
        except onnx.checker.ValidationError as exc:
            raise ExportError(f"the composed graph is not valid ONNX: {str(exc).splitlines()[0]}", "a stage broke the contract") from exc
        assert_op_rule(model, op_profile=self.settings.op_profile)

    def settings_properties(self) -> dict[str, Any]:
        """The resolved settings as config properties, so a later `validate` can rebuild the reference.

        Dense weights are not recorded by path: they come back from the reference model's own modules.
        """
        settings = self.settings
        recorded = {"tokenizer": settings.tokenizer} if settings.tokenizer in self.plugins.registry("tokenizers") else {}
        batching = {"batch": True, "batch_chunk": settings.batch_chunk} if settings.batch else {}
        optimized = {"optimize": settings.optimize} if settings.optimize != default_level(settings.quantizer is not None) else {}
        if settings.head is not None:
            return {
                **recorded,
                "function": settings.head.function,
                "activation": settings.head.activation,
                **({"labels": list(settings.head.labels), "pair": settings.head.pair} if settings.head.labels else {}),
                "max_seq_length": settings.max_seq_length,
                "do_lower_case": settings.do_lower_case,
                "opset": settings.opset,
                "op_profile": settings.op_profile,
                **batching,
                **optimized,
            }
        return {
            **recorded,
            "max_seq_length": settings.max_seq_length,
            "do_lower_case": settings.do_lower_case,
            "post_processors": [{"name": "Pooling", "type": settings.pooling}]
            + [{"name": p.name, **{k: v for k, v in p.options.items() if k != "path"}} for p in settings.post_processors],
            "opset": settings.opset,
            "op_profile": settings.op_profile,
            "distance_metrics": list(settings.distance_metrics),
            "languages": list(settings.languages),
            **({"prompt": settings.prefix} if settings.prefix else {}),
            **batching,
            **optimized,
        }

    # -- validation --------------------------------------------------------------------------
    def validate(self, texts: Sequence[str] | None = None, *, model: onnx.ModelProto | Path | None = None) -> ValidationReport:
        """Compare a graph (default: this pipeline's fp32 graph) with sentence-transformers on ``texts``.

        ``texts`` defaults to the built-in hard samples. A quantized pipeline's fp32 graph is what
        proves the conversion; the quantized graph is measured against it by ``measure_quality``.
        The reference's vectors are computed and its model freed before the graph's session opens,
        so a large model's weights are in memory once, not twice.
        """
        from embedpipe.runtime import open_session

        model = self.fp32_graph() if model is None else model
        if self.settings.head is not None:
            return self._validate_scores(model, texts)
        lines = list(SAMPLES if texts is None else texts)
        self._progress("validating against sentence-transformers")
        expected = self._reference_vectors(lines)
        session = open_session(model) if isinstance(model, Path) else self.open_session(model)
        self.report = compare(session, expected, lines, limitations=self._limitations())
        return self.report

    def _reference_vectors(self, texts: list[str]) -> np.ndarray:
        """sentence-transformers' vectors of ``texts``; the reference model is gone when this returns."""
        assert self.components.pooler is not None
        reference = reference_model(self.source, self.settings, self.components.pooler, self.components.post_processors)
        try:
            return reference_vectors(reference, texts, prefix=self.settings.prefix)
        finally:
            del reference
            gc.collect()  # torch modules hold reference cycles: free the weights now, not at some later collection

    def _limitations(self) -> list[Limitation]:
        """The tokenizer's declared limitations that hold for this graph's op profile."""
        return [lim for lim in self.components.tokenizer.limitations if self.settings.op_profile in lim.op_profiles]

    def _validate_scores(self, model: onnx.ModelProto | Path, texts: Sequence[str] | None) -> ScoreReport:
        """A reranker's or classifier's graph against CrossEncoder / transformers (``texts`` as single inputs,
        or each paired with every other for a pair graph; default: the built-in hard inputs)."""
        from embedpipe.runtime import open_session

        head = self.settings.head
        assert head is not None
        if texts is None:
            inputs = hard_inputs(head.pair)
        else:
            inputs = [(a, b) for a in texts for b in texts] if head.pair else [(t,) for t in texts]
        self._progress("validating against the reference scores")
        expected = reference_scores(self.source, self.settings, inputs)
        session = open_session(model) if isinstance(model, Path) else self.open_session(model)
        self.report = compare_scores(session, head, inputs, expected, limitations=self._limitations())
        return self.report

    def _floors(self, quantizer: Quantizer) -> tuple[float, float]:
        """(quality floor, neighbour floor): the config's, else the quantizer's; a head's are its function's and none."""
        head = self.settings.head
        if head is not None:
            return self.settings.quality_floor or HEAD_FLOORS[head.function], 0.0
        floor = self.settings.quality_floor if self.settings.quality_floor is not None else quantizer.quality_floor
        neighbours = self.settings.neighbour_floor if self.settings.neighbour_floor is not None else quantizer.neighbour_floor
        return floor, neighbours

    def _calibration(self, tokenizer: onnx.ModelProto, body: onnx.ModelProto) -> BodyCalibration:
        """The body's inputs for the texts ``measure_quality`` uses, and the floors the export will be held to."""
        from embedpipe.runtime import open_session

        assert self.components.quantizer is not None
        session = open_session(tokenizer)
        head = self.settings.head
        if head is not None:
            return BodyCalibration(body, body_feeds(session, self._tokenized_as_reference(hard_inputs(head.pair))))
        floor, neighbours = self._floors(self.components.quantizer)
        samples = self._tokenized_as_reference([(t,) for t in SAMPLES])
        lines = [*samples, *[(t,) for t in retrieval_texts()]]
        return BodyCalibration(body, body_feeds(session, lines), floor=floor, neighbour_floor=neighbours, retrieval_from=len(samples))

    def _tokenized_as_reference(self, inputs: Sequence[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """``inputs`` without those any declared limitation of the tokenizer holds for, in any op profile:
        calibrating on what one profile's stage tokenizes unlike Hugging Face would make the quantized
        body depend on the profile."""
        limitations = self.components.tokenizer.limitations
        return [item for item in inputs if not any(lim.matches(text) for lim in limitations for text in item)]

    def measure_quality(self) -> QualityReport | HeadQualityReport | None:
        """The quantized graph against the fp32 graph (None when nothing is quantized); see ``embedpipe.quality``.

        A head's floor is its function's (``HEAD_FLOORS``): the quantizer's own floors are a cosine and an overlap.
        """
        model, fp32 = self.build(), self.fp32_graph()
        quantizer = self.components.quantizer
        if quantizer is None:
            return None
        self._progress(f"measuring {self.settings.quantizer} against fp32")
        head = self.settings.head
        floor, neighbours = self._floors(quantizer)
        sizes = {
            "quantizer": self.settings.quantizer or "quantizer",
            "floor": floor,
            "weight_bytes": weight_bytes(model),
            "fp32_weight_bytes": weight_bytes(fp32),
            "kept_float": tuple(quantizer.kept_float),
        }
        sessions = self.open_session(fp32), self.open_session(model)
        if head is None:
            self.quality = measure(*sessions, SAMPLES, neighbour_floor=neighbours, **sizes)
        else:
            self.quality = measure_head(*sessions, hard_inputs(head.pair), function=head.function, **sizes)
        return self.quality

    # -- export ------------------------------------------------------------------------------
    def export2file(self, name: str, output_dir: str | os.PathLike[str] = ".", *, sink: str | Sink | None = None, **options: Any) -> Path:
        """Write ``<output_dir>/<name>.onnx`` after validation (unless the config turns it off).

        A graph with external data goes out as ``<name>.zip`` (the ``zip`` sink: the files of
        ``ExternalDataLayout.named(name)``), as OML4Py's export2file does; a warning says so,
        since the caller asked for ``<name>``'s graph and gets an archive to unzip first.
        """
        check_export_name(name)
        zipped = sink is None and has_external_data(self.build())
        paths = self._write(sink or ("zip" if zipped else "file"), name, Path(output_dir), **options)
        if zipped:
            layout = ExternalDataLayout.named(name)
            log.warning(
                "%s keeps its weights in external data, so it went out as %s holding %s; "
                "unzip it and use the %s inside with the other two files beside it",
                name, paths[0], ", ".join(layout.files), layout.graph,
            )
        return paths[0]

    def export2db(self, model_name: str, connection: Any = None, **options: Any) -> list[Path]:
        """Load the graph into Oracle Database through the ``oracle`` sink plugin (``embedpipe[oracle]``).

        ``connection`` is an open ``oracledb`` connection, or ``None`` to let the sink connect from
        its options, the ``EMBEDPIPE_ORACLE_*`` environment variables or a prompt.
        """
        self.check_oracle_target()
        return self._write("oracle", model_name, Path("."), connection=connection, **options)

    def check_oracle_target(self) -> None:
        """Refuse what the Oracle sink cannot take, before anything is built or written."""
        if "oracle" not in self.plugins.registry("sinks"):
            raise ConfigError(
                "export2db needs the Oracle sink, which is not installed",
                "install it with `pip install embedpipe[oracle]`",
            )
        if self.settings.batch:
            raise ConfigError(
                "the batched graph is for client-side ONNX Runtime; Oracle calls the single-string graph",
                "convert without batch for export2db",
            )

    def _write(self, sink: str | Sink, name: str, output_dir: Path, **options: Any) -> list[Path]:
        """Hand the validated graph to a sink (validation runs once per pipeline, not per sink)."""
        model = self.build()
        if self.settings.validate:
            if self._export_report is None:
                self._export_report = self.validate()
            report = self._export_report
            if not report.ok:
                raise ValidationError(
                    f"the graph differs from {'sentence-transformers' if self.settings.head is None else 'its reference'} ({len(report.failures)} of {len(report.results)} lines failed)",
                    "see the report above; nothing was written (--no-validate writes anyway)",
                )
            quality = self.quality or self.measure_quality()
            if quality is not None and not quality.ok:
                raise ValidationError(
                    f"{quality.quantizer} moves the {self.settings.function} outputs too far: {quality.shortfall}",
                    "try other quantize_options (e.g. float_compute=all), lower quality_floor or neighbour_floor, or do not quantize; nothing was written",
                )
        validation = self._export_report.to_dict() if self._export_report is not None else None
        manifest = build_manifest(self.source, self.settings_properties(), plugins=self.plugins, validation=validation)
        if self.quality is not None:  # rounded, so float noise in the last bits cannot change the bytes
            manifest["quality"] = {k: round(v, 6) if isinstance(v, float) else v for k, v in self.quality.to_dict().items()}
        attach(model, manifest)
        writer = self.plugins.create("sinks", sink) if isinstance(sink, str) else sink
        if has_external_data(model):
            options["weights_dir"] = self._weights.path
        self._progress("writing")
        return writer.write(model, name, output_dir, **options)


def pipeline_for_graph(file: Path, reference: str, *, progress: Progress | None = None) -> ONNXPipeline:
    """A pipeline configured as a produced graph records it was built, for re-validating that graph."""
    props = {p.key: p.value for p in onnx.load(str(file), load_external_data=False).metadata_props}
    if contract.SETTINGS_KEY not in props:
        raise ConfigError(f"{file} carries no embedpipe settings", "validate graphs that embedpipe produced")
    return ONNXPipeline(reference, ONNXPipelineConfig(**json.loads(props[contract.SETTINGS_KEY])), progress=progress)


def _copy(model: onnx.ModelProto) -> onnx.ModelProto:
    copied = onnx.ModelProto()
    copied.CopyFrom(model)
    return copied
