"""Splitting a cleaned document into passages."""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from corpus.clean import match_form
from corpus.formats.layout import is_heading  # noqa: F401 - re-exported for callers of the splitter
from corpus.model import Document, Passage

_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])(?![”’」』）)])|(?<=[。！？][”’」』])")
_LATIN_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(])")


_CLOSING = {"）": "（", ")": "(", "》": "《", "】": "【", "]": "["}
_OPENING = frozenset(_CLOSING.values())


@lru_cache(maxsize=16_384)
def enclosed(text: str) -> tuple[tuple[int, int], ...]:
    """The (opening, closing) positions of the matched brackets in ``text``: what lies between
    them is an aside, not where a sentence or clause ends. An opening bracket never closed
    (a text cut short) encloses nothing. Hand-written: ``re`` cannot match nested pairs."""
    stack: list[tuple[str, int]] = []
    spans = []
    for i, ch in enumerate(text):
        if ch in _OPENING:
            stack.append((ch, i))
        elif ch in _CLOSING:
            while stack and stack[-1][0] != _CLOSING[ch]:
                stack.pop()  # a bracket of another kind left open inside this pair
            if stack:
                spans.append((stack.pop()[1], i))
    return tuple(spans)


def in_aside(text: str, i: int) -> bool:
    """Whether the character at ``i`` stands between a matched pair of brackets of ``text``."""
    return any(a < i < b for a, b in enclosed(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, split after 。！？； and their closing quotes, never inside
    brackets ("西湾河电车厂（简称西电；又称…）是…" is one sentence)."""
    # a cut falls right after its mark: the mark is at cut - 1
    cuts = [m.start() for m in _SENTENCE_END.finditer(text) if not in_aside(text, m.start() - 1)]
    parts = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)])]
    return [s for s in (p.strip() for p in parts) if s]


def windows(text: str, max_chars: int) -> list[str]:
    """Pack whole sentences into windows of at most ``max_chars`` characters (a single
    longer sentence is cut at clause commas, then hard)."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    sentences = [s for chinese in split_sentences(text) for s in _LATIN_SENTENCE_END.split(chinese)]
    for sentence in sentences:
        while len(sentence) > max_chars:
            cut = max(sentence.rfind("，", 0, max_chars), sentence.rfind(",", 0, max_chars))
            if cut <= max_chars // 3:  # no clause comma: a space, then anywhere
                cut = sentence.rfind(" ", 0, max_chars)
            cut = cut + 1 if cut > max_chars // 3 else max_chars
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + len(piece) <= max_chars:
            out[-1] += piece if _no_space(out[-1], piece) else " " + piece
        else:
            out.append(piece)
    return out


def _no_space(a: str, b: str) -> bool:
    return not (a[-1].isascii() and b[0].isascii())


def split_document(doc: Document, max_chars: int = 240) -> list[Passage]:
    """Paragraphs become passages; a heading becomes the section title of the passages under
    it; long paragraphs are split into sentence windows."""
    passages: list[Passage] = []
    section = ""
    paragraph = 0
    for block in doc.blocks:
        if block.level:
            section = block.text
            continue
        paragraph += 1
        for part, chunk in enumerate(windows(block.text, max_chars)):
            digest = hashlib.sha256(chunk.encode("utf-8")).hexdigest()[:8]
            passages.append(Passage(
                id=f"{doc.doc_id}:{paragraph}.{part}:{digest}", doc_id=doc.doc_id,
                doc_title=doc.title, path=doc.path, paragraph=paragraph, part=part,
                section=section, text=chunk, match_text=match_form(chunk),
                source_url=doc.source_url, page=block.page,
            ))
    return passages
