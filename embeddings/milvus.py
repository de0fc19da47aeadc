"""Milvus as the vector store (``QABOT_VECTOR_STORE=milvus://…``), through ``pymilvus``'
``MilvusClient``: an embedded Milvus Lite file, or a Milvus server or cluster.

Each index generation is a collection ``<name>_<generation>``; the alias ``<name>`` points at
the published one. With a server, replicas on different machines share nothing else, so the
server also keeps:

- each generation's index files (passages, lexical indexes, manifest) in a collection
  ``<name>_<generation>_files``, written before the alias moves: a replica that sees a new
  generation fetches them into its own index directory (``MilvusFiles``);
- the claim to rebuild: the alias ``<name>_rebuilding`` on a small collection of the claiming
  replica's own, which Milvus refuses to point elsewhere while it exists — an atomic
  test-and-set — kept fresh by a heartbeat, and taken over once stale (a replica killed
  mid-build) (``RebuildClaim``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.store import IndexParams, StoreBusy, StoreProblem

log = logging.getLogger(__name__)

# A file is kept in rows of this many bytes, base64-encoded into one VARCHAR (at most 65,535).
CHUNK_BYTES = 48_000
ROWS_PER_CALL = 128  # ~8 MB a call, well under gRPC's message limits
# A claim whose heartbeat is older than this is abandoned (its replica died mid-build).
CLAIM_STALE_S = 60.0
HEARTBEAT_S = 10.0


def _server(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def _call(what: str, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; a failure of any kind (pymilvus raises MilvusException and gRPC
    errors alike) becomes a StoreProblem saying what could not be done."""
    try:
        return fn(*args, **kwargs)
    except Exception as e:  # noqa: BLE001
        raise StoreProblem(f"Milvus could not {what} ({e})") from e


class MilvusVectors:
    def __init__(self, client, collection: str, dim: int, kind: str, search_params: dict):
        self.client, self.collection, self.dim = client, collection, dim
        self.kind, self.search_params = kind, search_params
        self._next = 0

    def _call(self, what: str, fn, *args, **kwargs):
        return _call(f"{what} in collection {self.collection}", fn, *args, **kwargs)

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
        if len(by_id) < len(set(ids)):  # seen while a restarted server was loading the collection again
            raise StoreProblem(f"Milvus returned {len(by_id)} of {len(set(ids))} vectors from collection "
                               f"{self.collection} (still loading?)")
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
        self.keeps_files = _server(uri)  # Milvus Lite is one process's file: its replicas share a volume anyway
        if not self.keeps_files:
            # Milvus Lite serves gRPC inside this process and logs a traceback for each call it
            # does not implement (creating a collection asks for a timestamp); they are harmless.
            logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
        # Milvus Lite's in-process gRPC server accepts a keepalive ping only every 5 minutes, while
        # pymilvus pings every 10 s even when idle: it answered an idle client with GOAWAY
        # (too_many_pings) and the next call failed. A loopback connection needs no keepalive.
        options = {} if self.keeps_files else {"grpc_options": {"grpc.keepalive_time_ms": 300_000,
                                                                "grpc.keepalive_permit_without_calls": False}}
        try:
            self.client = MilvusClient(uri=uri, token=token, **options) if token else \
                MilvusClient(uri=uri, **options)
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
        if not self.keeps_files:
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
            for other in self.client.list_collections():  # the replaced generations, and their files
                if other.startswith(f"{self.name}_") and other not in (name, MilvusFiles.collection(name)):
                    self.client.drop_collection(other)
        except Exception as e:  # noqa: BLE001
            raise StoreProblem(f"Milvus could not publish collection {name} ({e})") from e

    def discard(self, generation: str) -> None:
        try:
            self.client.drop_collection(self._collection(generation))
            self.client.drop_collection(MilvusFiles.collection(self._collection(generation)))
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

    def keep_files(self, generation: str, directory: Path) -> None:
        if self.keeps_files:
            MilvusFiles(self.client, self._collection(generation)).put(directory)

    def fetch_files(self, generation: str, directory: Path) -> None:
        MilvusFiles(self.client, self._collection(generation)).get(directory)

    def rebuild_claim(self) -> RebuildClaim | None:
        return RebuildClaim(self.client, self.name) if self.keeps_files else None


def _tiny_collection(client, name: str, fields: Sequence[tuple[str, object, dict]]) -> None:
    """A collection of scalar rows. Milvus wants a vector field (two dimensions, unused) and an
    index on it; it is not loaded (loading waits ~1.5 s on a server): who reads it loads it."""
    from pymilvus import DataType  # noqa: PLC0415

    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=2)
    for field, kind, params in fields:
        schema.add_field(field, kind, **params)
    index_params = client.prepare_index_params()
    index_params.add_index("vec", index_type="FLAT", metric_type="L2")
    client.create_collection(name, schema=schema, consistency_level="Strong")
    client.create_index(name, index_params)


