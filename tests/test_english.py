"""English questions on Chinese documents: names in any romanisation, English words through the
dictionary to the corpus's own words. A hashing encoder makes the dense side blind to English,
so what these tests see is the lexical side alone."""

import numpy as np
import pytest

from embeddings.dictionary import phrases
from embeddings.engine import Engine, EngineConfig
from embeddings.search import english_lexical
from tests.fakes import HashEncoder

DOCS = {
    "pingtung.txt": "赖清德总统今日视察屏东县的医疗中心，屏东县长周春米陪同。",
    "kaohsiung.txt": "高雄市长陈其迈出席活动，强调城市建设要以人为本。",
    "taipei.txt": "台北市副市长林奕华介绍防疫工作情况。",
    "farm.txt": "农业部门介绍了今年的粮食生产情况，产量稳定增长。",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory) -> Engine:
    base = tmp_path_factory.mktemp("english")
    corpus = base / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text + "\n", encoding="utf-8")
    e = Engine(EngineConfig(corpus, base / "index", base / "data"), HashEncoder())
    e.rebuild()
    return e


def _top(engine: Engine, question: str) -> str:
    return engine.search(question, 3)[0].passage.doc_id


@pytest.mark.parametrize("question", ["Where did Lai Ching-te go?", "Where did Lai Qingde go?",
                                      "Where did Ching-te Lai go?", "Where did Lài Qīngdé go?"])
def test_wade_giles_and_pinyin_spellings_find_the_same_passage(engine, question):
    assert _top(engine, question) == "pingtung.txt"


def test_english_titles_and_places_find_the_chinese_ones(engine):
    assert _top(engine, "Who is the mayor of Kaohsiung?") == "kaohsiung.txt"
    assert _top(engine, "What did the deputy mayor of Taipei introduce?") == "taipei.txt"
    assert _top(engine, "What did the agriculture department introduce?") == "farm.txt"


def test_a_sense_the_corpus_does_not_hold_changes_nothing(engine):
    index = engine.index
    plain = english_lexical(index.bm25, index.pinyin_bm25, "Who is the mayor of Kaohsiung?")
    more = english_lexical(index.bm25, index.pinyin_bm25, "Who is the mayor of Kaohsiung, enthusiastically?")
    assert plain.max() > 0 and np.array_equal(plain, more)


def test_dictionary_phrases_are_the_longest_names_and_senses():
    found = {p.english: p for p in phrases("Did Ma Ying-jeou visit State Grid with the vice premier?")}
    assert found["ma ying jeou"].chinese == {"马英九"} and found["ma ying jeou"].proper
    assert "国家电网公司" in found["state grid"].chinese
    assert "副总理" in found["vice premier"].chinese
    # a capitalised pinyin syllable is part of a name the pinyin channel reads, not a word
    assert "li" not in {p.english for p in phrases("Who accompanied Li Qiang?")}


def test_names_in_english_answers_are_followed_by_their_pinyin():
    from bot.formatting import format_answer
    from bot.render import render_plain
    from corpus.model import Passage
    from embeddings.answering import Answer, AnswerKind, Point

    p = Passage(id="d:1.0:x", doc_id="d", doc_title="报道", path="d.txt", paragraph=1, part=0, section="",
                text="省委常委、秘书长刘洋陪同调研。", match_text="省委常委、秘书长刘洋陪同调研。")
    point = Point("省委常委、秘书长刘洋", p, 1.0, p.text, "刘洋")
    english = Answer("Who accompanied him?", "en", AnswerKind.PEOPLE, (point,))
    assert "刘洋 (Liu Yang)" in render_plain(english)
    assert "<b>刘洋</b> (Liu Yang)" in format_answer(english)[0].html
    chinese = Answer("谁陪同调研？", "zh-Hans", AnswerKind.PEOPLE, (point,))
    assert "Liu Yang" not in render_plain(chinese)


def test_the_engine_loads_the_dictionary_before_the_first_english_question(engine):
    from embeddings import dictionary

    engine.warm_up().join(timeout=60)
    assert dictionary._index is not None


def test_a_sense_the_dictionary_gives_another_word_is_found_through_it():
    """CC-CEDICT glosses 参加 as "to participate; to take part", never "to attend"; 出席 is
    "to attend; to participate", which leads there. A word's rarer senses lead nowhere:
    "capital" is 首都 and 资本, not 管理 or 主要 (reached only through "capital" as money)."""
    [attend] = [p for p in phrases("Who attended the meeting?") if p.english == "attended"]
    assert {"出席", "参加", "参与"} <= attend.chinese
    [capital] = [p for p in phrases("What is the capital of France?") if p.english == "capital"]
    assert "首都" in capital.chinese and not {"管理", "主要"} & capital.chinese


def test_a_noun_made_from_a_verb_has_the_verb_s_senses_too():
    """CC-CEDICT glosses 考察 "to inspect", not "inspection"."""
    [inspection] = [p for p in phrases("What did the inspection tour find?") if p.english == "inspection"]
    assert {"考察", "视察"} <= inspection.chinese
