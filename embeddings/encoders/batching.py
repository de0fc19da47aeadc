"""Micro-batching: one worker thread encodes every question and every sentence the answer step
needs, and texts that arrive together are encoded as one batch (questions with questions,
sentences with sentences).

Hand-written because the kept runtimes batch only what they are given in one call, and the
serving libraries that batch across callers (Triton, TorchServe, ray serve) are servers of
their own. A burst of questions encoded one by one from many threads makes the threads fight
over the cores (each inference wants all of them); one batch on one worker is both faster in
total and fairer."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

QUERY, DOCUMENT = "query", "document"


class BatchedEncoder:
    """An ``Encoder`` whose calls, from any thread, are queued for one worker: it takes the first
    waiting text, waits up to ``window_s`` for more, takes everything queued up to ``max_batch``,
    and encodes it in one call per kind (queries, documents). With no window the batching is
    natural: a burst's first question is encoded alone, and the ones that arrive meanwhile make
    the next batch, so a lone question waits for nothing (a 2 ms window cost a sequential
    question 2 ms of its ~9)."""

    def __init__(self, encoder, max_batch: int = 16, window_s: float = 0.0):
        self.encoder = encoder
        self.name, self.dim = encoder.name, encoder.dim
        self.max_batch = max_batch
        self.window_s = window_s
        self._queue: queue.Queue[tuple[str, str, Future] | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0  # how many encoder calls were made (for tests and benchmarks)
        self.encoded = 0  # how many texts they held

    def encode(self, text: str) -> np.ndarray:
        """The query vector of ``text``; blocks until its batch is encoded, raises what the encoder raised."""
        return self.encode_queries([text])[0]

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._wait(texts, QUERY)

    def encode_documents(self, texts: Sequence[str], progress=None) -> np.ndarray:
        vectors = self._wait(texts, DOCUMENT)
        if progress:
            progress(len(texts))
        return vectors

    def _wait(self, texts: Sequence[str], kind: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        self._ensure_worker()
        futures = []
        for text in texts:
            future: Future = Future()
            self._queue.put((kind, text, future))
            futures.append(future)
        return np.vstack([f.result() for f in futures])

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._run, name="encoder", daemon=True)
                self._worker.start()

    def close(self) -> None:
        """Stop the worker after what is queued (a later call starts a new one)."""
        with self._start_lock:
            if self._worker is not None and self._worker.is_alive():
                self._queue.put(None)
                self._worker.join(timeout=5)
            self._worker = None

    def _take_batch(self, first: tuple[str, str, Future]) -> tuple[list[tuple[str, str, Future]], bool]:
        batch, stop = [first], False
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            try:
                left = deadline - time.monotonic()
                item = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                stop = True
                break
            batch.append(item)
        return batch, stop

    def _run(self) -> None:
        encoders = {QUERY: self.encoder.encode_queries, DOCUMENT: self.encoder.encode_documents}
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._take_batch(first)
            for kind, encode in encoders.items():
                items = [(text, future) for k, text, future in batch if k == kind]
                if items:
                    self._encode(encode, items)
            if stop:
                return

    def _encode(self, encode, items: list[tuple[str, Future]]) -> None:
        texts = list(dict.fromkeys(text for text, _ in items))  # the same text once
        try:
            vectors = encode(texts)
        except BaseException as e:  # noqa: BLE001 - every waiting caller gets the error
            for _, future in items:
                future.set_exception(e)
            return
        row = {text: vectors[i] for i, text in enumerate(texts)}
        for text, future in items:
            future.set_result(row[text])
        self.batches += 1
        self.encoded += len(texts)
