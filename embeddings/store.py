"""Where the passage vectors live. A ``VectorStore`` keeps one collection of vectors per index
generation (one build) and knows which generation is published; the rest of an index (the
passages, the lexical side, the manifest) stays in the index directory, which names its
generation, so an engine always searches the vectors that belong to its passages.

- ``FaissStore`` (the default): the vectors are a FAISS file inside the index directory,
  chosen by size (``IndexParams``); publishing is the directory swap itself.
- ``milvus.MilvusStore``: one Milvus collection per generation, found by an alias once
  published, through ``pymilvus``' ``MilvusClient``: an embedded Milvus Lite file
  (``milvus:///path.db``) or a Milvus server or cluster (``milvus://host:19530``, ``https://…``
  with a token). A server also keeps each generation's index files and the claim to rebuild,
  so that replicas on different machines share nothing but Milvus (``keeps_files``).

Stores are chosen by the setting ``QABOT_VECTOR_STORE`` through ``open_store``; a new backend
is a class with these methods and a line in ``open_store``."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from corpus.errors import QabotError

log = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"


class StoreBusy(QabotError, RuntimeError):
    """Another replica holds the claim to rebuild."""


class StoreProblem(QabotError, RuntimeError):
    """The vector store cannot be reached or does not hold what the index names."""


@dataclass(frozen=True)
class IndexParams:
    """How the vector index is chosen by collection size, measured with ``bench/scale.py
    --faiss N`` (one thread, one query at a time, as the bot searches; clustered vectors):

    - exact search: ~7 ms at 100k vectors, ~60 ms at 1M (too slow there);
    - HNSW (M=32, efConstruction 40, efSearch 128): under 1 ms; recall@10 0.996 at 100k but
      0.90 at 1M, 1.7 GiB and ~3 minutes to build there;
    - IVF (4·√n lists, 64 probed) with 8-bit scalar-quantised vectors: under 1 ms at 1M,
      recall@10 0.975, 380 MiB (a quarter of the vectors' size), ~90 s to build.
    """

    hnsw_threshold: int = 50_000
    ivf_threshold: int = 300_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 40
    hnsw_ef_search: int = 128
    ivf_nprobe: int = 64

    def choose(self, n: int) -> tuple[str, str]:
        """(FAISS index_factory string, short name) for ``n`` vectors."""
        if n < self.hnsw_threshold:
            return "Flat", "flat"
        if n < self.ivf_threshold:
            return f"HNSW{self.hnsw_m},Flat", "hnsw"
        return f"IVF{self.nlist(n)},SQ8", "ivf-sq8"

    @staticmethod
    def nlist(n: int) -> int:
        return int(4 * n ** 0.5)


class Vectors(Protocol):
    """One generation's vectors: row ``i`` is passage ``i`` of that generation."""

    def add(self, vectors: np.ndarray) -> None: ...  # rows appended in order

    def delete(self, ids: Sequence[int]) -> None: ...

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...  # scores, ids; best first

    def get(self, ids: Sequence[int]) -> np.ndarray: ...  # the stored vectors (quantised if the index is)

    def count(self) -> int: ...

    def info(self) -> dict: ...  # what the manifest records about it


class RebuildClaim(Protocol):
    """The right to rebuild, held by one replica at a time (entering raises StoreBusy when
    another holds it)."""

    def __enter__(self) -> RebuildClaim: ...

    def __exit__(self, *exc) -> None: ...

    def wait(self, every_s: float) -> None: ...  # until no replica holds it


class VectorStore(Protocol):
    kind: str
    # Whether the store also keeps each generation's index files (passages, lexical indexes,
    # manifest): then a replica needs nothing but the store (a Milvus server), else they are in
    # the index directory, shared by the replicas that share it.
    keeps_files: bool

    def create(self, generation: str, dim: int, size: int) -> Vectors: ...  # empty, unpublished

    def save(self, vectors: Vectors, staging: Path) -> None: ...  # written beside the new index files

    def open(self, generation: str, directory: Path, info: dict) -> Vectors: ...

    def publish(self, generation: str) -> None: ...  # the current generation from now on

    def discard(self, generation: str) -> None: ...  # a failed build's vectors

    def current(self) -> str | None: ...

    def describe(self) -> str: ...  # for /stats and logs: never a secret

    def keep_files(self, generation: str, directory: Path) -> None: ...  # a new generation's files, before publish

    def fetch_files(self, generation: str, directory: Path) -> None: ...  # into an empty directory

    def rebuild_claim(self) -> RebuildClaim | None: ...  # one rebuild among replicas; None: a file lock


def _faiss():
    import faiss

    return faiss


class FaissVectors:
    def __init__(self, index, kind: str, factory: str):
        self.index, self.kind, self.factory = index, kind, factory

    def add(self, vectors: np.ndarray) -> None:
        """Built with every core; searched with one (see ``search``)."""
        faiss = _faiss()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        try:
            if not self.index.is_trained:  # k-means for the lists, each dimension's range for SQ8
                sample = min(len(vectors), 64 * self.index.nlist)
                self.index.train(vectors[np.random.default_rng(0).choice(len(vectors), size=sample, replace=False)])
            self.index.add(vectors)
            if hasattr(self.index, "nlist"):
                self.index.make_direct_map()  # get(ids): the dense score of a lexical candidate
        finally:
            faiss.omp_set_num_threads(1)

    def delete(self, ids: Sequence[int]) -> None:
        if hasattr(self.index, "hnsw"):
            raise StoreProblem("an HNSW index cannot delete vectors; rebuild the index instead")
        self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # One thread: a question is one query, and two OpenMP threads on two busy cores made a
        # 1 ms search take 47.
        scores, ids = self.index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), k)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]

    def get(self, ids: Sequence[int]) -> np.ndarray:
        return np.vstack([self.index.reconstruct(int(i)) for i in ids]) if len(ids) else \
            np.zeros((0, self.index.d), np.float32)

    def count(self) -> int:
        return int(self.index.ntotal)

    def info(self) -> dict:
        return {"store": "faiss", "index_type": self.kind, "factory": self.factory}


