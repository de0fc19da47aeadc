"""Search latency with the vectors in FAISS (in the process) or in Milvus (Milvus Lite, a local
gRPC server; with --server also a real Milvus server process, the ``milvus`` package's
standalone one on loopback, with an HNSW and an IVF_SQ8 collection, and the start of a replica
that loads a generation from the server alone), on the seed and on N generated passages,
measured in one run, taking turns; N generated passages also with the model.

    .venv/bin/python bench/stores.py [--synthetic 100000] [--queries 300] [--server]
    .venv/bin/python bench/stores.py --bm25 CORPUS_DIR DATA_DIR QUESTIONS   # Milvus' BM25 vs ours

The figures are of the whole search (vector search, BM25, fusion, reading the passages), first
with the query vector given (the model's time left out: it adds the same to every store), then,
on the generated passages, with the question encoded inside the timed search.
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

from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from embeddings.index.load import load_index
from embeddings.search import FusionParams, search
from embeddings.milvus import MilvusStore
from embeddings.store import FaissStore, IndexParams

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def compare(indexes: dict, encoder, questions: list[str], vectors: np.ndarray | None) -> None:
    """Search latency of each index, taking turns; ``vectors`` None: the encoder encodes each
    question inside the timed search (the figure with the model)."""
    vectors = [None] * len(questions) if vectors is None else vectors
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


def milvus_stores(milvus_file: Path, server: str | None, name: str, ivf: bool = False) -> list[tuple[str, MilvusStore]]:
    out = [("MilvusStore (Lite)", MilvusStore(str(milvus_file), name=name))]
    if server:
        out.append(("MilvusStore (server)", MilvusStore(server, name=name)))
        if ivf:  # the index a larger collection gets (IVF_SQ8), forced at this size
            out.append(("MilvusStore (server IVF)", MilvusStore(server, name=name + "_ivf",
                                                                 params=IndexParams(ivf_threshold=1))))
    return out


def seed(tmp: Path, queries: int, milvus_file: Path, server: str | None = None) -> None:
    encoder = load_encoder(DEFAULT_MODEL, ROOT / "data").load()
    dev = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    questions = (dev * (queries // len(dev) + 1))[:queries]
    indexes = {}
    for name, store in [("FaissStore", FaissStore()), *milvus_stores(milvus_file, server, "seed")]:
        engine = Engine(EngineConfig(ROOT / "corpus" / "documents", tmp / name / "index", tmp / "data"), encoder,
                        store=store)
        engine.rebuild()
        indexes[name] = engine.index
    vectors = encoder.encode_queries(questions)
    print(f"seed (17 passages), {queries} searches each:")
    compare(indexes, encoder, questions, vectors)


def synthetic(tmp: Path, n: int, queries: int, milvus_file: Path, server: str | None = None) -> None:
    sys.path.insert(0, str(ROOT / "bench"))
    from scale import SyntheticEncoder, TextMaker, build, questions as make_questions  # noqa: PLC0415

    maker = TextMaker()
    t = time.perf_counter()
    b = build(n, tmp / "syn", maker)
    print(f"\n{n:,} generated passages ({b['index_type']}), built with FAISS in {time.perf_counter() - t:.0f} s")
    faiss_index = load_index(tmp / "syn" / "index")
    data = faiss_index.vectors.get(range(faiss_index.size))
    indexes = {"FaissStore": faiss_index}
    for name, store in milvus_stores(milvus_file, server, "syn", ivf=True):
        t = time.perf_counter()
        vectors = store.create(faiss_index.manifest.build_id, data.shape[1], len(data))
        vectors.add(data)
        store.save(vectors, tmp)
        print(f"the same vectors into {name} ({vectors.kind}): {time.perf_counter() - t:.0f} s")
        indexes[name] = dataclasses.replace(faiss_index, vectors=vectors)
    questions = make_questions(maker, queries)
    qv = SyntheticEncoder(topics=64, seed=9).vectors(queries)
    print(f"{queries} searches each:")
    compare(indexes, None, questions, qv)
    encoder = load_encoder(DEFAULT_MODEL, ROOT / "data").load()
    print(f"{queries // 3} searches each with the model (the question encoded inside the timed search):")
    compare(indexes, encoder, questions[: queries // 3], None)
    if server:
        replica_start(tmp, n, maker, server)


def replica_start(tmp: Path, n: int, maker, server: str) -> None:
    """A generation built into the Milvus server (vectors and files), then the start of a replica
    on another machine: an empty index directory, the server's files fetched, the index loaded."""
    from scale import build  # noqa: PLC0415

    t = time.perf_counter()
    build(n, tmp / "syn-server", maker, MilvusStore(server, name="replica"))
    print(f"\n{n:,} passages built into the Milvus server, vectors and files: {time.perf_counter() - t:.0f} s")
    for attempt in range(2):
        target = tmp / f"replica-{attempt}" / "index"
        t = time.perf_counter()
        store = MilvusStore(server, name="replica")
        generation = store.current()
        store.fetch_files(generation, target)
        fetched = time.perf_counter() - t
        index = load_index(target, store=store)
        size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 2**20
        print(f"a replica's start from Milvus alone ({size:.0f} MiB of files): fetch {fetched:.1f} s, "
              f"then load {time.perf_counter() - t - fetched:.1f} s ({index.size:,} passages)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--synthetic", type=int, default=100_000, help="generated passages (0: the seed only)")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--server", action="store_true", help="also a real Milvus server (the milvus package)")
    ap.add_argument("--bm25", nargs=3, metavar=("CORPUS_DIR", "DATA_DIR", "QUESTIONS"),
                    help="instead: Milvus' BM25 against ours on a question set (data dir with a built index)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    if args.bm25:
        with tempfile.TemporaryDirectory() as tmp:
            bm25_compare(Path(args.bm25[0]), Path(args.bm25[1]), Path(args.bm25[2]), Path(tmp))
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = None
        if args.server:
            from milvus import default_server  # noqa: PLC0415 - the dev extra's standalone server

            default_server.set_base_dir(str(tmp / "milvus-server"))
            default_server.start()
            server = f"http://127.0.0.1:{default_server.listen_port}"
        try:
            seed(tmp, args.queries, tmp / "milvus.db", server)
            if args.synthetic:
                synthetic(tmp, args.synthetic, args.queries, tmp / "milvus-syn.db", server)  # a fresh Lite server
        finally:
            if args.server:
                default_server.stop()


def bm25_compare(corpus_dir: Path, data_dir: Path, questions_file: Path, tmp: Path) -> None:
    """Milvus' own BM25 (``jieba`` analyzer, in Milvus Lite) against ours, alone and fused with the
    dense score the same way (weight 0.2; Milvus' scores normalised by the query's best one,
    since Milvus gives no per-term idf to normalise by the query's best possible score)."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient  # noqa: PLC0415

    from corpus.clean import match_form  # noqa: PLC0415
    from embeddings.evaluate import compact, read_questions  # noqa: PLC0415
    from embeddings.lexical import tokenize  # noqa: PLC0415

    encoder = load_encoder(DEFAULT_MODEL, data_dir).load()
    engine = Engine(EngineConfig(corpus_dir, data_dir / "index", data_dir), encoder)
    engine.load_or_build()
    index = engine.index
    client = MilvusClient(str(tmp / "bm25.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=8192, enable_analyzer=True,
                     analyzer_params={"tokenizer": "jieba"})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                 output_field_names=["sparse"]))
    params = client.prepare_index_params()
    params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
    client.create_collection("bm25", schema=schema, index_params=params)
    rows = [{"id": i, "text": p.match_text} for i, p in enumerate(index.passages)]
    for start in range(0, len(rows), 2000):
        client.insert("bm25", rows[start : start + 2000])
    client.load_collection("bm25")

    ranks = {"ours, BM25 alone": [], "Milvus, BM25 alone": [], "ours, fused (the product)": [],
             "Milvus BM25 fused": []}
    for q in read_questions(questions_file):
        if not q.evidence or q.no_answer:
            continue
        ev = [compact(e) for e in q.evidence]

        def rank(ids, ev=ev):
            return next((r for r, i in enumerate(ids[:10], 1)
                         if any(e in compact(index.passages[int(i)].text) for e in ev)), None)

        norm = match_form(q.question)
        ours = index.bm25.normalised_scores(tokenize(norm))
        ranks["ours, BM25 alone"].append(rank(list(np.argsort(-ours, kind="stable")[: int((ours > 0).sum())])))
        [hits] = client.search("bm25", data=[norm], anns_field="sparse", limit=100,
                               search_params={"metric_type": "BM25"})
        milvus = {h["id"]: abs(h["distance"]) for h in hits}
        ranks["Milvus, BM25 alone"].append(rank(sorted(milvus, key=milvus.get, reverse=True)))
        qv = engine.query_vector(q.question)
        scores, ids = index.vectors.search(qv, 100)
        dense = {int(i): float(s) for i, s in zip(ids, scores)}
        extra = [i for i in milvus if i not in dense]
        if extra:
            dense.update(zip(extra, (index.vectors.get(extra) @ qv).tolist()))
        best = max(milvus.values(), default=1.0) or 1.0
        fused = sorted(dense, key=lambda i: dense[i] + 0.2 * milvus.get(i, 0.0) / best, reverse=True)
        ranks["Milvus BM25 fused"].append(rank(fused))
        ranks["ours, fused (the product)"].append(next(
            (r for r, h in enumerate(engine.search(q.question, 10), 1) if any(e in compact(h.passage.text) for e in ev)),
            None))
    print(f"{questions_file.name} ({len(ranks['Milvus BM25 fused'])} answerable questions):")
    for name, rs in ranks.items():
        r1 = sum(1 for r in rs if r == 1) / len(rs)
        mrr = sum(1 / r for r in rs if r) / len(rs)
        print(f"  {name:28s} R@1 {r1:.3f}  MRR@10 {mrr:.3f}")


if __name__ == "__main__":
    main()
