"""Candidate answers and what the learned selection knows about them.

The rules of ``question`` and ``extract`` make the candidates: every sentence of the best
passages, and in them typed spans (people, roles, dates, durations, quantities, places,
organisations), the text standing where the question phrase stands (its slot), quoted names,
clauses and the whole sentence. The features describe each candidate in general terms — how
similar it is to the question, how much of the question's wording it and its neighbours hold,
whether it is of the type asked for, where it stands — so that models trained on public
reading-comprehension data (``selector``, trained by ``training``) choose among them. Nothing
here names a word of any document.

Sentence features and span features are separate tables: a sentence model scores every
sentence, then a span model scores the candidates of the best sentences, with the sentence's
score among its features.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from corpus.clean import to_simplified
from corpus.split import split_sentences
from embeddings.answering import extract
from embeddings.answering.gate import Term, coverage, local_weights, predicate_terms, weighted_terms
from embeddings.answering.question import STATEMENT_VERBS, AnswerType, QuestionAnalysis, name_phrases
from embeddings.dictionary import ENGLISH_STOPWORDS, phrases
from embeddings.lexical import BM25
from embeddings.search import Hit

# Verbs that introduce a statement in document text (强调, 指出...).
SPEECH = re.compile("(" + "|".join(STATEMENT_VERBS) + ")[：:，,]?")
_CLAUSE_END = re.compile(r"[，。；！？：,;!?]")
_QUOTED = re.compile(r"《([^《》]{1,30})》|“([^“”]{1,30})”|「([^「」]{1,30})」|『([^『』]{1,30})』")
_CONTENT_CHAR = re.compile(r"[\w\u3400-\u9fff]")

# The kinds of candidate, as codes for the models (a categorical feature).
KINDS = ("person", "time", "duration", "number", "place", "organisation", "role", "slot", "quote", "clause",
         "sentence")
_KIND_CODE = {k: i for i, k in enumerate(KINDS)}
_TYPE_CODE = {t: i for i, t in enumerate(AnswerType)}
# The kind of span that answers each question type directly.
_KIND_OF_TYPE = {AnswerType.PERSON: "person", AnswerType.TIME: "time", AnswerType.DURATION: "duration",
                 AnswerType.NUMBER: "number", AnswerType.PLACE: "place", AnswerType.ORGANISATION: "organisation",
                 AnswerType.ROLE: "role"}
# Kinds that may stand for one another (a place tagged as an organisation, a name as a place).
_NEAR_KINDS = {"place": {"organisation", "quote"}, "organisation": {"place", "quote"}, "person": {"quote"},
               "role": {"slot"}}

SENTENCE_FEATURES = (
    "qtype", "cross_lingual", "q_terms", "q_chars",
    "dense", "dense_rel", "dense_rank",
    "cov", "cov_rel", "cov_local", "cov_context", "cov_passage", "predicate", "has_predicate", "asked_predicate",
    "context_clause",
    "bigram", "bigram_rel", "longest_run",
    "hit_score", "hit_score_rel", "hit_dense", "hit_lexical", "hit_rank",
    "position", "sentences_in_passage", "first_of_document", "headline", "chars",
    "typed", "typed_any_unit", "typed_new", "slot_anchored", "slot_both", "focus_in", "focus_in_passage",
    "focus_role",
    "speech", "people", "people_new", "cov_document", "names_in_document",
)
SPAN_FEATURES = (
    "qtype", "cross_lingual", "kind", "type_match", "near_type", "unit_match",
    "sentence_score", "sentence_score_rel", "sentence_rank",
    "span_chars", "shown_chars", "shown_share", "in_question", "focus_in_span",
    "in_slot", "is_slot", "slot_anchored", "slot_both",
    "distance", "distance_rank", "clause_cov", "rest_cov", "clause_bigram", "focus_in_clause", "window_cov",
    "relative_position", "same_kind", "typed_in_sentence", "typed_elsewhere",
)


# Features that read the question's Chinese wording directly (its characters, the words around
# its question phrase). An English question has none of that: for it they are missing (the models
# learn from English-like training questions, see ``training.english``).
WORDING_FEATURES = frozenset({"q_chars", "bigram", "bigram_rel", "longest_run", "slot_anchored", "slot_both",
                              "in_slot", "is_slot", "distance", "distance_rank", "clause_bigram", "in_question",
                              "answer_in_question"})


def _without_wording(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    for i, n in enumerate(names):
        if n in WORDING_FEATURES:
            rows[:, i] = np.nan
        elif n == "cross_lingual":
            rows[:, i] = 1.0
    return rows


def form(text: str) -> str:
    """The simplified lower-case form that positions refer to."""
    return to_simplified(text).lower()


@dataclass
class Sentence:
    original: str  # as in the passage
    form: str  # simplified, lower case: positions of spans refer to it
    hit: Hit
    position: int  # in its passage
    count: int  # sentences in its passage
    score: float = 0.0  # the learned (or rule) score
    features: dict = field(default_factory=dict)
    _cased: str | None = None

    @property
    def cased(self) -> str:
        """The simplified sentence with its case: Latin names ("Fay Fuller") need it."""
        if self._cased is None:
            self._cased = to_simplified(self.original)
        return self._cased

    def original_span(self, start: int, end: int) -> str:
        """The original-script text of ``form[start:end]`` (OpenCC t2s keeps lengths for nearly
        all characters; otherwise the simplified text is shown)."""
        if len(self.original) == len(self.form):
            return self.original[start:end]
        return self.form[start:end]


@dataclass
class Candidate:
    """A candidate answer: ``form[start:end]`` of its sentence, shown as ``form[lo:hi]``."""

    sentence: Sentence
    start: int
    end: int
    lo: int
    hi: int
    kind: str
    score: float = 0.0
    features: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.sentence.form[self.start:self.end]

    @property
    def shown(self) -> str:
        return self.sentence.form[self.lo:self.hi]


@dataclass
class Question:
    """What the features need of a question, computed once."""

    analysis: QuestionAnalysis
    terms: list[Term]
    predicate: list[Term]
    asked: list[Term]  # the verbs of the clause that holds the question phrase (all of them without a context clause)
    asked_words: tuple[str, ...]  # the words of that clause the scene before it does not repeat (simplified)
    asked_own: bool  # whether ``asked`` are verbs of that clause (not, for want of any, the scene's)
    bigrams: frozenset[str]
    chars: frozenset[str]
    body: str  # the question without its question phrase and punctuation (simplified)
    focus: str  # the person or thing asked about, simplified ("" for Latin names)

    @property
    def names(self) -> tuple[frozenset[str], ...]:
        """The names the question is about (people, places, organisations, titles in 《》), each
        as the simplified forms that would write it: for an English question, the person its
        pinyin spells and the dictionary's renderings of the proper nouns it uses ("France" -> 法国)."""
        if self.analysis.cross_lingual:
            found = [frozenset({self.focus})] if self.focus else []
            found += [frozenset(w for w in p.chinese if len(w) > 1) or p.chinese
                      for p in phrases(self.analysis.text, ENGLISH_STOPWORDS) if p.proper]
            return tuple(found)
        return tuple(frozenset({form(n)}) for n in name_phrases(self.analysis.normalised))

    def names_in(self, text: str) -> float:
        """Share of the question's names that ``text`` (simplified) holds; -1 when it names none."""
        names = self.names
        return sum(1 for n in names if any(w in text for w in n)) / len(names) if names else -1.0

    @property
    def said(self) -> str:
        """What the question itself says (simplified, lower case): an answer is something else."""
        return "" if self.analysis.cross_lingual else self.analysis.normalised

    @property
    def named(self) -> set[str]:
        """The people the question names (and the person it is about): they are not its answer."""
        found = {p.text.lower() for p in extract.people(to_simplified(self.analysis.text))} if self.said else set()
        return found | {self.focus} if self.focus else found

    @property
    def wordless(self) -> bool:
        """Whether the features that read the question's Chinese wording are missing."""
        return self.analysis.cross_lingual

    @classmethod
    def of(cls, a: QuestionAnalysis, bm25: BM25) -> Question:
        body = "" if a.cross_lingual else re.sub(r"[^\w\u3400-\u9fff]", "", f"{a.before}{a.after}")
        focus = form(a.focus) if a.focus and not a.cross_lingual else ""
        predicate = predicate_terms(a, bm25)
        return cls(a, weighted_terms(a, bm25), predicate, _asked_verbs(a, predicate),
                   tuple(form(w) for w in _asked_words(a)), bool(_verbs_in_own_clause(a, predicate)), _bigrams(body),
                   frozenset(c for c in body if _CONTENT_CHAR.match(c)), body, focus)


