"""Document titles a reader understands: from metadata or the first heading, else a
headline-length clause of the opening text."""

from __future__ import annotations

import re

from corpus.clean import to_simplified
from corpus.words import jieba_lock, segmenter, tag

MAX_TITLE = 30
_CLAUSE = re.compile(r"[，。；：！？,;:!?]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _first_word_flag(text: str) -> str:
    return next((flag for word, flag in tag(to_simplified(text)) if word.strip()), "")


def _cut(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters at a word boundary, with an ellipsis."""
    if len(text) <= limit:
        return text
    if " " in text[:limit]:
        return text[: text.rfind(" ", 0, limit)].rstrip(" ,;:") + "…"
    jieba = segmenter()
    with jieba_lock:
        words = jieba.lcut(to_simplified(text[: limit + 8]))
    out = 0
    for w in words:
        if out + len(w) > limit - 1:
            break
        out += len(w)
    return text[: out or limit - 1] + "…"


def headline(text: str) -> str:
    """A headline-length title from a document's opening paragraph. Chinese: the first clause
    of a readable length that does not open with a preposition (为…, 根据…: the purpose or
    basis of a report, not its news) and is not only a date or number, as jieba tags them.
    Other languages: the first sentence, cut at a word boundary."""
    text = text.strip()
    if not text:
        return ""
    if not re.search(r"[\u3400-\u9fff]", text[:40]):
        return _cut(_SENTENCE.split(text, maxsplit=1)[0].rstrip("."), 60)
    clauses = [c.strip() for c in _CLAUSE.split(text[:400]) if c.strip()]
    for clause in clauses:
        if 6 <= len(clause) <= 2 * MAX_TITLE and _first_word_flag(clause) not in ("p", "m", "t", "c", "d", "x"):
            return _cut(clause, MAX_TITLE)
    return _cut(clauses[0] if clauses else text, MAX_TITLE)


def choose_title(meta_title: str, headings: list[tuple[int, str]], starts_with_heading: bool,
                 first_paragraph: str, fallback: str) -> str:
    """The title: metadata; else the heading the document opens with, or its first level-1
    heading; else a headline from the first paragraph; else ``fallback``."""
    if meta_title.strip():
        return _cut(" ".join(meta_title.split()), 80)
    if headings and starts_with_heading:
        return _cut(headings[0][1], 80)
    for level, text in headings:
        if level == 1:
            return _cut(text, 80)
    return headline(first_paragraph) or fallback
