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
# A .docx is a zip: what it unpacks to is bounded before anything reads it (a 20 MB upload of
# text unpacks to a few times that; a zip bomb to gigabytes).
MAX_UNPACKED_BYTES = 200 * 2**20
MAX_ENTRIES = 10_000


def _check_size(data: bytes) -> None:
    try:
        entries = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except zipfile.BadZipFile as e:
        raise UnreadableDocument("not a valid .docx file (damaged, or an old .doc renamed)") from e
    unpacked = sum(e.file_size for e in entries)
    if len(entries) > MAX_ENTRIES or unpacked > MAX_UNPACKED_BYTES:
        raise UnreadableDocument(f"the .docx unpacks to {unpacked / 2**20:.0f} MB in {len(entries)} parts, more than "
                                 f"a document may ({MAX_UNPACKED_BYTES // 2**20} MB, {MAX_ENTRIES} parts)")


def _level(paragraph) -> int:
    name = (paragraph.style.name if paragraph.style is not None else "") or ""
    if name.lower() == "title":
        return 1
    m = _HEADING_STYLE.match(name.strip())
    return min(int(m.group(1)), 6) if m else 0


def read(data: bytes) -> Parsed:
    import docx
    from docx.table import Table

    _check_size(data)
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
