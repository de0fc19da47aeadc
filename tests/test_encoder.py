"""The ONNX Runtime encoder gives the sentence-transformers vectors."""

from __future__ import annotations

import numpy as np
import pytest

from embeddings.encoders.encoder import DEFAULT_MODEL, ModelUnavailable, load_encoder
from embeddings.encoders.exported import OnnxEncoder
from tests.conftest import MODEL_DATA_DIR

pytestmark = pytest.mark.model

MIXED = ["谁参加了调研？", "應勇強調了什麼？", "Who attended the meeting?", "Ying Yong", "三驾马车",
         "基层社会治理的核心是什么？" * 30, "a", "2020年8月31日，省委书记应勇赴武汉市青和居社区调研。"]


@pytest.fixture(scope="module")
def onnx_encoder():
    return load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend="onnx").load()


def test_onnx_vectors_agree_with_sentence_transformers(onnx_encoder):
    assert isinstance(onnx_encoder, OnnxEncoder)
    torch_encoder = load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend="torch").load()
    for onnx_side, torch_side in ((onnx_encoder.encode_queries, torch_encoder.encode_queries),
                                  (onnx_encoder.encode_documents, torch_encoder.encode_documents)):
        a, b = onnx_side(MIXED), torch_side(MIXED)
        assert a.shape == b.shape == (len(MIXED), 384) and a.dtype == np.float32
        assert float((a * b).sum(axis=1).min()) >= 0.999
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)


def test_documents_keep_their_order_and_report_progress(real_encoder):
    seen = []
    vectors = real_encoder.encode_documents(MIXED, progress=seen.append)
    one_by_one = np.vstack([real_encoder.encode_documents([t]) for t in MIXED])
    assert sum(seen) == len(MIXED)
    assert float((vectors * one_by_one).sum(axis=1).min()) >= 0.9999  # sorting by length did not reorder


def test_unknown_backend_is_one_sentence():
    with pytest.raises(ModelUnavailable, match="unknown encoder backend"):
        load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR, backend="tpu")


def test_openvino_int8_is_the_default_close_to_fp32_and_named_apart(real_encoder, onnx_encoder):
    from embeddings.encoders.exported import OpenVinoEncoder

    assert isinstance(real_encoder, OpenVinoEncoder)  # the default backend
    assert real_encoder.name != onnx_encoder.name  # indexes and caches never mix the two
    for a, b in ((real_encoder.encode_documents(MIXED), onnx_encoder.encode_documents(MIXED)),
                 (real_encoder.encode_queries(MIXED), onnx_encoder.encode_queries(MIXED))):
        assert float((a * b).sum(axis=1).min()) >= 0.999


def test_concurrent_queries_get_their_own_vectors(real_encoder):
    """The bot encodes from several threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    questions = [f"第{i}个问题：{MIXED[i % len(MIXED)][:20]}" for i in range(64)]
    alone = np.vstack([real_encoder.encode_queries([q]) for q in questions])
    with ThreadPoolExecutor(8) as pool:
        together = np.vstack(list(pool.map(lambda q: real_encoder.encode_queries([q]), questions)))
    assert float((alone * together).sum(axis=1).min()) >= 0.9999