# Where a context clause ends: clause punctuation, or 时 before the question's own clause
# ("张华到江城调研[时]有谁陪同？", "张华到江城调研[，]谁陪同？").
_CONTEXT_END = re.compile(r"[，,；;：:]|(?<=[\u4e00-\u9fff]{2})时(?=[有是要都还又]|$)")


def _own_clause(a: QuestionAnalysis) -> tuple[str, str]:
    """The question's own clause (around its question phrase) and the scene it sets before it
    ("张华到江城调研时，谁陪同？": "谁陪同", "张华到江城调研时，")."""
    starts = [m.end() for m in _CONTEXT_END.finditer(a.before)]
    end = _CONTEXT_END.search(a.after)
    cut = starts[-1] if starts else 0
    return a.before[cut:] + a.after[: end.start() if end else len(a.after)], a.before[:cut]


def _asked_verbs(a: QuestionAnalysis, predicate: list[Term]) -> list[Term]:
    """The question's verbs in the clause that holds its question phrase: in "张华到江城调研，谁
    陪同？" the answer is who accompanied (陪同), and the opening that says 张华到江城调研 is not."""
    return _verbs_in_own_clause(a, predicate) or predicate


def _verbs_in_own_clause(a: QuestionAnalysis, predicate: list[Term]) -> list[Term]:
    if a.cross_lingual or not predicate:
        return predicate
    clause, _ = _own_clause(a)
    return [t for t in predicate if any(w in clause for w in t.chinese)]


