"""One reader per file format behind a registry: each turns a file's bytes into the same
`Parsed` structure (title, headings, paragraphs, pages). A new format is one module plus one
line in `READERS`. Cleaning and splitting into passages happen after, the same for all."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """A heading (``level`` 1-6) or a paragraph (``level`` 0), on one line, uncleaned."""

    text: str
    level: int = 0
    page: int = 0  # 1-based page for formats that have pages (PDF), else 0


@dataclass(frozen=True)
class Parsed:
    """What a reader found in a file."""

    blocks: tuple[Block, ...]
    title: str = ""  # from the format's metadata, "" when it has none
    encoding: str = ""
    pages: int = 0
    date: str = ""
    source_url: str = ""
    infer_headings: bool = False  # headings are not marked: find them in the cleaned text


# suffix -> module under corpus.formats with ``read(data: bytes) -> Parsed``; modules are
# imported on first use so that the PDF, Word and HTML parsers load only when needed.
READERS: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "web",
    ".htm": "web",
    ".docx": "word",
    ".pdf": "pdf",
}
SUFFIXES = tuple(READERS)


def format_of(suffix: str) -> str | None:
    """The reader module's name for a file suffix (``".PDF"`` -> ``"pdf"``), None if unsupported."""
    return READERS.get(suffix.lower())


def parse(suffix: str, data: bytes) -> Parsed:
    """Read ``data`` as a file with ``suffix``. Raises UnreadableDocument."""
    from corpus.errors import UnreadableDocument

    name = format_of(suffix)
    if name is None:
        raise UnreadableDocument(f"{suffix or 'files without a suffix'} is not a supported type "
                                 f"(supported: {', '.join(SUFFIXES)})")
    module = importlib.import_module(f"corpus.formats.{name}")
    return module.read(data)
