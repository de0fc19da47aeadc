"""Answers with the real model: short typed answers, lists, statements of the speaker asked
about, and honest refusals, on the seed and on documents written for the tests."""

import pytest

from bot.render import render_plain
from corpus.clean import to_simplified
from corpus.model import Passage
from embeddings.answering import AnswerKind, AnswerType
from embeddings.search import Hit, search

pytestmark = pytest.mark.model


def _verbatim(answer):
    for p in answer.points:
        assert p.text in p.passage.text, p.text
        assert not p.span or p.span in p.text


def _direct(answer) -> str:
    return to_simplified(answer.direct)


def test_who_attended_lists_the_leaders_not_the_symposium_speakers(real_engine):
    a = real_engine.answer("哪些领导参加了这次调研？")
    assert a.kind is AnswerKind.PEOPLE
    assert "王瑞连" in _direct(a) and "王忠林" in _direct(a) and "陶久娣" not in _direct(a)
    _verbatim(a)
    text = render_plain(a)
    assert text.startswith("相关人物:") and text.index("王瑞连") < text.index("依据")


def test_who_spoke_lists_all_six_speakers(real_engine):
    a = real_engine.answer("座谈会上有哪些人发言？")
    for name in ["陶久娣", "倪娟", "陈念", "杨怡", "李书涛", "陈艳霞"]:
        assert name in _direct(a)
    assert "王瑞连" not in _direct(a)


def test_one_person_asked_for_gets_one_person(real_engine):
    for q in ["东湖新城社区的党委书记是谁？", "谁是东湖新城社区的党委书记？", "東湖新城社區的黨委書記是誰？"]:
        a = real_engine.answer(q)
        assert a.kind is AnswerKind.FACT and "陶久娣" in _direct(a) and "倪娟" not in _direct(a), q
    assert "王忠林" in _direct(real_engine.answer("武汉市委书记叫什么名字？"))


def test_role_of_the_person_asked_about(real_engine):
    a = real_engine.answer("陈艳霞担任什么职务？")
    assert _direct(a).startswith("省委办公厅副主任") and len(a.direct) < 40
    assert "党委书记" in _direct(real_engine.answer("陶久娣是谁？"))
    assert "省委办公厅副主任" in _direct(real_engine.answer("What position does Chen Yanxia hold?"))
    assert "普通党员" in _direct(real_engine.answer("应勇以什么身份到社区报到？"))


def test_dates_are_the_date_in_its_clause(real_engine):
    a = real_engine.answer("应勇是哪天去社区调研的？")
    assert a.points[0].span == "8月31日" and a.direct.startswith("8月31日") and len(a.direct) <= 40
    a = real_engine.answer("習近平總書記什麼時候考察過東湖新城社區？")
    assert a.points[0].span == "今年3月" and render_plain(a).startswith("答案:")
    assert "3月" in _direct(real_engine.answer("When did Xi Jinping visit the Donghu Xincheng community?"))


def test_statements_of_the_speaker_asked_about(real_engine):
    a = real_engine.answer("应勇强调了哪些方面的工作？")
    assert a.kind is AnswerKind.POINTS and len(a.points) >= 3
    assert len({p.passage.id for p in a.points}) == len(a.points)
    _verbatim(a)
    shown = _direct(a)
    for topic in ("疫情防控", "社区工作者", "下沉"):
        assert topic in shown


def test_sentence_answers_are_the_clause(real_engine):
    a = real_engine.answer("基层社会治理的核心是什么？")
    assert "核心是人" in _direct(a) and len(a.direct) <= 40
    a = real_engine.answer("疫情防控要形成怎样的生产生活状态？")
    assert "晴天带伞" in _direct(a)
    ev = a.evidence[0]
    assert any("晴天帶傘" in ev.sentences[j] for j in ev.key)