def _asked_words(a: QuestionAnalysis) -> tuple[str, ...]:
    """The words of the question's own clause that the scene it sets does not repeat, when it
    sets one ("马英九访视大立光电时，是谁带领他参观生产线": 带领, 参观, 生产线); () otherwise."""
    if a.cross_lingual:
        return ()
    clause, scene = _own_clause(a)
    if not scene:
        return ()
    return tuple(w for w in a.content if len(w) > 1 and form(w) in form(clause) and form(w) not in form(scene))


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1))


def _bigram_share(q: frozenset[str], text: str) -> float:
    return sum(1 for b in q if b in text) / len(q) if q else 0.0


def _longest_run(body: str, text: str) -> int:
    """The longest piece of the question's wording that ``text`` repeats."""
    best = 0
    for i in range(len(body)):
        j = i + best + 1
        while j <= len(body) and body[i:j] in text:
            best = j - i
            j += 1
    return best


def sentences_of(hits: list[Hit]) -> list[Sentence]:
    out = []
    for hit in hits:
        parts = split_sentences(hit.passage.text)
        out += [Sentence(s, form(s), hit, i, len(parts)) for i, s in enumerate(parts)]
    return out


def _is_headline(s: Sentence) -> bool:
    """The document's title standing as its first passage (a news report's headline)."""
    p = s.hit.passage
    title = form(p.doc_title).rstrip("…")
    return p.paragraph == 1 and p.part == 0 and bool(title) and form(p.text).startswith(title[:12])


