"""The index directory: FAISS file, passages in row order and a manifest, built atomically,
with an embedding cache so rebuilds only embed what changed."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import mmap
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.errors import QabotError
from corpus.model import Changes, Corpus, Document, Passage
from embeddings.encoders.encoder import Encoder
from embeddings.lexical import BM25, passage_terms
from embeddings.store import INDEX_FILE, FaissStore, IndexParams, StoreProblem, VectorStore, Vectors

__all__ = ["INDEX_FILE", "IndexParams"]  # re-exported: where callers knew them from

log = logging.getLogger(__name__)

FORMAT_VERSION = 7
PASSAGES_FILE = "passages.jsonl"
OFFSETS_FILE = "passages.offsets.npy"  # where each passage's line starts: passages are read on demand
LEXICAL_DIR = "bm25"  # bm25s over jieba words
PINYIN_DIR = "bm25-pinyin"  # bm25s over the pinyin of names
MANIFEST_FILE = "manifest.json"
# Below this many texts to segment, worker processes cost more to start than they save.
PARALLEL_SEGMENTATION_MIN = 4000


class IndexProblem(QabotError, RuntimeError):
    """The index directory is missing, broken or made for another model."""


@dataclass(frozen=True)
class Manifest:
    """What an index directory is: read from and written to ``manifest.json``."""

    format_version: int
    model: str
    dimension: int
    passages: int
    documents: int
    document_list: tuple[dict, ...]  # Document.info() of each
    passages_per_document: dict[str, int]
    reader: dict  # reader version and passage size: when passages can be reused
    corpus_fingerprint: str
    index_type: str
    vectors: dict  # the store's record of this generation's vectors
    built_at: str
    build_id: str  # the generation: tells two builds of one second apart
    cleaning: dict
    skipped_files: tuple[str, ...]
    versions: dict  # the libraries that wrote it
    checksums: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, raw: dict) -> Manifest:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = fields - set(raw) - {"checksums"}
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        raw = {k: v for k, v in raw.items() if k in fields}
        return cls(**raw | {"document_list": tuple(raw["document_list"]),
                            "skipped_files": tuple(raw["skipped_files"])})


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    out = {}
    for package in ("qabot", "faiss-cpu", "bm25s", "numpy", "jieba", "pymilvus"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


@dataclass(frozen=True)
class BuildReport:
    documents: int
    passages: int
    embedded: int  # passages encoded now; the rest came from the cache
    seconds: float
    pinyin_removed: int
    mojibake_repaired: int
    mojibake_marked: int
    problems: tuple[str, ...]
    index_type: str
    changes: Changes = Changes()
    # seconds per step: embed, segment (jieba words and name pinyin), lexical, vectors, write
    stages: dict[str, float] = dataclasses.field(default_factory=dict)


def embed_input(p: Passage) -> str:
    """What the model reads for a passage: its section title, then its simplified text."""
    return f"{p.section}：{p.match_text}" if p.section else p.match_text


class BuildCache:
    """What a build derives from a passage's content, by content hash, in SQLite and shared
    by every build: vectors (per model) and lexical terms (per tokenizer version), so a
    rebuild only embeds and segments what changed."""

    TERMS_VERSION = "jieba+name-pinyin-wade-giles-4"

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError as e:
            # Derived data only: a damaged cache is set aside and rebuilt, never a reason to stop.
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            log.warning("The build cache %s is damaged (%s); moved it to %s and starting a new one", path, e, aside)
            os.replace(path, aside)
            self._db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, hash TEXT, v BLOB, PRIMARY KEY (model, hash))")
            db.execute("CREATE TABLE IF NOT EXISTS terms (version TEXT, hash TEXT, t TEXT, PRIMARY KEY (version, hash))")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _get(self, table: str, column: str, namespace: str, keys: Sequence[str]) -> dict:
        out = {}
        name_col = "model" if table == "vec" else "version"
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                q = (f"SELECT hash, {column} FROM {table} WHERE {name_col}=? "
                     f"AND hash IN ({','.join('?' * len(chunk))})")
                out.update(self._db.execute(q, [namespace, *chunk]))
        return out

    def _put(self, table: str, rows: list[tuple]) -> None:
        with self._lock, self._db:
            self._db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", rows)

    def get(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of ``model`` for the given content keys that are cached."""
        return {h: np.frombuffer(b, dtype=np.float32) for h, b in self._get("vec", "v", model, keys).items()}

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        rows = list(items.items())
        for start in range(0, len(rows), 20_000):  # in slices: a million vectors' bytes at once are gigabytes
            self._put("vec", [(model, h, v.astype(np.float32).tobytes()) for h, v in rows[start : start + 20_000]])

    def terms(self, texts: Sequence[str]) -> list[dict[str, list[str]]]:
        """Lexical terms of each text (jieba words and pinyin runs), cached."""
        keys = [self.key(t) for t in texts]
        known = {h: json.loads(v) for h, v in self._get("terms", "t", self.TERMS_VERSION, keys).items()}
        todo = {k: text for k, text in zip(keys, texts) if k not in known}
        fresh = dict(zip(todo, lexical_terms(list(todo.values()))))
        items = list(fresh.items())
        for start in range(0, len(items), 20_000):  # in slices: the JSON of a million rows is gigabytes
            self._put("terms", [(self.TERMS_VERSION, k, json.dumps(v, ensure_ascii=False))
                                for k, v in items[start : start + 20_000]])
        known.update(fresh)
        return [known[k] for k in keys]


