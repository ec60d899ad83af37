"""Find a model (hub id or local folder) and read everything it declares.

A user should type no option the model already states: the tokenizer files, the encoder's
config, and the sentence-transformers modules (pooling mode, Dense layers, Normalize,
max_seq_length) are read here once and handed to the rest of the pipeline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from embedpipe.errors import ModelSourceError, UnsupportedModelError

TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "vocab.json", "sentencepiece.bpe.model", "spiece.model", "tokenizer.model")
# Files worth downloading from the hub: configs, tokenizers, safetensors weights. Never pickles.
HUB_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors", "*/*.json", "*/*.safetensors"]

# sentence-transformers module types, by the last part of their dotted name.
ST_TRANSFORMER, ST_POOLING, ST_DENSE, ST_NORMALIZE = "Transformer", "Pooling", "Dense", "Normalize"
_POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
    "pooling_mode_mean_sqrt_len_tokens": "mean_sqrt_len_tokens",
    "pooling_mode_weightedmean_tokens": "weightedmean",
    "pooling_mode_lasttoken": "lasttoken",
}


@dataclass(frozen=True)
class PostModule:
    """A sentence-transformers module that follows pooling, in order."""

    kind: str  # "dense" or "normalize"
    path: Path | None = None


@dataclass
class ModelSource:
    """A model folder and what it declares about itself."""

    name: str
    path: Path
    revision: str | None
    config: dict[str, Any]
    tokenizer_config: dict[str, Any]
    pooling: str | None = None
    post_modules: list[PostModule] = field(default_factory=list)
    max_seq_length: int | None = None
    trust_remote_code: bool = False

    @property
    def model_type(self) -> str:
        return str(self.config.get("model_type", ""))

    @property
    def hidden_size(self) -> int:
        for key in ("hidden_size", "d_model", "dim", "n_embd"):
            if key in self.config:
                return int(self.config[key])
        raise UnsupportedModelError(
            f"config.json of {self.name} names no hidden size", "check that it is a transformer encoder"
        )

    @property
    def tokenizer_json(self) -> Path | None:
        path = self.path / "tokenizer.json"
        return path if path.is_file() else None

    @property
    def tokenizer_class(self) -> str:
        """The tokenizer class the model declares, without the ``Fast`` suffix."""
        declared = str(self.tokenizer_config.get("tokenizer_class") or "")
        return declared.removesuffix("Fast")

    @cached_property
    def tokenizer_definition(self) -> dict[str, Any]:
        """tokenizer.json as Hugging Face's ``tokenizers`` runs it, or {} without one.

        Resolvers tell tokenizer families apart by its parts (``model.type``, ``pre_tokenizer``,
        ``post_processor``) when the declared class is missing or unknown.
        """
        if self.tokenizer_json is None:
            return {}
        try:
            value = json.loads(self.tokenizer_json.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ModelSourceError(f"tokenizer.json of {self.name} is not valid JSON ({exc})", "re-download the model") from exc
        return value if isinstance(value, dict) else {}

    @property
    def tokenizer_model_type(self) -> str:
        """The ``model.type`` of tokenizer.json (WordPiece, BPE, Unigram), or "" without one."""
        return str((self.tokenizer_definition.get("model") or {}).get("type", ""))

    def ensure_tokenizer_json(self) -> Path:
        """tokenizer.json of the model; a folder with only slow-tokenizer files gets one converted by transformers."""
        if self.tokenizer_json is not None:
            return self.tokenizer_json
        import tempfile

        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(self.path), use_fast=True, trust_remote_code=self.trust_remote_code)
        backend = getattr(tokenizer, "backend_tokenizer", None)
        if backend is None:
            raise UnsupportedModelError(
                f"{self.name} has no tokenizer.json and transformers cannot convert its tokenizer",
                "add the model's tokenizer.json to the folder",
            )
        target = Path(tempfile.mkdtemp(prefix="embedpipe-tokenizer-")) / "tokenizer.json"
        backend.save(str(target))
        return target

    @property
    def is_sentence_transformer(self) -> bool:
        return (self.path / "modules.json").is_file()

    @property
    def position_limit(self) -> int | None:
        """The most tokens the encoder's position embeddings hold.

        RoBERTa-style models (XLM-R, MPNet, ...) offset positions by ``pad_token_id + 1``.
        """
        limit = self.config.get("max_position_embeddings")
        if limit is None:
            return None
        offset_families = {"roberta", "xlm-roberta", "mpnet", "camembert", "longformer", "bart"}
        if self.model_type in offset_families:
            return int(limit) - int(self.config.get("pad_token_id", 1)) - 1
        return int(limit)

    @cached_property
    def model_input_names(self) -> tuple[str, ...]:
        """The tensors the model's own tokenizer feeds the encoder (HF's ``model_input_names``)."""
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(self.path), trust_remote_code=self.trust_remote_code)
        return tuple(tokenizer.model_input_names)


def load_source(
    model: str | os.PathLike[str],
    *,
    revision: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    force_download: bool = False,
    trust_remote_code: bool = False,
    token: str | None = None,
) -> ModelSource:
    """Resolve ``model`` (a local folder, or a hub id fetched through the HF cache) and read it."""
    name = os.fspath(model)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelSourceError(f"{name} is a file, not a model folder", "pass the folder that holds config.json")
        folder = path.resolve()
    else:
        folder = _download(name, revision=revision, cache_dir=cache_dir, force_download=force_download, token=token)
    return read_folder(folder, name=name, revision=revision, trust_remote_code=trust_remote_code)


def _looks_like_hub_id(name: str) -> bool:
    parts = name.split("/")
    return 1 <= len(parts) <= 2 and all(p and not p.startswith(".") for p in parts) and not name.startswith(("~", "."))


def _download(name: str, *, revision: str | None, cache_dir: Any, force_download: bool, token: str | None) -> Path:
    """Fetch (or reuse from the HF cache) only configs, tokenizer files and safetensors."""
    if not _looks_like_hub_id(name):
        raise ModelSourceError(f"model folder {name} does not exist", "check the path, or pass a hub id such as org/model")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

    try:
        return Path(
            snapshot_download(
                name,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                allow_patterns=HUB_PATTERNS,
                token=token,
            )
        )
    except RevisionNotFoundError as exc:
        raise ModelSourceError(f"revision {revision!r} of {name} does not exist", "pass an existing branch, tag or commit") from exc
    except RepositoryNotFoundError as exc:
        raise ModelSourceError(
            f"model {name!r} is neither a local folder nor a hub repository you can access",
            "check the spelling, or log in with `hf auth login` for a gated model",
        ) from exc
    except LocalEntryNotFoundError as exc:
        raise ModelSourceError(
            f"model {name!r} is not in the local Hugging Face cache and the hub cannot be reached (offline)",
            "download it once with network access, or pass a local folder",
        ) from exc
    except HfHubHTTPError as exc:
        raise ModelSourceError(f"the hub refused {name!r}: {exc}".splitlines()[0], "check the id and your access") from exc


def read_folder(folder: Path, *, name: str | None = None, revision: str | None = None, trust_remote_code: bool = False) -> ModelSource:
    """Read a model folder's declarations and check that it can be converted at all."""
    name = name or str(folder)
    if not any(folder.iterdir()):
        raise ModelSourceError(f"model folder {name} is empty", "download the model into it, or pass a hub id")
    config = _read_json(folder / "config.json", name)
    if config is None:
        raise ModelSourceError(f"{name} has no config.json", "pass the folder of a Hugging Face transformer model")
    if config.get("auto_map") and not trust_remote_code:
        raise ModelSourceError(
            f"{name} needs code from its repository (auto_map in config.json), which runs arbitrary Python",
            "pass trust_remote_code=True (CLI --trust-remote-code) only if you trust that code",
        )
    if not any((folder / f).is_file() for f in TOKENIZER_FILES):
        raise ModelSourceError(
            f"{name} has no tokenizer files ({', '.join(TOKENIZER_FILES[:3])}, ...)",
            "copy the model's tokenizer files into the folder",
        )
    _check_weights(folder, name)
    source = ModelSource(
        name=name,
        path=folder,
        revision=revision,
        config=config,
        tokenizer_config=_read_json(folder / "tokenizer_config.json", name) or {},
        trust_remote_code=trust_remote_code,
    )
    _read_sentence_transformers(source)
    return source


