"""BM25 over Chinese word segments (jieba) of the simplified text."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

_jieba_lock = threading.Lock()
_WORD = re.compile(r"[\w\u3400-\u9fff]")
# Function words and question words: they say what is asked, not what about.
STOPWORDS = frozenset(
    ["的", "了", "是", "在", "和", "与", "及", "也", "都", "就", "而", "并", "还", "又", "要", "把", "被", "对", "为", "以", "于", "从", "向", "等", "着", "过", "吗", "呢", "吧", "啊", "么", "什么", "哪些", "哪个", "哪", "谁", "怎么", "怎样", "如何", "为什么", "多少", "几", "哪天", "哪里", "这", "那", "这次", "这个", "那个", "有", "没有", "是否", "一", "个", "上", "中", "下", "里", "说", "请", "问", "呀", "之", "其", "该", "会", "能", "可以", "应该", "the", "a", "an", "of", "to", "in", "on", "at", "for", "is", "are", "was", "were", "be", "been", "did", "do", "does", "what", "which", "who", "whom", "how", "when", "where", "why", "about", "according", "article", "and", "or", "with", "by", "from", "that", "this", "it", "its", "he", "she", "they"]
)


def _segmenter():
    with _jieba_lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba


def tokenize(text: str) -> list[str]:
    """Search-mode jieba segments of already-normalised (simplified, lower-case) text,
    without punctuation and stopwords."""
    jieba = _segmenter()
    return [t for t in jieba.lcut_for_search(text) if _WORD.search(t) and t.strip() and t not in STOPWORDS]


class BM25:
    """Okapi BM25 (k1, b) with a score normalised by the query's own best possible score,
    so 0 means nothing matched and 1 means every query term matched strongly."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.n = len(docs)
        self.doc_len = np.array([len(d) for d in docs], dtype=np.float32)
        self.avgdl = float(self.doc_len.mean()) if self.n else 1.0
        self.postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(docs):
            for term, tf in Counter(doc).items():
                self.postings.setdefault(term, []).append((i, tf))
        self.idf = {
            t: math.log(1 + (self.n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()
        }

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """Raw BM25 score of every document."""
        out = np.zeros(self.n, dtype=np.float32)
        norm = self.k1 * (1 - self.b + self.b * self.doc_len / max(self.avgdl, 1e-9))
        for term in set(query_terms):
            postings = self.postings.get(term)
            if not postings:
                continue
            idx = np.fromiter((p[0] for p in postings), dtype=np.int64, count=len(postings))
            tf = np.fromiter((p[1] for p in postings), dtype=np.float32, count=len(postings))
            out[idx] += self.idf[term] * tf * (self.k1 + 1) / (tf + norm[idx])
        return out

    def max_score(self, query_terms: Sequence[str]) -> float:
        """The score of an ideal document holding every query term that the corpus knows
        (unknown terms have the highest idf, so they count too: a query about things the
        corpus never mentions can never look like a strong match)."""
        unseen = math.log(1 + (self.n + 0.5) / 0.5)
        return sum(self.idf.get(t, unseen) * (self.k1 + 1) / 2 for t in set(query_terms)) or 1.0

    def normalised_scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """Scores divided by ``max_score``, clipped to [0, 1]."""
        return np.clip(self.scores(query_terms) / self.max_score(query_terms), 0.0, 1.0)
