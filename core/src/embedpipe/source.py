"""Find a model (hub id or local folder) and read everything it declares."""
# Placeholder signature; the real implementation lands next. Fields helpers may rely on:
#   ModelSource.path: Path            local folder holding the files
#   ModelSource.tokenizer_json: Path | None
#   ModelSource.tokenizer_config: dict   (tokenizer_config.json, {} if absent)
#   ModelSource.config: dict             (config.json)