def _rank(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    ranks = np.empty(len(values), dtype=np.float32)
    ranks[order] = np.arange(len(values))
    return ranks


def sentence_features(q: Question, sentences: list[Sentence], dense: np.ndarray) -> np.ndarray:
    """One row of ``SENTENCE_FEATURES`` per sentence (``dense``: similarity to the question)."""
    a = q.analysis
    local = local_weights(q.terms, [s.form for s in sentences])
    cov = np.array([coverage(q.terms, s.form) for s in sentences], dtype=np.float32)
    bigram = np.array([_bigram_share(q.bigrams, s.form) for s in sentences], dtype=np.float32)
    top_hit = max(s.hit.score for s in sentences)
    by_passage: dict[str, list[Sentence]] = {}
    for s in sentences:
        by_passage.setdefault(s.hit.passage.id, []).append(s)
    passage_cov = {pid: coverage(q.terms, form(" ".join((ss[0].hit.passage.doc_title, ss[0].hit.passage.section,
                                                          ss[0].hit.passage.text))))
                   for pid, ss in by_passage.items()}
    dense_rank = _rank(dense)
    by_document: dict[str, str] = {}
    for s in sentences:  # each document as far as the hits show it: title, sections, passages
        p = s.hit.passage
        by_document.setdefault(p.doc_id, form(p.doc_title))
        if p.id in by_passage and by_passage[p.id][0] is s:
            by_document[p.doc_id] += " " + form(f"{p.section} {p.text}")
    document_cov = {d: coverage(q.terms, text) for d, text in by_document.items()}
    names_in = {d: q.names_in(text) for d, text in by_document.items()}
    rows = []
    for i, s in enumerate(sentences):
        same = by_passage[s.hit.passage.id]
        context = "".join(x.form for x in same if abs(x.position - s.position) <= 1)
        typed = extract.typed_candidates(a.type, s.cased, a.units) if a.type.typed else []
        typed_any = extract.typed_candidates(a.type, s.cased) if a.type.typed and a.units else typed
        sl = None if a.cross_lingual else extract.slot(a, s.form)
        people = extract.people(s.cased)
        f = {
            "qtype": _TYPE_CODE[a.type], "cross_lingual": float(a.cross_lingual), "q_terms": len(q.terms),
            "q_chars": len(a.normalised),
            "dense": float(dense[i]), "dense_rel": float(dense[i] - dense.max()), "dense_rank": float(dense_rank[i]),
            "cov": float(cov[i]), "cov_rel": float(cov[i] - cov.max()), "cov_local": coverage(local, s.form),
            "cov_context": coverage(q.terms, context), "cov_passage": passage_cov[s.hit.passage.id],
            "predicate": coverage(q.predicate, s.form), "has_predicate": float(bool(q.predicate)),
            "asked_predicate": coverage(q.asked, s.form), "context_clause": float(len(q.asked) < len(q.predicate)),
            "bigram": float(bigram[i]), "bigram_rel": float(bigram[i] - bigram.max()),
            "longest_run": _longest_run(q.body, s.form) / max(1, len(q.body)),
            "hit_score": s.hit.score, "hit_score_rel": s.hit.score - top_hit, "hit_dense": s.hit.dense,
            "hit_lexical": s.hit.lexical, "hit_rank": s.hit.rank,
            "position": s.position, "sentences_in_passage": s.count,
            "first_of_document": float(s.position == 0 and s.hit.passage.paragraph == 1 and s.hit.passage.part == 0),
            "headline": float(_is_headline(s)),
            "chars": len(s.form),
            "typed": len(typed), "typed_any_unit": len(typed_any),
            "slot_anchored": sl.anchored if sl else 0, "slot_both": float(bool(sl and sl.both_sides)),
            "focus_in": float(q.focus in s.form) if q.focus else -1.0,
            "focus_in_passage": float(q.focus in form(s.hit.passage.text)) if q.focus else -1.0,
            # a role written right before the person asked about ("中央纪委书记[李希]"): who they are
            "focus_role": float(bool(extract.roles_of(q.focus, s.form))) if q.focus and not q.focus.isascii() else -1.0,
            "speech": float(bool(SPEECH.search(s.form))), "people": len(people),
            "people_new": sum(1 for p in people if p.text.lower() not in q.named),
            "typed_new": sum(1 for t in typed if t.text.lower() not in q.said),
            "cov_document": document_cov[s.hit.passage.doc_id],
            "names_in_document": names_in[s.hit.passage.doc_id],
        }
        s.features = f
        rows.append([f[n] for n in SENTENCE_FEATURES])
    return _finish(q, rows, SENTENCE_FEATURES)


def _finish(q: Question, rows: list[list[float]], names: tuple[str, ...]) -> np.ndarray:
    out = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(names))
    return _without_wording(out, names) if q.wordless else out


def _typed_spans(s: Sentence) -> list[tuple[int, int, str]]:
    out = []
    for t, fn in extract.EXTRACTORS.items():
        out += [(sp.start, sp.end, _KIND_OF_TYPE[t]) for sp in fn(s.cased)]
    for p in extract.people(s.cased):
        for role in extract.roles_of(p.text, s.form):
            if role.end == p.start:
                out.append((role.start, role.end, "role"))
    out += [(m.start(g), m.end(g), "quote") for m in _QUOTED.finditer(s.form) for g in range(1, 5) if m.group(g)]
    return out


