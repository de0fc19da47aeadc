"""BM25 over Chinese word segments (jieba) of the simplified text."""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from corpus.clean import is_plain_pinyin_syllable
from corpus.words import segmenter, tag  # noqa: F401 - tag is part of this module's API

log = logging.getLogger(__name__)

_WORD = re.compile(r"[\w\u3400-\u9fff]")
# Function words and question words: they say what is asked, not what about.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 也 都 就 而 并 还 又 要 把 被 对 为 以 于 从 向 等 着 过 吗 呢 吧 啊 么 "
    "什么 哪些 哪个 哪 谁 怎么 怎样 如何 为什么 多少 几 哪天 哪里 这 那 这次 这个 那个 有 没有 "
    "是否 一 个 上 中 下 里 说 请 问 呀 之 其 该 会 能 可以 应该 "
    "the a an of to in on at for is are was were be been did do does what which who whom how when "
    "where why about according article and or with by from that this it its he she they".split()
)


def tokenize(text: str) -> list[str]:
    """Search-mode jieba segments of already-normalised (simplified, lower-case) text,
    without punctuation and stopwords."""
    jieba = segmenter()
    return [t for t in jieba.lcut_for_search(text) if _WORD.search(t) and t.strip() and t not in STOPWORDS]


@lru_cache(maxsize=8192)
def segment(text: str) -> tuple[str, ...]:
    """Precise-mode jieba words of normalised text, punctuation and blanks dropped."""
    jieba = segmenter()
    return tuple(t for t in jieba.lcut(text) if _WORD.search(t) and t.strip())


def word_frequency(word: str) -> int:
    """How often jieba's dictionary has seen ``word`` (0 when unknown)."""
    return segmenter().dt.FREQ.get(word) or 0


_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z]+")


def pinyin_terms(text: str) -> list[str]:
    """Passage side of the pinyin channel: the toneless pinyin of every 2 and 3 consecutive
    Han characters (``应勇`` -> ``yingyong``, ``青和居`` -> ``qingheju``), so English questions
    that spell Chinese names and places can match them."""
    from pypinyin import lazy_pinyin  # noqa: PLC0415 - loads its dictionary on first use

    out = []
    for run in _HAN_RUN.findall(text):
        syllables = lazy_pinyin(run, v_to_u=False)
        if len(syllables) != len(run):
            continue
        for n in (2, 3):
            out.extend("".join(syllables[i : i + n]) for i in range(len(syllables) - n + 1))
    return out


@lru_cache(maxsize=4096)
def _splits_into(word: str, n: int) -> bool:
    """Whether ``word`` is exactly ``n`` toneless pinyin syllables."""
    if n == 1:
        return is_plain_pinyin_syllable(word)
    return any(is_plain_pinyin_syllable(word[:i]) and _splits_into(word[i:], n - 1)
               for i in range(1, min(len(word), 6) + 1))


def latin_pinyin_terms(text: str) -> list[str]:
    """Query side: runs of 1-3 Latin words that spell 2 or 3 pinyin syllables
    (``Ying Yong`` -> ``yingyong``, ``Donghu`` -> ``donghu``)."""
    words = _LATIN_WORD.findall(text.lower())
    out = []
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            joined = "".join(words[i : i + n])
            if len(joined) <= 18 and (_splits_into(joined, 2) or _splits_into(joined, 3)):
                out.append(joined)
    return out


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

    def max_score(self, query_terms: Sequence[str], count_unknown: bool = True) -> float:
        """The score of an ideal document holding every query term. Terms the corpus does
        not know count with the highest idf, so a query about things the corpus never
        mentions never looks like a strong match. With ``count_unknown`` False (pinyin
        spellings, where most English words are no term at all) unknown terms are left out
        and every known term counts with the highest idf, so a name that occurs almost
        everywhere adds little."""
        unseen = math.log(1 + (self.n + 0.5) / 0.5)
        terms = set(query_terms)
        if count_unknown:
            total = sum(self.idf.get(t, unseen) for t in terms)
        else:
            total = unseen * sum(1 for t in terms if t in self.idf)
        return total * (self.k1 + 1) / 2 or 1.0

    def normalised_scores(self, query_terms: Sequence[str], count_unknown: bool = True) -> np.ndarray:
        """Scores divided by ``max_score``, clipped to [0, 1]."""
        return np.clip(self.scores(query_terms) / self.max_score(query_terms, count_unknown), 0.0, 1.0)
