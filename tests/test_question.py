"""Question analysis on rewordings in simplified, traditional and English; no model needed.
Most questions are about documents other than the seed (a school, a company, a city)."""

import pytest

from embeddings.answering import AnswerType, analyse, slots
from embeddings.answering.question import name_phrases, noun_pairs, topic_phrase

T = AnswerType


@pytest.mark.parametrize("question,expected", [
    # people
    ("谁参加了调研？", T.PERSON), ("哪些官员陪同应勇调研？", T.PERSON), ("座談會上有哪些人發言？", T.PERSON),
    ("武汉市委书记叫什么名字？", T.PERSON), ("这家公司的创始人是谁？", T.PERSON), ("Who attended the meeting?", T.PERSON),
    ("Which officials accompanied the governor?", T.PERSON),
    # roles
    ("陈艳霞担任什么职务？", T.ROLE), ("林晓明是谁？", T.ROLE), ("赵一凡的职务是什么？", T.ROLE),
    ("What position does Chen Yanxia hold?", T.ROLE), ("他以什么身份参加会议？", T.ROLE),
    # time and duration
    ("应勇是哪天去社区调研的？", T.TIME), ("習近平總書記什麼時候考察過東湖新城社區？", T.TIME),
    ("这座桥建于哪一年？", T.TIME), ("When did the school open?", T.TIME), ("On what date was it signed?", T.TIME),
    ("座谈会开了多长时间？", T.DURATION), ("工程持续了多久？", T.DURATION), ("How long did the symposium last?", T.DURATION),
    # numbers, places, organisations
    ("武汉的人口是多少？", T.NUMBER), ("有多少学生参加科技节？", T.NUMBER), ("铁路全长多少公里？", T.NUMBER),
    ("How many students took part?", T.NUMBER), ("What is the population of Wuhan?", T.NUMBER),
    ("科技节在哪里举行？", T.PLACE), ("应勇去了哪两个社区？", T.PLACE), ("Where was the festival held?", T.PLACE),
    ("戴龙·罗伯斯是哪国人？", T.PLACE), ("他选择了哪国国籍？", T.PLACE),  # a country, not a person
    ("《战国无双3》是由哪两个公司合作开发的？", T.ORGANISATION), ("Which company built the bridge?", T.ORGANISATION),
    # statements, reasons, manner, descriptions
    ("应勇强调了哪些方面的工作？", T.STATEMENTS), ("李明强调了什么？", T.STATEMENTS), ("校长要求了什么？", T.STATEMENTS),
    ("What did the provincial party secretary emphasize?", T.STATEMENTS),
    ("为什么要减负？", T.REASON), ("Why was the road closed?", T.REASON),
    ("怎样为基层减轻负担？", T.MANNER), ("疫情防控要形成怎样的生产生活状态？", T.MANNER),
    ("要让社区工作者成为什么样的职业？", T.MANNER),  # 成为什么样: not a "why" question
    ("基层社会治理的核心是什么？", T.DESCRIPTION), ("社区治理中的“三驾马车”指什么？", T.DESCRIPTION),
])
def test_answer_type(question, expected):
    assert analyse(question).type is expected


def test_traditional_and_simplified_agree():
    a, b = analyse("應勇強調要防止基層出現什麼傾向？"), analyse("应勇强调要防止基层出现什么倾向？")
    assert (a.type, a.focus, a.content, a.before, a.after) == (b.type, b.focus, b.content, b.before, b.after)
    assert a.script == "zh-Hant" and b.script == "zh-Hans"


def test_focus_is_the_person_asked_about():
    assert analyse("陈艳霞担任什么职务？").focus == "陈艳霞"
    assert analyse("李明强调了什么？").focus == "李明"
    assert analyse("林晓明是谁？").focus == "林晓明"
    assert analyse("莱昂德罗·内托的职业是什么？").focus == "莱昂德罗·内托"
    assert analyse("What position does Chen Yanxia hold?").focus == "Chen Yanxia"


def test_content_words_leave_out_question_words_and_the_answer_class():
    a = analyse("應勇強調要防止基層出現什麼傾向？")
    assert "倾向" not in a.content and "什么" not in a.content and {"应勇", "防止", "基层"} <= set(a.content)
    assert analyse("陈艳霞担任什么职务？").content == ("陈艳霞",)  # 担任/职务 frame the question
    assert set(analyse("What is the population of Wuhan?").content) == {"population", "wuhan"}


