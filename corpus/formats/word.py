"""Word .docx through python-docx: headings from paragraph styles (Title, Heading 1-9),
paragraphs and tables in document order, list paragraphs joined into one."""

from __future__ import annotations

import io
import re
import zipfile

from corpus.errors import UnreadableDocument
from corpus.formats import Block, Parsed
from corpus.formats.layout import list_text

_HEADING_STYLE = re.compile(r"^(?:heading|标题|標題)\s*(\d)$", re.IGNORECASE)


def _level(paragraph) -> int:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 1
    m = _HEADING_STYLE.match(name.strip())
    return min(int(m.group(1)), 6) if m else 0


def read(data: bytes) -> Parsed:
    import docx
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as e:
        raise UnreadableDocument("not a valid .docx file (damaged, or an old .doc renamed)") from e
    blocks: list[Block] = []
    title = (document.core_properties.title or "").strip()
    items: list[str] = []

    def flush() -> None:
        if items:
            blocks.append(Block(list_text(items)))
            items.clear()

    for part in document.iter_inner_content():
        if isinstance(part, Table):
            flush()
            for row in part.rows:
                cells = []
                for cell in row.cells:  # merged cells repeat: keep one
                    text = cell.text.strip()
                    if text and (not cells or cells[-1] != text):
                        cells.append(text)
                if cells:
                    blocks.append(Block(" | ".join(cells)))
            continue
        text = " ".join(part.text.split("\n")).strip()
        if not text:
            continue
        style = (part.style.name if part.style is not None else "") or ""
        if style.lower().startswith("list"):
            items.append(text)
            continue
        flush()
        level = _level(part)
        if level == 1 and style.lower() == "title" and not title:
            title = text
        blocks.append(Block(text, level))
    flush()
    return Parsed(tuple(blocks), title=title, encoding="docx")
