"""ONNXPipeline: build the one graph from a model, validate it, hand it to a sink."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import onnx

from embedpipe import contract
from embedpipe.components import Pooler, PostProcessor, Quantizer, Sink, Tokenizer, TokenizerOptions
from embedpipe.config import ONNXPipelineConfig, Settings, resolve
from embedpipe.encoder import encoder_inputs, export_encoder
from embedpipe.errors import ConfigError, ExportError, ValidationError
from embedpipe.graph import Stage, compose
from embedpipe.naming import check_export_name
from embedpipe.oprule import assert_op_rule
from embedpipe.plugins import PluginManager, get_plugin_manager
from embedpipe.samples import SAMPLES
from embedpipe.source import ModelSource, load_source
from embedpipe.validate import ValidationReport, compare, reference_model

log = logging.getLogger(__name__)
SETTINGS_KEY = "embedpipe.settings"

Progress = Callable[[str], None]


@dataclass
class Components:
    """The built components of one pipeline (built once, reused for every call)."""

    tokenizer: Tokenizer
    pooler: Pooler
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
            pooler=pooler or self.plugins.create("poolers", self.settings.pooling),
            post_processors=list(post_processors)
            if post_processors is not None
            else [self.plugins.create("postprocessors", p.name, **p.options) for p in self.settings.post_processors],
            quantizer=self.plugins.create("quantizers", self.settings.quantizer) if self.settings.quantizer else None,
        )
        self._model: onnx.ModelProto | None = None
        self.report: ValidationReport | None = None
        self._export_report: ValidationReport | None = None  # the built-in samples' check, run once per pipeline

    # -- building ----------------------------------------------------------------------------
    @cached_property
    def encoder_inputs(self) -> tuple[str, ...]:
        """The tokenizer outputs the encoder takes (worked out once: it loads the model's config)."""
        return encoder_inputs(self.source)

    @property
    def embedding_dim(self) -> int:
        dim = self.source.hidden_size
        for post in self.components.post_processors:
            dim = post.output_dim(dim)
        return dim

    def build(self) -> onnx.ModelProto:
        """The composed graph (built once, then cached)."""
        if self._model is None:
            self._model = self._build()
        return self._model

    def tokenizer_graph(self) -> onnx.ModelProto:
        """The tokenizer stage alone (string in, ids out), e.g. for a token-id comparison."""
        self._progress("building the tokenizer stage")
        options = TokenizerOptions(
            max_length=self.settings.max_seq_length,
            do_lower_case=self.settings.do_lower_case,
            with_token_type_ids=contract.TOKEN_TYPE_IDS in self.encoder_inputs,
            opset=self.settings.opset,
        )
        return self.components.tokenizer.build_graph(self.source, options)

    def _build(self) -> onnx.ModelProto:
        settings, source = self.settings, self.source
        opset = settings.opset
        stages = [Stage("tokenizer/", self.tokenizer_graph())]
        self._progress("exporting the encoder with torch.onnx")
        stages.append(Stage("encoder/", export_encoder(source, self.encoder_inputs, opset=opset)))
        stages.append(Stage("pooler/", self.components.pooler.build_graph(source.hidden_size, opset)))
        previous, dim = contract.SENTENCE_EMBEDDING, source.hidden_size
        for index, post in enumerate(self.components.post_processors):
            last = index == len(self.components.post_processors) - 1
            output = contract.EMBEDDING if last else f"post{index}/{contract.POSTPROCESS_OUTPUT}"
            stage = Stage(
                f"post{index}/",
                post.build_graph(dim, opset),
                {contract.POSTPROCESS_INPUT: previous, contract.POSTPROCESS_OUTPUT: output},
            )
            stages.append(stage)
            previous, dim = output, post.output_dim(dim)
        if previous == contract.SENTENCE_EMBEDDING:
            stages[2].wiring = {contract.SENTENCE_EMBEDDING: contract.EMBEDDING}
        self._progress("composing the graph")
        model = compose(
            stages,
            inputs=[contract.TEXT],
            outputs=[contract.EMBEDDING],
            opset=opset,
            doc=f"embedpipe: {source.name} as one string-in, vector-out graph",
        )
        onnx.helper.set_model_props(model, {SETTINGS_KEY: json.dumps(self.settings_properties()), "embedpipe.source": source.name})
        if self.components.quantizer is not None:
            self._progress(f"quantizing ({settings.quantizer})")
            model = self.components.quantizer.quantize(model)
        self._check(model)
        return model

    def _check(self, model: onnx.ModelProto) -> None:
        try:
            onnx.checker.check_model(model)
        except onnx.checker.ValidationError as exc:
            raise ExportError(f"the composed graph is not valid ONNX: {str(exc).splitlines()[0]}", "a stage broke the contract") from exc
        assert_op_rule(model)
        if not 1 <= self.embedding_dim <= contract.MAX_EMBEDDING_DIM:
            raise ExportError(
                f"embedding dimension {self.embedding_dim} is outside Oracle's 1..{contract.MAX_EMBEDDING_DIM}",
                "change the Dense layers",
            )

    def settings_properties(self) -> dict[str, Any]:
        """The resolved settings as config properties, so a later `validate` can rebuild the reference.

        Dense weights are not recorded by path: they come back from the reference model's own modules.
        """
        settings = self.settings
        recorded = {"tokenizer": settings.tokenizer} if settings.tokenizer in self.plugins.registry("tokenizers") else {}
        return {
            **recorded,
            "max_seq_length": settings.max_seq_length,
            "do_lower_case": settings.do_lower_case,
            "post_processors": [{"name": "Pooling", "type": settings.pooling}]
            + [{"name": p.name, **{k: v for k, v in p.options.items() if k != "path"}} for p in settings.post_processors],
            "opset": settings.opset,
        }

    # -- validation --------------------------------------------------------------------------
    def validate(self, texts: Sequence[str] | None = None, *, model: onnx.ModelProto | Path | None = None) -> ValidationReport:
        """Compare a graph (default: this pipeline's) with sentence-transformers on ``texts``.

        ``texts`` defaults to the built-in hard samples.
        """
        from embedpipe.runtime import open_session

        model = self.build() if model is None else model
        self._progress("validating against sentence-transformers")
        reference = reference_model(self.source, self.settings, self.components.pooler, self.components.post_processors)
        self.report = compare(
            open_session(model),
            reference,
            list(SAMPLES if texts is None else texts),
            limitations=self.components.tokenizer.limitations,
        )
        return self.report

    # -- export ------------------------------------------------------------------------------
    def export2file(self, name: str, output_dir: str | os.PathLike[str] = ".", *, sink: str | Sink = "file", **options: Any) -> Path:
        """Write ``<output_dir>/<name>.onnx`` after validation (unless the config turns it off)."""
        check_export_name(name)
        paths = self._write(sink, name, Path(output_dir), **options)
        return paths[0]

    def export2db(self, model_name: str, connection: Any = None, **options: Any) -> list[Path]:
        """Load the graph into Oracle Database through the ``oracle`` sink plugin (``embedpipe[oracle]``).

        ``connection`` is an open ``oracledb`` connection, or ``None`` to let the sink connect from
        its options, the ``EMBEDPIPE_ORACLE_*`` environment variables or a prompt.
        """
        if "oracle" not in self.plugins.registry("sinks"):
            raise ConfigError(
                "export2db needs the Oracle sink, which is not installed",
                "install it with `pip install embedpipe[oracle]`",
            )
        return self._write("oracle", model_name, Path("."), connection=connection, **options)

    def _write(self, sink: str | Sink, name: str, output_dir: Path, **options: Any) -> list[Path]:
        """Hand the validated graph to a sink (validation runs once per pipeline, not per sink)."""
        model = self.build()
        if self.settings.validate:
            if self._export_report is None:
                self._export_report = self.validate()
            report = self._export_report
            if not report.ok:
                raise ValidationError(
                    f"the graph differs from sentence-transformers ({len(report.failures)} of {len(report.results)} lines failed)",
                    "see the report above; nothing was written (--no-validate writes anyway)",
                )
        writer = self.plugins.create("sinks", sink) if isinstance(sink, str) else sink
        self._progress("writing")
        return writer.write(model, name, output_dir, **options)


def pipeline_for_graph(file: Path, reference: str, *, progress: Progress | None = None) -> ONNXPipeline:
    """A pipeline configured as a produced graph records it was built, for re-validating that graph."""
    props = {p.key: p.value for p in onnx.load(str(file), load_external_data=False).metadata_props}
    if SETTINGS_KEY not in props:
        raise ConfigError(f"{file} carries no embedpipe settings", "validate graphs that embedpipe produced")
    return ONNXPipeline(reference, ONNXPipelineConfig(**json.loads(props[SETTINGS_KEY])), progress=progress)