def candidates_of(q: Question, s: Sentence) -> list[Candidate]:
    """The candidate answers in one sentence, each with the phrase that would be shown."""
    a = q.analysis
    found: dict[tuple[int, int, str], Candidate] = {}

    def add(start: int, end: int, kind: str, lo: int | None = None, hi: int | None = None) -> None:
        if end <= start or (start, end, kind) in found:
            return
        if lo is None:
            lo, hi = extract.answer_phrase(s.form, start, end, shown_limit(end - start))
        found[(start, end, kind)] = Candidate(s, start, end, lo, hi, kind)

    typed = _typed_spans(s)
    for start, end, kind in typed:
        if kind == "role":  # shown with the name it belongs to ("国务院副总理韩正")
            name_end = next((p.end for p in extract.people(s.cased) if p.start == end), end)
            add(start, end, kind, start, name_end)
            continue
        lo, hi = extract.answer_phrase(s.form, start, end, shown_limit(end - start))
        others = [(a, b) for a, b, k in typed if k == kind == "person" and (a, b) != (start, end) and lo <= a and b <= hi]
        if others:  # a person's phrase not grown over another person ("陶久娣，…党委书记倪娟"): their own clause
            lo = max((m.end() for m in _CLAUSE_END.finditer(s.form, 0, start)), default=0)
            m = _CLAUSE_END.search(s.form, end)
            hi = m.start() if m else len(s.form)
            if any(lo <= a and b <= hi for a, b in others):
                lo, hi = start, end
        add(start, end, kind, lo, hi)
    if q.focus and not q.focus.isascii():  # the role written before the person asked about
        for role in extract.roles_of(q.focus, s.form):
            add(role.start, role.end, "role", role.start, role.end + len(q.focus))
    sl = None if a.cross_lingual else extract.slot(a, s.form)
    if sl:
        add(sl.start, sl.start + len(sl.text), "slot")
    starts = [0] + [m.end() for m in _CLAUSE_END.finditer(s.form)]
    ends = starts[1:] + [len(s.form)]
    for n, lo in enumerate(starts):  # each clause, and each two in a row (answers that run on)
        for hi in ends[n:n + 2]:
            stripped = s.form[lo:hi].rstrip("，。；！？：,;!? ")
            if len(stripped) >= 2:
                add(lo, lo + len(stripped), "clause", lo, lo + len(stripped))
    add(0, len(s.form), "sentence", 0, len(s.form))
    return list(found.values())


def span_features(q: Question, ranked: list[Sentence], cands: list[Candidate]) -> np.ndarray:
    """One row of ``SPAN_FEATURES`` per candidate; ``ranked``: the sentences by score, best first."""
    a = q.analysis
    best = ranked[0].score if ranked else 0.0
    rank_of = {id(s): r for r, s in enumerate(ranked)}
    asked = _KIND_OF_TYPE.get(a.type, "")
    marks_of: dict[int, list[int]] = {}
    slot_of: dict[int, extract.Slot | None] = {}
    by_sentence_kind: dict[tuple[int, str], list[Candidate]] = {}
    kinds_in: dict[int, set[str]] = {}
    for c in cands:
        by_sentence_kind.setdefault((id(c.sentence), c.kind), []).append(c)
        kinds_in.setdefault(id(c.sentence), set()).add(c.kind)
    words = [w for w in a.content if len(w) > 1 and not a.cross_lingual]
    rows = []
    for c in cands:
        s = c.sentence
        key = id(s)
        if key not in marks_of:
            marks_of[key] = [m.start() for w in words for m in re.finditer(re.escape(w), s.form)] + \
                            [m.end() for w in words for m in re.finditer(re.escape(w), s.form)]
            slot_of[key] = None if a.cross_lingual else extract.slot(a, s.form)
        marks, sl = marks_of[key], slot_of[key]
        distance = _distance(c.start, c.end, marks)
        same = by_sentence_kind[(key, c.kind)]
        distance_rank = sorted(_distance(x.start, x.end, marks) for x in same).index(distance)
        text = c.text
        content = [ch for ch in text if _CONTENT_CHAR.match(ch)]
        in_question = sum(1 for ch in content if ch in q.chars) / len(content) if content else 0.0
        clause_lo = max((m.end() for m in _CLAUSE_END.finditer(s.form, 0, c.start)), default=0)
        m = _CLAUSE_END.search(s.form, c.end)
        clause_hi = m.start() if m else len(s.form)
        clause = s.form[clause_lo:clause_hi]
        rest = s.form[:clause_lo] + s.form[clause_hi:]
        if sl:
            lo, hi = sl.start, sl.start + len(sl.text)
            overlap = max(0, min(hi, c.end) - max(lo, c.start)) / max(1, c.end - c.start)
        else:
            overlap = 0.0
        unit_match = -1.0
        if a.units:
            unit_match = float(any(u in s.form[c.start:c.end + len(u)] for u in a.units))
        f = {
            "qtype": _TYPE_CODE[a.type], "cross_lingual": float(a.cross_lingual), "kind": _KIND_CODE[c.kind],
            "type_match": float(c.kind == asked), "near_type": float(c.kind in _NEAR_KINDS.get(asked, ())),
            "unit_match": unit_match,
            "sentence_score": s.score, "sentence_score_rel": s.score - best, "sentence_rank": rank_of.get(key, 99),
            "span_chars": c.end - c.start, "shown_chars": c.hi - c.lo, "shown_share": (c.hi - c.lo) / max(1, len(s.form)),
            "in_question": in_question, "focus_in_span": float(bool(q.focus) and q.focus in text),
            "in_slot": overlap, "is_slot": float(c.kind == "slot"),
            "slot_anchored": sl.anchored if sl else 0, "slot_both": float(bool(sl and sl.both_sides)),
            "distance": distance, "distance_rank": distance_rank,
            "clause_cov": coverage(q.terms, clause), "rest_cov": coverage(q.terms, rest) if rest else 0.0,
            "clause_bigram": _bigram_share(q.bigrams, clause),
            "focus_in_clause": float(q.focus in clause) if q.focus else -1.0,
            "window_cov": coverage(q.terms, s.form[max(0, c.start - WINDOW):c.start] + " " + s.form[c.end:c.end + WINDOW]),
            "relative_position": c.start / max(1, len(s.form)), "same_kind": len(same),
            "typed_in_sentence": float(asked in kinds_in[key]) if asked else -1.0,
            # a candidate of the type asked for in another of the sentences read ("who" answered
            # by a place here while another sentence names a person)
            "typed_elsewhere": float(any(asked in k for other, k in kinds_in.items() if other != key))
            if asked else -1.0,
        }
        c.features = f
        rows.append([f[n] for n in SPAN_FEATURES])
    return _finish(q, rows, SPAN_FEATURES)


