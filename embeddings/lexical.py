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


# jieba's part-of-speech tags of function words: a character tagged so is no surname (和, 在, 那).
_FUNCTION_TAGS = frozenset("c p u d r y e o f uj ul uz ug uv ud".split())
# Numerals, measure words and bound morphemes: a surname when most of the dictionary's words
# that begin with it are names (张 is a measure word, 刘 and 孙 bound morphemes; 今, 天, 家 are not
# surnames after a title: "书记今天表示", "主任家中").
_CLASS_TAGS = frozenset("m q zg".split())


@lru_cache(maxsize=1)
def surnames(min_names: int = 10) -> frozenset[str]:
    """Chinese surnames, from jieba's dictionary: the first characters of at least ``min_names``
    of the two- and three-character person names (tag ``nr``) it lists, function words left out.
    About 400, the common ones and the rarer ones real text uses (倪, 应, 覃)."""
    from collections import Counter
    from pathlib import Path

    import jieba

    starts: Counter[str] = Counter()
    begun: Counter[str] = Counter()  # words of two or more characters that begin with it
    single: dict[str, str] = {}
    with open(Path(jieba.__file__).parent / "dict.txt", encoding="utf-8") as f:
        for line in f:
            word, _, flag = line.split()
            if len(word) > 1:
                begun[word[0]] += 1
            if flag == "nr" and len(word) in (2, 3):
                starts[word[0]] += 1
            elif len(word) == 1:
                single[word] = flag

    def surname(c: str, n: int) -> bool:
        flag = single.get(c)
        if n < min_names or flag in _FUNCTION_TAGS:
            return False
        return flag not in _CLASS_TAGS or n >= begun[c] / 2

    return frozenset(c for c, n in starts.items() if surname(c, n))


def word_frequency(word: str) -> int:
    """How often jieba's dictionary has seen ``word`` (0 when unknown)."""
    return segmenter().dt.FREQ.get(word) or 0


_HAN_RUN = re.compile(r"[\u3400-\u9fff]+")
_LATIN_WORD = re.compile(r"[a-z]+")


@lru_cache(maxsize=1)
def _wade_giles() -> dict[str, str]:
    """Toneless pinyin syllable -> its Wade-Giles spelling without apostrophes (qing -> ching,
    guo -> kuo, xiong -> hsiung), from pypinyin's conversion table. (Its conversion routine
    misspells some syllables, "lai" as "lei"; the table is right.) Empty if the table moved."""
    try:
        from pypinyin.style.wadegiles import _convert_table  # noqa: PLC0415
    except ImportError:
        return {}
    return {py: wg.replace("'", "") for py, wg in _convert_table}


def pinyin_terms(text: str) -> list[str]:
    """Passage side of the pinyin channel: the toneless pinyin of every 2 and 3 consecutive
    Han characters (``应勇`` -> ``yingyong``, ``青和居`` -> ``qingheju``), and the same in
    Wade-Giles where it differs (``赖清德`` -> ``laichingte``, ``高雄`` -> ``kaohsiung``), so
    English questions that spell Chinese names and places either way can match them."""
    out = [term for run in _HAN_RUN.findall(text) for term in _run_terms(run)]
    return list(dict.fromkeys(out))


