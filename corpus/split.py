"""Splitting a cleaned document into passages."""

from __future__ import annotations

import hashlib
import re

from corpus.clean import match_form
from corpus.model import Document, Passage

HEADING_MAX_CHARS = 16
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])(?![”’」』）)])|(?<=[。！？][”’」』])")
_TERMINAL = "。！？；：.!?;:…”」』)）"


def is_heading(line: str) -> bool:
    """A short line without closing punctuation (``應勇強調``, ``青和居社區``)."""
    line = line.strip().lstrip("#").strip()
    return 0 < len(line) <= HEADING_MAX_CHARS and line[-1] not in _TERMINAL and "，" not in line


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph, split after 。！？； and their closing quotes."""
    return [s for s in (p.strip() for p in _SENTENCE_END.split(text)) if s]


def windows(text: str, max_chars: int) -> list[str]:
    """Pack whole sentences into windows of at most ``max_chars`` characters (a single
    longer sentence is cut at clause commas, then hard)."""
    if len(text) <= max_chars:
        return [text]
    pieces: list[str] = []
    for sentence in split_sentences(text):
        while len(sentence) > max_chars:
            cut = max(sentence.rfind("，", 0, max_chars), sentence.rfind(",", 0, max_chars))
            cut = cut + 1 if cut > max_chars // 3 else max_chars
            pieces.append(sentence[:cut])
            sentence = sentence[cut:]
        if sentence:
            pieces.append(sentence)
    out: list[str] = []
    for piece in pieces:
        if out and len(out[-1]) + len(piece) <= max_chars:
            out[-1] += piece
        else:
            out.append(piece)
    return out


def split_document(doc: Document, max_chars: int = 240) -> list[Passage]:
    """Paragraphs become passages; heading lines become the section title of the passages
    under them; long paragraphs are split into sentence windows."""
    passages: list[Passage] = []
    section = ""
    paragraph = 0
    lines = [line.strip() for line in doc.text.split("\n")]
    lines = [line for line in lines if line]
    for n, line in enumerate(lines):
        following = lines[n + 1] if n + 1 < len(lines) else ""
        if is_heading(line) and following and not is_heading(following):
            section = line.lstrip("#").strip()
            continue
        paragraph += 1
        for part, chunk in enumerate(windows(line, max_chars)):
            digest = hashlib.sha256(chunk.encode("utf-8")).hexdigest()[:8]
            passages.append(Passage(
                id=f"{doc.doc_id}:{paragraph}.{part}:{digest}", doc_id=doc.doc_id,
                doc_title=doc.title, path=doc.path, paragraph=paragraph, part=part,
                section=section, text=chunk, match_text=match_form(chunk),
                source_url=doc.source_url,
            ))
    return passages
