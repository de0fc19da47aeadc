"""jieba, loaded once and used under one lock: corpus reading (titles) and search (lexical
terms, question analysis) share its dictionary, which is not safe to initialise or tag from
two threads at once."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

jieba_lock = threading.Lock()


def segmenter():
    """The jieba module, its dictionary loaded."""
    with jieba_lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba


@lru_cache(maxsize=8192)
def tag(text: str) -> tuple[tuple[str, str], ...]:
    """jieba's part-of-speech tags: (word, flag) pairs; ``nr`` person, ``ns`` place,
    ``nt`` organisation, ``m`` numeral, ``q`` measure word, ``t`` time word, ``p`` preposition."""
    segmenter()
    import jieba.posseg

    with jieba_lock:  # posseg shares jieba's dictionary state
        return tuple((p.word, p.flag) for p in jieba.posseg.cut(text))
