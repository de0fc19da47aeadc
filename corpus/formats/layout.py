"""Turning visual lines back into paragraphs: hard-wrapped text (Markdown or text wrapped at a
fixed width, every line of a PDF) is joined, one-paragraph-per-line text is left alone.
Written here because no kept library does it for Chinese: ``textwrap`` only wraps, and the
PDF and Markdown parsers hand back lines as they were laid out."""

from __future__ import annotations

import re
import unicodedata

HEADING_MAX_CHARS = 16
_TERMINAL = "。！？；：.!?;:…”」』)）"
_SENTENCE_END = "。！？!?…"
_ITEM = re.compile(r"^(?:[-*•·●▪]\s|\d{1,3}[.)、]\s?|[（(]?[一二三四五六七八九十]{1,3}[、.）)]|第[一二三四五六七八九十百\d]+[章节條条部分])")
_INDENT = (" ", "\t", "\u3000")


def is_heading(line: str) -> bool:
    """A short line without closing punctuation (``應勇強調``, ``青和居社區``)."""
    line = line.strip().lstrip("#").strip()
    return 0 < len(line) <= HEADING_MAX_CHARS and line[-1] not in _TERMINAL and "，" not in line


def is_wide(ch: str) -> bool:
    """Han characters, kana, full-width forms and CJK punctuation: two columns, and no space
    when a line break falls next to them."""
    return unicodedata.east_asian_width(ch) in "WF"


def display_width(text: str) -> int:
    return sum(2 if is_wide(c) else 1 for c in text)


def wrap_width(lines: list[str]) -> int | None:
    """The column width a text was hard-wrapped at, or None when lines are paragraphs.
    Wrapped text has most lines inside a block close to one width (the widest ones);
    text with one paragraph per line has widths scattered over hundreds of columns."""
    inner_lines = [a.rstrip() for a, b in zip(lines, lines[1:]) if a.strip() and b.strip()]
    if len(inner_lines) < 3:
        return None
    # Wrapping cuts lines anywhere: a sentence end falls at a line's end by chance only.
    # When most lines end a sentence, each line was written as a unit.
    if sum(line[-1] in _SENTENCE_END for line in inner_lines) >= 0.5 * len(inner_lines):
        return None
    inner = [display_width(line) for line in inner_lines]
    ranked = sorted(inner)
    width = ranked[int(0.9 * (len(ranked) - 1))]
    if width > 200:
        return None
    full = sum(w >= 0.7 * width for w in inner)
    too_long = sum(display_width(line.rstrip()) > 1.15 * width for line in lines if line.strip())
    if full < 0.6 * len(inner) or too_long > 0.1 * len(inner):
        return None
    return width


def join_lines(a: str, b: str) -> str:
    """Join two wrapped lines: no space at a Chinese break, none for a hyphenated word."""
    if not a:
        return b
    if not b:
        return a
    if a.endswith("-") and len(a) > 1 and a[-2].isalpha() and b[0].islower():
        return a[:-1] + b
    if any(is_wide(c) for c in a[-2:] + b[:2]):  # "意见2" + "4份": a number cut in Chinese text
        return a + b
    return f"{a} {b}"


def paragraphs(lines: list[str], width: int | None = None) -> list[str]:
    """Paragraphs of ``lines``: blank lines always separate; with a wrap ``width`` (found by
    `wrap_width` when not given), a line joins the previous one when that one was full and
    it is neither indented nor a list item; without, every line is a paragraph."""
    if width is None:
        width = wrap_width(lines)
    out: list[str] = []
    current = ""
    previous_full = False
    for raw in lines:
        line = raw.strip()
        if not line:
            if current:
                out.append(current)
            current, previous_full = "", False
            continue
        starts_new = not width or not current or not previous_full or raw.startswith(_INDENT) or bool(_ITEM.match(line))
        if starts_new:
            if current:
                out.append(current)
            current = line
        else:
            current = join_lines(current, line)
        previous_full = bool(width) and display_width(raw.rstrip()) >= 0.7 * width and not (
            line[-1] in _SENTENCE_END and display_width(raw.rstrip()) < 0.9 * width)
    if current:
        out.append(current)
    return out


def list_text(items: list[str]) -> str:
    """A list as one paragraph: items joined as clauses, so the splitter can cut between them."""
    out = ""
    for item in (i.strip() for i in items):
        if not item:
            continue
        if not out:
            out = item
            continue
        if out[-1] not in "。！？；;.!?：:，,":
            out += "；" if is_wide(out[-1]) else ";"
        out = out + item if is_wide(out[-1]) else f"{out} {item}"
    return out


def infer_headings(blocks: list) -> list:
    """For formats without marked headings (text, PDF): a short paragraph without closing
    punctuation is a heading when a longer paragraph follows it, directly or after one more
    such line (a title, then a section heading). Longer runs of short lines are content (a
    list of names), not headings. Run on cleaned text."""
    from corpus.formats import Block

    short = [b.level == 0 and is_heading(b.text) for b in blocks]
    out = list(blocks)
    n = 0
    while n < len(blocks):
        if not short[n]:
            n += 1
            continue
        end = n
        while end < len(blocks) and short[end]:
            end += 1
        if end - n <= 2 and end < len(blocks):
            for k in range(n, end):
                out[k] = Block(blocks[k].text.lstrip("#").strip(), 1 if k == 0 else 2, blocks[k].page)
        n = end
    return out
