import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from corpus.reader import load_corpus
from embeddings.engine import Engine, EngineConfig
from embeddings.generations import RebuildInProgress
from embeddings.index.build import build_index
from embeddings.index.cache import BuildCache
from embeddings.index.load import load_index
from embeddings.index.manifest import MANIFEST_FILE, PASSAGES_FILE, IndexProblem
from embeddings.store import INDEX_FILE, IndexParams
from tests.fakes import FailingEncoder, HashEncoder


def test_build_writes_a_consistent_index(fake_engine: Engine):
    index = fake_engine.index
    m = index.manifest
    assert m.model == "fake-hash" and m.dimension == 512 and m.index_type == "flat"
    assert m.passages == index.size == 17 and m.documents == 1
    assert m.cleaning == {"pinyin_removed": 327, "mojibake_repaired": 0, "mojibake_marked": 3}
    assert len(m.corpus_fingerprint) == 16 and m.built_at
    assert m.versions["faiss-cpu"] and m.versions["bm25s"] and m.vectors["store"] == "faiss"
    for name in (INDEX_FILE, PASSAGES_FILE, MANIFEST_FILE):
        assert (index.directory / name).exists()


def test_round_trip_search_finds_exact_passage(fake_engine: Engine):
    passage = fake_engine.index.passages[2]  # no section title: embedded text = its text
    hits = fake_engine.search(passage.text, k=3)
    assert hits[0].passage.id == passage.id
    assert hits[0].dense == pytest.approx(1.0, abs=1e-4)


def test_loading_rejects_another_model(fake_engine: Engine):
    with pytest.raises(IndexProblem, match="built with model 'fake-hash'"):
        load_index(fake_engine.config.index_dir, model="other-model")


@pytest.mark.parametrize("damage", ["faiss", "passages", "manifest", "count", "version"])
def test_loading_rejects_a_broken_index(fake_engine: Engine, damage: str):
    d = fake_engine.config.index_dir
    if damage == "faiss":
        (d / INDEX_FILE).write_bytes(b"not a faiss file")
    elif damage == "passages":
        (d / PASSAGES_FILE).write_text("{broken", "utf-8")
    elif damage == "manifest":
        (d / MANIFEST_FILE).write_text("{", "utf-8")
    else:
        m = json.loads((d / MANIFEST_FILE).read_text("utf-8"))
        m["passages" if damage == "count" else "format_version"] = 99
        (d / MANIFEST_FILE).write_text(json.dumps(m), "utf-8")
    with pytest.raises(IndexProblem, match="rebuild"):
        load_index(d, model="fake-hash")


def test_missing_index_says_how_to_build(tmp_path: Path):
    with pytest.raises(IndexProblem, match="qabot index build"):
        load_index(tmp_path / "nothing")


def test_failed_rebuild_keeps_the_old_index_serving(fake_engine: Engine):
    before = fake_engine.index
    files_before = {p: p.read_bytes() for p in before.directory.rglob("*") if p.is_file()}
    (fake_engine.config.corpus_dir / "new.txt").write_text("新的文档内容，需要重新编码。", "utf-8")
    fake_engine.encoder = FailingEncoder()  # the cache covers the old passages, the new one fails
    with pytest.raises(RuntimeError, match="exploded"):
        fake_engine.rebuild()
    assert fake_engine.index is before
    assert {p: p.read_bytes() for p in before.directory.rglob("*") if p.is_file()} == files_before
    assert not [p for p in before.directory.parent.iterdir() if ".building." in p.name]
    assert fake_engine.search("應勇強調", 1)


def test_second_rebuild_is_refused_while_one_runs(fake_engine: Engine):
    assert fake_engine._build_lock.acquire(blocking=False)
    try:
        assert fake_engine.rebuilding
        with pytest.raises(RebuildInProgress):
            fake_engine.rebuild()
    finally:
        fake_engine._build_lock.release()


def test_rebuild_embeds_only_changed_passages(fake_engine: Engine):
    encoder: HashEncoder = fake_engine.encoder
    report = fake_engine.rebuild()
    assert report.embedded == 0 and report.passages == 17
    (fake_engine.config.corpus_dir / "extra.txt").write_text("第一段新内容。\n第二段新内容。", "utf-8")
    before = encoder.encoded
    report = fake_engine.rebuild()
    assert report.embedded == 2 and encoder.encoded - before == 2
    assert report.documents == 2 and fake_engine.index.size == 19


def test_stale_index_is_detected(fake_engine: Engine):
    assert not fake_engine.is_stale()
    (fake_engine.config.corpus_dir / "extra.txt").write_text("新段落。", "utf-8")
    assert fake_engine.is_stale()


def test_interrupted_swap_falls_back_to_previous_copy(fake_engine: Engine):
    d = fake_engine.config.index_dir
    old = d.with_name(d.name + ".old")
    shutil.move(d, old)  # as if a crash hit between the two renames
    assert load_index(d, model="fake-hash").size == 17