@pytest.mark.parametrize("question", [
    "今天北京的天气怎么样？", "What is the capital of France?",
    # on the documents' topic, but not answered by them
    "武汉的人口是多少？", "座谈会开了多长时间？", "应勇喜欢吃什么？", "青和居社区有多少户居民？",
    "應勇喜歡吃什麼？", "What is the population of Wuhan?", "How long did the symposium last?",
    # English, linked to a passage by a name only
    "What is Ying Yong's favourite food?", "Which university did Wang Zhonglin graduate from?",
])
def test_questions_the_documents_do_not_answer_are_declined(real_engine, question):
    a = real_engine.answer(question)
    assert not a.answered and a.suggestion is not None and not a.points, (question, a.direct)


def test_declined_answers_say_so_and_label_the_closest_passage(real_engine):
    zh = render_plain(real_engine.answer("应勇喜欢吃什么？"))
    assert zh.startswith("文档中没有找到这个问题的答案。") and "最接近的段落" in zh
    en = render_plain(real_engine.answer("What is the population of Wuhan?"))
    assert en.startswith("The documents do not answer this question.") and "Closest passage" in en


def test_answers_follow_the_question_script(real_engine):
    hans = render_plain(real_engine.answer("东湖新城社区的党委书记是谁？"))
    hant = render_plain(real_engine.answer("東湖新城社區的黨委書記是誰？"))
    assert "陶久娣" in hans and "党委书记" in hans and "黨委書記" not in hans
    assert "黨委書記" in hant and hant.startswith("答案:")


# --- documents other than the seed ------------------------------------------------------------

def test_handmade_document_people_and_roles(handmade_engine):
    a = handmade_engine.answer("谁出席了开幕式？")
    assert "林晓明" in a.direct and "赵一凡" in a.direct
    assert "教务处主任" in handmade_engine.answer("赵一凡担任什么职务？").direct


def test_handmade_document_statements(handmade_engine):
    a = handmade_engine.answer("林晓明强调了什么？")
    assert a.kind is AnswerKind.POINTS and "动手能力" in a.direct
    _verbatim(a)


def test_handmade_document_when_where_how_many(handmade_engine):
    assert handmade_engine.answer("科技节是哪天举办的？").direct.startswith("5月20日")
    assert "体育馆" in handmade_engine.answer("科技节在哪里举行？").direct
    a = handmade_engine.answer("有多少学生参加科技节？")
    assert a.type is AnswerType.NUMBER and "800名" in a.direct


def test_handmade_document_declines_what_it_does_not_say(handmade_engine):
    for q in ["今年的房价会上涨吗？", "科技节持续了多少天？", "林晓明的电话号码是多少？", "赵一凡强调了什么？"]:
        assert not handmade_engine.answer(q).answered, q


def test_second_speaker_gets_only_their_own_statements(two_speaker_engine):
    a = two_speaker_engine.answer("李明强调了什么？")
    assert a.kind is AnswerKind.POINTS and a.points
    assert all("李明" in p.text for p in a.points)
    assert "应勇" not in _direct(a) and "绿化" in _direct(a)
    assert "李明" not in _direct(two_speaker_engine.answer("应勇强调了哪些方面的工作？"))


# --- a report of the seed's kind that the project has never seen (conftest.TOUR_REPORT) ----------

def test_report_who_accompanied_is_the_attendee_sentence_not_the_opening(report_engine):
    for q in ["谁陪同张华调研？", "张华到江城市调研时有谁陪同？", "張華到江城調研，誰陪同？"]:
        a = report_engine.answer(q)
        assert a.answered and "刘洋" in _direct(a) and "张华" not in _direct(a), (q, a.direct)
        _verbatim(a)


@pytest.mark.parametrize("question", ["张华到江城市调研时有谁陪同？", "張華到江城調研，誰陪同？",
                                      "Who accompanied Zhang Hua on his research trip to Jiangcheng?"])
def test_report_search_puts_the_passage_the_answer_comes_from_first(report_engine, question):
    """Search results are in the answer step's order: the short attendee passage, which the
    retrieval ranks below passages that repeat the question's names, comes first; a page of
    any size is cut from that one order."""
    retrieved = search(report_engine.index, report_engine.encoder, question, 10)
    assert "刘洋" not in retrieved[0].passage.text  # what the answer step's order changes
    hits = report_engine.search(question, 10)
    assert "刘洋" in hits[0].passage.text
    assert [h.passage.id for h in report_engine.search(question, 2)] == [h.passage.id for h in hits[:2]]
    assert report_engine.answer(question).evidence[0].hit.passage.id == hits[0].passage.id


