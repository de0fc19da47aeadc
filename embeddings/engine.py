"""The engine the front ends talk to: it owns the encoder and the current index, answers
searches, and rebuilds the index while the old one keeps serving."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from cachetools import LRUCache

from corpus.clean import match_form, script_of
from corpus.model import Document
from corpus.reader import READER_VERSION, Known, fingerprint, group_passages, load_corpus
from embeddings.answering import Answer, AnswerKind, AnswerType, Composer, ComposerParams, ExtractiveComposer, analyse
from embeddings.answering.followup import Conversation, Reading, Turn, resolve
from embeddings.encoders.batching import BatchedEncoder
from embeddings.encoders.encoder import Encoder
from embeddings.generations import Published, RebuildInProgress, no_other_rebuild, wait_for_other_rebuild
from embeddings.index.build import BuildReport, build_index
from embeddings.index.cache import BuildCache
from embeddings.index.load import LoadedIndex, load_index
from embeddings.index.manifest import IndexProblem, indexed_documents
from embeddings.search import FusionParams, Hit, search
from embeddings.store import FaissStore, IndexParams, StoreProblem, VectorStore

log = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 1024


@dataclass(frozen=True)
class EngineInfo:
    """What the front ends show about the index being served."""

    documents: int
    passages: int
    model: str
    index_type: str
    store: str
    built_at: str
    generation: str  # changes with every build: pages and buttons of another generation are stale
    skipped_files: tuple[str, ...]


# How often an engine looks whether another process published a new index generation.
REFRESH_EVERY_S = 1.0


@dataclass(frozen=True)
class EngineConfig:
    """Everything the engine needs to know; the front ends fill it from their settings."""

    corpus_dir: Path
    index_dir: Path
    data_dir: Path
    max_passage_chars: int = 240
    index: IndexParams = field(default_factory=IndexParams)
    fusion: FusionParams = field(default_factory=FusionParams)
    answer: ComposerParams = field(default_factory=ComposerParams)
    # Statement questions gather their points from this many passages.
    statement_hits: int = 12
    # Questions (and sentences) that wait while the encoder is busy are encoded together, up to query_batch; it
    # waits query_window_s for more before each batch (0: a lone question waits for nothing).
    query_batch: int = 16
    query_window_s: float = 0.0


class Engine:
    """Search and answers over one index directory. Thread-safe: searches read the current
    index reference; a rebuild makes a new one and swaps the reference when it is complete."""

    def __init__(self, config: EngineConfig, encoder: Encoder, composer: Composer | None = None,
                 store: VectorStore | None = None):
        self.config = config
        self.encoder = encoder
        self.store = store or FaissStore(config.index)
        self._index: LoadedIndex | None = None
        self._build_lock = threading.Lock()
        self._load_lock = threading.RLock()
        self._checked = 0.0
        self._published = Published(Path(config.index_dir), self.store)
        self._cache: BuildCache | None = None
        self._vectors: LRUCache[str, np.ndarray] = LRUCache(QUERY_CACHE_SIZE)
        self._vectors_lock = threading.Lock()
        # questions and the answer step's sentences: one encoder thread, batched (builds use
        # ``encoder`` directly, with their own large batches)
        self.batched = BatchedEncoder(encoder, config.query_batch, config.query_window_s)
        self.composer = composer or ExtractiveComposer(self.batched, config.answer)

    @property
    def index(self) -> LoadedIndex:
        if self._index is None:
            raise IndexProblem(f"no index loaded from {self.config.index_dir}")
        return self._index

    @property
    def rebuilding(self) -> bool:
        return self._build_lock.locked()

    def _build_cache(self) -> BuildCache:
        if self._cache is None:
            self._cache = BuildCache(Path(self.config.data_dir) / "cache" / "build-cache.sqlite")
        return self._cache

    def load(self) -> LoadedIndex:
        """Load the index directory (validated against the configured model); with a store that
        keeps the index files, first fetch the published generation when the directory lacks it."""
        with self._load_lock:
            if self.store.keeps_files:
                self._published.fetch()
            self._published.loaded()
            self._index = load_index(self.config.index_dir, self.encoder.name, self.config.index, self.store)
        return self._index

    def refresh(self, force: bool = False) -> bool:
        """Load the index again if another process (a replica sharing the index directory, or
        the Milvus server) published a new generation. Cheap: one look a second. Returns True
        if it did."""
        now = time.monotonic()
        if self._index is None or (not force and now - self._checked < REFRESH_EVERY_S):
            return False
        self._checked = now
        build_id = self._published.newer_than(self._index.manifest.build_id, force)
        if build_id is None:
            return False
        with self._load_lock:  # one thread loads it; the others find it loaded
            if self._index.manifest.build_id == build_id:
                return True
            log.info("A new index generation %s was published; loading it", build_id[:8])
            try:
                self.load()
            except (IndexProblem, StoreProblem) as e:
                log.warning("Could not load the new index generation (%s); still serving the old one", e)
                return False
        return True

    def warm_up(self) -> threading.Thread:
        """Load what the first answers would otherwise wait for — the answer step's models and
        the English dictionary (a second or two each) — in a background thread."""
        def load() -> None:
            from embeddings import dictionary  # noqa: PLC0415

            for part in (lambda: getattr(self.composer, "selector", None), dictionary.load):
                try:
                    part()
                except Exception as e:  # answering meets it again and says so; a warm-up only saves time
                    log.warning("Warm-up: %s", e)

        thread = threading.Thread(target=load, name="qabot-warm-up", daemon=True)
        thread.start()
        return thread

    def info(self) -> EngineInfo:
        m = self.index.manifest
        return EngineInfo(m.documents, m.passages, m.model, m.index_type, self.store.describe(), m.built_at,
                          m.build_id, m.skipped_files)

    def is_stale(self) -> bool:
        """True when the corpus changed since the loaded index was built."""
        return self.index.manifest.corpus_fingerprint != fingerprint(self.config.corpus_dir)

    def load_or_build(self, progress: Callable[[int, int], None] | None = None) -> BuildReport | None:
        """Load the index; build it first when it is missing or unusable."""
        try:
            self.load()
            return None
        except IndexProblem as e:
            log.info("Building the index: %s", e)
        try:
            return self.rebuild(progress)
        except RebuildInProgress:
            if self.rebuilding:
                raise
        # Another replica is building it: wait for that build, then load what it made.
        log.info("Another process is building the index; waiting for it to finish")
        wait_for_other_rebuild(Path(self.config.index_dir), self.store, REFRESH_EVERY_S)
        self.load()
        return None

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> BuildReport:
        """Rebuild from the corpus directory and swap the new index in. Raises
        RebuildInProgress if one is already running; on failure the old index keeps serving."""
        if not self._build_lock.acquire(blocking=False):
            raise RebuildInProgress("a rebuild is already running")
        try:
            with no_other_rebuild(Path(self.config.index_dir), self.store):  # nor in another replica
                corpus = load_corpus(self.config.corpus_dir, self.config.max_passage_chars, self._known())
                report = build_index(corpus, self.encoder, self.config.index_dir, self._build_cache(),
                                     self.config.index, progress, self._reader(), self.store)
                self.load()
                return report
        finally:
            self._build_lock.release()

    def _reader(self) -> dict:
        return {"version": READER_VERSION, "max_passage_chars": self.config.max_passage_chars}

    def _known(self) -> dict[str, Known]:
        """The loaded index's documents with their passages, for a rebuild to reuse the ones
        whose files did not change (none when it was read differently)."""
        if self._index is None:
            try:
                self.load()
            except IndexProblem:
                return {}
        if self._index.manifest.reader != self._reader():
            return {}
        by_doc = group_passages(self._index.passages)
        return {d.doc_id: Known(d, tuple(by_doc.get(d.doc_id, ()))) for d in self.documents()}

    def documents(self) -> list[Document]:
        """The documents in the loaded index."""
        return [doc for doc, _ in self.indexed().values()]

    def indexed(self) -> dict[str, tuple[Document, int]]:
        """Each indexed document by id, with its number of passages."""
        return indexed_documents(self.index.manifest)

    def query_vector(self, query: str) -> np.ndarray:
        """The query's vector, from a small LRU cache: example buttons and "More results"
        ask the same questions again."""
        key = match_form(query)
        with self._vectors_lock:  # cachetools' caches are not thread-safe
            vector = self._vectors.get(key)
        if vector is None:
            vector = self.batched.encode(key)
            with self._vectors_lock:
                self._vectors[key] = vector
        return vector

    def retrieve(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best passages in retrieval order: what the answer step is given (and what
        its models are trained on; ``search`` returns them as the answer step rates them)."""
        if not query.strip():
            return []
        self.refresh()
        vector = self.query_vector(query)
        return self._in_current_generation(
            lambda index: search(index, self.encoder, query, k, self.config.fusion, vector))

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for ``query``: retrieved, then the ones the answer step reads
        reordered as it rates them (always as many, whatever ``k``, so that pages of results
        cut from one order never repeat or skip a passage)."""
        if not query.strip():
            return []
        self.refresh()
        vector = self.query_vector(query)
        rerank = getattr(self.composer, "rerank", None)
        read = self._hits_read(query) if rerank else 0

        def found(index: LoadedIndex) -> list[Hit]:
            hits = search(index, self.encoder, query, max(k, read), self.config.fusion, vector)
            return (rerank(query, hits[:read], index.bm25, vector) + hits[read:] if rerank else hits)[:k]

        return self._in_current_generation(found)

    def _in_current_generation(self, work):
        """``work(index)`` on the loaded index; if its vectors were dropped meanwhile (a rebuild
        here swapped in a newer generation, or another replica published one), once more on
        the newest."""
        index = self.index  # one consistent index for the whole piece of work, even mid-swap
        try:
            return work(index)
        except StoreProblem:
            if self.index is index and not self.refresh(force=True):
                raise
            return work(self.index)

    def answer(self, question: str, k: int = 5, conversation: Conversation | None = None) -> Answer:
        """Search, then compose the answer. With a ``conversation``, a follow-up question is
        read in its context first (see ``answering.followup``) and the turn is remembered."""
        reading = resolve(question, conversation.last if conversation is not None else None)
        if len(reading.people) > 1 and analyse(reading.question).type is AnswerType.ROLE:
            # "他们分别担任什么职务？": the same question of each person, one point each
            last = conversation.last
            parts = [self._answer(resolve(question, replace(last, people=(name,))).question, k)
                     for name in reading.people]
            answered = [p for p in parts if p.kind is AnswerKind.FACT] or [p for p in parts if p.answered]
            answer = replace(answered[0], points=tuple(pt for p in answered for pt in p.points),
                             evidence=tuple(e for p in answered for e in p.evidence[:1])) if answered else parts[0]
        else:
            answer = self._answer(reading.question, k, frozenset(reading.exclude))
        answer = replace(answer, question=question, script=script_of(question), reading=reading.note)
        if conversation is not None and answer.answered:
            conversation.add(Turn.of(reading.question, answer))
        return answer

    def read(self, question: str, conversation: Conversation | None) -> Reading:
        """How ``question`` is understood in ``conversation`` (the standalone question to search)."""
        return resolve(question, conversation.last if conversation is not None else None)

    def _wants_more_hits(self, question: str) -> bool:
        wants_more = getattr(self.composer, "wants_more_hits", None)
        return bool(wants_more and wants_more(question))

    def _hits_read(self, question: str) -> int:
        """How many passages the answer step reads for ``question``."""
        return self.config.statement_hits if self._wants_more_hits(question) else self.config.answer.evidence_passages

    def _answer(self, question: str, k: int, exclude: frozenset[str] = frozenset()) -> Answer:
        self.refresh()
        if self._wants_more_hits(question):
            k = max(k, self.config.statement_hits)
        query_vector = self.query_vector(question)  # once for both steps

        def answer(index: LoadedIndex) -> Answer:
            hits = search(index, self.encoder, question, k, self.config.fusion, query_vector)
            return self.composer.answer(question, hits, index.bm25, query_vector, exclude)

        return self._in_current_generation(answer)
