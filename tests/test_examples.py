"""Example questions: made from the index in both languages, checked by answering, bounded."""

from corpus.model import Passage
from embeddings.examples import Examples, candidates, make_examples


def test_examples_come_in_both_languages_of_different_kinds_and_are_answered(two_speaker_engine):
    asked = []

    def answers(q):
        asked.append(q)
        return two_speaker_engine.answer(q).answered

    examples = make_examples(two_speaker_engine.index.passages, answers)
    assert len(examples.zh) == 3 and len(examples.en) == 3
    assert all(not q.isascii() for q in examples.zh) and all(q.isascii() for q in examples.en)
    # one of each kind: what someone said, a post held, who someone is; each about another person
    kinds = {end for q in examples.zh for end in ("了什么？", "担任什么职务？", "是谁？") if q.endswith(end)}
    assert len(kinds) == 3 and len({q[:2] for q in examples.zh}) == 3
    assert examples.en[0].startswith("What did ") and any(q.startswith("Who is ") for q in examples.en)
    assert set(asked) >= set(examples.zh + examples.en) and len(asked) <= 16


def test_a_large_index_costs_a_bounded_number_of_answers(two_speaker_engine):
    asked = []
    examples = make_examples(two_speaker_engine.index.passages, lambda q: asked.append(q) and False,
                             tries_per_language=5)
    assert examples == Examples() and len(asked) == 10  # nothing answered: five tries per language, no more


def test_documents_are_read_in_turn_and_people_give_the_questions(two_speaker_engine):
    found = candidates(two_speaker_engine.index.passages)
    said = [c.name for c in found if c.kind == "said"]
    assert said[:2] == ["应勇", "李明"] or said[:2] == ["李明", "应勇"]  # the second document is not left for last
    assert any(c.zh == "李明强调了什么？" and c.en == "What did Li Ming say?" for c in found)
    assert any(c.zh == "周岚担任什么职务？" and c.en == "What post does Zhou Lan hold?" for c in found)


def test_documents_without_people_give_no_examples():
    text = "本市今年新增公园绿地50公顷，主干道每天清扫两次。"
    passage = Passage("d#1", "d", "绿化", "d.md", 1, 0, "", text, text)
    asked = []
    assert make_examples([passage], lambda q: asked.append(q) or True) == Examples() and asked == []


def test_a_user_sees_their_language_or_the_other_one():
    examples = Examples(zh=("谁？",), en=("Who?",))
    assert examples.for_language("en") == ("en", ("Who?",))
    assert examples.for_language("zh-Hant") == ("zh", ("谁？",))
    assert Examples(zh=("谁？",)).for_language("en") == ("zh", ("谁？",))
    assert examples.group("en") == ("Who?",) and examples.group("xx") == ()
