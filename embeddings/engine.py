"""The engine the front ends talk to: it owns the encoder and the current index, answers
searches, and rebuilds the index while the old one keeps serving."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from corpus.clean import match_form, script_of
from corpus.errors import QabotError
from corpus.model import Document
from corpus.reader import READER_VERSION, Known, fingerprint, group_passages, load_corpus
from embeddings.answering import Answer, AnswerKind, AnswerType, Composer, ComposerParams, ExtractiveComposer, analyse
from embeddings.answering.followup import Conversation, Reading, Turn, resolve
from embeddings.batching import QueryBatcher
from embeddings.encoder import Encoder
from embeddings.index import (
    BuildReport,
    BuildCache,
    IndexParams,
    IndexProblem,
    LoadedIndex,
    build_index,
    indexed_documents,
    load_index,
)
from embeddings.search import FusionParams, Hit, search

log = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 1024


class RebuildInProgress(QabotError, RuntimeError):
    """A rebuild was asked for while another one runs."""


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
    # Questions arriving within this window of each other are encoded in one batch.
    query_batch: int = 16
    query_window_s: float = 0.002


class Engine:
    """Search and answers over one index directory. Thread-safe: searches read the current
    index reference; a rebuild makes a new one and swaps the reference when it is complete."""

    def __init__(self, config: EngineConfig, encoder: Encoder, composer: Composer | None = None):
        self.config = config
        self.encoder = encoder
        self._index: LoadedIndex | None = None
        self._build_lock = threading.Lock()
        self._cache: BuildCache | None = None
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vectors_lock = threading.Lock()
        self.queries = QueryBatcher(lambda texts: self.encoder.encode_queries(texts),
                                    config.query_batch, config.query_window_s)
        self.composer = composer or ExtractiveComposer(encoder, config.answer)

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
        """Load the index directory (validated against the configured model)."""
        self._index = load_index(self.config.index_dir, self.encoder.name, self.config.index)
        return self._index

    def is_stale(self) -> bool:
        """True when the corpus changed since the loaded index was built."""
        return self.index.manifest.get("corpus_fingerprint") != fingerprint(self.config.corpus_dir)

    def load_or_build(self, progress: Callable[[int, int], None] | None = None) -> BuildReport | None:
        """Load the index; build it first when it is missing or unusable."""
        try:
            self.load()
            return None
        except IndexProblem as e:
            log.info("Building the index: %s", e)
            return self.rebuild(progress)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> BuildReport:
        """Rebuild from the corpus directory and swap the new index in. Raises
        RebuildInProgress if one is already running; on failure the old index keeps serving."""
        if not self._build_lock.acquire(blocking=False):
            raise RebuildInProgress("a rebuild is already running")
        try:
            corpus = load_corpus(self.config.corpus_dir, self.config.max_passage_chars, self._known())
            report = build_index(corpus, self.encoder, self.config.index_dir, self._build_cache(),
                                 self.config.index, progress, self._reader())
            self._index = load_index(self.config.index_dir, self.encoder.name, self.config.index)
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
        if self._index.manifest.get("reader") != self._reader():
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
        with self._vectors_lock:
            vector = self._vectors.get(key)
            if vector is not None:
                self._vectors.move_to_end(key)
                return vector
        vector = self.queries.encode(key)
        with self._vectors_lock:
            self._vectors[key] = vector
            while len(self._vectors) > QUERY_CACHE_SIZE:
                self._vectors.popitem(last=False)
        return vector

    def search(self, query: str, k: int = 5) -> list[Hit]:
        """The ``k`` best passages for ``query``."""
        if not query.strip():
            return []
        return search(self.index, self.encoder, query, k, self.config.fusion, self.query_vector(query))

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

    def _answer(self, question: str, k: int, exclude: frozenset[str] = frozenset()) -> Answer:
        index = self.index  # one consistent index for the whole answer, even mid-swap
        wants_more = getattr(self.composer, "wants_more_hits", None)
        if wants_more and wants_more(question):
            k = max(k, self.config.statement_hits)
        query_vector = self.query_vector(question)  # once for both steps
        hits = search(index, self.encoder, question, k, self.config.fusion, query_vector)
        return self.composer.answer(question, hits, index.bm25, query_vector, exclude)
