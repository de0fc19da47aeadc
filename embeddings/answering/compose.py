"""Composing the answer from search hits. The rules make candidates (``features``: sentences of
the best passages, typed spans, roles, the question's slot, clauses); learned models
(``selector``) score the sentences, then the candidates of the best ones, then decide whether
the passages answer the question at all. Lists of people and a speaker's points are put
together from the best-scored sentences. Everything shown is verbatim from a cited passage."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
from cachetools import LRUCache

from corpus.clean import to_simplified
from corpus.split import split_sentences
from embeddings.answering import extract
from embeddings.answering.clauses import CLAUSE_END
from embeddings.answering.candidates import (
    Candidate,
    Question,
    Sentence,
    answers_in_order,
    of_kind_asked,
    shown_limit,
)
from embeddings.answering.features import GATE_FEATURES, gate_features, read_sentences, read_spans
from embeddings.answering.gate import GateParams
from embeddings.answering.model import Answer, AnswerKind, Evidence, Point
from embeddings.answering.question import AnswerType, QuestionAnalysis, analyse, is_person_name
from embeddings.answering.selector import Selector, default_selector
from embeddings.answering.statements import statements
from embeddings.encoders.encoder import Encoder
from embeddings.lexical import BM25
from embeddings.search import Hit


class Composer(Protocol):
    """Turns a question and its hits into an ``Answer`` (the engine's answer step); points whose
    text is in ``exclude`` were shown already ("what else?"). The engine also uses, when a
    composer has them, ``rerank`` (search results in the answer step's order) and
    ``wants_more_hits`` (questions that read more passages)."""

    def answer(self, question: str, hits: list[Hit], bm25: BM25, query_vector: np.ndarray | None = None,
               exclude: frozenset[str] = frozenset()) -> Answer: ...


@dataclass(frozen=True)
class ComposerParams:
    # Passages whose sentences are read (the engine retrieves this many; statements more).
    evidence_passages: int = 5
    # Passages shown under the answer.
    shown_passages: int = 3
    # The best sentences whose candidates are scored.
    span_sentences: int = 8
    max_points: int = 5  # a speaker's points shown
    max_people: int = 12  # people listed (lists of attendees run long; their roles are in the passage)
    statement_chars: int = 200
    mmr_lambda: float = 0.7
    # A list of people longer than this (or than a short answer's context allows) is shown by
    # name alone (their roles are in the passage shown under it).
    people_chars: int = 80
    # Sentences the sentence model gives at least this probability hold the answer: a list of
    # people asked for is gathered from all of them (the model's own decision boundary).
    holds_answer: float = 0.5
    gate: GateParams = field(default_factory=GateParams)


@dataclass
class Candidates:
    """A question's candidates, scored: its sentences and the candidate answers in the best
    of them, each best first."""

    question: Question
    sentences: list[Sentence]  # best first
    vectors: dict[int, np.ndarray]  # id(sentence) -> its vector
    spans: list[Candidate]  # best first
    gate_row: np.ndarray


class ExtractiveComposer:
    """The default answer step: extraction, no generation. Sentence vectors are cached."""

    def __init__(self, encoder: Encoder, params: ComposerParams = ComposerParams(), cache_size: int = 50_000,
                 selector: Selector | None = None):
        self.encoder = encoder
        self.params = params
        self._selector = selector
        self._cache: LRUCache[str, np.ndarray] = LRUCache(cache_size)
        self._lock = threading.Lock()  # answers are composed in worker threads

    @property
    def selector(self) -> Selector:
        if self._selector is None:
            self._selector = default_selector()
        return self._selector

    def wants_more_hits(self, question: str) -> bool:
        """Statement questions gather points from more passages than the usual top k."""
        return analyse(question).type is AnswerType.STATEMENTS

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        fresh = [t for t in dict.fromkeys(texts) if t not in known]
        if fresh:
            vectors = dict(zip(fresh, self.encoder.encode_documents(fresh)))
            known.update(vectors)
            with self._lock:
                self._cache.update(vectors)
        return np.vstack([known[t] for t in texts])

    # --- candidates -----------------------------------------------------------------------

    def candidates(self, a: QuestionAnalysis, hits: list[Hit], bm25: BM25, query_vector: np.ndarray) -> Candidates:
        """Read the sentences of the best passages, score them, then the candidates of the best."""
        q = Question.of(a, bm25)
        pool = hits if a.type is AnswerType.STATEMENTS else hits[: self.params.evidence_passages]
        sentences, vecs, rows = read_sentences(q, pool, self.sentence_vectors, query_vector)
        if not sentences:
            return Candidates(q, [], {}, [], np.zeros(0))
        for s, p in zip(sentences, self.selector.sentence_scores(rows)):
            s.score = float(p)
        vectors = {id(s): v for s, v in zip(sentences, vecs)}
        ranked = sorted(sentences, key=lambda s: -s.score)
        spans, span_rows = read_spans(q, ranked, self.params.span_sentences)
        for c, p in zip(spans, self.selector.span_scores(span_rows)):
            c.score = float(p)
        spans = answers_in_order(q, spans)
        return Candidates(q, ranked, vectors, spans, gate_features(q, ranked, spans, bm25))

    def rerank(self, question: str, hits: list[Hit], bm25: BM25, query_vector: np.ndarray | None = None) -> list[Hit]:
        """``hits`` as the answer orders them: the passages its points come from, then the other
        passages the answer step reads by their best sentence's learned score, then the rest as
        retrieved. The sentence model reads the question against each sentence (slot,
        predicate, answer type), which the retrieval's one vector per passage cannot: a short
        "吴政隆陪同调研。" passage holds the answer to "谁陪同李强调研？" though the opening
        paragraph repeats more of the question's words."""
        return list(self.answer(question, hits, bm25, query_vector).hits)

    # --- the answer ---------------------------------------------------------------------

    def answer(self, question: str, hits: list[Hit], bm25: BM25, query_vector: np.ndarray | None = None,
               exclude: frozenset[str] = frozenset()) -> Answer:
        a = analyse(question)
        if not hits:
            return Answer(question, a.script, AnswerKind.NONE, analysis=a, reason="nothing retrieved")
        qv = query_vector if query_vector is not None else self.encoder.encode_queries([a.normalised])[0]
        found = self.candidates(a, hits, bm25, qv)
        if not found.sentences:
            return self._decline(a, hits, "no sentences")
        hits = _reordered(hits, found)
        points, kind = self._compose(a, found, exclude)
        points = [p for p in points if p.text not in exclude]
        if not points and exclude:
            return self._decline(a, hits, "nothing more than what was shown")
        if not points:
            return self._decline(a, hits, f"no {a.type.value} found in the best passages")
        probability = self.selector.answerable(found.gate_row)
        threshold = self.params.gate.threshold(self.selector.threshold.of(a.cross_lingual))
        coverage = float(found.gate_row[0][_GATE_COVERAGE])
        if probability < threshold:
            return self._decline(a, hits, f"the passages answer it with probability {probability:.2f} < {threshold:.2f}",
                                 coverage, probability)
        # (a speaker's statements are found by the speaker: "say" need not be the text's 强调)
        if a.cross_lingual and a.type is not AnswerType.STATEMENTS and not self._words_in(found.question, points):
            return self._decline(a, hits, "none of the question's words but its names are in the answer's passage",
                                 coverage, probability)
        hits = _points_first(hits, points)
        return Answer(question, a.script, kind, tuple(points), self._evidence(hits, points), tuple(hits), analysis=a,
                      coverage=coverage, confidence=probability)

    @staticmethod
    def _words_in(q: Question, points: list[Point]) -> bool:
        """For an English question, whether the answer's passages hold any of its words other
        than names, in one of their Chinese renderings. The gate learned English from questions
        made by translating Chinese ones word for word, which always share their words with the
        text; a real question whose only link to a passage is a name ("What is Ying Yong's
        favourite food?") is about something the passage does not say. A place of the kind asked
        for is that word found ("which cities": 珠海, a city by the dictionary)."""
        words = [t for t in q.terms if not t.name and not t.pinyin and t.chinese]
        if not words or any(of_kind_asked(q.analysis, to_simplified(p.span)) for p in points):
            return True
        text = " ".join(p.passage.match_text for p in points)
        return any(c in text for t in words for c in t.chinese)

    def _decline(self, a: QuestionAnalysis, hits: list[Hit], reason: str, covered: float | None = None,
                 confidence: float | None = None) -> Answer:
        return Answer(a.text, a.script, AnswerKind.NONE, hits=tuple(hits), suggestion=hits[0], analysis=a,
                      reason=reason, coverage=covered, confidence=confidence)

    def _evidence(self, hits: list[Hit], points: list[Point]) -> tuple[Evidence, ...]:
        """The first hits (the passages the points come from first), up to ``shown_passages``."""
        used = {p.passage.id for p in points}
        out = []
        for hit in hits[: max(self.params.shown_passages, len(used))]:
            sents = tuple(split_sentences(hit.passage.text))
            key = frozenset(j for j, s in enumerate(sents) for p in points
                            if p.passage.id == hit.passage.id and (p.sentence == s or p.text in s or s in p.text))
            out.append(Evidence(hit, sents, key))
        return tuple(out)

    def _compose(self, a: QuestionAnalysis, found: Candidates, exclude: frozenset[str]) -> tuple[list[Point], AnswerKind]:
        if a.type is AnswerType.STATEMENTS:
            p = self.params
            points = statements(found.question.focus, found.sentences, found.vectors, exclude, p.statement_chars,
                                p.max_points, p.mmr_lambda)
            if points or (found.question.focus and (a.cross_lingual or is_person_name(a.focus))):
                return points, AnswerKind.POINTS  # none by the person named: no answer
        if a.type is AnswerType.PERSON and a.plural:
            people = self._people(found)
            if people:
                return people, AnswerKind.PEOPLE
        spans = [c for c in found.spans if _point(c).text not in exclude]
        if not spans:
            return [], AnswerKind.NONE
        best = spans[0]
        if a.type is AnswerType.PERSON:  # the person chosen, or the first one the chosen phrase names
            person = best if best.kind == "person" else next(
                (c for c in spans if c.kind == "person" and c.sentence is best.sentence and best.lo <= c.start < best.hi),
                None)
            together = self._coordinated(found.question, person, best.kind == "person") if person else []
            if len(together) > 1:
                return together, AnswerKind.PEOPLE
            if person is not None:  # one person asked for: the person, not the phrase naming them and others
                return [_point(person)], AnswerKind.FACT
        kind = AnswerKind.SENTENCE if best.kind in ("clause", "sentence") else AnswerKind.FACT
        return [_point(best)], kind

    # --- lists ----------------------------------------------------------------------------

    def _coordinated(self, q: Question, best: Candidate, chosen: bool = True) -> list[Point]:
        """"谁参加了调研": 谁 does not say how many. Everyone named before the question's predicate
        in the chosen person's sentence shares it ("王瑞连，省委常委、…王忠林参加调研"); without the
        predicate there, everyone in the chosen person's clause ("石泰峰、王东峰一同调研") — only when
        that person was the answer chosen (``chosen``), not a name inside a chosen sentence. People
        the question names are not its answer."""
        s = best.sentence
        lo = max((m.end() for m in CLAUSE_END.finditer(s.form, 0, best.start)), default=0)
        m = CLAUSE_END.search(s.form, best.end)
        hi = m.start() if m else len(s.form)
        verbs = [w for t in q.predicate for w in t.chinese if w in s.form[best.end:]]
        if verbs:
            lo, hi = 0, min(s.form.find(v, best.end) for v in verbs)
        elif not chosen:
            return []
        people = {p.text: p for p in extract.people(s.cased)
                  if lo <= p.start and p.end <= hi and p.text.lower() not in q.named}
        return [Point(_with_role(s, p), s.hit.passage, best.score, s.original, s.original_span(p.start, p.end),
                      anchored=True) for p in people.values()]

    def _people(self, found: Candidates) -> list[Point]:
        """Several people asked for: those named (with their roles) in the sentence of the best
        person candidate (one whose sentence mentions the question's predicate, when one does),
        and in every other sentence the model says holds the answer."""
        q = found.question
        named = q.named
        points, seen = [], set()
        # the best person's sentence, among those that mention the question's predicate when one does
        persons = [c for c in found.spans if c.kind == "person"]
        first = next((c.sentence for c in persons if not q.predicate or c.sentence.features.get("predicate", 0) > 0),
                     persons[0].sentence if persons else None)
        order = ([first] if first else []) + [s for s in found.sentences if s is not first]
        for s in order:  # the sentence of the best person found, then the best others
            if points and s.score < self.params.holds_answer:
                continue
            people = [p for p in extract.people(s.cased) if p.text.lower() not in named]
            if not people:
                continue
            for p in people:
                if p.text not in seen:
                    seen.add(p.text)
                    points.append(Point(_with_role(s, p), s.hit.passage, s.score, s.original,
                                        s.original_span(p.start, p.end), anchored=True))
            if len(points) >= self.params.max_people:
                break
        points = points[: self.params.max_people]
        names = sum(len(p.span) for p in points)
        if sum(len(p.text) for p in points) > min(self.params.people_chars, shown_limit(names)):
            points = [replace(p, text=p.span) for p in points]  # the roles are in the passage shown
        return points


_GATE_COVERAGE = GATE_FEATURES.index("coverage")


def _reordered(hits: list[Hit], found: Candidates) -> list[Hit]:
    """The hits whose sentences were scored: the best candidate answer's passage, then the
    others by their best sentence's score (retrieval order among equals); then the hits not
    read, as they came. Each keeps its retrieval ``rank``."""
    best = _best_by_passage((s.hit.passage.id, s.score) for s in found.sentences)
    first = found.spans[0].sentence.hit.passage.id if found.spans else None
    read = sorted((h for h in hits if h.passage.id in best),
                  key=lambda h: (h.passage.id != first, -best[h.passage.id], h.rank))
    return read + [h for h in hits if h.passage.id not in best]


def _points_first(hits: list[Hit], points: list[Point]) -> list[Hit]:
    """The passages the points come from, best point first (points are shown in document
    order, which says nothing of relevance), then the other hits."""
    best = _best_by_passage((p.passage.id, p.score) for p in points)
    return sorted(hits, key=lambda h: -best[h.passage.id] if h.passage.id in best else np.inf)


def _best_by_passage(scored: Iterable[tuple[str, float]]) -> dict[str, float]:
    """The best score of each passage id."""
    best: dict[str, float] = {}
    for passage, score in scored:
        best[passage] = max(best.get(passage, score), score)
    return best


def _point(c: Candidate) -> Point:
    """A candidate as a point of the answer: its phrase, the answer itself in bold (not for a
    clause or sentence, which are the answer whole)."""
    s = c.sentence
    span = "" if c.kind in ("clause", "sentence") else s.original_span(c.start, c.end)
    return Point(s.original_span(c.lo, c.hi), s.hit.passage, c.score, s.original, span, anchored=c.kind == "slot")


def _with_role(s: Sentence, person: extract.Span) -> str:
    """The name with the role written before it, when there is one."""
    for role in extract.roles_of(person.text, s.form):
        if role.end == person.start:
            return s.original_span(role.start, person.end)
    return s.original_span(person.start, person.end)
