"""Adding, listing and removing documents, and rebuilds that read only what changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpus.errors import DocumentRejected, UnknownDocument, UnreadableDocument
from corpus.library import add_document, catalog, find_entry, remove_document, safe_name
from corpus.reader import corpus_files, document_from_bytes
from embeddings.engine import Engine, EngineConfig
from tests import documents as files
from tests.fakes import HashEncoder


@pytest.mark.parametrize("given, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\boot.ini.md", "boot.ini.md"),
    (".hidden.md", "hidden.md"),
    ("nul\x00byte.txt", "nul_byte.txt"),
    ("Report.PDF", "Report.pdf"),
    ("", "document"),
])
def test_safe_names_stay_in_the_folder(given, expected):
    assert safe_name(given) == expected


def test_long_names_are_shortened_keeping_the_suffix():
    name = safe_name("长" * 300 + ".docx")
    assert name.endswith(".docx") and len(name.encode()) <= 205


def test_add_checks_and_writes_atomically(tmp_path: Path):
    added = add_document(tmp_path, "通知.docx", files.as_docx())
    assert added.document.title == files.TITLE and added.passages == 3
    assert [p.name for p in tmp_path.iterdir()] == ["通知.docx"]  # no temporary file left
    again = add_document(tmp_path, "通知.docx", _docx("另一份通知：周五下午停电检修。"))  # same name, other content
    assert again.document.doc_id == "通知-2.docx"
    assert document_from_bytes((tmp_path / "通知.docx").read_bytes(), "通知.docx").title == files.TITLE


def _docx(text: str) -> bytes:
    import io

    import docx

    d = docx.Document()
    d.add_paragraph(text)
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def test_readme_and_dotted_names_are_indexed_like_any_document(tmp_path: Path):
    added = add_document(tmp_path, "README.md", "# 说明\n\n本目录收录社区通知。\n".encode())
    hidden = add_document(tmp_path, ".notes.md", "# 笔记\n\n周五开会。\n".encode())
    assert {p.name for p in corpus_files(tmp_path)} == {added.document.doc_id, hidden.document.doc_id}


@pytest.mark.parametrize("name, data, error, reason", [
    ("photo.jpg", b"\xff\xd8\xff", DocumentRejected, "not a supported type"),
    ("big.txt", "很长的文本。".encode() * 400_000, DocumentRejected, "too large"),
    ("empty.txt", b"", UnreadableDocument, "empty"),
    ("scan.pdf", files.as_pdf(text_layer=False), UnreadableDocument, "OCR"),
])
def test_refused_uploads_write_nothing(tmp_path: Path, name, data, error, reason):
    with pytest.raises(error, match=reason):
        add_document(tmp_path, name, data, max_bytes=5 * 2**20)
    assert list(tmp_path.iterdir()) == []


def test_duplicates_by_bytes_and_by_text_are_refused(tmp_path: Path):
    first = add_document(tmp_path, "notice.txt", files.as_text().encode())
    with pytest.raises(DocumentRejected, match="already there as notice.txt"):
        add_document(tmp_path, "copy.txt", files.as_text().encode())
    with pytest.raises(DocumentRejected, match="same text is already there"):
        add_document(tmp_path, "notice.pdf", files.as_pdf(), indexed=[first.document])


def test_catalog_and_remove(tmp_path: Path):
    corpus, trash = tmp_path / "docs", tmp_path / "trash"
    corpus.mkdir()
    a = add_document(corpus, "a.md", files.as_markdown().encode())
    add_document(corpus, "b.txt", "第二份文档，讲的是别的事情。".encode())
    entries = catalog(corpus, {"a.md": (a.document, 3), "gone.txt": (a.document, 1)})
    assert [(e.number, e.doc_id, e.state, e.passages) for e in entries] == [
        (1, "a.md", "indexed", 3), (2, "b.txt", "new", None), (3, "gone.txt", "removed", 1)]
    assert find_entry(entries, "2").doc_id == "b.txt" and find_entry(entries, "a.md").number == 1
    with pytest.raises(UnknownDocument):
        find_entry(entries, "9")
    moved = remove_document(corpus, "b.txt", trash)
    assert moved.parent == trash and moved.read_text("utf-8").startswith("第二份")
    assert [p.name for p in corpus_files(corpus)] == ["a.md"]
    for outside in ("../trash/" + moved.name, "/etc/passwd", "a.md/.."):
        with pytest.raises(UnknownDocument):
            remove_document(corpus, outside, trash)


def _engine(tmp_path: Path, encoder=None) -> Engine:
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    return Engine(EngineConfig(corpus, tmp_path / "index", tmp_path), encoder or HashEncoder())


def test_rebuild_reads_only_new_and_changed_documents(tmp_path: Path, monkeypatch):
    engine = _engine(tmp_path)
    corpus = Path(engine.config.corpus_dir)
    (corpus / "notice.md").write_bytes(files.as_markdown().encode())
    (corpus / "other.txt").write_text("第二份文档，讲的是社区的另一件事情。", "utf-8")
    first = engine.rebuild()
    assert (len(first.changes.new), first.passages) == (2, 4)

    read = []
    import corpus.reader as reader

    real = reader.document_from_bytes
    monkeypatch.setattr(reader, "document_from_bytes", lambda data, doc_id: read.append(doc_id) or real(data, doc_id))
    (corpus / "notice.pdf").write_bytes(files.as_pdf())
    (corpus / "other.txt").write_text("第二份文档改过了，讲的是社区的另一件事情。", "utf-8")
    report = engine.rebuild()
    assert read == ["notice.pdf", "other.txt"]
    assert report.changes.summary() == "1 new, 1 changed, 0 removed, 1 unchanged"
    assert {p.doc_id for p in engine.index.passages} == {"notice.md", "notice.pdf", "other.txt"}

    (corpus / "notice.pdf").unlink()
    read.clear()
    report = engine.rebuild()
    assert read == [] and report.changes.removed == ("notice.pdf",)
    assert "notice.pdf" not in {p.doc_id for p in engine.index.passages}
    assert not engine.is_stale()


def test_a_fresh_engine_reuses_the_index_on_disk(tmp_path: Path):
    engine = _engine(tmp_path)
    (Path(engine.config.corpus_dir) / "notice.md").write_bytes(files.as_markdown().encode())
    engine.rebuild()
    again = _engine(tmp_path).rebuild()  # `qabot index build` in a new process
    assert again.changes.summary() == "0 new, 0 changed, 0 removed, 1 unchanged" and again.embedded == 0