@pytest.mark.parametrize(("params", "kind", "factory"), [
    (IndexParams(), "flat", "Flat"),
    (IndexParams(hnsw_threshold=10), "hnsw", "HNSW32,Flat"),
    (IndexParams(hnsw_threshold=10, ivf_threshold=10, ivf_nprobe=4), "ivf-sq8", "IVF16,SQ8"),
])
def test_the_vector_index_is_chosen_by_size_and_recorded(tmp_path: Path, seed_corpus: Path, params, kind, factory):
    corpus = load_corpus(seed_corpus)
    cache = BuildCache(tmp_path / "cache.sqlite")
    report = build_index(corpus, HashEncoder(), tmp_path / "idx", cache, params)
    assert report.index_type == kind
    index = load_index(tmp_path / "idx", "fake-hash", replace(params, hnsw_ef_search=64, ivf_nprobe=4))
    assert index.manifest.vectors["factory"] == factory and index.manifest.index_type == kind
    if kind == "hnsw":
        assert index.vectors.index.hnsw.efSearch == 64
    if kind == "ivf-sq8":
        assert index.vectors.index.nprobe == 4
    q = HashEncoder().encode_queries([corpus.passages[3].text])
    _, ids = index.vectors.search(q, 1)
    assert ids[0] == 3
    # lexical candidates get their dense score from the stored vector, quantised or not
    assert np.dot(index.vectors.get([3])[0], q[0]) == pytest.approx(1.0, abs=0.02)


def test_passages_are_read_on_demand_and_lexical_scores_memory_mapped(fake_engine: Engine):
    index = fake_engine.index
    passages = load_corpus(fake_engine.config.corpus_dir).passages
    assert not isinstance(index.passages, list) and len(index.passages) == len(passages)
    assert list(index.passages) == list(passages)  # same rows, same order, every field
    assert index.passages[-1] == passages[-1] and index.passages[1:3] == list(passages[1:3])
    with pytest.raises(IndexError):
        index.passages[len(passages)]
    assert isinstance(index.bm25._bm25s.scores["data"], np.memmap)
    assert index.bm25.n == index.pinyin_bm25.n == len(passages)


def test_a_damaged_lexical_file_is_refused_at_load(fake_engine: Engine):
    d = fake_engine.config.index_dir
    data = next((d / "bm25").glob("data*.npy"))
    raw = bytearray(data.read_bytes())
    raw[-1] ^= 0xFF
    data.write_bytes(bytes(raw))
    with pytest.raises(IndexProblem, match="checksum"):
        load_index(d, model="fake-hash")


def test_segmentation_in_worker_processes_gives_the_same_terms():
    from embeddings.index.cache import lexical_terms

    texts = [f"省委书记应勇赴武汉市青和居社区调研第{i}次，陶久娣介绍了情况。" for i in range(40)]
    assert lexical_terms(texts, workers=2, min_parallel=1) == lexical_terms(texts, workers=1)


def test_build_cache_round_trip(tmp_path: Path):
    cache = BuildCache(tmp_path / "c.sqlite")
    v = np.arange(4, dtype=np.float32)
    cache.put("m", {"k": v})
    assert np.array_equal(cache.get("m", ["k", "missing"])["k"], v)
    assert cache.get("other", ["k"]) == {}


def test_lexical_terms_are_cached_by_content(tmp_path: Path, monkeypatch):
    import embeddings.index.cache as index_module

    cache = BuildCache(tmp_path / "c.sqlite")
    first = cache.terms(["应勇强调社区工作", "基层社会治理"])
    assert "社区" in first[0]["tokens"] and "yingyong" in first[0]["pinyin"]
    calls = []
    monkeypatch.setattr(index_module, "passage_terms", lambda t: calls.append(t) or (["x"], []))
    again = BuildCache(tmp_path / "c.sqlite").terms(["基层社会治理", "新的段落"])
    assert again[0] == first[1] and calls == ["新的段落"]


def test_a_damaged_build_cache_is_set_aside_and_rebuilt(tmp_path: Path, seed_corpus: Path, caplog):
    cache = tmp_path / "data" / "cache" / "build-cache.sqlite"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)  # a header, then garbage
    engine = Engine(EngineConfig(seed_corpus, tmp_path / "index", tmp_path / "data"), HashEncoder())
    report = engine.rebuild()
    assert report.passages == 17 and "build cache" in caplog.text and "damaged" in caplog.text
    assert list(cache.parent.glob("build-cache.sqlite.damaged-*"))


def test_folders_left_by_a_killed_build_are_removed(fake_engine: Engine):
    index_dir = Path(fake_engine.config.index_dir)
    stale = index_dir.parent / f".{index_dir.name}.building.abc123"
    stale.mkdir()
    (stale / INDEX_FILE).write_bytes(b"half written")
    fake_engine.rebuild()
    assert not stale.exists()
    assert not list(index_dir.parent.glob(f".{index_dir.name}.building.*"))


@pytest.mark.parametrize("damage", ["vector bytes", "swapped lines"])
def test_silent_damage_is_found_by_the_checksums(fake_engine: Engine, damage: str):
    d = Path(fake_engine.config.index_dir)
    if damage == "vector bytes":
        data = bytearray((d / INDEX_FILE).read_bytes())
        for i in range(len(data) - 400, len(data) - 300):  # inside the vectors, not the header
            data[i] ^= 0x55
        (d / INDEX_FILE).write_bytes(bytes(data))
    else:
        lines = (d / PASSAGES_FILE).read_text("utf-8").splitlines(keepends=True)
        lines[3], lines[4] = lines[4], lines[3]
        (d / PASSAGES_FILE).write_text("".join(lines), "utf-8")
    with pytest.raises(IndexProblem, match="checksum"):
        load_index(d, model="fake-hash")
