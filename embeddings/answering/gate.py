"""What the question asks about, weighed: the terms whose presence in a passage or sentence the
learned gate and the candidate features measure ("coverage"), and how the gate's decision is
set.

A single threshold on the best passage's similarity cannot tell "应勇喜欢吃什么？" from
"应勇强调了什么？": on-topic passages always score high. The gate (``selector``) therefore
weighs, besides the scores, how much of the question's words the best passages hold: each
word by its idf in this corpus (a word the corpus never uses weighs the most; verbs, where
questions reword, half; two words the question writes together also as that phrase), found in
one of the best passages, its section and title. Abbreviations count (减轻负担 -> 减负).
English words are looked for through their dictionary translations, names through their pinyin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

from embeddings.answering.question import QuestionAnalysis
from embeddings.dictionary import ENGLISH_STOPWORDS, phrases
from embeddings.lexical import BM25, STOPWORDS, pinyin_terms, tag


@dataclass(frozen=True)
class GateParams:
    """How the learned gate decides. ``answer_at``: the probability (that the passages answer
    the question) from which an answer is given; None takes the threshold committed with the
    models (chosen on the training data: ``models/manifest.json`` says how); 0 answers whatever
    is found (for measuring, ``qabot eval --gate-open``)."""

    answer_at: float | None = None

    @classmethod
    def open(cls) -> GateParams:
        return cls(answer_at=0.0)

    def threshold(self, learned: float) -> float:
        return learned if self.answer_at is None else self.answer_at


@dataclass(frozen=True)
class Term:
    """One thing the evidence should hold: a word (any of its Chinese forms, or any of its
    pinyin spellings in the text's pinyin), or two words the question writes together."""

    weight: float
    chinese: frozenset[str] = frozenset()
    pinyin: frozenset[str] = frozenset()
    phrase: bool = False  # found only as written: no credit for its parts
    name: bool = False  # a name (spelled in pinyin, or a proper noun of the dictionary): not a predicate


def _idf(bm25: BM25, word: str) -> float:
    return bm25.word_idf(word)


def predicate_terms(analysis: QuestionAnalysis, bm25: BM25) -> list[Term]:
    """The question's verbs ("建于", "出道"): what a date or number must be the date or number
    of. English questions (no part-of-speech tags here) use their words other than names
    ("population" in "What is the population of Wuhan?")."""
    if analysis.cross_lingual:  # as written: a character shared with some translation is no evidence
        return [replace(t, phrase=True) for t in weighted_terms(analysis, bm25) if not t.pinyin and not t.name]
    flags = dict(tag(analysis.normalised))
    return [Term(_idf(bm25, w), frozenset({w})) for w in analysis.content
            if flags.get(w, "").startswith("v") and flags.get(w) != "vn"]


def weighted_terms(analysis: QuestionAnalysis, bm25: BM25, verb_weight: float | None = None) -> list[Term]:
    """The question's content words, weighted by idf in this corpus (words it never uses weigh
    the most); for Chinese also each pair of content words the question writes side by side
    ("马岛灵猫"): an article about 马岛长尾狸猫 that mentions 灵猫 elsewhere holds both words,
    but not the thing asked about. English words count through their dictionary
    translations, and names through their pinyin. ``verb_weight`` overrides VERB_WEIGHT."""
    verb_weight = VERB_WEIGHT if verb_weight is None else verb_weight
    out = []
    if not analysis.cross_lingual:
        words = list(analysis.content)
        flags = dict(tag(analysis.normalised))
        for w in words:
            verb = flags.get(w, "").startswith("v") and flags.get(w) != "vn"
            out.append(Term(_idf(bm25, w) * (verb_weight if verb else 1.0), frozenset({w})))
        body = analysis.normalised
        for w1, w2 in zip(words, words[1:]):
            if w1 + w2 in body and len(w1 + w2) >= 3:
                out.append(Term(PHRASE_WEIGHT * min(_idf(bm25, w1), _idf(bm25, w2)), frozenset({w1 + w2}), phrase=True))
        return out
    unseen = bm25.unseen_idf
    names: set[frozenset[str]] = set()
    found = phrases(analysis.text, STOPWORDS | ENGLISH_STOPWORDS)
    in_phrase = {w for p in found for w in p.english.split()}
    for lemma in analysis.content:
        runs = frozenset(r for r in analysis.pinyin if lemma in r)
        if runs and lemma not in in_phrase:  # part of a name spelled in pinyin: the name counts once
            if not any(runs & n for n in names):
                names.add(runs)
                out.append(Term(1.0, pinyin=runs, name=True))
        elif not runs and lemma not in in_phrase and not any(lemma in p.english for p in found):
            out.append(Term(unseen / 4, frozenset()))  # a word the dictionary does not know
    for p in found:
        weights = [bm25.idf[w] for w in p.chinese if w in bm25.idf]
        # Phrases weigh what their rarest translation in the corpus does; phrases the corpus never
        # uses weigh half an unseen word (the dictionary may lack the sense).
        out.append(Term(max(weights) if weights else unseen / 2, p.chinese, name=p.proper))
    return out


PHRASE_WEIGHT = 0.5
# Verbs are where a question rewords the text (发言 for 介绍, 陪同 for 参加); names and nouns say
# what it is about. A verb counts half.
VERB_WEIGHT = 0.5


def local_weights(terms: list[Term], texts: list[str]) -> list[Term]:
    """The terms reweighted for telling ``texts`` apart: each weight times an idf over the
    texts themselves, so a word every text holds counts little."""
    n = len(texts)
    out = []
    for t in terms:
        df = sum(1 for x in texts if any(c in x for c in t.chinese)) if t.chinese else n / 2
        out.append(replace(t, weight=t.weight * math.log(1 + (n + 0.5) / (df + 0.5))))
    return out


def coverage(terms: list[Term], text: str, text_pinyin: frozenset[str] | None = None) -> float:
    """Share of the terms' weight found in the simplified ``text`` (1.0 when there are none)."""
    total = sum(t.weight for t in terms)
    if total <= 0:
        return 1.0
    if text_pinyin is None and any(t.pinyin for t in terms):
        text_pinyin = frozenset(pinyin_terms(text))
    found = 0.0
    for t in terms:
        if any(c in text for c in t.chinese) or (t.pinyin and text_pinyin and t.pinyin & text_pinyin):
            found += t.weight
        elif not t.phrase and t.chinese:
            found += t.weight * max(_partial(c, text) for c in t.chinese)
    return found / total


def _partial(word: str, text: str) -> float:
    """Credit for a Chinese word that ``text`` does not hold as such. Chinese abbreviates a
    compound by the first character of each word (减轻负担 -> 减负, 环境保护 -> 环保): full
    credit. Otherwise a compound counts for the words it is made of (``队伍建设``), and a
    two-character word a quarter per character found."""
    if word in text:
        return 1.0
    parts = _parts(word)
    if len(parts) >= 2 and "".join(p[0] for p in parts) in text:
        return 1.0
    if parts:
        return sum(_partial(p, text) for p in parts) / len(parts)
    return 0.25 * sum(c in text for c in word) if len(word) == 2 else 0.0


@lru_cache(maxsize=16_384)
def _parts(word: str) -> tuple[str, ...]:
    """The shorter words jieba finds inside a compound (``队伍建设`` -> 队伍, 建设); cached: the
    answer step asks for the same question words in every clause it reads."""
    from embeddings.lexical import tokenize

    return tuple(t for t in tokenize(word) if t != word and len(t) > 1) if len(word) > 2 else ()
