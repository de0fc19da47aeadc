"""Building an index directory: embed (through the cache), store the vectors as a new
generation, write passages, lexical indexes and manifest to a temporary directory, swap it in
atomically, then publish the generation. On any error the old index stays."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from corpus.model import Changes, Corpus, Passage
from embeddings.encoders.encoder import Encoder
from embeddings.index.cache import BuildCache
from embeddings.index.manifest import (
    FORMAT_VERSION,
    LEXICAL_DIR,
    MANIFEST_FILE,
    OFFSETS_FILE,
    PASSAGES_FILE,
    PINYIN_DIR,
    IndexProblem,
    Manifest,
    check_files,
    index_files,
    library_versions,
    sha256_file,
)
from embeddings.lexical import BM25
from embeddings.store import FaissStore, IndexParams, VectorStore

log = logging.getLogger(__name__)


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
        manifest = dataclasses.replace(manifest, checksums={name: sha256_file(tmp / name)
                                                            for name in index_files(tmp)})
        (tmp / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
        check_files(tmp, manifest)  # what was written reads back whole before it replaces anything
        store.keep_files(generation, tmp)  # replicas elsewhere fetch them once it is published
        swap_in(tmp, index_dir)
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


def swap_in(new: Path, target: Path) -> None:
    """Replace ``target`` by ``new``: two renames, and ``load_index`` falls back to the
    ``.old`` copy if a crash lands between them."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    shutil.rmtree(old, ignore_errors=True)
