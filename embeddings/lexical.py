"""BM25 over Chinese word segments (jieba) of the simplified text."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from corpus.clean import is_plain_pinyin_syllable
from corpus.words import segmenter, tag  # noqa: F401 - tag is part of this module's API

log = logging.getLogger(__name__)


def _bm25s():
    import bm25s  # noqa: PLC0415 - with its numpy arrays, only needed once an index exists

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # its import sets DEBUG: a line per build
    return bm25s

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
    return _without_stopwords(segmenter().lcut_for_search(text))


def _without_stopwords(raw: list[str]) -> list[str]:
    return [t for t in raw if _WORD.search(t) and t.strip() and t not in STOPWORDS]


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


# jieba's tags for proper names: person, place, organisation, other proper noun
NAME_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz"})


def _is_name(word: str) -> bool:
    """A proper name by jieba's dictionary tag, or a word of 2+ Han characters its dictionary
    does not know (found by its HMM: in news and encyclopaedia text mostly names, like 应勇)."""
    import jieba.posseg  # noqa: PLC0415 - the tag table of the dictionary segmenter() loaded

    flag = jieba.posseg.dt.word_tag_tab.get(word)
    if flag is not None:
        return flag in NAME_TAGS
    return len(word) >= 2 and _HAN_RUN.fullmatch(word) is not None and not word_frequency(word)


def passage_terms(text: str) -> tuple[list[str], list[str]]:
    """What the index holds of a passage, from one segmentation: its search terms (as
    ``tokenize``) and the pinyin of the names among them (as ``name_pinyin_terms``)."""
    raw = segmenter().lcut_for_search(text)
    return _without_stopwords(raw), [p for word in dict.fromkeys(w for w in raw if _is_name(w)) for p in pinyin_terms(word)]


def name_pinyin_terms(text: str) -> list[str]:
    """Index side of the pinyin channel: ``pinyin_terms`` of the names in ``text`` only (people,
    places, organisations), which is what an English question spells in pinyin; the pinyin of
    every character pair would be most of the lexical index for no gain."""
    return passage_terms(text)[1]


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


class _Idf(Mapping):
    """A term's idf, looked up in the index's vocabulary and document frequencies rather than
    kept in a dict of its own (a million-passage vocabulary would cost hundreds of MB twice)."""

    def __init__(self, vocab: dict[str, int], doc_freq: np.ndarray, n: int):
        self._vocab, self._df, self._n = vocab, doc_freq, n

    def __getitem__(self, term: str) -> float:
        i = self._vocab[term] if term else len(self._df)
        if i >= len(self._df) or self._df[i] == 0:
            raise KeyError(term)
        df = float(self._df[i])
        return math.log(1 + (self._n - df + 0.5) / (df + 0.5))

    def __contains__(self, term: object) -> bool:
        i = self._vocab.get(term) if term else None  # type: ignore[arg-type]
        return i is not None and i < len(self._df) and self._df[i] > 0

    def __iter__(self) -> Iterator[str]:
        return (t for t in self._vocab if t in self)

    def __len__(self) -> int:
        return int(np.count_nonzero(self._df))


class BM25:
    """Okapi BM25 (k1, b; Lucene's idf) over pre-segmented terms, with a score normalised by
    the query's own best possible score, so 0 means nothing matched and 1 means every query
    term matched strongly.

    The index itself is ``bm25s``': term scores precomputed into a sparse matrix that is saved
    as numpy files beside the FAISS index and memory-mapped at load, so a large corpus costs
    neither a rebuild at every start nor its postings in RAM. This class adds only what bm25s
    has no notion of: the normalisation above and idf lookups for the answer gate."""

    def __init__(self, docs: Sequence[Sequence[str]] = (), k1: float = 1.2, b: float = 0.75,
                 _retriever=None):
        bm25s = _bm25s()
        self.k1, self.b = k1, b
        if _retriever is None:
            _retriever = bm25s.BM25(k1=k1, b=b, method="lucene")
            # an always-present empty term keeps bm25s working on a corpus without any term
            _retriever.index([list(d) for d in docs] + [[""]] if not any(docs) else [list(d) for d in docs],
                             show_progress=False)
            if not any(docs):
                _retriever.scores["num_docs"] = len(docs)
        self._bm25s = _retriever
        self.n = int(_retriever.scores["num_docs"])
        self._vocab: dict[str, int] = _retriever.vocab_dict
        self._doc_freq = np.diff(np.asarray(_retriever.scores["indptr"]))
        self.idf: Mapping[str, float] = _Idf(self._vocab, self._doc_freq, self.n)

    def save(self, directory: Path) -> None:
        self._bm25s.save(str(directory), show_progress=False)

    @classmethod
    def load(cls, directory: Path, mmap: bool = True) -> BM25:
        """A saved index; its score arrays memory-mapped (read from disk as queries touch them)."""
        retriever = _bm25s().BM25.load(str(directory), mmap=mmap, show_progress=False)
        return cls(k1=retriever.k1, b=retriever.b, _retriever=retriever)

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """Raw BM25 score of every document."""
        ids = sorted({self._vocab[t] for t in query_terms if t in self._vocab and t})
        if not ids:
            return np.zeros(self.n, dtype=np.float32)
        # bm25s leaves out Okapi's constant (k1 + 1) factor
        return self._bm25s.get_scores_from_ids(ids)[: self.n] * np.float32(self.k1 + 1)

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