class FaissStore:
    """FAISS in the bot's process: the vectors of a generation are ``index.faiss`` in its
    index directory, so the directory swap publishes them."""

    kind = "faiss"
    keeps_files = False

    def __init__(self, params: IndexParams = IndexParams()):
        self.params = params

    def create(self, generation: str, dim: int, size: int) -> FaissVectors:
        faiss = _faiss()
        factory, kind = self.params.choose(size)
        index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
        if hasattr(index, "hnsw"):
            index.hnsw.efConstruction = self.params.hnsw_ef_construction
        return FaissVectors(index, kind, factory)

    def save(self, vectors: FaissVectors, staging: Path) -> None:
        _faiss().write_index(vectors.index, str(staging / INDEX_FILE))

    def open(self, generation: str, directory: Path, info: dict) -> FaissVectors:
        faiss = _faiss()
        try:
            index = faiss.read_index(str(directory / INDEX_FILE))
        except Exception as e:  # faiss raises RuntimeError with C++ text
            raise StoreProblem(f"the FAISS file in {directory} is unreadable; rebuild the index") from e
        if hasattr(index, "hnsw"):
            index.hnsw.efSearch = self.params.hnsw_ef_search
        if hasattr(index, "nprobe"):
            index.nprobe = self.params.ivf_nprobe
        faiss.omp_set_num_threads(1)
        return FaissVectors(index, info.get("index_type", "flat"), info.get("factory", ""))

    def publish(self, generation: str) -> None:
        pass  # the index directory swap did it

    def discard(self, generation: str) -> None:
        pass  # nothing outside the staging directory, which the build removes

    def current(self) -> str | None:
        return None  # the index directory's manifest says

    def describe(self) -> str:
        return "faiss"

    def keep_files(self, generation: str, directory: Path) -> None:
        pass  # they stay in the index directory

    def fetch_files(self, generation: str, directory: Path) -> None:
        raise StoreProblem("a FAISS store keeps no files: they are in the index directory")

    def rebuild_claim(self) -> None:
        return None  # the replicas share the index directory, and its lock file


def _milvus():
    from embeddings import milvus  # noqa: PLC0415 - pymilvus only with a Milvus store

    return milvus


def open_store(spec: str, params: IndexParams = IndexParams(), token: str = "") -> VectorStore:
    """The store a ``QABOT_VECTOR_STORE`` value names: ``faiss`` (default), ``milvus:///path/file.db``
    (Milvus Lite, embedded), ``milvus://host:port`` or ``http(s)://host:port`` (a Milvus server;
    ``token`` is ``QABOT_MILVUS_TOKEN``)."""
    spec = (spec or "faiss").strip()
    if spec == "faiss":
        return FaissStore(params)
    if spec.startswith("milvus:///"):
        path = Path(spec.removeprefix("milvus://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return _milvus().MilvusStore(str(path), token, params=params)
    if spec.startswith("milvus://"):
        return _milvus().MilvusStore("http://" + spec.removeprefix("milvus://"), token, params=params)
    if spec.startswith(("http://", "https://")):
        return _milvus().MilvusStore(spec, token, params=params)
    raise StoreProblem(f"unknown vector store {spec!r}: use faiss, milvus:///path/file.db or milvus://host:port")