@pytest.mark.parametrize("question", ["张华强调了什么？", "谁陪同张华调研？"])
def test_pages_of_results_are_cut_from_one_order(report_engine, question):
    """"More results" asks for more passages on each page: every page size gives the same order
    (a speaker's statements are read from more passages than other questions)."""
    longest = [h.passage.id for h in report_engine.search(question, 15)]
    for k in (1, 4, 7, 13):
        assert [h.passage.id for h in report_engine.search(question, k)] == longest[:k]


TITLED_REPORT = ("刘伟在江城考察时强调 保障粮食安全\n\n本报讯：国务院总理刘伟今天到江城市考察，副总理陈强陪同。\n\n"
                 "总理指出，要把粮食安全放在首位，稳定粮食播种面积。\n\n"
                 "副总理陈强表示，有关部门要做好春耕物资保障。\n\n总理强调，要加快农业科技创新，提高单产。\n")


@pytest.fixture(scope="module")
def titled_engine(real_encoder, tmp_path_factory):
    from tests.conftest import built_engine

    return built_engine(real_encoder, tmp_path_factory.mktemp("titled"), {"jiangcheng.txt": TITLED_REPORT})


@pytest.mark.parametrize("question", ["刘伟在江城考察时强调了什么？", "What did Liu Wei stress?"])
def test_a_speaker_called_by_title_after_the_first_mention_is_still_the_speaker(titled_engine, question):
    """"国务院总理刘伟…" then "总理指出，…": the title stands for the speaker; the deputy's title
    ("副总理陈强表示") is someone else's."""
    a = titled_engine.answer(question)
    assert a.kind is AnswerKind.POINTS, (question, a.reason)
    said = _direct(a)
    assert "粮食安全" in said and "科技创新" in said and "春耕" not in said


CITIES_REPORT = ("张华在广东调研时强调 推动高质量发展\n\n本报讯：4月2日至4日，省委书记张华到广东调研。\n\n"
                 "张华先后到珠海、广州等地，深入企业、社区，看望基层干部群众。\n\n"
                 "在珠海市香洲区，张华走进社区服务中心，了解为民服务情况。\n\n王东陪同调研。\n")


@pytest.fixture(scope="module")
def cities_engine(real_encoder, tmp_path_factory):
    from tests.conftest import built_engine

    return built_engine(real_encoder, tmp_path_factory.mktemp("cities"), {"guangdong.txt": CITIES_REPORT})


@pytest.mark.parametrize("question", ["张华在广东调研时去了哪些城市？", "Which cities did Zhang Hua visit in Guangdong?"])
def test_which_cities_are_the_places_the_dictionary_calls_cities_listed_together(cities_engine, question):
    """"Which cities": 珠海 and 广州 (CC-CEDICT: prefecture-level cities), named together, not the
    province the question itself names nor a district of one of them."""
    a = cities_engine.answer(question)
    assert a.answered and "珠海" in _direct(a) and "广州" in _direct(a), (question, a.direct, a.reason)


def test_report_a_context_clause_does_not_pull_the_answer_to_the_opening(report_engine):
    a = report_engine.answer("张华在江城调研时强调了什么？")
    assert a.kind is AnswerKind.POINTS and "乡村振兴" in _direct(a)
    assert all("张华" in to_simplified(p.text) or "他" in p.text for p in a.points)
    a = report_engine.answer("张华在农业科技园了解了什么情况？")
    assert "种业创新" in _direct(a)


def test_report_statements_include_those_that_go_on_without_a_subject(report_engine):
    """"他指出，…" after a sentence about 张华 is 张华's statement too."""
    direct = _direct(report_engine.answer("张华指出了什么？"))
    assert "加快培育具有自主知识产权的优良品种" in direct and "坚持农业农村优先发展" in direct


def test_report_which_titled_person_is_the_one_the_text_gives_that_title(report_engine):
    """"还有哪位秘书长一同前往": the text never says 一同前往, but it writes 秘书长 before 刘洋
    (the opening sentence, which repeats the question's other words, is not the answer)."""
    a = report_engine.answer("张华到江城市调研时，还有哪位秘书长一同前往？")
    assert [p.span for p in a.points] == ["刘洋"]


