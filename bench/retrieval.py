"""Retrieval speed: query latency (single warm queries) and index build throughput, for the
seed corpus and a synthetic corpus of N passages (default 10,000).

    .venv/bin/python bench/retrieval.py [--synthetic 10000] [--queries 200]
    .venv/bin/python bench/retrieval.py --backends torch openvino   # encoder backends, one run, interleaved

The machines are shared: compare figures from the same run, or repeat a run, before
drawing conclusions from a difference under ~20%.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, peak_rss_mib, summary_ms

from corpus.reader import load_corpus
from corpus.split import split_sentences
from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from embeddings.store import IndexParams

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
    print(f"[{name}] search (encode + FAISS + BM25 + fusion + the answer step's order): {summary_ms(search_t)}")
    print(f"[{name}] full answer (search + sentence scoring):  {summary_ms(answer_t)}")
    print(f"[{name}] peak memory of the process so far: {peak_rss_mib():.0f} MiB")


def compare_backends(backends: list[str], queries: int, rounds: int = 3) -> None:
    """Search and full-answer time per backend on the seed, the backends taking turns
    question by question, so that the shared machine's load falls on all alike."""
    dev = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        engines = {}
        for b in backends:
            encoder = load_encoder(DEFAULT_MODEL, ROOT / "data", backend=b).load()
            work = Path(tmp) / b
            engines[b] = Engine(EngineConfig(SEED_DIR, work / "index", work / "data"), encoder)
            engines[b].rebuild()
            for q in dev[:5]:
                engines[b].answer(q)
        search_t = {b: [] for b in backends}
        answer_t = {b: [] for b in backends}
        for i in range(queries):
            q = f"{dev[i % len(dev)]} {i}"  # distinct: no cached query vector
            for b, engine in engines.items():
                t = time.perf_counter()
                engine.search(q, 5)
                search_t[b].append(time.perf_counter() - t)
                t = time.perf_counter()
                engine.answer(f"{q}{i}")  # another text: encoded again
                answer_t[b].append(time.perf_counter() - t)
        first = backends[0]
        for b in backends:
            s50 = statistics.median(search_t[first]) / statistics.median(search_t[b])
            a50 = statistics.median(answer_t[first]) / statistics.median(answer_t[b])
            print(f"[{b}] search {summary_ms(search_t[b])}  ({s50:.2f}x {first} at p50)")
            print(f"[{b}] answer {summary_ms(answer_t[b])}  ({a50:.2f}x {first} at p50)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--synthetic", type=int, default=10_000, help="passages in the synthetic corpus (0: skip)")
    ap.add_argument("--queries", type=int, default=100, help="queries timed per corpus")
    ap.add_argument("--backends", nargs="+", help="compare these encoder backends on the seed (interleaved)")
    args = ap.parse_args()

    print(f"machine: {machine()}")
    if args.backends:
        compare_backends(args.backends, args.queries)
        return
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
