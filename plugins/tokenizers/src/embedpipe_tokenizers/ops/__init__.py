"""The extension-op tokenizer stages (bert_op, bpe_op, sentencepiece_op), the truncation they share
around their op (op_stage) and what the ops cannot reproduce, declared per input class (op_limits)."""
