"""The corpus folder as admins manage it: add a file (checked, written atomically), list the
documents with what the index knows of them, remove one. Shared by the bot and the CLI."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from corpus.errors import DocumentRejected, UnknownDocument
from corpus.formats import SUFFIXES, format_of
from corpus.model import Document
from corpus.reader import MAX_FILE_BYTES, corpus_files, doc_id_of, document_from_bytes, file_digest
from corpus.split import split_document

MAX_NAME_CHARS = 80
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]")


def safe_name(filename: str) -> str:
    """A file name from a user that can only name a file directly in the corpus folder:
    folders dropped, control and path characters replaced, not hidden, not too long."""
    name = unicodedata.normalize("NFC", (filename or "").replace("\\", "/")).split("/")[-1]
    name = _UNSAFE.sub("_", name).strip(" .")
    stem, suffix = (name.rsplit(".", 1) + [""])[:2] if "." in name else (name, "")
    suffix = f".{suffix.lower()}" if suffix else ""
    stem = stem.strip(" .")[:MAX_NAME_CHARS].strip(" .") or "document"
    while len((stem + suffix).encode("utf-8")) > 200:  # file systems allow 255 bytes
        stem = stem[:-1]
    return stem + suffix


@dataclass(frozen=True)
class Added:
    """A document that was added: what was read and where it was written."""

    document: Document
    passages: int


def _write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` under ``name`` (or ``name-2``… when taken) atomically: a hidden temporary
    file, flushed, then hard-linked to a name that must not exist yet, so a reader never sees
    half a file and two uploads never overwrite each other."""
    tmp = directory / f".upload-{secrets.token_hex(6)}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    stem, suffix = PurePosixPath(name).stem, PurePosixPath(name).suffix
    try:
        for n in range(1, 1000):
            target = directory / (name if n == 1 else f"{stem}-{n}{suffix}")
            try:
                os.link(tmp, target)
                return target
            except FileExistsError:
                continue
        raise DocumentRejected(f"too many files named {name}")
    finally:
        tmp.unlink(missing_ok=True)


def add_document(corpus_dir: Path, filename: str, data: bytes, indexed: list[Document] = (),
                 max_bytes: int = MAX_FILE_BYTES, max_passage_chars: int = 240) -> Added:
    """Check an uploaded file and add it to the corpus folder. Raises DocumentRejected (type,
    size, duplicate) or UnreadableDocument (damaged, empty, no text) and writes nothing then.
    A duplicate is a file with the same bytes in the folder, or a document of the index with
    the same text (the same report as .docx and as .pdf)."""
    corpus_dir = Path(corpus_dir)
    name = safe_name(filename)
    suffix = PurePosixPath(name).suffix
    if format_of(suffix) is None:
        raise DocumentRejected(f"{suffix or 'a file without a suffix'} is not a supported type; "
                               f"send one of {', '.join(SUFFIXES)}")
    if len(data) > max_bytes:
        raise DocumentRejected(f"the file is too large ({len(data) / 2**20:.1f} MiB; at most {max_bytes / 2**20:.0f} MiB)")
    digest = hashlib.sha256(data).hexdigest()
    for path in corpus_files(corpus_dir):
        if path.stat().st_size == len(data) and file_digest(path) == digest:
            raise DocumentRejected(f"this file is already there as {doc_id_of(path, corpus_dir)}")
    document = document_from_bytes(data, name)
    for other in indexed:
        if other.text_sha and other.text_sha == document.text_sha:
            raise DocumentRejected(f"the same text is already there as {other.doc_id} ({other.title})")
    passages = len(split_document(document, max_passage_chars))
    corpus_dir.mkdir(parents=True, exist_ok=True)
    target = _write_new(corpus_dir, name, data)
    doc_id = doc_id_of(target, corpus_dir)
    return Added(replace(document, doc_id=doc_id, path=doc_id), passages)


@dataclass(frozen=True)
class Entry:
    """One line of the document list."""

    number: int  # 1-based position in the list: what /remove accepts besides the id
    doc_id: str
    title: str
    size: int
    added: float  # the file's modification time (epoch seconds); 0 when the file is gone
    passages: int | None  # in the index; None when it is not indexed yet
    state: str  # "indexed", "new" (not indexed yet), "changed" (since indexing), "removed" (file gone)


def catalog(corpus_dir: Path, indexed: Mapping[str, tuple[Document, int]]) -> list[Entry]:
    """The documents of the folder and of the index, side by side, in a stable order."""
    corpus_dir = Path(corpus_dir)
    entries = []
    files = {doc_id_of(p, corpus_dir): p for p in corpus_files(corpus_dir)} if corpus_dir.is_dir() else {}
    for doc_id in sorted(set(files) | set(indexed)):
        path, known = files.get(doc_id), indexed.get(doc_id)
        stat = path.stat() if path else None
        if known is None:
            state, title, passages = "new", PurePosixPath(doc_id).name, None
        else:
            doc, passages = known
            title = doc.title
            if path is None:
                state = "removed"
            elif stat.st_size != doc.size or file_digest(path) != doc.sha256:
                state = "changed"
            else:
                state = "indexed"
        entries.append(Entry(len(entries) + 1, doc_id, title, stat.st_size if stat else known[0].size,
                             stat.st_mtime if stat else 0.0, passages, state))
    return entries


def find_entry(entries: list[Entry], ref: str) -> Entry:
    """The entry named by its number in the list or its id (path). Raises UnknownDocument."""
    ref = ref.strip()
    for entry in entries:
        if ref == entry.doc_id or (ref.isdigit() and int(ref) == entry.number):
            return entry
    raise UnknownDocument(f"no document {ref!r}; the list shows numbers and ids")


def remove_document(corpus_dir: Path, doc_id: str, trash_dir: Path) -> Path:
    """Move a document's file out of the corpus folder into ``trash_dir`` (nothing is deleted:
    an admin can put it back). Returns where it went. Raises UnknownDocument."""
    corpus_dir = Path(corpus_dir).resolve()
    path = (corpus_dir / doc_id).resolve()
    if corpus_dir not in path.parents or not path.is_file() or format_of(path.suffix) is None:
        raise UnknownDocument(f"no document file {doc_id!r} in the corpus folder")
    trash_dir = Path(trash_dir)
    trash_dir.mkdir(parents=True, exist_ok=True)
    target = trash_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}-{path.name}"
    shutil.move(str(path), target)
    return target
