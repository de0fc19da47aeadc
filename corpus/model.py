"""The data that leaves `corpus`: documents and passages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    """One file of the corpus after reading and cleaning."""

    doc_id: str  # file stem: stable across rebuilds
    path: str  # relative to the corpus directory
    title: str
    text: str  # cleaned, original script
    encoding: str
    date: str = ""
    source_url: str = ""
    pinyin_removed: int = 0
    mojibake_repaired: int = 0
    mojibake_marked: int = 0


@dataclass(frozen=True)
class Passage:
    """A retrievable unit: one paragraph, or one window of a long paragraph."""

    id: str  # document + position + content hash
    doc_id: str
    doc_title: str
    path: str
    paragraph: int  # 1-based number among the document's text paragraphs
    part: int  # 0-based window number within the paragraph
    section: str  # the heading above it, "" when none
    text: str  # cleaned, original script, for display
    match_text: str  # simplified, normalised, for matching
    source_url: str = ""

    @property
    def citation(self) -> str:
        return f"{self.doc_title} ¶{self.paragraph}"


@dataclass(frozen=True)
class CorpusProblem:
    """A file that could not be read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Corpus:
    """Everything read from a corpus directory."""

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    problems: tuple[CorpusProblem, ...] = field(default=())

    @property
    def pinyin_removed(self) -> int:
        return sum(d.pinyin_removed for d in self.documents)

    @property
    def mojibake_repaired(self) -> int:
        return sum(d.mojibake_repaired for d in self.documents)

    @property
    def mojibake_marked(self) -> int:
        return sum(d.mojibake_marked for d in self.documents)
