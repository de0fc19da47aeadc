"""What an index directory is: its files, its manifest (what was built, from what, with which
model and libraries, the files' checksums), and reading that manifest back."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from corpus.errors import QabotError
from corpus.model import Document

FORMAT_VERSION = 7
PASSAGES_FILE = "passages.jsonl"
OFFSETS_FILE = "passages.offsets.npy"  # where each passage's line starts: passages are read on demand
LEXICAL_DIR = "bm25"  # bm25s over jieba words
PINYIN_DIR = "bm25-pinyin"  # bm25s over the pinyin of names
MANIFEST_FILE = "manifest.json"


class IndexProblem(QabotError, RuntimeError):
    """The index directory is missing, broken or made for another model."""


@dataclass(frozen=True)
class Manifest:
    """What an index directory is: read from and written to ``manifest.json``."""

    format_version: int
    model: str
    dimension: int
    passages: int
    documents: int
    document_list: tuple[dict, ...]  # Document.info() of each
    passages_per_document: dict[str, int]
    reader: dict  # reader version and passage size: when passages can be reused
    corpus_fingerprint: str
    index_type: str
    vectors: dict  # the store's record of this generation's vectors
    built_at: str
    build_id: str  # the generation: tells two builds of one second apart
    cleaning: dict
    skipped_files: tuple[str, ...]
    versions: dict  # the libraries that wrote it
    checksums: dict = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), ensure_ascii=False, indent=2)

    @classmethod
    def from_dict(cls, raw: dict) -> Manifest:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = fields - set(raw) - {"checksums"}
        if missing:
            raise ValueError(f"missing {', '.join(sorted(missing))}")
        raw = {k: v for k, v in raw.items() if k in fields}
        return cls(**raw | {"document_list": tuple(raw["document_list"]),
                            "skipped_files": tuple(raw["skipped_files"])})


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    out = {}
    for package in ("qabot", "faiss-cpu", "bm25s", "numpy", "jieba", "pymilvus"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            continue
    return out


def index_files(directory: Path) -> list[str]:
    """Every file the index is made of, relative to its directory (the manifest aside)."""
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*")
                  if p.is_file() and p.name != MANIFEST_FILE)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_files(index_dir: Path, manifest: Manifest) -> None:
    """The index files match the checksums the manifest recorded when they were written:
    a flipped byte in the vectors or two swapped passage lines are found at load time, not
    answered from."""
    for name, expected in manifest.checksums.items():
        if not (index_dir / name).exists() or sha256_file(index_dir / name) != expected:
            raise IndexProblem(f"{name} in {index_dir} does not match its checksum (damaged or edited); "
                               "rebuild the index")


def read_manifest(index_dir: Path) -> tuple[Path, Manifest]:
    """The manifest of an index directory (or of its ``.old`` twin after a crash mid-swap),
    checked for the format version. Returns (the directory it came from, the manifest)."""
    index_dir = Path(index_dir)
    if not (index_dir / MANIFEST_FILE).exists():
        old = index_dir.with_name(index_dir.name + ".old")
        if (old / MANIFEST_FILE).exists():
            index_dir = old
        else:
            raise IndexProblem(f"no index at {index_dir}: build it with 'qabot index build'")
    try:
        raw = json.loads((index_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        version = raw.get("format_version")
    except (OSError, ValueError, AttributeError) as e:
        raise IndexProblem(f"the index manifest in {index_dir} is unreadable ({e}); rebuild the index") from e
    if version != FORMAT_VERSION:
        raise IndexProblem(f"the index in {index_dir} has format {version}, "
                           f"this version reads {FORMAT_VERSION}; rebuild the index")
    try:
        return index_dir, Manifest.from_dict(raw)
    except (ValueError, TypeError) as e:
        raise IndexProblem(f"the index manifest in {index_dir} is unreadable ({e}); rebuild the index") from e


def indexed_documents(manifest: Manifest) -> dict[str, tuple[Document, int]]:
    """The documents a manifest lists, by id, with their number of passages."""
    counts = manifest.passages_per_document
    return {info["doc_id"]: (Document(**info), counts.get(info["doc_id"], 0)) for info in manifest.document_list}
