from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from embeddings.engine import Engine, EngineConfig
from tests.fakes import HashEncoder

ROOT = Path(__file__).resolve().parent.parent
SEED_DIR = ROOT / "corpus" / "documents"
SEED_FILE = next(SEED_DIR.glob("000_*.txt"))
# The shared question set when it sits beside the checkout, else the copy kept in the repo.
_SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"
EVAL_FILE = _SHARED_EVAL if _SHARED_EVAL.exists() else ROOT / "tests" / "data" / "dev.jsonl"
# Our own questions about the seed: on-topic ones it does not answer, and rewordings.
PROBES_FILE = ROOT / "tests" / "data" / "seed_probes.jsonl"
_SHARED_FOLLOWUPS = ROOT.parent / "shared" / "eval" / "followups.jsonl"
FOLLOWUPS_FILE = _SHARED_FOLLOWUPS if _SHARED_FOLLOWUPS.exists() else ROOT / "tests" / "data" / "followups.jsonl"
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
    from embeddings.encoder import DEFAULT_MODEL, load_encoder

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


@pytest.fixture(scope="session")
def handmade_engine(real_encoder, tmp_path_factory) -> Engine:
    """A small document of our own, indexed with the real model."""
    base = tmp_path_factory.mktemp("handmade")
    corpus = base / "corpus"
    corpus.mkdir()
    (corpus / "xinghe.md").write_text(HANDMADE, encoding="utf-8")
    engine = Engine(EngineConfig(corpus, base / "index", base / "data"), real_encoder)
    engine.rebuild()
    return engine


@pytest.fixture(scope="session")
def two_speaker_engine(real_encoder, tmp_path_factory) -> Engine:
    """The seed and a second document with another speaker, indexed with the real model."""
    base = tmp_path_factory.mktemp("two-speakers")
    corpus = base / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    (corpus / "citynews.md").write_text(CITY_NEWS, encoding="utf-8")
    engine = Engine(EngineConfig(corpus, base / "index", base / "data"), real_encoder)
    engine.rebuild()
    return engine
