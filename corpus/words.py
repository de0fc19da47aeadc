"""jieba, loaded once and used under one lock: corpus reading (titles) and search (lexical
terms, question analysis) share its dictionary, which is not safe to initialise or tag from
two threads at once."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache

jieba_lock = threading.Lock()


_jieba = None


def segmenter():
    """The jieba module, its dictionary loaded (once: setting its log level again on every call
    cost more than the segmentation of a short word)."""
    global _jieba  # noqa: PLW0603 - the one module-wide handle, set under the lock
    if _jieba is not None:
        return _jieba
    with jieba_lock:
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _jieba = jieba
        return jieba


@lru_cache(maxsize=8192)
def tag(text: str) -> tuple[tuple[str, str], ...]:
    """jieba's part-of-speech tags: (word, flag) pairs; ``nr`` person, ``ns`` place,
    ``nt`` organisation, ``m`` numeral, ``q`` measure word, ``t`` time word, ``p`` preposition."""
    segmenter()
    import jieba.posseg

    with jieba_lock:  # posseg shares jieba's dictionary state
        return tuple((p.word, p.flag) for p in jieba.posseg.cut(text))
