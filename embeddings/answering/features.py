"""What the learned selection knows about the candidates (``candidates``: every sentence of the
best passages, and in them typed spans, roles, the slot, quoted names, clauses and the whole
sentence). The features describe each candidate in general terms — how
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
from collections.abc import Collection

import numpy as np

from corpus.clean import to_simplified
from embeddings.answering import extract, slots
from embeddings.answering.candidates import (
    CLAUSE_END,
    CONTENT_CHAR,
    KIND_OF_TYPE,
    NEAR_KINDS,
    SPEECH,
    Candidate,
    Question,
    Sentence,
    candidates_of,
    form,
    sentences_of,
)
from embeddings.answering.gate import Term, coverage, local_weights
from embeddings.answering.question import AnswerType
from embeddings.lexical import BM25
from embeddings.search import Hit

# The kinds of candidate, as codes for the models (a categorical feature).
KINDS = ("person", "time", "duration", "number", "place", "organisation", "role", "slot", "quote", "clause",
         "sentence")


_KIND_CODE = {k: i for i, k in enumerate(KINDS)}


_TYPE_CODE = {t: i for i, t in enumerate(AnswerType)}


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
    "cov_untitled", "untitled_share", "topic_in_document",
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
                              "answer_in_question", "topic_in_document", "topic_answer", "topic_best",
                              "noun_pairs_answer", "noun_pairs_best"})


def _without_wording(rows: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    for i, n in enumerate(names):
        if n in WORDING_FEATURES:
            rows[:, i] = np.nan
        elif n == "cross_lingual":
            rows[:, i] = 1.0
    return rows


def _bigram_share(q: Collection[str], text: str) -> float:
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


def _topic_share(topic: str, text: str) -> float:
    """How much of the question's opening noun phrase ``text`` writes in one piece (-1 without one):
    1.0 for a document about it, 0.5 for 大沙地站 when 大沙东站 is asked about."""
    return _longest_run(topic, text) / len(topic) if topic else -1.0


def _untitled(terms: list[Term], title: str) -> list[Term]:
    """The question's words that a document's title does not hold: in a document about the thing
    asked, the title's words are in every sentence by implication, so these say which sentence."""
    return [t for t in terms if not any(c in title for c in t.chinese)]


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
    topic_in = {d: _topic_share(q.topic, text) for d, text in by_document.items()}
    # the share of the character pairs spelling the question's nouns (``question.noun_pairs``), -1 without
    pairs_in = {d: _bigram_share(q.noun_pairs, text) if q.noun_pairs else -1.0 for d, text in by_document.items()}
    untitled = {d: _untitled(q.terms, form(t)) for d, t in {s.hit.passage.doc_id: s.hit.passage.doc_title
                                                               for s in sentences}.items()}
    total = sum(t.weight for t in q.terms)
    rows = []
    for i, s in enumerate(sentences):
        same = by_passage[s.hit.passage.id]
        context = "".join(x.form for x in same if abs(x.position - s.position) <= 1)
        typed = extract.typed_candidates(a.type, s.cased, a.units) if a.type.typed else []
        typed_any = extract.typed_candidates(a.type, s.cased) if a.type.typed and a.units else typed
        sl = None if a.cross_lingual else slots.slot(a, s.form)
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
            "cov_untitled": coverage(untitled[s.hit.passage.doc_id], s.form)
            if untitled[s.hit.passage.doc_id] else -1.0,
            "untitled_share": sum(t.weight for t in untitled[s.hit.passage.doc_id]) / total if total > 0 else -1.0,
            "topic_in_document": topic_in[s.hit.passage.doc_id],
            # for the gate only (not in SENTENCE_FEATURES)
            "noun_pairs_in_document": pairs_in[s.hit.passage.doc_id],
        }
        s.features = f
        rows.append([f[n] for n in SENTENCE_FEATURES])
    return _finish(q, rows, SENTENCE_FEATURES)


def _finish(q: Question, rows: list[list[float]], names: tuple[str, ...]) -> np.ndarray:
    out = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(names))
    return _without_wording(out, names) if q.wordless else out


def span_features(q: Question, ranked: list[Sentence], cands: list[Candidate]) -> np.ndarray:
    """One row of ``SPAN_FEATURES`` per candidate; ``ranked``: the sentences by score, best first."""
    a = q.analysis
    best = ranked[0].score if ranked else 0.0
    rank_of = {id(s): r for r, s in enumerate(ranked)}
    asked = KIND_OF_TYPE.get(a.type, "")
    marks_of: dict[int, list[int]] = {}
    slot_of: dict[int, slots.Slot | None] = {}
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
            slot_of[key] = None if a.cross_lingual else slots.slot(a, s.form)
        marks, sl = marks_of[key], slot_of[key]
        distance = _distance(c.start, c.end, marks)
        same = by_sentence_kind[(key, c.kind)]
        distance_rank = sorted(_distance(x.start, x.end, marks) for x in same).index(distance)
        text = c.text
        content = [ch for ch in text if CONTENT_CHAR.match(ch)]
        in_question = sum(1 for ch in content if ch in q.chars) / len(content) if content else 0.0
        clause_lo = max((m.end() for m in CLAUSE_END.finditer(s.form, 0, c.start)), default=0)
        m = CLAUSE_END.search(s.form, c.end)
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
            "type_match": float(c.kind == asked), "near_type": float(c.kind in NEAR_KINDS.get(asked, ())),
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
    "topic_answer", "topic_best", "answer_cov_untitled", "noun_pairs_answer", "noun_pairs_best",
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
    asked = KIND_OF_TYPE.get(a.type, "")
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
        "topic_answer": best.sentence.features["topic_in_document"] if best else -1.0,
        "topic_best": max(s.features["topic_in_document"] for s in ranked),
        "answer_cov_untitled": best.sentence.features["cov_untitled"] if best else -1.0,
        "noun_pairs_answer": best.sentence.features["noun_pairs_in_document"] if best else -1.0,
        "noun_pairs_best": max(s.features["noun_pairs_in_document"] for s in ranked),
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


WINDOW = 12  # characters each side of a candidate whose words are compared with the question's


def read_spans(q: Question, ranked: list[Sentence], top: int) -> tuple[list[Candidate], np.ndarray]:
    """The candidates of the ``top`` best sentences (``ranked``: scored, best first) and their rows."""
    cands = [c for s in ranked[:top] for c in candidates_of(q, s)]
    return cands, span_features(q, ranked, cands)
