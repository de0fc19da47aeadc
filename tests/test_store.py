"""The vector stores behind one interface: the same tests for FAISS (embedded, the default),
Milvus Lite (an embedded file) and a real Milvus server (the standalone server the ``milvus``
package ships, started once for the session on a free loopback port)."""

import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

import embeddings.engine as engine_module
import embeddings.milvus as milvus_module
from embeddings.engine import Engine, EngineConfig
from embeddings.generations import RebuildInProgress, process_lock
from embeddings.index.build import embed_input
from embeddings.search import search
from embeddings.milvus import MilvusStore
from embeddings.store import FaissStore, IndexParams, StoreProblem, open_store
from tests.fakes import FailingEncoder, HashEncoder


@pytest.fixture(scope="session")
def milvus_file(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("milvus") / "qabot.db"


@pytest.fixture(params=["faiss", "milvus-lite", "milvus-server"])
def make_store(request, milvus_file):
    """A factory of stores of one kind; Milvus ones share a name, as replicas do."""
    name = f"t{uuid.uuid4().hex[:12]}"
    uri = request.getfixturevalue("milvus_server") if request.param == "milvus-server" else str(milvus_file)

    def make():
        if request.param == "faiss":
            return FaissStore()
        return MilvusStore(uri, name=name)

    return make


def _vectors(n: int, dim: int = 16, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_add_search_get_delete_count(make_store, tmp_path):
    store = make_store()
    data = _vectors(50)
    vectors = store.create("g1", 16, len(data))
    vectors.add(data[:30])
    vectors.add(data[30:])  # rows continue where the last add stopped
    store.save(vectors, tmp_path)
    assert vectors.count() == 50
    scores, ids = vectors.search(data[42], 5)
    assert ids[0] == 42 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert list(scores) == sorted(scores, reverse=True) and len(ids) == 5
    assert np.allclose(vectors.get([7, 3]), data[[7, 3]], atol=1e-6)
    vectors.delete([42])
    _, ids = vectors.search(data[42], 5)
    assert 42 not in ids
    assert vectors.info()["store"] == store.kind


def _engine(tmp_path: Path, corpus: Path, store, encoder=None) -> Engine:
    return Engine(EngineConfig(corpus, tmp_path / "index", tmp_path / "data"), encoder or HashEncoder(), store=store)


def _hits_match_their_vectors(engine: Engine, question: str) -> bool:
    """Every hit's dense score is the similarity to its own passage's vector: the passages and
    the vectors searched belong to one generation."""
    encoder = HashEncoder()
    q = encoder.encode_queries([question])[0]
    hits = engine.search(question, 5)
    expected = encoder.encode_documents([embed_input(h.passage) for h in hits]) @ q
    return bool(hits) and np.allclose([h.dense for h in hits], expected, atol=1e-4)


def test_an_engine_searches_and_records_its_store(make_store, tmp_path, seed_corpus):
    engine = _engine(tmp_path, seed_corpus, make_store())
    engine.rebuild()
    assert engine.index.manifest.vectors["store"] == engine.store.kind
    assert engine.info().passages == 17 and engine.info().generation == engine.index.manifest.build_id
    assert _hits_match_their_vectors(engine, "應勇強調")
    assert any("陶久娣" in h.passage.text for h in engine.answer("东湖新城社区党委书记是谁？").hits)


def test_rebuild_while_answering_never_mixes_generations(make_store, tmp_path, seed_corpus):
    engine = _engine(tmp_path, seed_corpus, make_store())
    engine.rebuild()
    (seed_corpus / "new.txt").write_text("社区食堂每天中午为老人提供午餐。\n\n王主任介绍了食堂的运营情况。", "utf-8")
    answered, wrong, failed, stop = [], [], [], threading.Event()

    def ask():
        while not stop.is_set():
            question = f"社区食堂为谁提供午餐？{len(answered)}"
            try:
                (answered if _hits_match_their_vectors(engine, question) else wrong).append(question)
            except Exception as e:  # a question in flight when its generation's vectors are dropped
                failed.append(e)

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        for _ in range(3):
            engine.rebuild()
    finally:
        stop.set()
        asker.join()
    assert answered and not wrong and not failed
    assert "社区食堂" in engine.search("社区食堂为谁提供午餐？", 1)[0].passage.text


def test_a_question_in_flight_when_a_rebuild_drops_its_vectors_is_answered_from_the_new_ones(
        make_store, tmp_path, seed_corpus):
    """Deterministic form of the race above: the rebuild happens between the moment a question
    takes the loaded index and its vector search (Milvus drops the old generation's collection)."""
    engine = _engine(tmp_path, seed_corpus, make_store())
    engine.rebuild()
    taken = []

    def question(index):
        if not taken:
            taken.append(index)
            engine.rebuild()  # swapped in, the old generation's vectors dropped
        return search(index, engine.encoder, "应勇强调了什么？", 3)

    hits = engine._in_current_generation(question)
    assert hits and taken[0] is not engine.index


def _another_replica_rebuilding(engine: Engine):
    """What a replica holds while it rebuilds: its claim in a Milvus server, else the lock file."""
    claim = engine.store.rebuild_claim()
    return claim if claim is not None else process_lock(Path(engine.config.index_dir))


def test_a_second_rebuild_is_refused_in_this_process_and_in_another(make_store, tmp_path, seed_corpus):
    first = _engine(tmp_path, seed_corpus, make_store())
    first.rebuild()
    with _another_replica_rebuilding(first), pytest.raises(RebuildInProgress, match="another"):
        first.rebuild()  # another replica holds the lock
    assert first._build_lock.acquire(blocking=False)
    try:
        with pytest.raises(RebuildInProgress):
            first.rebuild()
    finally:
        first._build_lock.release()
    first.rebuild()  # free again


def test_a_failed_rebuild_leaves_the_old_generation_serving(make_store, tmp_path, seed_corpus):
    engine = _engine(tmp_path, seed_corpus, make_store())
    engine.rebuild()
    before = engine.info().generation
    (seed_corpus / "new.txt").write_text("需要重新编码的新段落。", "utf-8")
    engine.encoder = FailingEncoder()
    with pytest.raises(RuntimeError, match="exploded"):
        engine.rebuild()
    engine.encoder = HashEncoder()
    assert engine.info().generation == before and _hits_match_their_vectors(engine, "應勇強調")
    fresh = _engine(tmp_path, seed_corpus, engine.store)  # a restart finds the old one whole
    fresh.load()
    assert fresh.info().generation == before and _hits_match_their_vectors(fresh, "應勇強調")
    if isinstance(engine.store, MilvusStore):  # the half-built collection was dropped
        kept = {f"{engine.store.name}_{before}"} | ({f"{engine.store.name}_{before}_files"}
                                                   if engine.store.keeps_files else set())
        assert {c for c in engine.store.client.list_collections() if c.startswith(engine.store.name)} == kept


def test_a_replica_sees_a_rebuild_by_another_without_restart(make_store, tmp_path, seed_corpus, monkeypatch):
    monkeypatch.setattr(engine_module, "REFRESH_EVERY_S", 0.0)
    a = _engine(tmp_path, seed_corpus, make_store())
    a.rebuild()
    b = _engine(tmp_path, seed_corpus, make_store())  # another process, the same directory and store
    b.load()
    assert not b.search("社区食堂为谁提供午餐？", 1)[0].passage.text.startswith("社区食堂")
    (seed_corpus / "new.txt").write_text("社区食堂每天中午为老人提供午餐。", "utf-8")
    a.rebuild()
    hit = b.search("社区食堂为谁提供午餐？", 1)[0]
    assert hit.passage.text.startswith("社区食堂") and b.info().generation == a.info().generation
    if isinstance(a.store, MilvusStore):
        assert a.store.current() == a.info().generation  # the alias follows the newest generation


def test_a_replica_whose_collection_was_dropped_mid_flight_moves_on(tmp_path, seed_corpus, milvus_file, monkeypatch):
    monkeypatch.setattr(engine_module, "REFRESH_EVERY_S", 3600.0)  # it would not look on its own
    name = f"t{uuid.uuid4().hex[:12]}"
    a = _engine(tmp_path, seed_corpus, MilvusStore(str(milvus_file), name=name))
    a.rebuild()
    b = _engine(tmp_path, seed_corpus, MilvusStore(str(milvus_file), name=name))
    b.load()
    a.rebuild()  # publishes a new collection and drops the one b searches
    assert _hits_match_their_vectors(b, "應勇強調") and b.info().generation == a.info().generation


def test_an_index_of_another_store_is_refused_with_a_reason(tmp_path, seed_corpus, milvus_file):
    _engine(tmp_path, seed_corpus, FaissStore()).rebuild()
    other = _engine(tmp_path, seed_corpus, MilvusStore(str(milvus_file), name="tother"))
    with pytest.raises(Exception, match="keeps its vectors in faiss"):
        other.load()


def test_store_settings_are_parsed_and_bad_ones_refused(tmp_path):
    assert open_store("faiss").kind == "faiss"
    assert open_store(f"milvus://{tmp_path}/x.db").kind == "milvus"
    with pytest.raises(StoreProblem, match="unknown vector store"):
        open_store("redis://localhost")
    assert IndexParams().choose(10)[1] == "flat"


def test_a_replica_starting_during_another_ones_first_build_waits_and_loads_it(make_store, tmp_path, seed_corpus):
    encoding, release = threading.Event(), threading.Event()

    class HeldEncoder(HashEncoder):
        def encode_documents(self, texts, progress=None):
            encoding.set()  # the first replica is inside its build, holding the lock
            release.wait(60)
            return super().encode_documents(texts, progress)

    builder = _engine(tmp_path, seed_corpus, make_store(), HeldEncoder())
    starter = _engine(tmp_path, seed_corpus, make_store())
    starter_encoder = starter.encoder
    building = threading.Thread(target=builder.rebuild)
    building.start()
    assert encoding.wait(60)
    started = []
    starting = threading.Thread(target=lambda: started.append(starter.load_or_build()))
    starting.start()
    starting.join(0.5)
    assert not started  # still waiting while the other replica builds: neither failing nor building too
    release.set()
    building.join(60)
    starting.join(60)
    assert started == [None]  # then it loaded the other one's build
    assert starter.info().generation == builder.info().generation and starter_encoder.encoded == 0


def test_the_store_setting_is_read_once_and_its_token_never_shown(tmp_path):
    from bot.settings import Settings, SettingsError

    s = Settings.from_env({"QABOT_VECTOR_STORE": f"milvus://{tmp_path}/q.db", "QABOT_MILVUS_TOKEN": "root:Milvus",
                           "TELEGRAM_BOT_TOKEN": "123456:" + "A" * 35})
    assert s.vector_store == f"milvus://{tmp_path}/q.db" and s.milvus_token == "root:Milvus"
    assert "root:Milvus" not in repr(s) and "AAAA" not in repr(s) and "milvus_token='***'" in repr(s)
    assert Settings.from_env({}).vector_store == "faiss"
    with pytest.raises(SettingsError, match="QABOT_VECTOR_STORE"):
        Settings.from_env({"QABOT_VECTOR_STORE": "redis://localhost"})


# --- a Milvus server: replicas that share nothing but the server --------------------------------

def _server_replica(root: Path, corpus: Path, uri: str, name: str) -> Engine:
    return _engine(root, corpus, MilvusStore(uri, name=name))


def test_a_replica_with_a_directory_of_its_own_loads_the_generation_from_the_server(milvus_server, tmp_path,
                                                                                   seed_corpus, monkeypatch):
    monkeypatch.setattr(engine_module, "REFRESH_EVERY_S", 0.0)
    name = f"t{uuid.uuid4().hex[:12]}"
    a = _server_replica(tmp_path / "a", seed_corpus, milvus_server, name)
    a.rebuild()
    b = _server_replica(tmp_path / "b", tmp_path / "no-corpus", milvus_server, name)  # another machine
    b.load()
    assert b.info().generation == a.info().generation and b.info().passages == a.info().passages
    assert [h.passage.id for h in b.search("應勇強調", 3)] == [h.passage.id for h in a.search("應勇強調", 3)]
    assert _hits_match_their_vectors(b, "應勇強調")
    (seed_corpus / "new.txt").write_text("社区食堂每天中午为老人提供午餐。", "utf-8")
    a.rebuild()
    hit = b.search("社区食堂为谁提供午餐？", 1)[0]  # b fetched the new generation by itself
    assert hit.passage.text.startswith("社区食堂") and b.info().generation == a.info().generation
    kept = sorted(c for c in a.store.client.list_collections() if c.startswith(name))
    assert kept == [f"{name}_{a.info().generation}", f"{name}_{a.info().generation}_files"]


def test_files_that_do_not_match_their_checksum_are_refused(milvus_server, tmp_path, seed_corpus):
    name = f"t{uuid.uuid4().hex[:12]}"
    a = _server_replica(tmp_path / "a", seed_corpus, milvus_server, name)
    a.rebuild()
    files = f"{name}_{a.info().generation}_files"
    a.store.client.load_collection(files)
    row = a.store.client.query(files, filter="id == 1", output_fields=["data", "vec"])[0]
    a.store.client.upsert(files, [{"id": 1, "vec": row["vec"], "data": row["data"][:-8] + "AAAAAAAA"}])
    b = _server_replica(tmp_path / "b", seed_corpus, milvus_server, name)
    with pytest.raises(StoreProblem, match="checksum"):
        b.load()
    assert not (tmp_path / "b" / "index").exists()  # nothing half-fetched left in its place


def test_one_rebuild_among_the_replicas_of_a_server_and_a_killed_ones_claim_is_taken_over(
        milvus_server, tmp_path, seed_corpus, monkeypatch):
    name = f"t{uuid.uuid4().hex[:12]}"
    a = _server_replica(tmp_path / "a", seed_corpus, milvus_server, name)
    b = _server_replica(tmp_path / "b", seed_corpus, milvus_server, name)
    a.rebuild()
    before = a.info().generation
    with a.store.rebuild_claim(), pytest.raises(RebuildInProgress, match="another replica"):
        b.rebuild()
    b.rebuild()  # released
    killed = a.store.rebuild_claim().__enter__()  # a replica that dies mid-build: never released
    killed._stop.set()
    killed._beat.join()
    with pytest.raises(RebuildInProgress):
        b.rebuild()  # its heartbeat is fresh: it may still be building
    monkeypatch.setattr(milvus_module, "CLAIM_STALE_S", 0.5)
    time.sleep(1.0)
    assert b.info().generation != before  # the generation b built before still serves
    serving = b.info().generation
    c = _server_replica(tmp_path / "c", seed_corpus, milvus_server, name)
    c.load()
    assert c.info().generation == serving
    b.rebuild()  # the stale claim taken over
    assert b.store.current() == b.info().generation != serving
