"""Composing the answer from search hits: analyse the question, score the sentences of the best
passages, take the shortest span of the expected type, and let the gate decline when the
evidence does not answer. Everything shown is verbatim from a cited passage."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from corpus.clean import match_form, to_simplified
from corpus.split import split_sentences
from embeddings.answering import extract
from embeddings.answering.gate import GateParams, coverage, judge, local_weights, weighted_terms
from embeddings.answering.model import Answer, AnswerKind, Evidence, Point
from embeddings.answering.question import AnswerType, QuestionAnalysis, analyse, is_person_name
from embeddings.encoder import Encoder
from embeddings.lexical import BM25, pinyin_terms, segment
from embeddings.search import Hit

# Verbs that introduce a statement in document text. Narrower than the question side's
# question._SPEECH_VERBS on purpose: 说/讲/提到 occur in too many sentences that report no statement.
_SPEECH = re.compile(r"(强调|要求|指出|表示|提出|认为|呼吁|宣布|介绍)[：:，,]?")


class Composer(Protocol):
    """Turns a question and its hits into an ``Answer`` (the engine's answer step); points whose
    text is in ``exclude`` were shown already ("what else?")."""

    def answer(self, question: str, hits: list[Hit], bm25: BM25, query_vector: np.ndarray | None = None,
               exclude: frozenset[str] = frozenset()) -> Answer: ...


@dataclass(frozen=True)
class ComposerParams:
    evidence_passages: int = 3
    max_points: int = 5
    statement_chars: int = 200
    mmr_lambda: float = 0.7
    lexical_weight: float = 0.3
    # English words reach Chinese sentences through a dictionary: a weaker signal.
    lexical_weight_cross_lingual: float = 0.1
    # A list of people longer than this is shown by name (their roles are in the evidence).
    people_chars: int = 80
    same_sentence_margin: float = 0.02
    # Sentences within this margin of the best one may supply a typed answer.
    typed_margin: float = 0.06
    # Added to a sentence that holds a candidate of the type asked for (a date for "when").
    typed_bonus: float = 0.03
    # How many of the best sentences are searched for the question's wording around a gap.
    slot_sentences: int = 8
    gate: GateParams = field(default_factory=GateParams)


@dataclass
class _Sentence:
    original: str  # as in the passage
    form: str  # simplified, lower case: positions of spans refer to it
    hit: Hit
    score: float = 0.0

    @property
    def cased(self) -> str:
        """The simplified sentence with its case: Latin names ("Fay Fuller") need it."""
        return to_simplified(self.original)

    def original_span(self, start: int, end: int) -> str:
        """The original-script text of ``form[start:end]`` (OpenCC t2s keeps lengths for nearly
        all characters; otherwise the simplified text is shown)."""
        if len(self.original) == len(self.form):
            return self.original[start:end]
        return self.form[start:end]


def _form(text: str) -> str:
    return to_simplified(text).lower()


class ExtractiveComposer:
    """The default answer step: extraction, no generation. Sentence vectors are cached."""

    def __init__(self, encoder: Encoder, params: ComposerParams = ComposerParams(), cache_size: int = 50_000):
        self.encoder = encoder
        self.params = params
        self._cache: dict[str, np.ndarray] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()  # answers are composed in worker threads

    def wants_more_hits(self, question: str) -> bool:
        """Statement questions gather points from more passages than the usual top k."""
        return analyse(question).type is AnswerType.STATEMENTS

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            known = {t: self._cache[t] for t in texts if t in self._cache}
        fresh = [t for t in dict.fromkeys(texts) if t not in known]
        if fresh:
            vectors = dict(zip(fresh, self.encoder.encode_documents(fresh)))
            known.update(vectors)
            with self._lock:
                if len(self._cache) + len(vectors) > self._cache_size:
                    self._cache.clear()
                self._cache.update(vectors)
        return np.vstack([known[t] for t in texts])

    # --- the answer ---------------------------------------------------------------------

    def answer(self, question: str, hits: list[Hit], bm25: BM25, query_vector: np.ndarray | None = None,
               exclude: frozenset[str] = frozenset()) -> Answer:
        a = analyse(question)
        if not hits:
            return Answer(question, a.script, AnswerKind.NONE, analysis=a, reason="nothing retrieved")
        gate = self.params.gate
        floor = gate.score_floor(a, hits[0].score)
        if floor:
            return self._decline(a, hits, floor)

        qv = query_vector if query_vector is not None else self.encoder.encode_queries([a.normalised])[0]
        terms = weighted_terms(a, bm25)
        top = hits[: self.params.evidence_passages]
        pool = hits if a.type is AnswerType.STATEMENTS else top
        sentences = [_Sentence(s, _form(s), hit) for hit in pool for s in split_sentences(hit.passage.text)]
        if not sentences:
            return self._decline(a, hits, "no sentences")
        vecs = self._sentence_vectors([match_form(s.original) for s in sentences])
        dense = vecs @ qv
        weight = self.params.lexical_weight_cross_lingual if a.cross_lingual else self.params.lexical_weight
        # Within the candidate sentences, a word they all share (the article's subject) tells
        # them apart less than the question's other words: weigh words by how few hold them.
        local = local_weights(terms, [s.form for s in sentences])
        typed = a.type in (AnswerType.TIME, AnswerType.NUMBER, AnswerType.DURATION, AnswerType.PERSON)
        for i, s in enumerate(sentences):
            s.score = float(dense[i] + weight * coverage(local, s.form) + 0.05 * s.hit.score)
            if typed and extract.typed_candidates(a.type, s.cased, a.units):
                s.score += self.params.typed_bonus
        ranked = sorted(sentences, key=lambda s: -s.score)

        points, kind = self._compose(a, ranked, vecs, sentences, exclude)
        points = [p for p in points if p.text not in exclude]
        if not points and exclude:
            return self._decline(a, hits, "nothing more than what was shown")
        if not points:
            return self._decline(a, hits, f"no {a.type.value} found in the best passages")
        verdict = judge(a, terms, [_form(" ".join((h.passage.doc_title, h.passage.section, h.passage.text)))
                                   for h in top],
                        _form(points[0].sentence or points[0].text), kind is AnswerKind.FACT and not points[0].anchored,
                        bm25, gate)
        if verdict.reason:
            return self._decline(a, hits, verdict.reason, verdict.coverage, verdict.predicate)
        return Answer(question, a.script, kind, tuple(points), self._evidence(top, points), tuple(hits), analysis=a,
                      coverage=verdict.coverage, sentence_coverage=verdict.predicate)

    def _decline(self, a: QuestionAnalysis, hits: list[Hit], reason: str, covered: float | None = None,
                 in_sentence: float | None = None) -> Answer:
        return Answer(a.text, a.script, AnswerKind.NONE, hits=tuple(hits), suggestion=hits[0], analysis=a,
                      reason=reason, coverage=covered, sentence_coverage=in_sentence)

    def _evidence(self, top: list[Hit], points: list[Point]) -> tuple[Evidence, ...]:
        out = []
        for hit in top:
            sents = tuple(split_sentences(hit.passage.text))
            key = frozenset(j for j, s in enumerate(sents) for p in points
                            if p.passage.id == hit.passage.id and (p.sentence == s or p.text in s or s in p.text))
            out.append(Evidence(hit, sents, key))
        return tuple(out)

    def _compose(self, a: QuestionAnalysis, ranked: list[_Sentence], vecs, sentences,
                 exclude: frozenset[str] = frozenset()) -> tuple[list[Point], AnswerKind]:
        t = a.type
        if t is AnswerType.STATEMENTS:
            points = self._statements(a, sentences, vecs, exclude)
            if points or (a.focus and is_person_name(a.focus)):
                return points, AnswerKind.POINTS  # none by the person named: no answer
            return self._sentence(a, ranked), AnswerKind.SENTENCE  # "默哀是为了表示什么"
        if t is AnswerType.ROLE:
            points = self._role(a, ranked)
            if points:
                return points, AnswerKind.FACT
        if t is AnswerType.PERSON:
            if a.plural:
                return self._people(a, ranked), AnswerKind.PEOPLE
            sharing = self._people_before_predicate(a, ranked)
            if len(sharing) > 1:
                return sharing, AnswerKind.PEOPLE
            return self._typed(a, ranked), AnswerKind.FACT
        if t.typed and t is not AnswerType.ROLE:
            return self._typed(a, ranked), AnswerKind.FACT
        return self._sentence(a, ranked), AnswerKind.SENTENCE

    # --- per answer type ------------------------------------------------------------------

    def _window(self, ranked: list[_Sentence]) -> list[_Sentence]:
        """The sentences close enough to the best one to supply a typed answer."""
        best = ranked[0].score
        return [s for s in ranked[:6] if s.score >= best - self.params.typed_margin]

    def _best_slot(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> tuple[_Sentence, extract.Slot] | None:
        """The question's slot in the best sentences: among the top five, the one whose words
        around the gap repeat most of the question's wording (at least three characters), ties
        going to the better sentence; else the slot in the best sentence."""
        if a.cross_lingual:
            return None
        found = []
        for rank, s in enumerate(ranked[: self.params.slot_sentences]):
            sl = extract.slot(a, s.form)
            if sl and (sl.anchored >= 3 or rank == 0):
                found.append((sl.anchored + sl.both_sides * 2, -rank, s, sl))
        if not found:
            return None
        _, _, s, sl = max(found, key=lambda f: (f[0], f[1]))
        return s, sl

    def _point(self, s: _Sentence, start: int, end: int, phrase: bool = True, anchored: bool = True) -> Point:
        """A point for the answer at ``[start, end)`` of ``s``: shown as its phrase (see
        ``extract.answer_phrase``) with the answer itself kept as ``span``."""
        lo, hi = extract.answer_phrase(s.form, start, end) if phrase else (start, end)
        return Point(s.original_span(lo, hi), s.hit.passage, s.score, s.original, s.original_span(start, end),
                     anchored)

    def _typed(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> list[Point]:
        """A person, date, duration, number, place or organisation: the candidate in the
        question's slot when there is one, else in the best sentence that has one, the one
        nearest the question's words."""
        if a.type is AnswerType.PERSON:
            by_role = self._person_by_role(a, ranked)
            if by_role:
                return [by_role]
        found = self._best_slot(a, ranked)
        if found:
            s, sl = found
            inside = [c for c in extract.typed_candidates(a.type, s.cased, a.units)
                      if sl.start <= c.start and c.end <= sl.start + len(sl.text) + 1]
            if inside:
                return [self._point(s, inside[0].start, inside[0].end)]
        focus = _form(a.focus) if a.focus and not a.cross_lingual else ""
        for s in self._window(ranked):
            spans = [c for c in extract.typed_candidates(a.type, s.cased, a.units) if c.text.lower() != focus]
            if spans:
                chosen = self._nearest(a, s, spans)
                return [self._point(s, chosen.start, chosen.end, anchored=False)]
        if a.type in (AnswerType.PLACE, AnswerType.ORGANISATION, AnswerType.PERSON, AnswerType.TIME):
            # Taggers miss many names ("Jam Cast", 《本草拾遗》) and times are not always dates
            # ("出征陈友谅时", "中新世晚期"): the slot or sentence will do, and the gate judges it.
            # A number or a duration is always written with digits or numerals: none, no answer.
            return self._sentence(a, ranked)
        return []

    def _person_by_role(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> Point | None:
        """"谁是X的党委书记" / "X的党委书记是谁": the person whose role, as written before the
        name, holds every word of the role asked about."""
        phrase = re.sub("的", "", a.after or a.before)
        if not phrase or not extract.ends_with_title(phrase):
            return None
        words = [w for w in segment(phrase) if len(w) > 1]
        for s in ranked[:5]:
            for p in extract.people(s.cased):
                for role in extract.roles_of(p.text, s.form):
                    if role.end == p.start and all(w in role.text for w in words):
                        return Point(s.original_span(role.start, p.end), s.hit.passage, s.score, s.original,
                                     s.original_span(p.start, p.end), anchored=True)
        return None

    def _nearest(self, a: QuestionAnalysis, s: _Sentence, spans: list[extract.Span]) -> extract.Span:
        marks = [m.start() for w in a.content if len(w) > 1 for m in re.finditer(re.escape(w), s.form)]
        if not marks:
            return spans[0]
        return min(spans, key=lambda sp: min(abs(sp.start - m) for m in marks))

    def _role(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> list[Point]:
        """The position of the person asked about: the words around the question phrase first
        ("以什么身份到社区报到"), then the role written before the name, then any slot."""
        focus = _form(a.focus) if a.focus and not a.cross_lingual else ""
        found = self._best_slot(a, ranked)
        if found and found[1].both_sides and (not focus or focus in found[0].form):
            s, sl = found
            return [self._point(s, sl.start, sl.start + len(sl.text), phrase=False)]
        names = [focus] if focus else []
        if a.cross_lingual and a.pinyin:  # an English question spelling the name in pinyin
            names = [p.text for s in ranked[:6] for p in extract.people(s.cased)
                     if set(pinyin_terms(p.text)) & set(a.pinyin)]
        for s in ranked[:6]:
            for name in names:
                for role in extract.roles_of(name, s.form):
                    return [self._point(s, role.start, role.end + len(name), phrase=False, anchored=bool(focus))]
        if found and (not focus or focus in found[0].form):
            s, sl = found
            return [self._point(s, sl.start, sl.start + len(sl.text), phrase=False)]
        return []

    def _people_before_predicate(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> list[Point]:
        """"谁参加了调研": 谁 does not say how many. When the question's words after it (its
        predicate) are found in one of the best sentences, everyone named before them there
        shares it ("王瑞连，…王忠林参加调研")."""
        if a.before or not a.after or a.cross_lingual:
            return []
        found = self._best_slot(a, ranked)
        if not found or not found[1].anchored:
            return []
        s, sl = found
        end = sl.start + len(sl.text)
        focus = _form(a.focus) if a.focus else ""
        return [Point(self._with_role(s, p), s.hit.passage, s.score, s.original, s.original_span(p.start, p.end),
                      anchored=True)
                for p in extract.people(s.cased) if p.end <= end and p.text.lower() != focus]

    def _people(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> list[Point]:
        """Several people asked for: those (with their roles) of the best sentences that name
        anyone: the best one, and any other within ``same_sentence_margin``."""
        focus_names = {_form(a.focus)} if a.focus and not a.cross_lingual else set()
        found_people = []  # (score, order, position, text, sentence)
        for order, s in enumerate(ranked):
            for p in extract.people(s.cased):
                if p.text in focus_names or (a.cross_lingual and set(pinyin_terms(p.text)) & set(a.pinyin)):
                    continue  # the person the question is about is not its answer
                found_people.append((s.score, order, p.start, (self._with_role(s, p), s.original_span(p.start, p.end)), s))
        if not found_people:
            return []
        best = max(f[0] for f in found_people)
        kept = sorted((f for f in found_people if f[0] >= best - self.params.same_sentence_margin),
                      key=lambda f: (-f[0], f[1], f[2]))
        points, seen = [], set()
        for score, _, _, (text, name), s in kept:
            if name not in seen:
                seen.add(name)
                points.append(Point(text, s.hit.passage, score, s.original, name))
        points = points[: max(self.params.max_points, 8)]
        if sum(len(p.text) for p in points) > self.params.people_chars:
            points = [replace(p, text=p.span) for p in points]
        return points

    def _with_role(self, s: _Sentence, person: extract.Span) -> str:
        """The name with the role written before it, when there is one."""
        for role in extract.roles_of(person.text, s.form):
            if role.end == person.start:
                return s.original_span(role.start, person.end)
        return s.original_span(person.start, person.end)

    def _sentence(self, a: QuestionAnalysis, ranked: list[_Sentence]) -> list[Point]:
        """The clause that fills the question's slot in the best sentences, else the best sentence."""
        found = self._best_slot(a, ranked)
        if found:
            s, sl = found
            return [self._point(s, sl.start, sl.start + len(sl.text))]
        s = ranked[0]
        return [Point(s.original, s.hit.passage, s.score, s.original)]

    def _statements(self, a: QuestionAnalysis, sentences: list[_Sentence], vecs,
                    exclude: frozenset[str] = frozenset()) -> list[Point]:
        """One point per passage that reports a statement of the speaker asked about (the speech
        verb in the passage or its section title, the speaker named before it), the statement
        from the verb on in whole sentences up to ``statement_chars``; picked by maximal
        marginal relevance, shown in document order."""
        speaker = _form(a.focus) if a.focus and not a.cross_lingual else ""
        if a.cross_lingual and a.pinyin:  # "What did Tao Jiudi say": the name spelled in pinyin
            spelled = [p.text for s in sentences for p in extract.people(s.cased)
                       if set(pinyin_terms(p.text)) & set(a.pinyin)]
            speaker = spelled[0] if spelled else ""
        by_passage: dict[str, list[int]] = {}
        for i, s in enumerate(sentences):
            by_passage.setdefault(s.hit.passage.id, []).append(i)
        statements = []  # (text, passage, relevance, vector, sentence)
        for ids in by_passage.values():
            passage = sentences[ids[0]].hit.passage
            section = _form(passage.section or "")
            starts = [i for i in ids if _SPEECH.search(sentences[i].form)]
            if speaker:  # only statements the question's speaker made
                starts = [i for i in starts if speaker in sentences[i].form[: _SPEECH.search(sentences[i].form).start()]]
                headed = speaker in section and bool(_SPEECH.search(section))
            elif a.cross_lingual and a.pinyin:  # a speaker named whom the passages do not name
                starts, headed = [], False
            else:
                headed = bool(_SPEECH.search(section))
            if not starts and not headed:
                continue
            first = starts[0] if starts else ids[0]
            text, used = "", []
            for i in (i for i in ids if i >= first):
                if used and len(text) + len(sentences[i].original) > self.params.statement_chars:
                    break
                text += sentences[i].original
                used.append(i)
            if text in exclude:
                continue
            relevance = float(max(sentences[i].score for i in used))
            vector = vecs[used].mean(axis=0)
            statements.append((text, passage, relevance, vector / (np.linalg.norm(vector) or 1.0)))
        chosen: list[int] = []
        remaining = list(range(len(statements)))
        lam = self.params.mmr_lambda
        while remaining and len(chosen) < self.params.max_points:
            def mmr(k: int) -> float:
                redundancy = max((float(statements[k][3] @ statements[j][3]) for j in chosen), default=0.0)
                return lam * statements[k][2] - (1 - lam) * redundancy
            best = max(remaining, key=mmr)
            chosen.append(best)
            remaining.remove(best)
        picked = sorted(chosen, key=lambda k: (statements[k][1].doc_id, statements[k][1].paragraph))
        return [Point(statements[k][0], statements[k][1], statements[k][2], statements[k][0]) for k in picked]
