"""Training's near-namesake questions: the article's subject renamed to something no document
mentions, its last character (the kind of thing) kept."""

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.answering.training.namesakes import core_title, namesake_question

CORPUS = "大沙地站是广州地铁五号线的车站。大沙东站是计划中的车站。"
ALPHABET = "东西南北中山海河"


def test_the_title_loses_its_qualifier_and_script():
    assert core_title("夜來香 (夾竹桃科)") == "夜来香"
    assert core_title("天空_（英国）") == "天空"


def test_a_question_not_naming_its_title_or_a_short_title_gives_none():
    rng = random.Random(0)
    assert namesake_question("这个车站在哪里？", "大沙地站", ALPHABET, CORPUS, rng) is None
    assert namesake_question("网球起源于哪里？", "网球", ALPHABET, CORPUS, rng) is None


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10_000))
def test_the_namesake_differs_before_its_last_character_and_is_nowhere_in_the_documents(seed):
    other = namesake_question("大沙地站在哪里？", "大沙地站", ALPHABET, CORPUS, random.Random(seed))
    assert other is not None and other.endswith("站在哪里？")
    name = other[:4]
    assert name != "大沙地站" and name not in CORPUS
    assert sum(a != b for a, b in zip(name, "大沙地站")) == 1  # a four-character name: one changed
    assert name[-1] == "站"


def test_none_when_every_change_is_a_name_the_documents_have():
    # the only characters to draw make 大沙东站, which the documents mention
    assert namesake_question("大沙地站在哪里？", "大沙地站", "东", CORPUS + "东沙地站大东地站", random.Random(1)) is None
