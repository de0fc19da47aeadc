"""Reading speed per document format, and an incremental reindex against a full rebuild.

    .venv/bin/python bench/documents.py [--sections 60] [--pages 40] [--skip-reindex]

Reading: the same notice, repeated with varied numbers, written as .txt, .md, .html, .docx
and .pdf by the libraries that make them (tests/documents.py); each is read, cleaned and
split several times. Reindex (real model): the seed corpus plus one new document, built
(a) from nothing, with an empty embedding cache, and (b) incrementally after the seed alone
was indexed, as an admin's upload + /reindex does.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine

sys.path.insert(0, str(ROOT))

from corpus.reader import document_from_bytes  # noqa: E402
from corpus.split import split_document  # noqa: E402
from tests import documents as files  # noqa: E402


def sections(n: int) -> list[tuple[str, str]]:
    out = []
    for i in range(n):
        heading, body = files.SECTIONS[i % len(files.SECTIONS)]
        out.append((f"{heading}{i + 1}", body.replace("10", str(10 + i)).replace("88", str(88 + i))))
    return out


def reading(n_sections: int, pages: int, repeats: int) -> None:
    s = sections(n_sections)
    made = {
        "txt": files.as_text(sections=s).encode(),
        "md": files.as_markdown(sections=s).encode(),
        "html": files.as_html(sections=s).encode(),
        "docx": files.as_docx(sections=s),
        "pdf": files.as_pdf(pages=pages),
    }
    print(f"{'format':<6} {'bytes':>9} {'pages':>5} {'paras':>6} {'passages':>8} {'ms/file':>9} {'MB/s':>7} {'pages/s':>8}")
    for suffix, data in made.items():
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            doc = document_from_bytes(data, f"bench.{suffix}")
            passages = split_document(doc)
            times.append(time.perf_counter() - start)
        best = min(times)
        pages_s = f"{doc.pages / best:8.1f}" if doc.pages else f"{'-':>8}"
        print(f"{suffix:<6} {len(data):>9} {doc.pages or '-':>5} {doc.paragraphs:>6} {len(passages):>8} "
              f"{best * 1000:>9.1f} {len(data) / best / 2**20:>7.2f} {pages_s}")


def reindex() -> None:
    from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder
    from embeddings.engine import Engine, EngineConfig
    from tests.conftest import MODEL_DATA_DIR, SEED_FILE

    encoder = load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR).load()
    new_doc = files.as_docx(sections(12))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)

        def engine(name: str, with_new: bool) -> Engine:
            corpus = tmp / name / "corpus"
            corpus.mkdir(parents=True)
            shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
            if with_new:
                (corpus / "new.docx").write_bytes(new_doc)
            return Engine(EngineConfig(corpus, tmp / name / "index", tmp / name / "data"), encoder)

        encoder.encode_queries(["warm up"])
        full = engine("full", with_new=True)
        start = time.perf_counter()
        report_full = full.rebuild()
        t_full = time.perf_counter() - start

        inc = engine("incremental", with_new=False)
        inc.rebuild()
        (Path(inc.config.corpus_dir) / "new.docx").write_bytes(new_doc)
        start = time.perf_counter()
        report_inc = inc.rebuild()
        t_inc = time.perf_counter() - start
    print(f"full rebuild (empty cache):  {t_full:6.2f} s  {report_full.passages} passages, "
          f"{report_full.embedded} embedded")
    print(f"incremental (one new .docx): {t_inc:6.2f} s  {report_inc.changes.summary()}, "
          f"{report_inc.embedded} embedded")
    print(f"ratio full / incremental:    {t_full / t_inc:6.1f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", type=int, default=60)
    p.add_argument("--pages", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-reindex", action="store_true")
    args = p.parse_args()
    print(f"machine: {machine()}")
    reading(args.sections, args.pages, args.repeats)
    if not args.skip_reindex:
        reindex()


if __name__ == "__main__":
    main()