def _terms_of(text: str) -> dict[str, list[str]]:
    tokens, pinyin = passage_terms(text)
    return {"tokens": tokens, "pinyin": pinyin}


def lexical_terms(texts: Sequence[str], workers: int | None = None,
                  min_parallel: int = PARALLEL_SEGMENTATION_MIN) -> list[dict[str, list[str]]]:
    """jieba words and name pinyin of each text; many texts are segmented in worker
    processes (jieba is pure Python and holds the GIL), one per core."""
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if workers < 2 or len(texts) < min_parallel:
        return [_terms_of(t) for t in texts]
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    # spawn, not fork: the parent holds encoder and FAISS threads that a fork would copy mid-flight
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # Each chunk comes back with its own copy of every word: one shared copy instead, made as
        # the chunks arrive (a million passages hold ~10^8 words; a string object costs 60+ bytes).
        return [{k: [sys.intern(t) for t in v] for k, v in row.items()}
                for row in pool.map(_terms_of, texts, chunksize=max(64, min(2000, len(texts) // (workers * 16))))]


class PassageTable(Sequence[Passage]):
    """The index's passages in row order, read from ``passages.jsonl`` when asked for: a
    search needs a handful of them, and a million kept as objects would take gigabytes."""

    _FIELDS = frozenset(f.name for f in dataclasses.fields(Passage))

    def __init__(self, path: Path, offsets: np.ndarray):
        self._offsets = offsets
        with open(path, "rb") as f:
            self._data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if offsets[-1] else b""

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        row = json.loads(self._data[int(self._offsets[i]) : int(self._offsets[i + 1])])
        return Passage(**{k: v for k, v in row.items() if k in self._FIELDS})


@dataclass
class LoadedIndex:
    """An index directory, ready to search: its vectors in the store (FAISS: in memory), the
    rest memory-mapped."""

    directory: Path
    manifest: Manifest
    passages: Sequence[Passage]
    vectors: Vectors
    bm25: BM25  # jieba words of the simplified text
    pinyin_bm25: BM25  # pinyin of names (2-3 syllable runs), for Latin-script queries

    @property
    def size(self) -> int:
        return len(self.passages)


def build_index(corpus: Corpus, encoder: Encoder, index_dir: Path, cache: BuildCache,
                params: IndexParams = IndexParams(), progress: Callable[[int, int], None] | None = None,
                reader: dict | None = None, store: VectorStore | None = None) -> BuildReport:
    """Embed ``corpus`` (using the cache), write a new generation (vectors to the store, the
    rest to a temporary directory), swap the directory in for ``index_dir``, then publish
    the generation in the store. On any error the old index stays."""
    store = store or FaissStore(params)
    generation = uuid.uuid4().hex
    start = time.perf_counter()
    stages: dict[str, float] = {}
    clock = [start]

    def lap(name: str) -> None:
        now = time.perf_counter()
        stages[name] = stages.get(name, 0.0) + now - clock[0]
        clock[0] = now

    passages = list(corpus.passages)
    if not passages:
        raise IndexProblem("the corpus has no passages to index")
    inputs = [embed_input(p) for p in passages]
    keys = [cache.key(t) for t in inputs]
    cached = cache.get(encoder.name, keys)
    todo = [i for i, k in enumerate(keys) if k not in cached]
    done = len(passages) - len(todo)
    if progress:
        progress(done, len(passages))
    if todo:
        def step(n: int) -> None:
            nonlocal done
            done += n
            if progress:
                progress(done, len(passages))

        fresh = encoder.encode_documents([inputs[i] for i in todo], progress=step)
        new = {keys[i]: fresh[j] for j, i in enumerate(todo)}
        cache.put(encoder.name, new)
        cached.update(new)
        del fresh, new
    del inputs
    vectors = np.empty((len(keys), len(next(iter(cached.values())))), dtype=np.float32)
    first: dict[str, int] = {}
    for row, k in enumerate(keys):  # row by row: a million cached arrays and their stack would be two copies
        if k in first:  # the same text twice: its vector twice
            vectors[row] = vectors[first[k]]
        else:
            vectors[row] = cached.pop(k)
            first[k] = row
    del cached, first
    lap("embed")
    try:
        stored = store.create(generation, int(vectors.shape[1]), len(vectors))
        stored.add(vectors)
    except BaseException:
        store.discard(generation)
        raise
    lap("vectors")

    index_dir = Path(index_dir)
    index_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in index_dir.parent.glob(f".{index_dir.name}.building.*"):  # left by a killed build
        log.info("Removing %s, left by an interrupted build", stale)
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{index_dir.name}.building.", dir=index_dir.parent))
    try:
        store.save(stored, tmp)
        offsets = [0]
        with open(tmp / PASSAGES_FILE, "wb") as f:
            for p in passages:
                offsets.append(offsets[-1] + f.write(json.dumps(dataclasses.asdict(p), ensure_ascii=False)
                                                     .encode("utf-8") + b"\n"))
        np.save(tmp / OFFSETS_FILE, np.asarray(offsets, dtype=np.int64))
        lap("write")
        terms = cache.terms([p.match_text for p in passages])
        lap("segment")
        BM25([t["tokens"] for t in terms]).save(tmp / LEXICAL_DIR)
        # no length normalisation for names: a passage listing ten people names each as much
        BM25([t["pinyin"] for t in terms], b=0.0).save(tmp / PINYIN_DIR)
        del terms
        lap("lexical")
        info = stored.info()
        manifest = Manifest(
            format_version=FORMAT_VERSION, model=encoder.name, dimension=int(vectors.shape[1]),
            passages=len(passages), documents=len(corpus.documents),
            document_list=tuple(d.info() for d in corpus.documents),
            passages_per_document=dict(Counter(p.doc_id for p in passages)),
            reader=reader or {}, corpus_fingerprint=corpus.fingerprint, index_type=info["index_type"],
            vectors=info | {"count": len(passages), "dim": int(vectors.shape[1])},
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), build_id=generation,
            cleaning={"pinyin_removed": corpus.pinyin_removed, "mojibake_repaired": corpus.mojibake_repaired,
                      "mojibake_marked": corpus.mojibake_marked},
            skipped_files=tuple(f"{p.path}: {p.reason}" for p in corpus.problems),
            versions=library_versions(),
        )
        manifest = dataclasses.replace(manifest, checksums={name: _sha256_file(tmp / name)
                                                            for name in _index_files(tmp)})
        (tmp / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        _check_files(tmp, manifest)  # what was written reads back whole before it replaces anything
        _swap_in(tmp, index_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        store.discard(generation)
        raise
    store.publish(generation)  # after the swap: whoever follows the store finds the files in place
    lap("write")
    kind = info["index_type"]
    return BuildReport(len(corpus.documents), len(passages), len(todo), time.perf_counter() - start,
                       corpus.pinyin_removed, corpus.mojibake_repaired, corpus.mojibake_marked,
                       tuple(f"{p.path}: {p.reason}" for p in corpus.problems), kind, corpus.changes, stages)


def _index_files(directory: Path) -> list[str]:
    """Every file the index is made of, relative to its directory (the manifest aside)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")
                  if p.is_file() and p.name != MANIFEST_FILE)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _check_files(index_dir: Path, manifest: Manifest) -> None:
    """The index files match the checksums the manifest recorded when they were written:
    a flipped byte in the vectors or two swapped passage lines are found at load time, not
    answered from."""
    for name, expected in manifest.checksums.items():
        if not (index_dir / name).exists() or _sha256_file(index_dir / name) != expected:
            raise IndexProblem(f"{name} in {index_dir} does not match its checksum (damaged or edited); "
                               "rebuild the index")


def _swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``: two renames, and ``load_index`` falls back to the
    ``.old`` copy if a crash lands between them."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)


def read_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """The manifest of an index directory (or of its ``.old`` twin after a crash mid-swap),
    checked for the format version. Returns (the directory it came from, the manifest)."""
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST_FILE).exists():
        old = index_dir.with_name(index_dir.name + ".old")
        if (old / MANIFEST_FILE).exists():
            index_dir = old
        else:
            raise IndexProblem(f"no index at {index_dir}: build it with 'qabot index build'")
    try:
        raw = json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        version = raw.get("format_version")
    except (OSError, ValueError, AttributeError) as e:
        raise IndexProblem(f"the index manifest in {index_dir} is unreadable ({e}); rebuild the index") from e
    if version != FORMAT_VERSION:
        raise IndexProblem(f"the index in {index_dir} has format {version}, "
                           f"this version reads {FORMAT_VERSION}; rebuild the index")
    try:
        return index_dir, Manifest.from_dict(raw)
    except (ValueError, TypeError) as e:
        raise IndexProblem(f"the index manifest in {index_dir} is unreadable ({e}); rebuild the index") from e


def indexed_documents(manifest: Manifest) -> dict[str, tuple[Document, int]]:
    """The documents a manifest lists, by id, with their number of passages."""
    counts = manifest.passages_per_document
    return {info["doc_id"]: (Document(**info), counts.get(info["doc_id"], 0)) for info in manifest.document_list}


def load_index(index_dir: Path, model: str | None = None, params: IndexParams = IndexParams(),
               store: VectorStore | None = None) -> LoadedIndex:
    """Load and validate an index directory and open its generation's vectors in ``store``
    (default: FAISS). Raises IndexProblem with one clear sentence when it is missing, broken,
    of another format, or made with another model."""
    index_dir, manifest = read_manifest(index_dir)
    if model is not None and manifest.model != model:
        raise IndexProblem(f"the index in {index_dir} was built with model {manifest.model!r}, "
                           f"not the configured {model!r}; rebuild the index")
    store = store or FaissStore(params)
    if manifest.vectors.get("store", "faiss") != store.kind:
        raise IndexProblem(f"the index in {index_dir} keeps its vectors in {manifest.vectors.get('store')}, "
                           f"not the configured {store.kind}; rebuild the index")
    _check_files(index_dir, manifest)
    try:
        vectors = store.open(manifest.build_id, index_dir, manifest.vectors)
        count = vectors.count()
        dim = vectors.get([0]).shape[1] if count else manifest.dimension
    except StoreProblem as e:
        raise IndexProblem(str(e)) from e
    try:
        offsets = np.load(index_dir / OFFSETS_FILE)
        passages = PassageTable(index_dir / PASSAGES_FILE, offsets)
        passages[0] if len(passages) else None  # noqa: B018 - the first row parses
        bm25, pinyin = BM25.load(index_dir / LEXICAL_DIR), BM25.load(index_dir / PINYIN_DIR)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise IndexProblem(f"the passages or lexical files in {index_dir} are unreadable ({e}); "
                           "rebuild the index") from e
    if not (count == len(passages) == bm25.n == pinyin.n == manifest.passages):
        raise IndexProblem(f"the index in {index_dir} is inconsistent: {count} vectors, "
                           f"{len(passages)} passages, manifest says {manifest.passages}; rebuild the index")
    if dim != manifest.dimension:
        raise IndexProblem(f"the index in {index_dir} has dimension {dim}, manifest says "
                           f"{manifest.dimension}; rebuild the index")
    return LoadedIndex(index_dir, manifest, passages, vectors, bm25, pinyin)