def _distance(start: int, end: int, marks: list[int]) -> float:
    """Characters between a span and the nearest of the question's words (50 when none)."""
    if not marks:
        return 50.0
    return float(min(50, min(0 if start <= m <= end else min(abs(m - start), abs(m - end)) for m in marks)))


GATE_FEATURES = (
    "qtype", "cross_lingual", "q_terms", "top_score", "top_dense", "top_lexical", "coverage", "unseen_share",
    "best_sentence", "second_sentence", "sentences_over_half", "best_span", "span_margin",
    "answer_type_match", "answer_unit_match", "answer_in_question", "answer_focus_in_clause", "answer_predicate",
    "answer_cov", "answer_cov_context", "focus_found", "typed_found", "names_in_answer_document", "names_anywhere",
)


def unseen_share(terms: list[Term], bm25: BM25) -> float:
    """Share of the question's word weight on words this corpus never uses."""
    total = sum(t.weight for t in terms)
    unseen = sum(t.weight for t in terms if t.chinese and not t.pinyin and not any(c in bm25.idf for c in t.chinese))
    return unseen / total if total > 0 else 0.0


def gate_features(q: Question, ranked: list[Sentence], cands: list[Candidate], bm25: BM25) -> np.ndarray:
    """One row of ``GATE_FEATURES``: how well the best passages, sentences and candidate answer
    the question. ``ranked`` and ``cands`` are scored and sorted, best first."""
    a = q.analysis
    hits = {s.hit.passage.id: s.hit for s in ranked}.values()
    top = max(hits, key=lambda h: h.score)
    scores = [s.score for s in ranked]
    best = cands[0] if cands else None
    asked = _KIND_OF_TYPE.get(a.type, "")
    f = {
        "qtype": _TYPE_CODE[a.type], "cross_lingual": float(a.cross_lingual), "q_terms": len(q.terms),
        "top_score": top.score, "top_dense": top.dense, "top_lexical": top.lexical,
        "coverage": max(s.features["cov_passage"] for s in ranked), "unseen_share": unseen_share(q.terms, bm25),
        "best_sentence": scores[0], "second_sentence": scores[1] if len(scores) > 1 else 0.0,
        "sentences_over_half": sum(1 for x in scores if x >= 0.5),
        "best_span": best.score if best else -10.0,
        "span_margin": best.score - next((c.score for c in cands[1:] if c.shown != best.shown), best.score - 10.0)
        if best else 0.0,
        "answer_type_match": best.features["type_match"] if best else 0.0,
        "answer_unit_match": best.features["unit_match"] if best else 0.0,
        "answer_in_question": best.features["in_question"] if best else 1.0,
        "answer_focus_in_clause": best.features["focus_in_clause"] if best else 0.0,
        "answer_predicate": best.sentence.features["predicate"] if best else 0.0,
        "answer_cov": best.sentence.features["cov"] if best else 0.0,
        "answer_cov_context": best.sentence.features["cov_context"] if best else 0.0,
        "focus_found": float(any(q.focus in form(h.passage.text) for h in hits)) if q.focus else -1.0,
        "typed_found": float(any(c.kind == asked and c.features["unit_match"] != 0 for c in cands)) if asked else -1.0,
        "names_in_answer_document": best.sentence.features["names_in_document"] if best else -1.0,
        "names_anywhere": q.names_in(" ".join(form(h.passage.doc_title + " " + h.passage.text) for h in hits)),
    }
    return _finish(q, [[f[n] for n in GATE_FEATURES]], GATE_FEATURES)


