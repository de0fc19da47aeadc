"""Markdown through markdown-it-py: headings, paragraphs, lists and tables, no markup left.
A paragraph's lines are joined, as CommonMark reads soft line breaks, when the file separates its
paragraphs with blank lines; in a file written one paragraph per line without any blank line they
separate paragraphs (unless the file is hard-wrapped), as the writer meant."""

from __future__ import annotations

import re

from corpus.formats import Block, Parsed
from corpus.formats.layout import join_lines, list_text, paragraphs, wrap_width
from corpus.formats.text import read_text


def _inline_lines(token) -> list[str]:
    """The text of an inline token as its source lines (soft and hard breaks split)."""
    lines = [""]
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            lines.append("")
        elif child.type in ("text", "code_inline"):
            lines[-1] += child.content
        elif child.type == "image":
            lines[-1] += child.content  # the alt text
    return [line.strip() for line in lines if line.strip()]


def read(data: bytes) -> Parsed:
    from markdown_it import MarkdownIt

    meta, body, encoding = read_text(data)
    width = wrap_width(body.split("\n")) or 0
    blank_lines = bool(re.search(r"\n[ \t]*\n", body.strip()))
    tokens = MarkdownIt("commonmark").enable("table").parse(body)
    blocks: list[Block] = []
    list_depth, items, row = 0, [], []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            text = " ".join(_inline_lines(tokens[i + 1]))
            if text:
                blocks.append(Block(text, int(tok.tag[1])))
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            if list_depth == 0 and items:
                blocks.append(Block(list_text(items)))
                items = []
        elif tok.type == "inline" and tokens[i - 1].type == "paragraph_open":
            lines = _inline_lines(tok)
            if list_depth:
                items.append(_joined(lines))
            elif blank_lines:
                blocks.append(Block(_joined(lines)))
            else:
                blocks.extend(Block(text) for text in paragraphs(lines, width))
        elif tok.type == "inline" and tokens[i - 1].type in ("th_open", "td_open"):
            row.append(" ".join(_inline_lines(tok)))
        elif tok.type == "tr_close":
            if any(row):
                blocks.append(Block(" | ".join(row)))
            row = []
        elif tok.type in ("fence", "code_block") and tok.content.strip():
            blocks.append(Block(" ".join(line.strip() for line in tok.content.splitlines() if line.strip())))
    return Parsed(tuple(b for b in blocks if b.text), title=meta.get("title", ""), encoding=encoding,
                  date=meta.get("date", ""), source_url=meta.get("source") or meta.get("url", ""))


def _joined(lines: list[str]) -> str:
    out = ""
    for line in lines:
        out = join_lines(out, line)
    return out
