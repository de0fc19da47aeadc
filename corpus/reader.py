"""Reading documents from disk: any supported format (see ``corpus.formats``), cleaned and
split; the whole corpus directory, re-reading only files that changed since the last build."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from corpus.clean import clean_text, match_form
from corpus.errors import CorpusMissing, UnreadableDocument
from corpus.formats import SUFFIXES, Block, format_of, parse
from corpus.formats.layout import infer_headings
from corpus.formats.text import decode, parse_front_matter  # noqa: F401 - part of this module's API
from corpus.model import Changes, Corpus, CorpusProblem, Document, Passage
from corpus.split import split_document
from corpus.titles import choose_title

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024
# Bump when reading or splitting changes what a file becomes: passages of unchanged files
# are then read again instead of being taken from the previous index.
READER_VERSION = 3

__all__ = ["SUFFIXES", "UnreadableDocument", "decode", "read_document", "load_corpus", "corpus_files"]


@dataclass(frozen=True)
class Known:
    """A document of the previous build with its passages, reusable while its bytes match."""

    document: Document
    passages: tuple[Passage, ...]


def doc_id_of(path: Path, root: Path) -> str:
    """The id of a file: its path relative to the corpus directory, with forward slashes."""
    return PurePosixPath(path.relative_to(root)).as_posix()


def document_from_bytes(data: bytes, doc_id: str) -> Document:
    """Read, clean and title one file's bytes; ``doc_id`` is its relative path (the suffix
    chooses the reader). Raises UnreadableDocument with the reason."""
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableDocument(f"larger than {MAX_FILE_BYTES // 2**20} MiB")
    if not data.strip():
        raise UnreadableDocument("the file is empty")
    suffix = PurePosixPath(doc_id).suffix
    parsed = parse(suffix, data)
    blocks: list[Block] = []
    pinyin = repaired = marked = 0
    for block in parsed.blocks:
        cleaned = clean_text(block.text)
        text = " ".join(cleaned.text.split())
        pinyin, repaired, marked = (pinyin + cleaned.pinyin_removed, repaired + cleaned.mojibake_repaired,
                                    marked + cleaned.mojibake_marked)
        if text:
            blocks.append(Block(text, block.level, block.page))
    if parsed.infer_headings:
        blocks = infer_headings(blocks)
    if not any(b.level == 0 for b in blocks):
        raise UnreadableDocument("no text in it" if not blocks else "only headings, no text")
    headings = [(b.level, b.text) for b in blocks if b.level]
    first = next(b.text for b in blocks if b.level == 0)
    text_sha = hashlib.sha256("".join(match_form(b.text).replace(" ", "") for b in blocks if not b.level)
                              .encode("utf-8")).hexdigest()
    title = choose_title(clean_text(parsed.title).text if parsed.title else "", headings, blocks[0].level > 0,
                         first, PurePosixPath(doc_id).stem)
    return Document(
        doc_id=doc_id, path=doc_id, title=title, format=format_of(suffix) or "", size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), text_sha=text_sha, encoding=parsed.encoding, pages=parsed.pages,
        paragraphs=sum(b.level == 0 for b in blocks), date=parsed.date, source_url=parsed.source_url,
        pinyin_removed=pinyin, mojibake_repaired=repaired, mojibake_marked=marked, blocks=tuple(blocks),
    )


def read_document(path: Path, root: Path | None = None) -> Document:
    """Read and clean one file. Raises UnreadableDocument or OSError."""
    path = Path(path)
    return document_from_bytes(path.read_bytes(), doc_id_of(path, root) if root else path.name)


def is_document_file(path: Path) -> bool:
    """A file the corpus reads: a supported suffix, not hidden (uploads in progress are)."""
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def corpus_files(directory: Path) -> list[Path]:
    """The document files under ``directory``, in a stable order."""
    directory = Path(directory)
    return sorted(p for p in directory.rglob("*") if p.is_file() and is_document_file(p)
                  and not any(part.startswith(".") for part in p.relative_to(directory).parts))


_digests: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, remembered while its size and modification time stay the
    same: listing the documents or checking for staleness does not read every file again."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    digest = _digests.get(key)
    if digest is None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if len(_digests) > 100_000:
            _digests.clear()
        _digests[key] = digest
    return digest


def fingerprint(directory: Path) -> str:
    """A hash of the corpus files' names and contents: changes when any document does."""
    directory = Path(directory)
    return _fingerprint((doc_id_of(p, directory), file_digest(p))
                        for p in corpus_files(directory))


def _fingerprint(items) -> str:
    h = hashlib.sha256()
    for doc_id, digest in items:
        h.update(doc_id.encode())
        h.update(bytes.fromhex(digest))
    return h.hexdigest()[:16]


def load_corpus(directory: Path, max_chars: int = 240, known: Mapping[str, Known] | None = None) -> Corpus:
    """Read every document under ``directory`` and split it into passages. A file whose bytes
    are those of a ``known`` document (the previous build's, same reader version and passage
    size: the caller checks) is not read again. A file that cannot be read is reported in
    ``Corpus.problems`` and skipped. The fingerprint is of the bytes actually read."""
    directory = Path(directory)
    if not directory.is_dir():
        raise CorpusMissing(f"corpus directory {directory} does not exist")
    known = known or {}
    documents: list[Document] = []
    passages: list[Passage] = []
    problems: list[CorpusProblem] = []
    new, changed, unchanged, read = [], [], [], []
    for path in corpus_files(directory):
        doc_id = doc_id_of(path, directory)
        try:
            data = path.read_bytes()
        except OSError as e:
            log.warning("Skipping %s: %s", doc_id, e)
            problems.append(CorpusProblem(doc_id, str(e)))
            continue
        digest = hashlib.sha256(data).hexdigest()
        read.append((doc_id, digest))
        previous = known.get(doc_id)
        if previous is not None and previous.document.sha256 == digest:
            documents.append(previous.document)
            passages.extend(previous.passages)
            unchanged.append(doc_id)
            continue
        try:
            doc = document_from_bytes(data, doc_id)
        except UnreadableDocument as e:
            log.warning("Skipping %s: %s", doc_id, e)
            problems.append(CorpusProblem(doc_id, str(e)))
            continue
        (changed if previous is not None else new).append(doc_id)
        documents.append(doc)
        passages.extend(split_document(doc, max_chars=max_chars))
    seen = {d for d, _ in read}
    removed = tuple(sorted(d for d in known if d not in seen))
    return Corpus(tuple(documents), tuple(passages), tuple(problems),
                  Changes(tuple(new), tuple(changed), removed, tuple(unchanged)), _fingerprint(read))


def group_passages(passages: Sequence[Passage]) -> dict[str, list[Passage]]:
    """Passages by document id, in order."""
    out: dict[str, list[Passage]] = {}
    for p in passages:
        out.setdefault(p.doc_id, []).append(p)
    return out
