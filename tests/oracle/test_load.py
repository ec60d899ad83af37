"""Loading through the double: what is sent, what Oracle ends up holding, and how it is checked."""

from __future__ import annotations

import math
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from embedpipe.runtime import embed, open_session
from embedpipe_oracle.database import Database
from embedpipe_oracle.errors import ModelExistsError, OracleSinkError
from embedpipe_oracle.load import load_file
from embedpipe_oracle.verify import SAMPLES

from tests.oracle.double import DoubleConnection, OracleDouble


def test_load_streams_verifies_and_answers_vector_embedding(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_minilm_file: Path
) -> None:
    result = load_file(oracle_minilm_file, "all_minilm_l6_v2", connection=oracle_connection)
    assert result.name == "ALL_MINILM_L6_V2" and result.dimension == 384 and result.min_cosine >= 0.9999
    assert not result.replaced and result.inmemory_sql is None
    assert list(oracle_double.models) == ["ALL_MINILM_L6_V2"]
    # The database's VECTOR_EMBEDDING gives the local graph's vectors on text the sink never sent.
    text = "A sentence the verification did not use."
    got = Database(oracle_connection).embed("ALL_MINILM_L6_V2", text)
    want = embed(open_session(oracle_minilm_file), [text])[0]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert sum(1 for p, _ in oracle_double.calls if p == "DBMS_VECTOR.LOAD_ONNX_MODEL") == 1


def test_metadata_sent_describes_the_graph(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_minilm_file: Path
) -> None:
    load_file(oracle_minilm_file, "MINILM", connection=oracle_connection, languages=["en"], distance_metrics=["cosine", "dot"])
    metadata = oracle_double.models["MINILM"].metadata
    assert metadata["function"] == "embedding"
    assert metadata["embeddingOutput"] == "embedding" and metadata["input"] == {"input": ["DATA"]}
    assert metadata["normalization"] is True and metadata["pooling"] == "mean" and metadata["tokenizer"] == "bert"
    assert metadata["maxSequenceLength"] == 256
    assert metadata["suitableDistanceMetrics"] == ["COSINE", "DOT"] and metadata["languages"] == ["en"]
    assert metadata["modelDescription"]["producer"].startswith("embedpipe ")
    assert "all-MiniLM-L6-v2" in metadata["modelDescription"]["source"] or metadata["modelDescription"]["source"].endswith(
        "model"
    )


def test_blob_is_written_in_bounded_chunks(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_minilm_file: Path
) -> None:
    chunk = 1 << 20
    size = oracle_minilm_file.stat().st_size
    load_file(oracle_minilm_file, "CHUNKED", connection=oracle_connection, chunk_bytes=chunk)
    writes = oracle_double.lob_writes
    assert len(writes) == math.ceil(size / chunk) and sum(writes) == size
    assert max(writes) == chunk and all(w == chunk for w in writes[:-1])


def test_streaming_holds_one_chunk_not_the_file(oracle_connection: DoubleConnection, oracle_minilm_file: Path) -> None:
    """Python-side memory while streaming a 90 MB file stays near one 4 MiB chunk."""
    chunk = 4 << 20
    tracemalloc.start()
    try:
        blob = Database(oracle_connection).stream_to_blob(oracle_minilm_file, chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert blob.size() == oracle_minilm_file.stat().st_size
    assert peak < 2.5 * chunk, f"peak {peak / 2**20:.1f} MiB while streaming {blob.size() / 2**20:.0f} MiB"


def test_existing_name_without_replace_is_refused_and_untouched(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path, oracle_minilm_file: Path
) -> None:
    load_file(oracle_tiny_file, "M", connection=oracle_connection)
    calls = len(oracle_double.calls)
    with pytest.raises(ModelExistsError, match="already exists.*--replace"):
        load_file(oracle_minilm_file, "m", connection=oracle_connection)
    assert oracle_double.models["M"].dimension == 32
    assert len(oracle_double.calls) == calls  # refused before any call


def test_verification_failure_leaves_no_model(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path
) -> None:
    oracle_double.embedding_tamper = lambda v: v[::-1].copy()
    with pytest.raises(OracleSinkError, match="differs from the local graph"):
        load_file(oracle_tiny_file, "TAMPERED", connection=oracle_connection)
    assert oracle_double.models == {}


def test_verification_queries_every_sample(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path
) -> None:
    seen: list[str] = []
    original = oracle_double.embed

    def spy(identifier: str, attribute: str, text: object):  # type: ignore[no-untyped-def]
        seen.append(str(text))
        return original(identifier, attribute, text)

    oracle_double.embed = spy  # type: ignore[method-assign]
    load_file(oracle_tiny_file, "SPIED", connection=oracle_connection)
    assert seen == list(SAMPLES)


def test_privilege_error_is_one_line_with_the_grant(
    oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path
) -> None:
    oracle_double.privileges.clear()
    with pytest.raises(OracleSinkError) as caught:
        load_file(oracle_tiny_file, "NOPRIV", connection=oracle_connection)
    assert "\n" not in str(caught.value) and "GRANT CREATE MINING MODEL" in str(caught.value)
    assert oracle_double.models == {}


def test_size_limit_is_reported(oracle_double: OracleDouble, oracle_connection: DoubleConnection, oracle_tiny_file: Path) -> None:
    oracle_double.size_limit = 1000
    with pytest.raises(OracleSinkError, match="ORA-20000.*exceeds"):
        load_file(oracle_tiny_file, "BIG", connection=oracle_connection)
    assert oracle_double.models == {}


def test_connection_is_left_open_when_given(oracle_connection: DoubleConnection, oracle_tiny_file: Path) -> None:
    load_file(oracle_tiny_file, "OPEN", connection=oracle_connection)
    assert not oracle_connection.closed