PLANT_REPORT = ("李华考察江城电厂并看望一线职工\n\n本报讯：3月5日，省长李华到江城电厂考察，看望一线职工。\n\n"
                "在电厂控制室，厂长赵刚带领大家参观了生产线和调度中心。\n\n李华强调，要保障能源安全稳定供应。\n\n"
                "副省长陈强陪同考察。\n")


@pytest.fixture(scope="module")
def plant_engine(real_encoder, tmp_path_factory):
    from tests.conftest import built_engine

    return built_engine(real_encoder, tmp_path_factory.mktemp("plant"), {"dianchang.txt": PLANT_REPORT}, True)


@pytest.mark.parametrize("question", [
    "省长李华到江城电厂考察、看望一线职工时，是谁带他参观生产线的？",
    "李华3月5日到江城电厂考察时，是谁领他参观调度中心的？",
])
def test_a_scene_set_before_who_does_not_pull_the_answer_to_the_opening(plant_engine, question):
    """The question's scene (考察, 看望) is the opening sentence's; what it asks (参观生产线) is
    another sentence's, whose verb (带领) is not the question's (带, 领)."""
    assert [p.span for p in plant_engine.answer(question).points] == ["赵刚"]


@pytest.fixture(scope="module")
def two_reports_engine(real_encoder, tmp_path_factory):
    from tests.conftest import TOUR_REPORT, built_engine

    return built_engine(real_encoder, tmp_path_factory.mktemp("two-reports"),
                        {"dianchang.txt": PLANT_REPORT, "jiangcheng.txt": TOUR_REPORT}, True)


def test_an_english_question_is_answered_from_the_report_on_the_person_it_names(two_reports_engine):
    """"research" (调研) is the other report's word; "Li Hua" is only in this report's title and
    opening: the person who accompanied him comes from his report, not from the passage that
    shares the translated word."""
    a = two_reports_engine.answer("Which official accompanied Li Hua during the research?")
    assert [p.span for p in a.points] == ["陈强"]
    assert [p.span for p in two_reports_engine.answer("Which officials accompanied Zhang Hua?").points] == ["刘洋"]


def test_a_statement_without_a_subject_is_the_previous_sentence_subject_s_only():
    from embeddings.answering.candidates import Sentence, form
    from embeddings.answering.statements import said_by

    passage = Passage("d:1.0:x", "d", "报告", "d.txt", 1, 0, "", "", "")
    hit = Hit(passage, 1.0, 1.0, 0.0, 1)
    texts = ["张华到江城调研。", "他指出，要加快发展。", "刘洋介绍了情况。", "并强调，要抓好落实。"]
    sents = [Sentence(t, form(t), hit, i, len(texts)) for i, t in enumerate(texts)]
    assert said_by(("张华",), sents, 1) and not said_by(("张华",), sents, 3) and said_by(("刘洋",), sents, 3)
    # not when a sentence lies between them (the sentences of one passage as read, in order)
    assert not said_by(("张华",), [sents[0], sents[3]], 1)


def test_report_role_date_place_and_number(report_engine):
    assert "秘书长" in _direct(report_engine.answer("刘洋担任什么职务？"))
    a = report_engine.answer("张华是哪几天到江城市调研的？")
    assert "5月12日至14日" in _direct(a) and len(a.direct) <= 40
    assert "86万吨" in _direct(report_engine.answer("江城市去年粮食产量是多少？"))
    assert "白河村" in _direct(report_engine.answer("张华走进了哪个村的村民家中？"))
    # "which town": the name that ends in 镇, not the opening that repeats the question's words
    assert report_engine.answer("张华到江城市调研时去了哪个镇？").points[0].span == "青山镇"


@pytest.mark.parametrize("question", ["刘洋今年多大年纪？", "江城市有多少人口？", "张华担任省委书记多少年了？",
                                      "How old is Liu Yang?"])
def test_report_declines_what_it_does_not_say(report_engine, question):
    a = report_engine.answer(question)
    assert not a.answered, (question, a.direct)
