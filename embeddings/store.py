"""Where the passage vectors live. A ``VectorStore`` keeps one collection of vectors per index
generation (one build) and knows which generation is published; the rest of an index (the
passages, the lexical side, the manifest) stays in the index directory, which names its
generation, so an engine always searches the vectors that belong to its passages.

- ``FaissStore`` (the default): the vectors are a FAISS file inside the index directory,
  chosen by size (``IndexParams``); publishing is the directory swap itself.
- ``MilvusStore``: one Milvus collection per generation, found by an alias once published,
  through ``pymilvus``' ``MilvusClient``: an embedded Milvus Lite file (``milvus:///path.db``)
  or a Milvus server or cluster (``milvus://host:19530``, ``https://…`` with a token).

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


class VectorStore(Protocol):
    kind: str

    def create(self, generation: str, dim: int, size: int) -> Vectors: ...  # empty, unpublished

    def save(self, vectors: Vectors, staging: Path) -> None: ...  # written beside the new index files

    def open(self, generation: str, directory: Path, info: dict) -> Vectors: ...

    def publish(self, generation: str) -> None: ...  # the current generation from now on

    def discard(self, generation: str) -> None: ...  # a failed build's vectors

    def current(self) -> str | None: ...

    def describe(self) -> str: ...  # for /stats and logs: never a secret


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


# --- Milvus ----------------------------------------------------------------------------------

class MilvusVectors:
    def __init__(self, client, collection: str, dim: int, kind: str, search_params: dict):
        self.client, self.collection, self.dim = client, collection, dim
        self.kind, self.search_params = kind, search_params
        self._next = 0

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # pymilvus raises MilvusException and grpc errors
            raise StoreProblem(f"Milvus could not {what} in collection {self.collection} ({e})") from e

    def add(self, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        for start in range(0, len(vectors), 5000):  # well under gRPC's message size limit
            chunk = vectors[start : start + 5000]
            rows = [{"id": self._next + i, "vec": v.tolist()} for i, v in enumerate(chunk)]
            self._call("insert vectors", self.client.insert, self.collection, rows)
            self._next += len(chunk)

    def delete(self, ids: Sequence[int]) -> None:
        self._call("delete vectors", self.client.delete, self.collection, ids=[int(i) for i in ids])
        self.count()  # a Strong read: the searches after it do not see the deleted rows

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        [hits] = self._call("search", self.client.search, self.collection, data=[np.asarray(query).ravel().tolist()],
                            anns_field="vec", limit=k, search_params=self.search_params)
        return (np.array([h["distance"] for h in hits], dtype=np.float32),
                np.array([h["id"] for h in hits], dtype=np.int64))

    def get(self, ids: Sequence[int]) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        rows = self._call("read vectors", self.client.get, self.collection, ids=[int(i) for i in ids],
                          output_fields=["vec"])
        by_id = {r["id"]: r["vec"] for r in rows}
        return np.array([by_id[int(i)] for i in ids], dtype=np.float32)

    def count(self) -> int:
        rows = self._call("count", self.client.query, self.collection, filter="", output_fields=["count(*)"],
                          consistency_level="Strong")  # checked when a generation is loaded: every row written
        return int(rows[0]["count(*)"])

    def info(self) -> dict:
        return {"store": "milvus", "collection": self.collection, "index_type": self.kind}


class MilvusStore:
    """Milvus through ``MilvusClient``. A build writes a new collection ``<name>_<generation>``;
    ``publish`` points the alias ``<name>`` at it and drops the collections it replaced, so a
    deployment sees one current generation. Engines search the collection their index
    directory names (never one whose passages they have not loaded) and notice a new
    generation by the directory's manifest."""

    kind = "milvus"

    def __init__(self, uri: str, token: str = "", name: str = "qabot", params: IndexParams = IndexParams()):
        from pymilvus import MilvusClient  # noqa: PLC0415 - only with this store

        self.uri, self.name, self.params = uri, name, params
        if not uri.startswith(("http://", "https://")):
            # Milvus Lite serves gRPC inside this process and logs a traceback for each call it
            # does not implement (creating a collection asks for a timestamp); they are harmless.
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        try:
            self.client = MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
        except Exception as e:  # noqa: BLE001 - connection errors of every kind
            raise StoreProblem(f"cannot reach Milvus at {self.describe()} ({e})") from e

    def describe(self) -> str:
        return f"milvus {self.uri.split('@')[-1]}"  # credentials in a URI never shown

    def _collection(self, generation: str) -> str:
        return f"{self.name}_{generation}"

    def _index(self, size: int) -> tuple[str, dict, dict]:
        """Milvus' index type for ``size`` vectors, chosen as for FAISS: (type, build, search) params."""
        _, kind = self.params.choose(size)
        if kind == "flat":
            return "FLAT", {}, {}
        if kind == "hnsw":
            return "HNSW", {"M": self.params.hnsw_m, "efConstruction": self.params.hnsw_ef_construction}, \
                {"ef": self.params.hnsw_ef_search}
        return "IVF_SQ8", {"nlist": self.params.nlist(size)}, {"nprobe": self.params.ivf_nprobe}

    def create(self, generation: str, dim: int, size: int) -> MilvusVectors:
        from pymilvus import DataType  # noqa: PLC0415

        name = self._collection(generation)
        index_type, build, search = self._index(size)
        schema = self.client.create_schema(auto_id=False)
        schema.add_field("id", DataType.INT64, is_primary=True)
        schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
        index_params = self.client.prepare_index_params()
        index_params.add_index("vec", index_type=index_type, metric_type="IP", params=build)
        try:
            if self.client.has_collection(name):
                self.client.drop_collection(name)
            # Session: a client's reads see its own writes (a server's default, Bounded, did not show
            # a delete made a moment before). Not Strong: on a server every Strong read waits for
            # the next time tick (~400 ms a search, measured); a replica's loading counts its rows
            # Strong once, and the query node serves nothing older after that.
            self.client.create_collection(name, schema=schema, index_params=index_params, consistency_level="Session")
        except Exception as e:  # noqa: BLE001
            raise StoreProblem(f"Milvus could not create collection {name} ({e})") from e
        return MilvusVectors(self.client, name, dim, index_type.lower(),
                             {"metric_type": "IP", "params": search})

    def save(self, vectors: MilvusVectors, staging: Path) -> None:
        vectors._call("flush and load", self._flush_and_load, vectors.collection)

    def _flush_and_load(self, name: str) -> None:
        if not self.uri.startswith(("http://", "https://")):
            self.client.flush(name)  # Milvus Lite: writes the file; a server keeps every write in its log
        self.client.load_collection(name)

    def open(self, generation: str, directory: Path, info: dict) -> MilvusVectors:
        name = info.get("collection") or self._collection(generation)
        try:
            if not self.client.has_collection(name):
                raise StoreProblem(f"Milvus at {self.describe()} has no collection {name} (dropped by a newer "
                                   "build, or another store); rebuild the index")
            self.client.load_collection(name)
        except StoreProblem:
            raise
        except Exception as e:  # noqa: BLE001
            raise StoreProblem(f"cannot open collection {name} in Milvus at {self.describe()} ({e})") from e
        size = int(info.get("count") or 0)
        index_type, _, search = self._index(size)
        return MilvusVectors(self.client, name, int(info.get("dim") or 0), index_type.lower(),
                             {"metric_type": "IP", "params": search})

    def publish(self, generation: str) -> None:
        name = self._collection(generation)
        try:
            if self.name in self.client.list_aliases().get("aliases", []):
                self.client.alter_alias(name, self.name)
            else:
                self.client.create_alias(name, self.name)
            for other in self.client.list_collections():  # the replaced generations
                if other.startswith(f"{self.name}_") and other != name:
                    self.client.drop_collection(other)
        except Exception as e:  # noqa: BLE001
            raise StoreProblem(f"Milvus could not publish collection {name} ({e})") from e

    def discard(self, generation: str) -> None:
        try:
            self.client.drop_collection(self._collection(generation))
        except Exception as e:  # noqa: BLE001 - the failure being handled matters more
            log.warning("Could not drop the unfinished collection %s: %s", self._collection(generation), e)

    def current(self) -> str | None:
        """The published generation (the one the alias points at), None before the first."""
        try:
            if self.name not in self.client.list_aliases().get("aliases", []):
                return None
            name = self.client.describe_alias(self.name).get("collection_name")
        except Exception as e:  # noqa: BLE001
            raise StoreProblem(f"cannot read the alias {self.name} in Milvus at {self.describe()} ({e})") from e
        return name.removeprefix(f"{self.name}_") if name else None


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
        return MilvusStore(str(path), token, params=params)
    if spec.startswith("milvus://"):
        return MilvusStore("http://" + spec.removeprefix("milvus://"), token, params=params)
    if spec.startswith(("http://", "https://")):
        return MilvusStore(spec, token, params=params)
    raise StoreProblem(f"unknown vector store {spec!r}: use faiss, milvus:///path/file.db or milvus://host:port")