def test_words_around_the_question_phrase():
    a = analyse("东湖新城社区的党委书记是谁？")
    assert a.before == "东湖新城社区的党委书记" and a.after == ""
    a = analyse("《战国无双3》是由哪两个公司合作开发的？")
    assert a.before.endswith("《战国无双3》") and a.after.startswith("合作开发")
    assert analyse("应勇以什么身份到社区报到？").after == "到社区报到"


def test_units_and_plurals():
    assert analyse("青和居社区有多少户居民？").units == ("户",)
    assert "名" in analyse("有多少人参加？").units
    assert analyse("这座桥建于哪一年？").units[0] == "年"
    assert analyse("How old is he?").units == ("岁",)
    # the kind of place asked for, when place names end with it; not "city" or "country" (北京, 日本)
    assert analyse("他们去了哪个村？").units == ("村",) and analyse("这座寺庙在哪座山上？").units == ("山",)
    assert analyse("他住在哪个城市？").units == () and analyse("她来自哪个国家？").units == ()
    assert analyse("座谈会上有哪些人发言？").plural and not analyse("东湖新城社区的党委书记是谁？").plural


def test_english_names_spelled_in_pinyin():
    a = analyse("Who attended the field research with Ying Yong?")
    assert "yingyong" in a.pinyin and a.cross_lingual


def test_a_noun_that_does_not_type_the_answer_stays_with_the_words_after_it():
    assert analyse("出现了什么倾向？").after == "倾向"  # answered by "机关化倾向"
    a = analyse("他以什么身份参加活动？")  # a type noun: the slot between 以 and 参加 holds it
    assert a.type is AnswerType.ROLE and a.after == "参加活动"
    sl = slots.slot(a, "他以普通党员身份参加活动")
    assert sl and "普通党员" in sl.text


def test_english_which_questions_are_typed_through_the_dictionary():
    assert analyse("Which university did she visit?").type is AnswerType.ORGANISATION
    assert analyse("Which cities did he tour?").type is AnswerType.PLACE
    assert analyse("Which two facilities did he see?").type is AnswerType.DESCRIPTION
    assert analyse("How many households were visited?").units == ("户",)
    assert set(analyse("How many members attended?").units) == {"人", "名", "位"}
    assert analyse("How many patents does it hold?").units == ()


def test_an_english_focus_keeps_a_hyphenated_given_name_whole():
    """Wade-Giles and Taiwanese spellings write the given name with a hyphen, its second part
    lower case ("Ching-te"): the person asked about is the whole name."""
    assert analyse("What did President Lai Ching-te say?").focus == "President Lai Ching-te"
    assert analyse("Where did Ma Ying-jeou go?").focus == "Ma Ying-jeou"


def test_the_topic_is_the_noun_phrase_a_question_opens_with():
    assert topic_phrase("黑尾前肛鳗的体长是体高的多少倍？") == "黑尾前肛鳗"
    assert topic_phrase("城巴11线连接了哪两个地方？") == "城巴11线"
    assert topic_phrase("谁陪同李强调研？") == "李强"  # no opening noun: the longest name
    assert topic_phrase("在选举中最终获胜的是谁？") == ""


def test_a_name_keeps_the_noun_after_a_place_but_not_after_a_person():
    assert name_phrases("马岛灵猫体长约为多少？") == ["马岛灵猫"]
    assert name_phrases("海宁西站总建筑面积有多少平方米？") == ["海宁西站"]
    assert name_phrases("赵乐际现任什么职务？") == ["赵乐际"]



def test_noun_pairs_are_inside_words_or_across_single_characters():
    assert noun_pairs("黑尾前肛鳗的体长是多少？")[:4] == ("黑尾", "尾前", "前肛", "肛鳗")  # 黑/尾/前: one character each
    pairs = noun_pairs("长崎县产量日本第一的水果为哪一种？")
    assert "县产" not in pairs and {"长崎", "崎县", "产量"} <= set(pairs)  # none across 长崎县|产量
    assert "多少" not in noun_pairs("黑尾前肛鳗的体长是多少？") and "1线" in noun_pairs("城巴11线连接了哪两个地方？")
    assert noun_pairs("在哪里？") == ()
