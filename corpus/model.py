"""The data that leaves `corpus`: documents and passages."""

from __future__ import annotations

from dataclasses import dataclass, field

from corpus.formats import Block


@dataclass(frozen=True)
class Document:
    """One file of the corpus after reading and cleaning. ``blocks`` are kept only while the
    document is being split; the index stores the rest (see ``info``)."""

    doc_id: str  # the path relative to the corpus directory: unique and stable
    path: str  # the same, kept under its own name for display
    title: str
    format: str  # the reader: text, markdown, web, word, pdf
    sha256: str  # of the file's bytes: what decides whether a rebuild reads it again
    size: int  # bytes
    text_sha: str = ""  # of the normalised paragraphs: the same text in another format matches
    encoding: str = ""
    pages: int = 0
    paragraphs: int = 0
    date: str = ""
    source_url: str = ""
    pinyin_removed: int = 0
    mojibake_repaired: int = 0
    mojibake_marked: int = 0
    blocks: tuple[Block, ...] = field(default=(), repr=False, compare=False)

    @property
    def text(self) -> str:
        """The cleaned text, one block per line."""
        return "\n".join(b.text for b in self.blocks)

    def info(self) -> dict:
        """Everything but the blocks, as stored in the index manifest."""
        return {k: v for k, v in self.__dict__.items() if k != "blocks"}


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
    page: int = 0  # 1-based page (PDF), 0 when the document has no pages

    @property
    def citation(self) -> str:
        """Where the passage is: the document's title and its page or paragraph."""
        return f"{self.doc_title}, p. {self.page}" if self.page else f"{self.doc_title} ¶{self.paragraph}"


@dataclass(frozen=True)
class CorpusProblem:
    """A file that could not be read, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class Changes:
    """How a corpus differs from the one the previous index was built from."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    def summary(self) -> str:
        return (f"{len(self.new)} new, {len(self.changed)} changed, {len(self.removed)} removed, "
                f"{len(self.unchanged)} unchanged")


@dataclass(frozen=True)
class Corpus:
    """Everything read from a corpus directory."""

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    problems: tuple[CorpusProblem, ...] = field(default=())
    changes: Changes = field(default_factory=Changes)
    fingerprint: str = ""  # of the files as they were read

    @property
    def pinyin_removed(self) -> int:
        return sum(d.pinyin_removed for d in self.documents)

    @property
    def mojibake_repaired(self) -> int:
        return sum(d.mojibake_repaired for d in self.documents)

    @property
    def mojibake_marked(self) -> int:
        return sum(d.mojibake_marked for d in self.documents)
