"""The graph contract between stages: the tensor names every stage reads and writes.

Each stage is a standalone ``onnx.ModelProto`` whose graph inputs and outputs use these names;
``graph.compose`` prefixes every other name per stage and wires stages by these names only.
The stage prefixes and the metadata keys are here too: plugins rely on them, so they are defined
once, here, and imported wherever they are used.
"""

from __future__ import annotations

# Tokenizer stage: string [1] -> int64 [1, S] tensors (token_type_ids only where the model takes it).
TEXT = "input"
INPUT_IDS = "input_ids"
ATTENTION_MASK = "attention_mask"
TOKEN_TYPE_IDS = "token_type_ids"
TOKENIZER_OUTPUTS = (INPUT_IDS, ATTENTION_MASK, TOKEN_TYPE_IDS)
# A pair stage (rerankers, pair classifiers) takes two strings [1] instead of TEXT, under the names
# OML4Py gives a REGRESSION model's inputs, and gives the same three outputs for the pair.
FIRST_TEXT = "first_input"
SECOND_TEXT = "second_input"
PAIR_TEXTS = (FIRST_TEXT, SECOND_TEXT)

# Encoder stage: the tokenizer outputs it takes -> float32 [1, S, H].
TOKEN_EMBEDDINGS = "token_embeddings"

# Pooler stage: token_embeddings, attention_mask -> float32 [1, H].
SENTENCE_EMBEDDING = "sentence_embedding"

# Post-processor stage: float32 [1, D_in] -> float32 [1, D_out]; composition chains them.
POSTPROCESS_INPUT = "features_in"
POSTPROCESS_OUTPUT = "features_out"

# The whole graph's output, named as Oracle's default metadata expects.
EMBEDDING = "embedding"

# Mining functions: what the graph computes, in OML4Py's vocabulary (lower case here; config.MiningFunction
# holds the upper-case enum OML4Py users pass as ``MiningFunction.REGRESSION.name``).
EMBEDDING_FUNCTION = "embedding"  # string -> vector (VECTOR_EMBEDDING)
REGRESSION = "regression"  # a reranker: pair -> one score (PREDICTION)
CLASSIFICATION = "classification"  # text (or pair) -> class probabilities (PREDICTION, PREDICTION_PROBABILITY)
FUNCTIONS = (EMBEDDING_FUNCTION, REGRESSION, CLASSIFICATION)
# Encoder stage of a sequence classifier: the tokenizer outputs -> float32 [1, num_labels].
LOGITS = "logits"  # also the regression graph's output, float32 [1, 1], as OML4Py names it
# Head stage: the activation after a classifier's encoder, head_in [1, L] -> head_out [1, L].
HEAD_INPUT = "head_in"
HEAD_OUTPUT = "head_out"
PROBABILITIES = "probabilities"  # the classification graph's output with softmax, float32 [1, num_labels]
# The head's activations: identity (raw logits), sigmoid (CrossEncoder's default for one label), softmax.
IDENTITY = "identity"
SIGMOID = "sigmoid"
SOFTMAX = "softmax"
ACTIVATIONS = (IDENTITY, SIGMOID, SOFTMAX)
MODEL_ACTIVATION = "model"  # the configured activation meaning "what CrossEncoder.predict applies for this model"

# Node-name prefixes composition gives each stage's nodes and internal names, so a pass over the
# composed graph (the FP16 quantizer keeping pooling and post-processing in float32) can tell
# stages apart. Post-processors are numbered by their place in the chain: post0/, post1/, ...
TOKENIZER_STAGE = "tokenizer/"
ENCODER_STAGE = "encoder/"
POOLER_STAGE = "pooler/"
HEAD_STAGE = "head/"
POSTPROCESSOR_STAGES = "post"  # what every post-processor's prefix starts with


def postprocessor_stage(index: int) -> str:
    """The prefix of the ``index``-th post-processor in the chain."""
    return f"{POSTPROCESSOR_STAGES}{index}/"


# metadata_props keys every produced graph carries; the Oracle plugin and `embedpipe validate FILE` read them.
SETTINGS_KEY = "embedpipe.settings"  # the resolved settings, JSON: rebuilds the same pipeline
SOURCE_KEY = "embedpipe.source"  # the model's hub id or folder name
MANIFEST_KEY = "embedpipe.manifest"  # the build manifest, JSON (manifest.py)

DEFAULT_OPSET = 17
DEFAULT_IR_VERSION = 8
MAX_OPSET = 18
MAX_EMBEDDING_DIM = 65535  # Oracle VECTOR dimension limit

# Oracle refuses custom ops other than the tokenizers (see docs/oracle.md).
EXTENSIONS_DOMAIN = "ai.onnx.contrib"
ALLOWED_EXTENSION_OPS = frozenset(
    {"BertTokenizer", "GPT2Tokenizer", "RobertaTokenizer", "SentencepieceTokenizer", "CLIPTokenizer"}
)
# Op profiles: which op domains an export may use (docs/oracle.md, "Op profiles").
# - oracle (default): what Oracle documents: standard ONNX, ai.onnx.ml, and the extension tokenizer
#   ops above. Oracle's docs say nothing of ONNX Runtime's com.microsoft contrib ops.
# - portable: standard ONNX, ai.onnx.ml and com.microsoft, no extension op: any ONNX Runtime build,
#   also those without the onnxruntime-extensions library (Java, C#, JavaScript, mobile).
ORACLE_PROFILE = "oracle"
PORTABLE_PROFILE = "portable"
OP_PROFILES = (ORACLE_PROFILE, PORTABLE_PROFILE)
DEFAULT_OP_PROFILE = ORACLE_PROFILE
CONTRIB_DOMAIN = "com.microsoft"
ORACLE_DOCUMENTED_DOMAINS = frozenset({"", "ai.onnx", "ai.onnx.ml"})  # plus ALLOWED_EXTENSION_OPS

# Tokenizer families, one name each: the name of the family's exact tokenizer stage, the presets'
# ``_tokenizer_family``, and the key of the name Oracle's load metadata gives the family.
WORDPIECE = "wordpiece"  # BERT's WordPiece (BERT, DistilBERT, MPNet, ...)
BPE = "bpe"  # byte-level BPE (GPT2, RoBERTa, ...)
UNIGRAM = "unigram"  # SentencePiece Unigram (XLM-R, T5, ...)
TOKENIZER_FAMILIES = (WORDPIECE, BPE, UNIGRAM)
# The first-party tokenizer stages (embedpipe-tokenizers) and the family each tokenizes: a family's
# exact stage is named after it, "bert" is the exact WordPiece stage's earlier name (still accepted),
# and the extension-op stages are named after their op.
TOKENIZER_STAGE_FAMILIES = {
    WORDPIECE: WORDPIECE,
    "bert": WORDPIECE,
    "bert-op": WORDPIECE,
    BPE: BPE,
    "gpt2-op": BPE,
    "roberta-op": BPE,
    UNIGRAM: UNIGRAM,
    "sentencepiece-op": UNIGRAM,
}
# The "tokenizer" value of Oracle's LOAD_ONNX_MODEL metadata, in Oracle's own vocabulary, for the
# families that write one.
ORACLE_TOKENIZER_NAMES = {WORDPIECE: "bert"}