@lru_cache(maxsize=65_536)
def _run_terms(run: str) -> tuple[str, ...]:
    """``pinyin_terms`` of one run of Han characters; cached, because the answer step asks for
    the clauses and windows of the same sentences again and again."""
    from pypinyin import lazy_pinyin  # noqa: PLC0415 - loads its dictionary on first use

    syllables = lazy_pinyin(run, v_to_u=False)
    if len(syllables) != len(run):
        return ()
    wade = _wade_giles()
    spellings = [syllables]
    wg = [wade.get(x.replace("v", "ü"), x) for x in syllables]
    if wg != syllables:
        spellings.append(wg)
    return tuple("".join(spelled[i : i + n]) for spelled in spellings for n in (2, 3)
                 for i in range(len(spelled) - n + 1))


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
    ``tokenize``) and the index side of the pinyin channel: ``pinyin_terms`` of the names in
    it only (people, places, organisations), which is what an English question spells in
    pinyin; the pinyin of every character pair would be most of the lexical index for no gain."""
    raw = segmenter().lcut_for_search(text)
    return _without_stopwords(raw), [p for word in dict.fromkeys(w for w in raw if _is_name(w)) for p in pinyin_terms(word)]


@lru_cache(maxsize=4096)
def _splits_into(word: str, n: int) -> bool:
    """Whether ``word`` is exactly ``n`` toneless syllables of pinyin or Wade-Giles."""
    if n == 1:
        return is_plain_pinyin_syllable(word) or word in _wade_giles_syllables()
    return any(is_plain_pinyin_syllable(word[:i]) and _splits_into(word[i:], n - 1)
               for i in range(1, min(len(word), 6) + 1))


@lru_cache(maxsize=1)
def _wade_giles_syllables() -> frozenset[str]:
    return frozenset(_wade_giles().values())


def latin_pinyin_terms(text: str) -> list[str]:
    """Query side: runs of 1-3 Latin words that spell 2 or 3 syllables of pinyin or Wade-Giles
    (``Ying Yong`` -> ``yingyong``, ``Donghu`` -> ``donghu``, ``Ching-te`` -> ``chingte``),
    tone marks and apostrophes dropped; a name written given name first ("Ching-te Lai") is
    tried surname first too."""
    import unicodedata  # noqa: PLC0415

    plain = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))
    plain = re.sub(r"['’]s\b", "", plain)  # "Huning's"
    words = _LATIN_WORD.findall(plain.replace("'", "").replace("’", ""))
    out = []
    for n in (1, 2, 3):
        for i in range(len(words) - n + 1):
            run = words[i : i + n]
            for order in (run, run[-1:] + run[:-1]) if n > 1 else (run,):
                joined = "".join(order)
                if len(joined) <= 18 and (_splits_into(joined, 2) or _splits_into(joined, 3)):
                    out.append(joined)
    return list(dict.fromkeys(out))


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

    @property
    def unseen_idf(self) -> float:
        """The idf of a word no passage holds (df 0): the highest there is."""
        return math.log(1 + (self.n + 0.5) / 0.5)

    def word_idf(self, word: str) -> float:
        """The word's idf, or ``unseen_idf`` when the corpus never uses it."""
        return self.idf.get(word, self.unseen_idf)

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
        unseen = self.unseen_idf
        terms = set(query_terms)
        if count_unknown:
            total = sum(self.idf.get(t, unseen) for t in terms)
        else:
            total = unseen * sum(1 for t in terms if t in self.idf)
        return total * (self.k1 + 1) / 2 or 1.0

    def group_scores(self, groups: Sequence[Sequence[Sequence[str]]]) -> tuple[np.ndarray, float]:
        """For a query whose words each stand for several terms (an English word's Chinese
        senses, a name's spellings): every group counts once, with the best of its alternatives
        in each document (an alternative is one term, or the terms of a word the segmenter
        splits, together). Returns the summed scores and the best possible sum (each group by
        its best alternative, as ``max_score``). Within a query BM25's idf makes a rare word or
        name count for more than one that occurs almost everywhere."""
        total = np.zeros(self.n, dtype=np.float32)
        best = 0.0
        for group in groups:
            known = [alt for alt in group if alt and all(t in self._vocab for t in alt)]
            if not known:
                continue
            total += np.max(np.vstack([self.scores(alt) for alt in known]), axis=0)
            best += max(sum(self.idf[t] for t in alt) for alt in known) * (self.k1 + 1) / 2
        return total, best

    def normalised_scores(self, query_terms: Sequence[str], count_unknown: bool = True) -> np.ndarray:
        """Scores divided by ``max_score``, clipped to [0, 1]."""
        return np.clip(self.scores(query_terms) / self.max_score(query_terms, count_unknown), 0.0, 1.0)
