"""Reading documents from disk: encodings, front matter, and the whole corpus directory."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from pathlib import Path

from corpus.clean import clean_text, to_simplified
from corpus.model import Corpus, CorpusProblem, Document
from corpus.split import split_document

log = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md")
MAX_FILE_BYTES = 20 * 1024 * 1024
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_KEY = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*?)\s*$")


class UnreadableDocument(ValueError):
    """A file that is not text in an encoding we can read."""


def _level1_share(text: str) -> float:
    """Share of Han characters that are common (GB2312 level 1 once simplified): high for
    a correct decoding, low for a wrong one, which scatters over rare characters."""
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return 0.0
    common = 0
    for c in to_simplified("".join(han)):
        with contextlib.suppress(UnicodeEncodeError):
            common += c.encode("gb2312")[0] < 0xD8
    return common / len(han)


def decode(data: bytes) -> tuple[str, str]:
    """Decode document bytes: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030 or
    Big5, whichever reads as plausible Chinese. Returns (text, encoding).
    Raises UnreadableDocument for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise UnreadableDocument(f"broken UTF-16 ({e.reason})") from e
    if b"\x00" in data:
        raise UnreadableDocument("binary data (NUL bytes), not a text file")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    candidates = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_level1_share(text), enc, text))
    if not candidates:
        raise UnreadableDocument("not UTF-8, UTF-16, GB18030 or Big5 text")
    share, enc, text = max(candidates)
    if share < 0.5 and len(text) > 20:
        raise UnreadableDocument("does not read as text in any supported encoding")
    return text, enc


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split optional ``---`` front matter (``key: value`` lines) from the body."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        km = _KEY.match(line)
        if km:
            meta[km.group(1).lower()] = km.group(2).strip("'\"")
    return meta, text[m.end() :]


def derive_title(text: str, fallback: str) -> str:
    """A title from the first line: its first clause, at most 24 characters."""
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            clause = re.split(r"[，。；：！？,;:!?]", line)[0]
            return clause[:24] + ("…" if len(clause) > 24 else "")
    return fallback


def read_document(path: Path, root: Path | None = None) -> Document:
    """Read and clean one file. Raises UnreadableDocument or OSError."""
    data = path.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise UnreadableDocument(f"larger than {MAX_FILE_BYTES // 2**20} MiB")
    raw, encoding = decode(data)
    meta, body = parse_front_matter(raw)
    cleaned = clean_text(body)
    if not cleaned.text.strip():
        raise UnreadableDocument("no text")
    rel = str(path.relative_to(root)) if root else path.name
    title = meta.get("title") or derive_title(cleaned.text, path.stem)
    return Document(
        doc_id=path.stem, path=rel, title=title, text=cleaned.text, encoding=encoding,
        date=meta.get("date", ""), source_url=meta.get("source") or meta.get("url", ""),
        pinyin_removed=cleaned.pinyin_removed, mojibake_repaired=cleaned.mojibake_repaired,
        mojibake_marked=cleaned.mojibake_marked,
    )


def corpus_files(directory: Path) -> list[Path]:
    """The document files under ``directory``, in a stable order."""
    return sorted(p for p in Path(directory).rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and not p.name.startswith(".") and p.name.lower() != "readme.md")


def fingerprint(directory: Path) -> str:
    """A hash of the corpus files' names and contents: changes when any document does."""
    h = hashlib.sha256()
    for p in corpus_files(directory):
        h.update(str(p.relative_to(directory)).encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()[:16]


def load_corpus(directory: Path, max_chars: int = 240) -> Corpus:
    """Read every document under ``directory`` and split it into passages. A file that
    cannot be read is reported in ``Corpus.problems`` and skipped."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"corpus directory {directory} does not exist")
    documents, passages, problems = [], [], []
    for path in corpus_files(directory):
        try:
            doc = read_document(path, directory)
        except (UnreadableDocument, OSError) as e:
            rel = str(path.relative_to(directory))
            log.warning("Skipping %s: %s", rel, e)
            problems.append(CorpusProblem(rel, str(e)))
            continue
        documents.append(doc)
        passages.extend(split_document(doc, max_chars=max_chars))
    return Corpus(tuple(documents), tuple(passages), tuple(problems))
