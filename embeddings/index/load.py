"""An index directory loaded for search: its vectors opened in the store, its passages and
lexical indexes memory-mapped, everything checked against the manifest."""

from __future__ import annotations

import dataclasses
import json
import mmap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.model import Passage
from embeddings.index.manifest import (
    LEXICAL_DIR,
    OFFSETS_FILE,
    PASSAGES_FILE,
    PINYIN_DIR,
    IndexProblem,
    Manifest,
    check_files,
    read_manifest,
)
from embeddings.lexical import BM25
from embeddings.store import FaissStore, IndexParams, StoreProblem, Vectors, VectorStore


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
    check_files(index_dir, manifest)
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