def read_sentences(q: Question, hits: list[Hit], vectors, query_vector: np.ndarray) -> tuple[list[Sentence], np.ndarray,
                                                                                                 np.ndarray]:
    """The sentences of ``hits`` with their vectors (``vectors(texts)``) and feature rows. An
    English question naming someone in pinyin gets that person as its focus."""
    from corpus.clean import match_form
    from embeddings.lexical import pinyin_terms

    sentences = sentences_of(hits)
    if not sentences:
        return [], np.zeros((0, len(query_vector)), dtype=np.float32), np.zeros((0, len(SENTENCE_FEATURES)))
    a = q.analysis
    if a.cross_lingual and a.pinyin and not q.focus:
        # the sentences read, then their documents' titles ("李华考察江城电厂…" for a passage that
        # says only "副省长陈强陪同考察")
        texts = [s.cased for s in sentences] + [to_simplified(t) for t in dict.fromkeys(s.hit.passage.doc_title
                                                                                      for s in sentences)]
        spelled = [p.text for text in texts for p in extract.people(text) if set(pinyin_terms(p.text)) & set(a.pinyin)]
        q.focus = form(spelled[0]) if spelled else ""
    vecs = vectors([match_form(s.original) for s in sentences])
    return sentences, vecs, sentence_features(q, sentences, vecs @ query_vector)


def shown_limit(answer_chars: int) -> int:
    """How long the phrase shown around an answer may grow: short answers get a short context
    (the evaluation's "short answer" is at most 3x the answer plus 30 characters)."""
    return min(40, 30 + 2 * answer_chars)


WINDOW = 12  # characters each side of a candidate whose words are compared with the question's
_NUMERIC = {AnswerType.NUMBER: "number", AnswerType.DURATION: "duration"}
_SPANS = frozenset(_KIND_OF_TYPE.values()) | {"quote"}


def _states_occupation(person: str, c: Candidate) -> bool:
    """Whether the phrase shown for ``c`` says what ``person`` is: a title or occupation after
    the name, with no other person named in between (in "王勇、肖捷，…负责人出席" the title is
    someone else's)."""
    text = c.sentence.form
    at = text.find(person)
    if at < 0 or not c.lo <= at < c.hi:
        return False
    after = at + len(person)
    m = extract.occupation_after(text, after, c.hi)
    if m is None:
        return False
    clause = _CLAUSE_END.search(text, m)
    clause_end = clause.start() if clause else len(text)
    others = [p.start for p in extract.people(c.sentence.cased) if p.start >= after]
    # no one named between the person and the title, nor right after the title in its clause
    # ("王瑞连，省委常委、武汉市委书记王忠林": that title is 王忠林's)
    return not any(p < m or p < clause_end for p in others)