def _read_json(path: Path, name: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelSourceError(f"{path.name} of {name} is not valid JSON ({exc})", "re-download the model") from exc
    if not isinstance(value, dict):
        raise ModelSourceError(f"{path.name} of {name} is not a JSON object", "re-download the model")
    return value


def _check_weights(folder: Path, name: str) -> None:
    """Weights must be safetensors and readable; pickled .bin files are never loaded."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        pickles = [p.name for p in folder.glob("*.bin")]
        if pickles:
            raise ModelSourceError(
                f"{name} has only pickled weights ({pickles[0]}), which can run code when loaded",
                "use a revision with model.safetensors, or convert the weights to safetensors",
            )
        raise ModelSourceError(f"{name} has no weights (model.safetensors)", "download the model's weight files")
    from safetensors import SafetensorError, safe_open

    for file in files:
        try:
            with safe_open(str(file), framework="np") as weights:
                keys = list(weights.keys())
                if keys:
                    weights.get_slice(keys[-1])
            size = file.stat().st_size
        except (SafetensorError, OSError, ValueError) as exc:
            raise ModelSourceError(f"weights {file.name} of {name} are corrupt or truncated ({exc})", "re-download the model") from exc
        if size < 16:
            raise ModelSourceError(f"weights {file.name} of {name} are truncated", "re-download the model")


def _read_sentence_transformers(source: ModelSource) -> None:
    """Fill pooling, post modules and max_seq_length from modules.json and its module folders."""
    bert_config = _read_json(source.path / "sentence_bert_config.json", source.name) or {}
    if "max_seq_length" in bert_config:
        source.max_seq_length = int(bert_config["max_seq_length"])
    elif source.is_sentence_transformer:
        # sentence-transformers 6 saves the length as the tokenizer's model_max_length instead.
        declared = source.tokenizer_config.get("model_max_length")
        if isinstance(declared, int | float) and not isinstance(declared, bool) and declared < 1e9:
            source.max_seq_length = int(declared)
    modules = json.loads((source.path / "modules.json").read_text()) if source.is_sentence_transformer else []
    unknown = []
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        folder = source.path / module.get("path", "")
        if kind == ST_TRANSFORMER:
            continue
        if kind == ST_POOLING:
            source.pooling = _pooling_mode(_read_json(folder / "config.json", source.name) or {}, source.name)
        elif kind == ST_DENSE:
            source.post_modules.append(PostModule("dense", folder))
        elif kind == ST_NORMALIZE:
            source.post_modules.append(PostModule("normalize"))
        else:
            unknown.append(kind)
    if unknown:
        raise UnsupportedModelError(
            f"{source.name} uses sentence-transformers modules embedpipe cannot put in a graph: {', '.join(unknown)}",
            "remove them from modules.json or write a post-processor plugin (docs/plugins.md)",
        )


def _pooling_mode(config: dict[str, Any], name: str) -> str:
    if "pooling_mode" in config and isinstance(config["pooling_mode"], str):
        return config["pooling_mode"]
    modes = [mode for flag, mode in _POOLING_FLAGS.items() if config.get(flag)]
    if len(modes) != 1:
        raise UnsupportedModelError(
            f"{name} declares {len(modes)} pooling modes ({', '.join(modes) or 'none'}); embedpipe supports exactly one",
            "set pooling explicitly in the config",
        )
    return modes[0]
