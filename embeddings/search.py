"""Hybrid search: dense similarity from the vector store sharpened by BM25, fused by score."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from corpus.clean import match_form
from corpus.model import Passage
from embeddings.encoders.encoder import Encoder
from embeddings.index.load import LoadedIndex
from embeddings.dictionary import ENGLISH_STOPWORDS, phrases
from embeddings.lexical import BM25, STOPWORDS, latin_pinyin_terms, pinyin_terms, tokenize

_HAN = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Hit:
    """A passage found for a query, with the scores that ranked it."""

    passage: Passage
    score: float  # fused: dense + lexical_weight * lexical
    dense: float  # cosine similarity
    lexical: float  # BM25 over the query's best possible BM25 (pinyin spellings too), in [0, 1]
    rank: int  # in the fused retrieval (the answer step may reorder hits; this stays)


@dataclass(frozen=True)
class FusionParams:
    """Score-aware fusion. Reciprocal-rank fusion gives BM25's noise full weight when no
    query term occurs in the corpus (English questions); adding the normalised BM25 score,
    which is 0 in that case, does not."""

    lexical_weight: float = 0.2
    # Share of the lexical weight given to pinyin matches of Latin-script queries.
    pinyin_share: float = 0.1
    dense_candidates: int = 100
    # Weight of how much of the question the passage's document title holds. A short passage
    # ("何立峰、王勇、肖捷陪同考察。") names nothing of what it is about; its title does. The
    # same for every passage of one document, so it orders documents, never passages within one.
    title_weight: float = 0.1


def search(index: LoadedIndex, encoder: Encoder, query: str, k: int = 5,
           params: FusionParams = FusionParams(), query_vector: np.ndarray | None = None) -> list[Hit]:
    """The ``k`` best passages for ``query``, best first."""
    if index.size == 0 or not query.strip():
        return []
    normalised = match_form(query)
    qv = query_vector if query_vector is not None else encoder.encode_queries([normalised])[0]
    qv = np.asarray(qv, dtype=np.float32).ravel()
    n = min(index.size, max(params.dense_candidates, k))
    dense_scores, ids = index.vectors.search(qv, n)
    dense = {int(i): float(s) for i, s in zip(ids, dense_scores)}

    spelled = latin_pinyin_terms(normalised)  # names and places written in pinyin ("Ying Yong", "Donghu")
    if _HAN.search(normalised):
        tokens = tokenize(normalised)
        lexical = index.bm25.normalised_scores(tokens)
        if spelled:
            pinyin = index.pinyin_bm25.normalised_scores(spelled, count_unknown=False)
            lexical = np.maximum(lexical, params.pinyin_share * pinyin)
        weights = tuple((frozenset({t}), index.bm25.word_idf(t)) for t in dict.fromkeys(tokens))
    else:
        groups = english_groups(query, index.bm25)
        lexical = english_lexical(index.bm25, index.pinyin_bm25, query, groups, spelled)
        weights = _english_weights(index.bm25, groups, spelled)
    # The strongest lexical matches join the candidates; their dense score is computed exactly.
    matched = np.flatnonzero(lexical > 0)
    if len(matched) > params.dense_candidates:
        matched = matched[np.argpartition(-lexical[matched], params.dense_candidates)[: params.dense_candidates]]
    extra = [int(i) for i in matched if int(i) not in dense]
    if extra:
        vectors = index.vectors.get(extra)
        dense.update(zip(extra, (vectors @ qv).tolist()))

    w = params.lexical_weight
    fused = {i: dense[i] + w * float(lexical[i]) for i in dense}
    passages = {}
    if params.title_weight and weights:
        # the titles are read for the best candidates only: the prior cannot lift a passage further
        pool = sorted(fused, key=fused.__getitem__, reverse=True)[: max(4 * k, 50)]
        passages = {i: index.passages[i] for i in pool}
        for i, p in passages.items():
            fused[i] += params.title_weight * _title_share(weights, p.doc_title)
    ranked = sorted(fused, key=fused.__getitem__, reverse=True)[:k]
    return [Hit(passages.get(i) or index.passages[i], fused[i], dense[i], float(lexical[i]), r)
            for r, i in enumerate(ranked, 1)]


def _english_weights(bm25: BM25, groups: list[list[tuple[str, ...]]],
                     spelled: list[str]) -> tuple[tuple[frozenset[str], float], ...]:
    """An English question's words for the title prior, as (the terms any of which stands for it,
    its idf): each word as the Chinese terms of its senses that the corpus holds (a Chinese
    question's are its segmented words, each with its idf)."""
    out = []
    for group in groups:
        terms = frozenset(t for alt in group for t in alt)
        out.append((terms, max(sum(bm25.word_idf(t) for t in alt) for alt in group)))
    if spelled:  # a name in pinyin ("Li Hua"): as rare as a name is
        out.append((frozenset(spelled), bm25.unseen_idf))
    return tuple(out)


@lru_cache(maxsize=4096)
def _title_terms(title: str) -> frozenset[str]:
    """A title's words, and the pinyin of its names (for a question that spells them)."""
    form = match_form(title)
    return frozenset(tokenize(form)) | frozenset(pinyin_terms(form))


def _title_share(weights: tuple[tuple[frozenset[str], float], ...], title: str) -> float:
    """The idf-weighted share of the question's words that a document title holds."""
    terms = _title_terms(title)
    total = sum(w for _, w in weights)
    return sum(w for alts, w in weights if alts & terms) / total if total else 0.0


def english_groups(query: str, bm25: BM25) -> list[list[tuple[str, ...]]]:
    """An English question's phrases as groups of the Chinese terms this corpus holds: each
    dictionary sense as a term, or as the terms the segmenter makes of it ("国家电网公司")."""
    groups = []
    for p in phrases(query, STOPWORDS | ENGLISH_STOPWORDS):
        alternatives = []
        for word in sorted(p.chinese):
            alt = (word,) if word in bm25.idf else tuple(t for t in tokenize(word) if t != word)
            if alt and all(t in bm25.idf for t in alt):
                alternatives.append(alt)
        if alternatives:
            groups.append(alternatives)
    return groups


def english_lexical(bm25: BM25, pinyin_bm25: BM25, query: str, groups: list | None = None,
                    spelled: list[str] | None = None) -> np.ndarray:
    """The lexical score of an English question, in [0, 1]: its phrases through the dictionary
    (``english_groups``) and the names it spells in pinyin, each one group, normalised together.
    ``groups`` and ``spelled``: the query's, when the caller has them already."""
    words, words_best = bm25.group_scores(english_groups(query, bm25) if groups is None else groups)
    spelled = latin_pinyin_terms(match_form(query)) if spelled is None else spelled
    names, names_best = pinyin_bm25.group_scores([[(t,)] for t in spelled])
    best = words_best + names_best
    return np.clip((words + names) / best, 0.0, 1.0) if best else np.zeros(bm25.n, dtype=np.float32)
