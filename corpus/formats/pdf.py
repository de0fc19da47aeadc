"""PDF through pypdf: the text layer page by page, visual lines joined into paragraphs,
page numbers and running headers dropped, a paragraph cut by a page break mended. A PDF
without a text layer (a scan) is refused with a message: OCR is not supported."""

from __future__ import annotations

import io
import re
from collections import Counter

from corpus.errors import UnreadableDocument
from corpus.formats import Block, Parsed
from corpus.formats.layout import display_width, is_heading, join_lines, paragraphs, wrap_width

_PAGE_NUMBER = re.compile(r"^(?:[-–—]?\s*\d{1,4}\s*[-–—]?|第\s*\d+\s*页(?:\s*[/／共]\s*\d+\s*页?)?|page\s+\d+(?:\s+of\s+\d+)?|\d+\s*/\s*\d+)$",
                          re.IGNORECASE)
_JUNK_TITLE = re.compile(r"^(?:untitled|microsoft word\s*-.*|.*\.(?:docx?|pdf|txt|indd|tex))$", re.IGNORECASE)
_SENTENCE_END = "。！？!?.…”」』"
# Bounds on the work one PDF can ask for: pages walked, and text extracted.
MAX_PAGES = 3000
MAX_TEXT_CHARS = 50_000_000


def _page_lines(reader) -> list[list[str]]:
    count = len(reader.pages)
    if count > MAX_PAGES:
        raise UnreadableDocument(f"the PDF has {count} pages, more than a document may ({MAX_PAGES})")
    pages, total = [], 0
    for page in reader.pages:
        try:
            text = page.extract_text() or ""
        except Exception:  # pypdf raises many types on damaged content streams; one bad page is skipped
            text = ""
        total += len(text)
        if total > MAX_TEXT_CHARS:
            raise UnreadableDocument(f"the PDF holds more text than a document may ({MAX_TEXT_CHARS:,} characters)")
        pages.append([line.rstrip() for line in text.replace("\r", "\n").split("\n")])
    return pages


def _drop_furniture(pages: list[list[str]]) -> list[list[str]]:
    """Page numbers, and running headers and footers: a short line without a sentence end that
    is the first or last line of many pages."""
    pages = [[line for line in lines if not _PAGE_NUMBER.match(line.strip())] for lines in pages]

    def edges(lines: list[str]) -> set[int]:
        filled = [i for i, line in enumerate(lines) if line.strip()]
        return {filled[0], filled[-1]} if filled else set()

    page_edges = [edges(lines) for lines in pages]
    seen: Counter = Counter()
    for lines, ends in zip(pages, page_edges):
        seen.update({lines[i].strip() for i in ends})
    repeated = {line for line, n in seen.items()
                if len(pages) >= 3 and n >= max(3, len(pages) // 2) and len(line) <= 40 and line[-1] not in _SENTENCE_END}
    return [[line for i, line in enumerate(lines) if not (i in ends and line.strip() in repeated)]
            for lines, ends in zip(pages, page_edges)]


def read(data: bytes) -> Parsed:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnreadableDocument("the PDF is password-protected")
        pages = _drop_furniture(_page_lines(reader))
        meta_title = ((reader.metadata or {}).get("/Title") or "") if reader.metadata is not None else ""
    except UnreadableDocument:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as e:
        raise UnreadableDocument(f"not a readable PDF ({e})") from e
    if not any(line.strip() for lines in pages for line in lines):
        raise UnreadableDocument("the PDF has no text layer (a scan?); OCR is not supported")
    # Every line of a PDF is a visual line: when the wrap width is not evident (a short
    # document), the widest line stands for it.
    every = [line for lines in pages for line in lines]
    width = wrap_width(every) or max(display_width(line.strip()) for line in every)
    blocks: list[Block] = []
    for number, lines in enumerate(pages, start=1):
        texts = paragraphs(lines, width)
        if not texts:
            continue
        # A paragraph cut by the page break: the last one had no sentence end and this page
        # starts with a line that is neither indented nor a heading.
        if (blocks and blocks[-1].level == 0 and blocks[-1].text[-1] not in _SENTENCE_END
                and not lines[next(i for i, line in enumerate(lines) if line.strip())].startswith((" ", "\u3000"))
                and not is_heading(texts[0])):
            blocks[-1] = Block(join_lines(blocks[-1].text, texts[0]), 0, blocks[-1].page)
            texts = texts[1:]
        blocks.extend(Block(text, 0, number) for text in texts)
    title = str(meta_title).strip()
    if _JUNK_TITLE.match(title):
        title = ""
    return Parsed(tuple(blocks), title=title, encoding="pdf", pages=len(pages), infer_headings=True)
