"""Answer composition on the seed and on a small document of our own, with the real model."""

import pytest

from corpus.clean import to_simplified
from embeddings.answer import find_people, question_kind, render_plain

pytestmark = pytest.mark.model


@pytest.mark.parametrize("question,kind", [
    ("谁参加了调研？", "who"), ("座談會上有哪些人發言？", "who"), ("Who attended?", "who"),
    ("武汉市委书记叫什么名字？", "who"), ("应勇强调了哪些方面的工作？", "emphasis"),
    ("What did the provincial party secretary emphasize?", "emphasis"), ("What did he say about it?", "emphasis"),
    ("应勇是哪天去社区调研的？", "when"), ("On what date did he visit?", "when"),
    ("科技节在哪里举行？", "where"), ("Where was it held?", "where"), ("基层社会治理的核心是什么？", "general"),
])
def test_question_kinds(question, kind):
    assert question_kind(question) == kind


def test_people_with_roles_from_a_seed_sentence():
    text = to_simplified("座談會上，東湖新城社區黨委書記陶久娣，江漢區民權街打銅社區黨委書記倪娟，漢陽區龍陽街龍湖東岸社區"
                         "黨總支書記陳念，社區居民志愿者楊怡，武漢旅發投集團下沉東湖新城社區黨員李書濤，省委辦公廳副主任、"
                         "下沉東湖新城社區工作隊隊長陳艷霞等，圍繞貫徹落實省委七次全會精神")
    people = find_people(text)
    assert [n for _, n in people] == ["陶久娣", "倪娟", "陈念", "杨怡", "李书涛", "陈艳霞"]
    assert people[0][0] == "东湖新城社区党委书记"
    assert people[-1][0] == "省委办公厅副主任、下沉东湖新城社区工作队队长"


def _points_are_verbatim(answer):
    for p in answer.points:
        assert p.text in p.passage.text, p.text


def test_who_attended_lists_the_leaders_first(real_engine):
    a = real_engine.answer("哪些领导参加了这次调研？")
    assert a.answered and a.kind == "who"
    names = [p.text for p in a.points]
    assert any(n.endswith("王瑞連") and "組織部部長" in n for n in names)
    assert any(n.endswith("王忠林") and "武漢市委書記" in n for n in names)
    assert "陶久娣" not in "".join(names)
    _points_are_verbatim(a)
    text = render_plain(a)
    assert text.startswith("相关人物:") and text.index("王瑞连") < text.index("依据")


def test_who_spoke_lists_all_six_speakers(real_engine):
    a = real_engine.answer("座谈会上有哪些人发言？")
    names = "".join(p.text for p in a.points)
    for n in ["陶久娣", "倪娟", "陳念", "楊怡", "李書濤", "陳艷霞"]:
        assert n in names
    assert all(p.passage.paragraph == 3 for p in a.points)


def test_english_who_question_gets_english_labels_and_the_names(real_engine):
    a = real_engine.answer("Who attended the field research with Ying Yong?")
    text = render_plain(a)
    assert a.answered and text.startswith("People:") and "Evidence:" in text
    assert "王瑞連" in text and "王忠林" in text


def test_emphasis_collects_distinct_points_from_several_passages(real_engine):
    a = real_engine.answer("应勇强调了哪些方面的工作？")
    assert a.kind == "emphasis" and len(a.points) >= 3
    assert len({p.passage.id for p in a.points}) == len(a.points)
    _points_are_verbatim(a)
    shown = to_simplified(render_plain(a))
    for topic in ("疫情防控", "社区工作者", "下沉"):
        assert topic in shown
    assert "1. " in shown and "2. " in shown


def test_when_answers_with_the_dated_sentence(real_engine):
    a = real_engine.answer("应勇是哪天去社区调研的？")
    assert "8月31日" in a.points[0].text
    a = real_engine.answer("習近平總書記什麼時候考察過東湖新城社區？")
    assert "今年3月" in a.points[0].text and render_plain(a).startswith("答案:")


def test_best_sentence_comes_first_and_is_marked(real_engine):
    a = real_engine.answer("疫情防控要形成怎样的生产生活状态？")
    assert "晴天帶傘" in a.points[0].text
    ev = a.evidence[0]
    assert any("晴天帶傘" in ev.sentences[j] for j in ev.key)
    assert "【" in render_plain(a)


def test_questions_outside_the_documents_are_declined_with_a_suggestion(real_engine):
    for q in ["今天北京的天气怎么样？", "What is the capital of France?"]:
        a = real_engine.answer(q)
        assert not a.answered and a.suggestion is not None and not a.points
    zh = render_plain(real_engine.answer("今天北京的天气怎么样？"))
    assert zh.startswith("文档中没有找到这个问题的答案。") and "最接近的段落" in zh
    en = render_plain(real_engine.answer("What is the capital of France?"))
    assert en.startswith("The documents do not answer this question.") and "Closest passage" in en


def test_answers_follow_the_question_script(real_engine):
    hans = render_plain(real_engine.answer("东湖新城社区的党委书记是谁？"))
    hant = render_plain(real_engine.answer("東湖新城社區的黨委書記是誰？"))
    assert "陶久娣" in hans and "党委书记" in hans and "黨委書記" not in hans
    assert "黨委書記" in hant and hant.startswith("相關人物:")


def test_handmade_document_who(handmade_engine):
    a = handmade_engine.answer("谁出席了开幕式？")
    names = [p.text for p in a.points]
    assert "校长林晓明" in names and "教务处主任赵一凡" in names


def test_handmade_document_emphasis(handmade_engine):
    a = handmade_engine.answer("林晓明强调了什么？")
    shown = render_plain(a)
    assert "动手能力" in shown and a.kind == "emphasis"
    _points_are_verbatim(a)


def test_handmade_document_when_and_where(handmade_engine):
    assert "5月20日" in handmade_engine.answer("科技节是哪天举办的？").points[0].text
    assert "体育馆" in handmade_engine.answer("科技节在哪里举行？").points[0].text
    assert "800名学生" in render_plain(handmade_engine.answer("有多少学生参加科技节？"))


def test_handmade_document_declines_unrelated_questions(handmade_engine):
    assert not handmade_engine.answer("今年的房价会上涨吗？").answered