class MilvusFiles:
    """A generation's index files in the collection ``<generation collection>_files``: row 0 lists
    them (name, size, sha256, first row, rows); each file follows in base64 rows of
    ``CHUNK_BYTES``. Checked by size and checksum when fetched."""

    def __init__(self, client, generation_collection: str):
        self.client, self.name = client, self.collection(generation_collection)

    @staticmethod
    def collection(generation_collection: str) -> str:
        return f"{generation_collection}_files"

    def _call(self, what: str, fn, *args, **kwargs):
        return _call(f"{what} of {self.name}", fn, *args, **kwargs)

    def put(self, directory: Path) -> None:
        from pymilvus import DataType  # noqa: PLC0415

        self._call("create the files collection", _tiny_collection, self.client, self.name,
                   [("data", DataType.VARCHAR, {"max_length": 65535})])
        listing, rows, next_id = [], [], 1
        for path in sorted(p for p in directory.rglob("*") if p.is_file()):
            data = path.read_bytes()
            parts = [data[i:i + CHUNK_BYTES] for i in range(0, len(data), CHUNK_BYTES)] or [b""]
            listing.append({"name": path.relative_to(directory).as_posix(), "size": len(data),
                            "sha256": hashlib.sha256(data).hexdigest(), "first": next_id, "rows": len(parts)})
            for part in parts:
                rows.append({"id": next_id, "vec": [0.0, 0.0], "data": base64.b64encode(part).decode("ascii")})
                next_id += 1
                if len(rows) == ROWS_PER_CALL:
                    self._call("store the index files", self.client.insert, self.name, rows)
                    rows = []
        rows.append({"id": 0, "vec": [0.0, 0.0], "data": json.dumps(listing)})
        self._call("store the index files", self.client.insert, self.name, rows)

    def _rows(self, ids: list[int]) -> dict[int, str]:
        found = self._call("read the index files", self.client.query, self.name, filter=f"id in {ids}",
                           output_fields=["data"], consistency_level="Strong")
        return {r["id"]: r["data"] for r in found}

    def get(self, directory: Path) -> None:
        """The files into ``directory`` (created), or StoreProblem."""
        if not self._call("find the index files", self.client.has_collection, self.name):
            raise StoreProblem(f"Milvus has no files for {self.name.removesuffix('_files')} (replaced by a newer build)")
        self._call("load the index files", self.client.load_collection, self.name)
        listing = self._rows([0]).get(0)
        if listing is None:
            raise StoreProblem(f"the files of {self.name} are incomplete (a build still writing them?)")
        for f in json.loads(listing):
            data = bytearray()
            ids = list(range(f["first"], f["first"] + f["rows"]))
            for start in range(0, len(ids), ROWS_PER_CALL):
                batch = ids[start:start + ROWS_PER_CALL]
                got = self._rows(batch)
                if len(got) != len(batch):
                    raise StoreProblem(f"the file {f['name']} in {self.name} is missing rows")
                data += b"".join(base64.b64decode(got[i]) for i in batch)
            if len(data) != f["size"] or hashlib.sha256(data).hexdigest() != f["sha256"]:
                raise StoreProblem(f"the file {f['name']} in {self.name} does not match its checksum")
            target = directory / f["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bytes(data))


class RebuildClaim:
    """One rebuild at a time among the replicas of one Milvus server. Entering creates this
    replica's claim collection (its heartbeat, a timestamp, in row 0) and points the alias
    ``<name>_rebuilding`` at it: Milvus refuses to move an existing alias to another
    collection, so only one replica succeeds (the others get StoreBusy). A claim whose heartbeat
    is older than ``CLAIM_STALE_S`` (its replica was killed) is taken over. Leaving drops both."""

    def __init__(self, client, name: str):
        self.client, self.alias = client, f"{name}_rebuilding"
        self.collection = f"claim_{name}_{uuid.uuid4().hex[:12]}"  # not "<name>_…": publish drops those
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def _heartbeat(self) -> None:
        self.client.upsert(self.collection, [{"id": 0, "vec": [0.0, 0.0], "t": time.time()}])

    def holder(self) -> str | None:
        """The claim collection the alias points at, None when no replica claims a rebuild."""
        if self.alias not in _call("list aliases", self.client.list_aliases).get("aliases", []):
            return None
        return _call("read the rebuild claim", self.client.describe_alias, self.alias).get("collection_name")

    def stale(self, holder: str) -> bool:
        try:
            self.client.load_collection(holder)
            rows = self.client.query(holder, filter="id == 0", output_fields=["t"], consistency_level="Strong")
        except Exception:  # noqa: BLE001 - its collection is gone: nobody holds it
            return True
        return not rows or time.time() - float(rows[0]["t"]) > CLAIM_STALE_S

    def wait(self, every_s: float) -> None:
        """Until no replica holds a live claim (its build is over, or it died)."""
        while (holder := self.holder()) and not self.stale(holder):
            time.sleep(every_s)

    def __enter__(self) -> RebuildClaim:
        from pymilvus import DataType  # noqa: PLC0415

        _call("create a rebuild claim", _tiny_collection, self.client, self.collection,
                   [("t", DataType.DOUBLE, {})])
        try:
            _call("write the rebuild claim", self._heartbeat)
            for attempt in range(2):
                try:
                    self.client.create_alias(self.collection, self.alias)
                    break
                except Exception:  # noqa: BLE001 - the alias exists: someone holds it, or held it
                    holder = self.holder()
                    if attempt == 0 and holder and self.stale(holder):
                        log.warning("Taking over the rebuild claim of %s: no heartbeat for %.0f s", holder,
                                    CLAIM_STALE_S)
                        _call("drop a stale claim", self.client.drop_alias, self.alias)
                        self.client.drop_collection(holder)
                        continue
                    raise StoreBusy("a rebuild is already running in another replica") from None
        except BaseException:
            self.client.drop_collection(self.collection)
            raise
        self._beat = threading.Thread(target=self._beating, name="qabot-rebuild-claim", daemon=True)
        self._beat.start()
        return self

    def _beating(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                self._heartbeat()
            except Exception as e:  # noqa: BLE001 - the next beat tries again; the build goes on
                log.warning("Could not renew the rebuild claim: %s", e)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._beat:
            self._beat.join()
        try:
            if self.holder() == self.collection:
                self.client.drop_alias(self.alias)
            self.client.drop_collection(self.collection)
        except Exception as e:  # noqa: BLE001 - a claim left behind goes stale and is taken over
            log.warning("Could not release the rebuild claim: %s", e)

