"""Scale: build time, memory, disk and search latency at 10k, 100k and 1M passages.

    .venv/bin/python bench/scale.py [--sizes 10000 100000] [--queries 300]
    .venv/bin/python bench/scale.py --faiss 100000      # the vector-index candidates, measured

Corpora are generated Chinese text: words drawn from jieba's dictionary by its frequencies
(a realistic Zipf vocabulary, common words with 100k+ postings), sentences of 8-16 words,
paragraphs of ~200 characters, made-up person names. Everything but the embedding runs the
product's own build (reading the files, segmentation, bm25s, FAISS, the index directory);
passage vectors are synthetic (clustered, 384 dimensions like the default model) because
embedding 1M passages takes days on two cores. The real model's passage throughput is
measured on a sample and the embedding time extrapolated from it. Serving is measured in a
fresh process (real model loaded, so its memory counts): search with the query vector given
(model excluded) and search from the text (model included).

The machines are shared: compare figures of one run, and repeat before trusting a
difference under ~20%.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine, percentile, summary_ms

DIM = 384


class SyntheticEncoder:
    """Clustered unit vectors (a passage is its topic's centre plus noise: cosine ~0.85 to the
    centre, like neighbouring passages of one subject), made fast and reproducibly."""

    name = "synthetic-384"
    dim = DIM

    def __init__(self, topics: int, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.centres = rng.standard_normal((topics, DIM)).astype(np.float32)
        self._rng = np.random.default_rng(seed + 1)
        self.seconds = 0.0

    def vectors(self, n: int) -> np.ndarray:
        rows = self.centres[self._rng.integers(len(self.centres), size=n)]
        v = rows + 0.6 * self._rng.standard_normal((n, DIM)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def encode_documents(self, texts, progress=None):
        start = time.perf_counter()
        out = np.vstack([self.vectors(min(50_000, len(texts) - i)) for i in range(0, len(texts), 50_000)])
        self.seconds += time.perf_counter() - start
        if progress:
            progress(len(texts))
        return out

    def encode_queries(self, texts):
        return self.vectors(len(texts))


# --- generated text ------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红鹏飞辉宇浩然思雨欣怡子涵俊杰晨阳"


class TextMaker:
    def __init__(self, seed: int = 0):
        sys.path.insert(0, str(ROOT))
        from corpus.words import segmenter

        freq = segmenter().dt.FREQ
        words = [w for w, f in freq.items() if f > 0 and all("\u4e00" <= c <= "\u9fff" for c in w)]
        weights = np.array([freq[w] for w in words], dtype=np.float64)
        self.words = np.array(words, dtype=object)
        self.p = weights / weights.sum()
        self.rng = np.random.default_rng(seed)
        r = random.Random(seed)
        self.names = ["".join([r.choice(SURNAMES), r.choice(GIVEN), r.choice(GIVEN)]) for _ in range(20_000)]

    def paragraphs(self, n: int, chars: int = 200) -> list[str]:
        out = []
        draws = self.rng.choice(len(self.words), size=n * 120, p=self.p)
        pos = 0
        for _ in range(n):
            parts, length, sentence = [], 0, 0
            if self.rng.random() < 0.5:
                parts.append(self.names[int(self.rng.integers(len(self.names)))])
            while length < chars:
                w = self.words[draws[pos % len(draws)]]
                pos += 1
                parts.append(w)
                length += len(w)
                sentence += 1
                if sentence >= 8 and self.rng.random() < 0.15:
                    parts.append("，" if self.rng.random() < 0.7 else "。")
                    sentence = 0
            out.append("".join(parts) + "。")
        return out


def write_corpus(directory: Path, passages: int, maker: TextMaker, per_doc: int = 20) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for d in range(0, passages, per_doc):
        paras = maker.paragraphs(min(per_doc, passages - d))
        (directory / f"doc_{d // per_doc:06d}.txt").write_text("\n\n".join(paras) + "\n", "utf-8")


def questions(maker: TextMaker, n: int) -> list[str]:
    """Questions of 3-6 words from the same vocabulary (common and rare words alike)."""
    out = []
    for para in maker.paragraphs(n, chars=12):
        out.append(para.rstrip("。").replace("，", "") + "是什么？")
    return out


# --- build ---------------------------------------------------------------------------------

def build(n: int, work: Path, maker: TextMaker, store=None) -> dict:
    sys.path.insert(0, str(ROOT))
    from corpus.reader import load_corpus
    from embeddings.index.build import build_index
    from embeddings.index.cache import BuildCache

    corpus_dir = work / "corpus"
    t = time.perf_counter()
    write_corpus(corpus_dir, n, maker)
    generate_s = time.perf_counter() - t
    t = time.perf_counter()
    corpus = load_corpus(corpus_dir, 240)
    read_s = time.perf_counter() - t
    encoder = SyntheticEncoder(topics=max(64, n // 100))
    report = build_index(corpus, encoder, work / "index", BuildCache(work / "cache.sqlite"), store=store)
    size = sum(p.stat().st_size for p in (work / "index").rglob("*") if p.is_file())
    return {"passages": report.passages, "generate_s": generate_s, "read_s": read_s,
            "synthetic_embed_s": encoder.seconds, "stages": report.stages, "build_s": report.seconds,
            "index_type": report.index_type, "disk_mib": size / 2**20}


def real_embedding_rate(maker: TextMaker, sample: int) -> float:
    """Passages per second of the default model on generated passages."""
    sys.path.insert(0, str(ROOT))
    from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder

    encoder = load_encoder(DEFAULT_MODEL, ROOT / "data").load()
    texts = maker.paragraphs(sample)
    encoder.encode_documents(texts[:16])
    t = time.perf_counter()
    encoder.encode_documents(texts)
    return sample / (time.perf_counter() - t)


# --- serving, in a fresh process -----------------------------------------------------------

def _rss_mib() -> tuple[float, float]:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def serve(index_dir: Path, questions_file: Path) -> None:
    """Load the model and the index as the bot does, then time searches; prints one JSON line."""
    sys.path.insert(0, str(ROOT))
    from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder
    from embeddings.index.load import load_index
    from embeddings.search import FusionParams, search

    qs = json.loads(questions_file.read_text("utf-8"))
    encoder = load_encoder(DEFAULT_MODEL, ROOT / "data").load()
    encoder.encode_queries(["预热"])
    model_rss = _rss_mib()[0]
    t = time.perf_counter()
    index = load_index(index_dir)
    load_s = time.perf_counter() - t
    fake = SyntheticEncoder(topics=64, seed=9)
    vectors = fake.vectors(len(qs))
    for q, v in zip(qs[:20], vectors):  # warm-up: touch the pages the first queries need
        search(index, encoder, q, 5, FusionParams(), v)
    without, with_model = [], []
    for q, v in zip(qs, vectors):
        t = time.perf_counter()
        search(index, encoder, q, 5, FusionParams(), v)
        without.append(time.perf_counter() - t)
        t = time.perf_counter()
        search(index, encoder, q, 5, FusionParams())
        with_model.append(time.perf_counter() - t)
    rss, peak = _rss_mib()
    print(json.dumps({"load_s": load_s, "model_rss_mib": model_rss, "rss_mib": rss, "peak_rss_mib": peak,
                      "without_model": without, "with_model": with_model}))


# --- FAISS candidates ----------------------------------------------------------------------

def compare_faiss(n: int, queries: int = 300) -> None:
    """Each candidate vector index on ``n`` synthetic vectors: build time, memory, search
    p50/p95 (one thread, one query at a time, as the bot searches) and recall@10 against exact."""
    import faiss

    enc = SyntheticEncoder(topics=max(64, n // 100))
    xb = enc.vectors(n)
    xq = enc.vectors(queries)
    exact = faiss.IndexFlatIP(DIM)
    exact.add(xb)
    faiss.omp_set_num_threads(1)
    _, truth = exact.search(xq, 10)
    nlist = int(4 * np.sqrt(n))
    candidates = {
        "Flat": ("Flat", {}),
        "HNSW32,Flat efC40 efS128": ("HNSW32,Flat", {"efConstruction": 40, "efSearch": 128}),
        "HNSW32,SQ8 efC40 efS128": ("HNSW32,SQ8", {"efConstruction": 40, "efSearch": 128}),
        f"IVF{nlist},SQ8 nprobe32": (f"IVF{nlist},SQ8", {"nprobe": 32}),
        f"IVF{nlist},SQ8 nprobe64": (f"IVF{nlist},SQ8", {"nprobe": 64}),
    }
    print(f"{n} vectors, {queries} queries; build with {os.cpu_count()} threads, search with 1")
    for name, (factory, opts) in candidates.items():
        faiss.omp_set_num_threads(os.cpu_count() or 1)
        index = faiss.index_factory(DIM, factory, faiss.METRIC_INNER_PRODUCT)
        if "efConstruction" in opts:
            index.hnsw.efConstruction = opts["efConstruction"]
        t = time.perf_counter()
        if not index.is_trained:
            index.train(xb[np.random.default_rng(0).choice(n, size=min(n, 100 * nlist), replace=False)])
        index.add(xb)
        build_s = time.perf_counter() - t
        if "efSearch" in opts:
            index.hnsw.efSearch = opts["efSearch"]
        if "nprobe" in opts:
            index.nprobe = opts["nprobe"]
        faiss.omp_set_num_threads(1)
        times, found = [], []
        for q in xq:
            t = time.perf_counter()
            _, ids = index.search(q[None], 10)
            times.append(time.perf_counter() - t)
            found.append(ids[0])
        recall = np.mean([len(set(f) & set(g)) / 10 for f, g in zip(found, truth)])
        mib = len(faiss.serialize_index(index)) / 2**20
        print(f"  {name:28s} build {build_s:7.1f} s  {mib:7.0f} MiB  search {summary_ms(times)}  recall@10 {recall:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--sample", type=int, default=500, help="passages embedded by the real model to measure its rate")
    ap.add_argument("--workdir", type=Path, help="keep the corpora and indexes here (default: a temporary folder)")
    ap.add_argument("--faiss", type=int, help="compare the vector-index candidates at this many vectors, then stop")
    ap.add_argument("--serve", nargs=2, metavar=("INDEX_DIR", "QUESTIONS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        serve(Path(args.serve[0]), Path(args.serve[1]))
        return
    if args.faiss:
        compare_faiss(args.faiss, args.queries)
        return

    print(f"machine: {machine()}")
    maker = TextMaker()
    rate = real_embedding_rate(maker, args.sample)
    print(f"default model, passage embedding: {rate:.1f} passages/s (measured on {args.sample} generated passages)")
    work_root = args.workdir or Path(tempfile.mkdtemp(prefix="qabot-scale-"))
    try:
        for n in args.sizes:
            work = work_root / str(n)
            shutil.rmtree(work, ignore_errors=True)
            b = build(n, work, maker)
            qfile = work / "questions.json"
            qfile.write_text(json.dumps(questions(maker, args.queries), ensure_ascii=False), "utf-8")
            out = subprocess.run([sys.executable, __file__, "--serve", str(work / "index"), str(qfile)],
                                 capture_output=True, text=True, check=True)
            s = json.loads(out.stdout.strip().splitlines()[-1])
            st = b["stages"]
            not_embedding = b["read_s"] + b["build_s"] - st.get("embed", 0.0)
            embed_real = b["passages"] / rate
            print(f"\n== {b['passages']:,} passages ({b['index_type']}), generated in {b['generate_s']:.0f} s")
            print(f"  build without the embedding: {not_embedding:7.1f} s  (read {b['read_s']:.1f}, "
                  + ", ".join(f"{k} {v:.1f}" for k, v in st.items() if k != "embed") + ")")
            print(f"  embedding with the default model (extrapolated): {embed_real / 60:7.1f} min; "
                  f"total end to end {(not_embedding + embed_real) / 60:.1f} min")
            print(f"  index on disk: {b['disk_mib']:.0f} MiB; serving process: load {s['load_s']:.1f} s, "
                  f"RSS {s['rss_mib']:.0f} MiB (model alone {s['model_rss_mib']:.0f}), peak {s['peak_rss_mib']:.0f} MiB")
            print(f"  search, query vector given (model excluded): {summary_ms(s['without_model'])}")
            print(f"  search from the text (model included):       {summary_ms(s['with_model'])}")
            print(f"  p95 excluding the model: {percentile([x * 1000 for x in s['without_model']], 95):.1f} ms")
    finally:
        if not args.workdir:
            shutil.rmtree(work_root, ignore_errors=True)


if __name__ == "__main__":
    main()
