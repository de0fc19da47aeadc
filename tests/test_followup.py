"""Follow-up questions: rewriting against the last turn (no model), and the conversation store."""

import types

import pytest

from embeddings.answering import AnswerType, followup
from embeddings.answering.followup import Conversation, Conversations, Turn, resolve

LEADERS = Turn("哪些领导参加了这次调研？", AnswerType.PERSON, "", ("王瑞连", "王忠林"), (), (),
               ("湖北省委常委、组织部部长王瑞连", "省委常委、武汉市委书记王忠林"))
SECRETARY = Turn("东湖新城社区的党委书记是谁？", AnswerType.PERSON, "东湖", ("陶久娣",), (), (), ("陶久娣",))
VISIT = Turn("习近平总书记什么时候考察过东湖新城社区？", AnswerType.TIME, "习近平", ("习近平",), (), ("今年3月",),
             ("今年3月，习近平总书记曾到东湖新城社区考察",))
PLACE = Turn("青和居社区在哪里？", AnswerType.PLACE, "青和居社区", (), ("武汉市",), (), ("在武汉市",))
SPEECH = Turn("应勇强调了什么？", AnswerType.STATEMENTS, "应勇", ("应勇",), (), (), ("要……", "要……2"))


@pytest.mark.parametrize("question,last,expected,note", [
    ("他们分别担任什么职务？", LEADERS, "王瑞连、王忠林分别担任什么职务？", "他们 = 王瑞连、王忠林"),
    ("她在座谈会上介绍了什么？", SECRETARY, "陶久娣在座谈会上介绍了什么？", "她 = 陶久娣"),
    ("他當時還做了什麼？", VISIT, "习近平今年3月还做了什么？", "他 = 习近平; 当时 = 今年3月"),
    ("What are their positions?", LEADERS, "What are Wang Ruilian and Wang Zhonglin's positions?", "their = 王瑞连、王忠林"),
    ("What did she talk about at the symposium?", SECRETARY, "What did Tao Jiudi talk about at the symposium?",
     "she = 陶久娣"),
    ("那里有多少居民？", PLACE, "武汉市有多少居民？", "那里 = 武汉市"),
    ("那东湖新城社区呢？", PLACE, "东湖新城社区在哪里？", "那东湖新城社区呢？ = 东湖新城社区在哪里？"),
])
def test_follow_ups_are_rewritten_to_stand_alone(question, last, expected, note):
    reading = resolve(question, last)
    assert reading.question == expected and reading.note == note


def test_what_else_repeats_the_last_question_without_what_was_shown():
    for q in ["还有呢？", "What else?", "還有嗎？"]:
        reading = resolve(q, SPEECH)
        assert reading.question == "应勇强调了什么？" and reading.exclude == SPEECH.shown
    reading = resolve("还强调了什么？", SPEECH)
    assert reading.question == "应勇还强调了什么？" and reading.exclude == SPEECH.shown


@pytest.mark.parametrize("question,last", [
    ("谁参加了调研？", LEADERS),  # stands on its own
    ("其他社区有哪些设施？", LEADERS),  # 其他 is not 他
    ("What is the capital of France?", SECRETARY),
    ("應勇強調要防止基層出現什麼傾向？", VISIT),
    ("陈艳霞担任什么职务？", LEADERS),
    ("他们分别担任什么职务？", None),  # nothing to refer to
    ("Where is the Donghu Xincheng community?", PLACE),
])
def test_questions_that_stand_alone_are_never_changed(question, last):
    reading = resolve(question, last)
    assert reading.question == question and not reading.rewritten


def test_the_plural_lets_the_engine_ask_each_person():
    assert resolve("他们分别担任什么职务？", LEADERS).people == ("王瑞连", "王忠林")
    assert resolve("她在座谈会上介绍了什么？", SECRETARY).people == ()


def test_conversations_expire_are_cleared_and_stay_bounded(monkeypatch):
    clock = types.SimpleNamespace(now=1000.0)
    monkeypatch.setattr(followup, "time", types.SimpleNamespace(monotonic=lambda: clock.now))
    conv = Conversation(ttl=60)
    conv.add(LEADERS)
    clock.now += 59
    assert conv.last is LEADERS
    clock.now += 2
    assert conv.last is None  # silence forgets
    store = Conversations(limit=3)
    for chat in range(5):
        store.get(chat).add(LEADERS)
    assert len(store) == 3 and store.get(4).last is LEADERS and store.get(0).last is None
    store.clear(4)
    assert store.get(4).last is None
