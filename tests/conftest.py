from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from embeddings.engine import Engine, EngineConfig
from tests.fakes import HashEncoder

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "corpus" / "documents"
SEED_FILE = next(SEED_DIR.glob("000_*.txt"))
# The repo's own copies: a local run and a user's fresh clone test the same files.
EVAL_FILE = ROOT / "tests" / "data" / "dev.jsonl"
# Our own questions about the seed: on-topic ones it does not answer, and rewordings.
PROBES_FILE = ROOT / "tests" / "data" / "seed_probes.jsonl"
FOLLOWUPS_FILE = ROOT / "tests" / "data" / "followups.jsonl"
# The converted model is cached here between runs (git-ignored, like the index).
MODEL_DATA_DIR = ROOT / "data"

HANDMADE = """---
title: 星河小学科技节
date: 2026-05-20
source: https://example.org/xinghe
---
星河小学科技节
5月20日，星河小学举办第十届科技节，全校800名学生参加。
校长林晓明、教务处主任赵一凡出席开幕式。
校长林晓明强调：要培养学生的动手能力，鼓励大胆提问。
林晓明还要求各班级开展编程兴趣小组活动，每周至少一次。
活动地点
科技节在学校体育馆和图书馆举行，展出了机器人、航模和天文望远镜。
"""


# A second speaker beside the seed's: statements must be attributed to the one asked about.
CITY_NEWS = """---
title: 市容整治推进会
date: 2026-04-12
---
4月12日，市长李明主持召开市容环境整治推进会，副市长周岚、城管局局长郑海出席会议。
李明强调，要加快推进城市绿化工程，年内新增公园绿地50公顷。
李明要求，各区要落实垃圾分类责任，确保主干道每天清扫两次。
会议还听取了各区工作汇报。
"""


# A report of the seed's kind (a tour, who accompanied, what was stressed), written for the tests:
# the answer step must hold on documents it has never seen, not only on the seed.
TOUR_REPORT = """张华在江城调研时强调 扎实推进乡村振兴 加快农业科技创新

本报讯：5月12日至14日，省委书记张华到江城市调研。他先后来到青山镇、白河村，实地察看农田水利建设情况。

在白河村，张华走进村民家中，询问收入和生活情况。张华强调，要坚持农业农村优先发展，扎实推进乡村振兴，让农民群众过上更好的日子。

在江城市农业科技园，张华详细了解种业创新情况。他指出，要加快培育具有自主知识产权的优良品种，把种子牢牢攥在自己手中。

张华还主持召开座谈会，听取江城市委和市政府工作汇报。江城市去年粮食产量达到86万吨，新建高标准农田12万亩。

省委常委、秘书长刘洋陪同调研。
"""


@pytest.fixture
def seed_corpus(tmp_path: Path) -> Path:
    d = tmp_path / "corpus"
    d.mkdir()
    shutil.copy(SEED_FILE, d / SEED_FILE.name)
    return d


@pytest.fixture
def fake_engine(seed_corpus: Path, tmp_path: Path) -> Engine:
    engine = Engine(EngineConfig(seed_corpus, tmp_path / "index", tmp_path / "data"), HashEncoder())
    engine.rebuild()
    return engine


@pytest.fixture(scope="session")
def real_encoder():
    from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder

    return load_encoder(DEFAULT_MODEL, MODEL_DATA_DIR).load()


def seed_engine(encoder, base: Path) -> Engine:
    """A built engine over a private copy of the seed corpus under ``base``."""
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    engine = Engine(EngineConfig(corpus, base / "index", base / "data"), encoder)
    engine.rebuild()
    return engine


@pytest.fixture(scope="session")
def real_engine(real_encoder, tmp_path_factory) -> Engine:
    """The seed corpus indexed with the real default model."""
    return seed_engine(real_encoder, tmp_path_factory.mktemp("real"))


def built_engine(encoder, base: Path, files: dict[str, str], with_seed: bool = False) -> Engine:
    """A built engine over ``files`` (name -> text) under ``base``, the seed beside them if asked."""
    corpus = base / "corpus"
    corpus.mkdir()
    if with_seed:
        shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    engine = Engine(EngineConfig(corpus, base / "index", base / "data"), encoder)
    engine.rebuild()
    return engine


@pytest.fixture(scope="session")
def handmade_engine(real_encoder, tmp_path_factory) -> Engine:
    """A small document of our own, indexed with the real model."""
    return built_engine(real_encoder, tmp_path_factory.mktemp("handmade"), {"xinghe.md": HANDMADE})


@pytest.fixture(scope="session")
def two_speaker_engine(real_encoder, tmp_path_factory) -> Engine:
    """The seed and a second document with another speaker, indexed with the real model."""
    return built_engine(real_encoder, tmp_path_factory.mktemp("two-speakers"), {"citynews.md": CITY_NEWS}, True)


@pytest.fixture(scope="session")
def report_engine(real_encoder, tmp_path_factory) -> Engine:
    """A news report written for the tests (``TOUR_REPORT``) beside the seed, indexed with the real model."""
    return built_engine(real_encoder, tmp_path_factory.mktemp("report"), {"jiangcheng.txt": TOUR_REPORT}, True)


def _bind_reusable(port: int) -> socket.socket | None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except OSError:
        sock.close()
        return None


@pytest.fixture(scope="session")
def milvus_process(tmp_path_factory):
    """A Milvus server process of the session's own (``milvus.default_server``: the standalone
    binary with embedded etcd and local storage) on free loopback ports, stopped at the end. A
    machine where it cannot start fails these tests with the reason; CI installs it (the dev
    extra). A test may stop it and start it again on the same port (``listen_port``)."""
    try:
        from milvus import default_server
    except ImportError as e:
        pytest.fail(f"the Milvus server tests need the 'milvus' package (pip install -e '.[dev]'): {e}")
    default_server.set_base_dir(str(tmp_path_factory.mktemp("milvus-server")))
    # The package checks that its ports are free by binding them without SO_REUSEADDR, which fails
    # for a minute after a stop (TIME_WAIT): a restart on the same port would fail.
    default_server.config.try_bind_port = _bind_reusable
    try:
        default_server.start()
    except Exception as e:  # noqa: BLE001 - whatever stops the server binary, said once
        pytest.fail(f"the Milvus server did not start on this machine: {e}")
    yield default_server
    default_server.stop()


@pytest.fixture(scope="session")
def milvus_server(milvus_process) -> str:
    """The URI of the session's Milvus server."""
    return f"http://127.0.0.1:{milvus_process.listen_port}"