def eligible(q: Question, c: Candidate) -> bool:
    """Whether a candidate can be the answer at all, by its form: a span the question already
    says is not its answer; "how many / how long" is answered by a number or duration (in the
    unit asked for), "which year / day" by a date of that unit, and "what post does X hold" by a
    role written with X's name (or the question's own wording around the gap)."""
    a = q.analysis
    if c.kind in _SPANS and q.said and c.text in q.said:
        return False
    if c.kind == "person" and c.text in q.named:  # the person asked about (also as an English question spells them)
        return False
    unit_ok = c.features.get("unit_match", -1.0) != 0
    # a date, number or duration is the date or number of what the question asks about: its
    # sentence mentions the question's predicate ("建于" in "建于哪一年"), unless the question's own
    # wording stands around it (the slot)
    about = c.kind == "slot" or not q.predicate or c.sentence.features.get("predicate", 1.0) > 0
    if a.type in _NUMERIC:
        return c.kind == _NUMERIC[a.type] and unit_ok and about
    if a.type is AnswerType.TIME and a.units:
        return c.kind == "time" and unit_ok and about
    if a.type is AnswerType.TIME and c.kind == "time" and not about:
        return False
    if a.type is AnswerType.ROLE and q.focus:
        if c.kind == "role":
            return c.sentence.form[c.end:c.hi] == q.focus
        # the slot or a clause that says what the person is ("X，巴西足球运动员", "X以普通党员身份"),
        # not one that only names them ("X参加调研")
        if c.kind == "slot" and c.features.get("slot_both") and q.focus in c.sentence.form:
            return True  # the question's own wording on both sides, in a sentence about them ("以[普通党员]身份到")
        return c.kind in ("slot", "clause", "sentence") and _states_occupation(q.focus, c)
    return True


def _titled_as_asked(q: Question, c: Candidate) -> bool:
    """Whether the role the text writes before person ``c`` ends with the title the question
    puts right after its question phrase ("还有哪位[国务院副总理]一同前往" - "国务院副总理韩正")."""
    after = form(q.analysis.after)
    if q.analysis.cross_lingual or len(after) < 2:
        return False
    return any(role.text.endswith(after[:k]) for role in extract.roles_of(c.text, c.sentence.form)
               for k in range(len(after), 1, -1))


def answers_in_order(q: Question, cands: list[Candidate]) -> list[Candidate]:
    """The eligible candidates, scored, best first; for "what post does X hold", the role the
    text writes right before X's name first when there is one ("组织部部长王瑞连"), after the slot
    when the question's wording stands on both its sides."""
    ok = sorted((c for c in cands if eligible(q, c)), key=lambda c: -c.score)
    if q.analysis.cross_lingual:
        # An English question reaches the text through dictionary senses, which match in any
        # document ("concerns" -> 有关); its names do not: documents that name none of what it names
        # come last ("…during Ma Ying-jeou's visit": not a report on another visit)
        ok = [c for c in ok if c.sentence.features.get("names_in_document") != 0] + \
             [c for c in ok if c.sentence.features.get("names_in_document") == 0]
    if q.analysis.type is AnswerType.ROLE:  # the question's own wording on both sides first ("以[…]身份到")
        first = [c for c in ok if c.kind == "slot" and c.features.get("slot_both")]
        first += [c for c in ok if c.kind == "role"]
        return first + [c for c in ok if c not in first]
    if q.analysis.type is AnswerType.PLACE and q.analysis.units:  # "哪个村": a name ending in 村 first
        first = [c for c in ok if c.kind in ("place", "organisation") and c.features.get("unit_match") == 1]
        return first + [c for c in ok if c not in first]
    if q.analysis.type is AnswerType.PERSON:  # "哪位副总理…": a person the text gives that title first
        titled = [c for c in ok if c.kind == "person" and _titled_as_asked(q, c)]
        if titled:
            return titled + [c for c in ok if c not in titled]
    if q.analysis.type is AnswerType.PERSON and (q.asked or q.asked_words):
        # the sentence that says the deed asked about ("谁陪同"), not the scene the question sets
        first = [c for c in ok if c.sentence.features.get("asked_predicate", 0.0) > 0] if q.asked_own else []
        if not first and q.asked_words:  # the deed in other words: a person where the question's own words are
            first = [c for c in ok if c.kind == "person" and any(w in c.sentence.form for w in q.asked_words)]
        return first + [c for c in ok if c not in first]
    return ok


def read_spans(q: Question, ranked: list[Sentence], top: int) -> tuple[list[Candidate], np.ndarray]:
    """The candidates of the ``top`` best sentences (``ranked``: scored, best first) and their rows."""
    cands = [c for s in ranked[:top] for c in candidates_of(q, s)]
    return cands, span_features(q, ranked, cands)
