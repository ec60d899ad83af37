"""Every hook embedpipe calls: the plugin author's reference.

Registry hooks receive a ``register(name, factory)`` callback. A factory is a callable (usually
a class) that the core calls once per pipeline with keyword options and that returns a component
honouring ``embedpipe.components``, or that callable's import path ``"package.module:Name"``,
imported only when the component is first built. Names are case-insensitive; two plugins
registering the same name is an error that names both.

Implement a hook in your plugin module with ``@embedpipe.hookimpl`` and expose the module in your
distribution's ``[project.entry-points.embedpipe]`` table. Every command loads every entry-point
module, ``embedpipe --help`` included, so keep that module light: register components by import
path and import heavy libraries (torch, transformers, onnxruntime) inside the functions that use
them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from embedpipe.config import ONNXPipelineConfig
    from embedpipe.source import ModelSource

PROJECT = "embedpipe"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

Register = Callable[[str, Any], None]  # register(name, factory or "package.module:Name")


@hookspec
def embedpipe_register_tokenizers(register: Register) -> None:
    """Register tokenizer factories.

    :param register: call ``register(name, factory)``; ``factory()`` returns a
        ``components.Tokenizer`` whose ``build_graph(source, options)`` emits the tokenizer stage.
    """


@hookspec
def embedpipe_register_poolers(register: Register) -> None:
    """Register pooler factories (``mean``, ``cls``, ...).

    :param register: call ``register(name, factory)``; ``factory()`` returns a ``components.Pooler``.
    """


@hookspec
def embedpipe_register_postprocessors(register: Register) -> None:
    """Register post-processor factories (``normalize``, ``dense``, ...).

    :param register: call ``register(name, factory)``; ``factory(**spec)`` receives the entry of
        the config's ``post_processors`` list (without ``name``) and returns a
        ``components.PostProcessor``.
    """


@hookspec
def embedpipe_register_quantizers(register: Register) -> None:
    """Register quantizer factories (``int8``, ``fp16``, ...).

    :param register: call ``register(name, factory)``; ``factory(**options)`` returns a
        ``components.Quantizer``.
    """


@hookspec
def embedpipe_register_sinks(register: Register) -> None:
    """Register sink factories (``file``, ``zip``, ``oracle``, ...).

    :param register: call ``register(name, factory)``; ``factory()`` returns a ``components.Sink``.
    """


@hookspec
def embedpipe_register_commands(register: Register) -> None:
    """Register extra ``embedpipe`` sub-commands (e.g. the Oracle sink's ``load`` and ``sql``).

    :param register: call ``register(name, command)`` with a ``click.Command``; it is added to the
        ``embedpipe`` group under ``name``. Raise ``embedpipe.errors.EmbedpipeError`` subclasses for
        user errors: the CLI turns them into one line and exit code 2.
    """


@hookspec
def embedpipe_register_presets(register: Register) -> None:
    """Register preconfigured model specifications.

    :param register: call ``register(model_name, properties)`` where ``properties`` is a mapping
        of ``ONNXPipelineConfig`` property names to values (the callable form is accepted too:
        a zero-argument function returning that mapping).
    """


@hookspec(firstresult=True)
def embedpipe_resolve_tokenizer(source: ModelSource) -> str | None:
    """Name the registered tokenizer that fits this model, or ``None`` to pass.

    The first non-``None`` answer wins; the built-in resolver runs last (``trylast``), so a third
    party can claim a tokenizer class the built-ins do not know, or take over one they do.

    :param source: the model's declarations (tokenizer class, files, config).
    """


@hookspec(firstresult=True)
def embedpipe_text_prefix(source: ModelSource, config: ONNXPipelineConfig) -> str | None:
    """Text the graph puts before every input (a prompt such as E5's ``"query: "``), or ``None`` to pass.

    The tokenizer stage receives it as ``TokenizerOptions.prefix`` and tokenizes prefix and input
    as one text, as Hugging Face tokenizes the concatenation, so truncation counts the prefix's
    tokens; validation prepends it to the reference's input the same way. The first non-``None``
    answer wins.

    :param source: the model's declarations (its folder holds config_sentence_transformers.json).
    :param config: the user's configuration, with the model's preset in ``config.preset``.
    """
