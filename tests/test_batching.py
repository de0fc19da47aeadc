import threading
import time

import numpy as np
import pytest

from embeddings.encoders.batching import BatchedEncoder
from tests.fakes import HashEncoder


class SlowEncoder(HashEncoder):
    """Takes 50 ms a call, whatever the batch: what makes batching pay."""

    def __init__(self):
        super().__init__()
        self.calls: list[list[str]] = []

    def encode_queries(self, texts):
        self.calls.append(list(texts))
        time.sleep(0.05)
        return super().encode_queries(texts)

    def encode_documents(self, texts, progress=None):
        self.calls.append([f"document: {t}" for t in texts])
        time.sleep(0.05)
        return super().encode_documents(texts)


def _ask_together(batcher: BatchedEncoder, texts: list[str]) -> dict[str, np.ndarray]:
    out, start = {}, threading.Barrier(len(texts))

    def ask(text):
        start.wait()
        out[text] = batcher.encode(text)

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_questions_arriving_together_are_encoded_in_few_batches_with_the_right_vectors():
    encoder = SlowEncoder()
    batcher = BatchedEncoder(encoder, max_batch=16, window_s=0.01)
    texts = [f"问题{i}：谁参加了调研？" for i in range(12)]
    got = _ask_together(batcher, texts)
    assert len(encoder.calls) <= 3 and sum(map(len, encoder.calls)) == 12
    for text in texts:  # each caller gets its own text's vector, not a neighbour's
        assert np.allclose(got[text], HashEncoder().encode_queries([text])[0])
    batcher.close()


def test_a_batch_is_never_larger_than_the_limit_and_duplicates_are_encoded_once():
    encoder = SlowEncoder()
    batcher = BatchedEncoder(encoder, max_batch=4, window_s=0.01)
    _ask_together(batcher, [f"q{i}" for i in range(10)])
    assert max(map(len, encoder.calls)) <= 4 and sum(map(len, encoder.calls)) == 10
    encoder.calls.clear()
    batcher.max_batch = 16
    got = _ask_together(batcher, ["same"] * 8)
    assert all(c == ["same"] for c in encoder.calls) and len(encoder.calls) < 8  # once per batch
    assert got["same"].shape == (encoder.dim,)
    batcher.close()


def test_an_encoder_error_reaches_every_waiting_caller_and_the_worker_survives():
    class Broken(HashEncoder):
        fail = True

        def encode_queries(self, texts):
            if self.fail:
                raise RuntimeError("model crashed")
            return super().encode_queries(texts)

    encoder = Broken()
    batcher = BatchedEncoder(encoder)
    with pytest.raises(RuntimeError, match="model crashed"):
        batcher.encode("谁参加了调研？")
    encoder.fail = False
    assert batcher.encode("谁参加了调研？").shape == (encoder.dim,)
    batcher.close()


def test_sentences_and_questions_share_the_worker_each_kind_encoded_as_itself():
    encoder = SlowEncoder()
    batcher = BatchedEncoder(encoder, max_batch=16, window_s=0.01)
    sentences = [f"第{i}句。" for i in range(5)]
    got: dict = {}
    asking = threading.Thread(target=lambda: got.update(_ask_together(batcher, ["谁参加了调研？", "何时？"])))
    asking.start()
    vectors = batcher.encode_documents(sentences)
    asking.join()
    assert np.allclose(vectors, HashEncoder().encode_documents(sentences))
    assert np.allclose(got["何时？"], HashEncoder().encode_queries(["何时？"])[0])
    for call in encoder.calls:  # never a query and a sentence in one call
        assert len({text.startswith("document: ") for text in call}) == 1
    assert batcher.encode_documents([]).shape == (0, encoder.dim)
    batcher.close()


def test_the_engine_encodes_through_the_batcher_and_caches(fake_engine):
    fake_engine.answer("應勇強調了什麼？")
    first = fake_engine.batched.encoded
    fake_engine.answer("应勇强调了什么？")  # same question in the other script: its vector and its sentences' are cached
    fake_engine.search("应勇强调了什么？")
    assert first > 0 and fake_engine.batched.encoded == first
    assert fake_engine.composer.encoder is fake_engine.batched
