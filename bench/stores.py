"""Search latency with the vectors in FAISS (in the process) or in Milvus (Milvus Lite, a local
gRPC server), on the seed and on N generated passages, measured in one run, taking turns.

    .venv/bin/python bench/stores.py [--synthetic 100000] [--queries 300]

The figures are of the whole search (vector search, BM25, fusion, reading the passages) with
the query vector given, so the model's time is left out; the model adds the same to both.
The machines are shared: compare the two columns of one run, not runs with each other.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine, summary_ms

from embeddings.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from embeddings.index import load_index
from embeddings.search import FusionParams, search
from embeddings.store import FaissStore, MilvusStore

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def compare(indexes: dict, encoder, questions: list[str], vectors: np.ndarray) -> None:
    times = {name: [] for name in indexes}
    for index in indexes.values():  # warm-up
        for q, v in zip(questions[:20], vectors):
            search(index, encoder, q, 5, FusionParams(), v)
    for q, v in zip(questions, vectors):
        for name, index in indexes.items():
            t = time.perf_counter()
            search(index, encoder, q, 5, FusionParams(), v)
            times[name].append(time.perf_counter() - t)
    for name, t in times.items():
        print(f"  {name:22s} {summary_ms(t)}")


def seed(tmp: Path, queries: int, milvus_file: Path) -> None:
    encoder = load_encoder(DEFAULT_MODEL, ROOT / "data").load()
    dev = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    questions = (dev * (queries // len(dev) + 1))[:queries]
    indexes = {}
    for name, store in (("FaissStore", FaissStore()), ("MilvusStore (Lite)", MilvusStore(str(milvus_file), name="seed"))):
        engine = Engine(EngineConfig(ROOT / "corpus" / "documents", tmp / name / "index", tmp / "data"), encoder,
                        store=store)
        engine.rebuild()
        indexes[name] = engine.index
    vectors = encoder.encode_queries(questions)
    print(f"seed (17 passages), {queries} searches each:")
    compare(indexes, encoder, questions, vectors)


def synthetic(tmp: Path, n: int, queries: int, milvus_file: Path) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from scale import SyntheticEncoder, TextMaker, build, questions as make_questions  # noqa: PLC0415

    maker = TextMaker()
    t = time.perf_counter()
    b = build(n, tmp / "syn", maker)
    print(f"\n{n:,} generated passages ({b['index_type']}), built with FAISS in {time.perf_counter() - t:.0f} s")
    faiss_index = load_index(tmp / "syn" / "index")
    data = faiss_index.vectors.get(range(faiss_index.size))
    store = MilvusStore(str(milvus_file), name="syn")
    t = time.perf_counter()
    vectors = store.create(faiss_index.manifest.build_id, data.shape[1], len(data))
    vectors.add(data)
    store.save(vectors, tmp)
    print(f"the same vectors into Milvus Lite ({vectors.kind}): {time.perf_counter() - t:.0f} s")
    milvus_index = dataclasses.replace(faiss_index, vectors=vectors)
    questions = make_questions(maker, queries)
    qv = SyntheticEncoder(topics=64, seed=9).vectors(queries)
    print(f"{queries} searches each:")
    compare({"FaissStore": faiss_index, "MilvusStore (Lite)": milvus_index}, None, questions, qv)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=100_000, help="generated passages (0: the seed only)")
    ap.add_argument("--queries", type=int, default=300)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        seed(tmp, args.queries, tmp / "milvus.db")
        if args.synthetic:
            synthetic(tmp, args.synthetic, args.queries, tmp / "milvus.db")


if __name__ == "__main__":
    main()
