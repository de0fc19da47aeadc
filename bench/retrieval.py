"""Retrieval speed: query latency (single warm queries) and index build throughput, for the
seed corpus and a synthetic corpus of N passages (default 10,000).

    .venv/bin/python bench/retrieval.py [--synthetic 10000] [--queries 200]

The machines are shared: compare figures from the same run, or repeat a run, before
drawing conclusions from a difference under ~20%.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, peak_rss_mib, summary_ms

from corpus.reader import load_corpus
from corpus.split import split_sentences
from embeddings.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from embeddings.index import IndexParams

SEED_DIR = ROOT / "corpus" / "documents"
QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def synthetic_corpus(directory: Path, passages: int, seed: int = 7) -> None:
    """Documents of ``passages`` paragraphs made by recombining the seed's sentences
    (realistic Chinese text and lengths; every paragraph distinct)."""
    corpus = load_corpus(SEED_DIR)
    sentences = [s for p in corpus.passages for s in split_sentences(p.text)]
    rng = random.Random(seed)
    per_doc = 500
    for d in range(0, passages, per_doc):
        lines = []
        for i in range(d, min(d + per_doc, passages)):
            picked = rng.sample(sentences, k=rng.randint(1, 3))
            lines.append(f"第{i}条：" + "".join(picked)[:220])
        (directory / f"synthetic_{d // per_doc:03d}.txt").write_text("\n".join(lines), "utf-8")


def bench(name: str, corpus_dir: Path, encoder, questions: list[str], params: IndexParams, workdir: Path) -> None:
    engine = Engine(EngineConfig(corpus_dir, workdir / "index", workdir / "data", index=params), encoder)
    start = time.perf_counter()
    report = engine.rebuild()
    seconds = time.perf_counter() - start
    print(f"[{name}] build: {report.passages} passages in {seconds:.1f}s = {report.passages / seconds:.1f} passages/s "
          f"(index {report.index_type}; {report.embedded} embedded, the rest from the cache)")
    start = time.perf_counter()
    cached = engine.rebuild()
    print(f"[{name}] rebuild with every embedding cached: {time.perf_counter() - start:.2f}s "
          f"({cached.embedded} embedded)")
    for q in questions[:5]:  # warm-up
        engine.answer(q)
    search_t, answer_t = [], []
    for q in questions:
        t = time.perf_counter()
        engine.search(q, 5)
        search_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        engine.answer(q)
        answer_t.append(time.perf_counter() - t)
    print(f"[{name}] search (encode + FAISS + BM25 + fusion): {summary_ms(search_t)}")
    print(f"[{name}] full answer (search + sentence scoring):  {summary_ms(answer_t)}")
    print(f"[{name}] peak memory of the process so far: {peak_rss_mib():.0f} MiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--synthetic", type=int, default=10_000, help="passages in the synthetic corpus (0: skip)")
    ap.add_argument("--queries", type=int, default=100, help="queries timed per corpus")
    args = ap.parse_args()

    print(f"machine: {machine()}")
    encoder = load_encoder(DEFAULT_MODEL, ROOT / "data").load()
    dev = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    questions = (dev * (args.queries // len(dev) + 1))[: args.queries]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        bench("seed", SEED_DIR, encoder, questions, IndexParams(), tmp / "seed")
        if args.synthetic:
            syn = tmp / "synthetic"
            syn.mkdir()
            synthetic_corpus(syn, args.synthetic)
            bench(f"synthetic {args.synthetic}", syn, encoder, questions, IndexParams(), tmp / "syn")
            hnsw = IndexParams(hnsw_threshold=1)
            shutil.copytree(tmp / "syn" / "data", tmp / "syn-hnsw" / "data")  # reuse the embedding cache
            bench(f"synthetic {args.synthetic}, HNSW", syn, encoder, questions, hnsw, tmp / "syn-hnsw")


if __name__ == "__main__":
    main()
