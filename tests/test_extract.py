"""Candidate extraction and the question's slot, on sentences written for the tests (no model)."""

from embeddings.answering import AnswerType, analyse
from embeddings.answering import extract, slots
from embeddings.answering.gate import coverage, weighted_terms
from embeddings.lexical import BM25

T = AnswerType


def texts(spans):
    return [s.text for s in spans]


def test_people_with_roles_and_names_from_the_tagger():
    s = "座谈会上，星河小学校长林晓明，教务处主任赵一凡，以及来自英国的专家约翰·史密斯先后发言。"
    assert {"林晓明", "赵一凡", "约翰·史密斯"} <= set(texts(extract.people(s)))
    assert [r.text for r in extract.roles_of("林晓明", s)] == ["星河小学校长"]
    assert extract.find_people("省委办公厅副主任、工作队队长陈艳霞等")[0] == ("省委办公厅副主任、工作队队长", "陈艳霞")


def test_everyday_words_the_tagger_calls_names_are_not_people():
    assert "康复" not in texts(extract.people("他参观了武汉麟洁康复医疗中心。"))


def test_dates_durations_and_quantities():
    s = "大桥于1998年3月开工，历时三年零两个月，全长1.2公里，总投资约11.42亿元，2001年5月20日通车。"
    assert "1998年3月" in texts(extract.times(s)) and "2001年5月20日" in texts(extract.times(s))
    assert any("三年" in d for d in texts(extract.durations(s)))
    quantities = texts(extract.quantities(s))
    assert "1.2公里" in quantities and any("11.42亿" in q for q in quantities)
    assert not any("1998" in q for q in quantities)  # a date is not a quantity
    assert "31日" not in texts(extract.durations("8月31日，他到社区调研。"))  # nor a duration


def test_units_filter_the_numbers_a_question_counts_in():
    s = "省委十一届七次全会召开，全校800名学生参加。"
    assert texts(extract.typed_candidates(T.NUMBER, s, analyse("有多少名学生参加？").units)) == ["800名"]
    assert extract.typed_candidates(T.NUMBER, s, analyse("有多少户居民？").units) == []


def test_slot_between_the_question_words():
    a = analyse("《战国无双3》是由哪两个公司合作开发的？")
    sl = slots.slot(a, "《战国无双3》是由光荣和ω-force合作开发的战国无双系列的第三作")
    assert sl and sl.text == "光荣和ω-force" and sl.both_sides
    a = analyse("亚历山大·罗迪奇是哪个国家的足球运动员？")
    sl = slots.slot(a, "亚历山大·罗迪奇（1979年5月26日－），斯洛文尼亚足球运动员，司职前锋")
    assert sl and sl.text.startswith("斯洛文尼亚")  # the clause next to the words after the gap


def test_slot_with_one_character_neighbours():
    a = analyse("他以什么身份参加会议？")
    sl = slots.slot(a, "他以普通党员身份参加会议，并发言。")
    assert sl and sl.text == "普通党员"


def test_answer_phrase_is_the_clause_grown_to_its_neighbours():
    s = "嘉兴南站建筑总面积近5.6万平方米，共设6个站台。"
    start = s.index("5.6")
    lo, hi = slots.answer_phrase(s, start, start + 5)
    assert s[lo:hi] == s  # both clauses fit, with the full stop
    s = "该站于2009年开工建设，建筑总面积近5.6万平方米，共设6个站台，是沪杭高铁上的一座大型车站。"
    start = s.index("5.6")
    lo, hi = slots.answer_phrase(s, start, start + 5)
    assert "近5.6万平方米" in s[lo:hi] and hi - lo <= 40 and s[lo:hi].startswith(("建筑", "该站"))
    long = "这是一个非常非常长的从句" * 5 + "面积为5.6万平方米" + "并且还有很多很多的其他的内容" * 5
    start = long.index("5.6")
    lo, hi = slots.answer_phrase(long, start, start + 7)
    assert "5.6万平方米" in long[lo:hi] and hi - lo <= 40


def test_coverage_weighs_rare_words_and_credits_abbreviations():
    bm25 = BM25([["社区", "工作", "应勇"], ["社区", "减负", "应勇"], ["社区", "应勇"]])
    terms = weighted_terms(analyse("社区怎样减轻负担？"), bm25)
    assert coverage(terms, "社区减负增能") > coverage(terms, "社区工作")  # 减负 abbreviates 减轻负担
    terms = weighted_terms(analyse("应勇喜欢吃什么？"), bm25)
    assert coverage(terms, "应勇强调，要做好社区工作") < 0.2


def test_english_words_found_through_the_dictionary_and_pinyin():
    bm25 = BM25([["人口", "武汉"], ["社区"]])
    terms = weighted_terms(analyse("What is the population of Wuhan?"), bm25)
    assert coverage(terms, "武汉的人口为1200万") == 1.0
    assert coverage(terms, "武汉的社区") < 0.7


def test_surnames_come_from_the_dictionary_not_from_a_document():
    from embeddings.lexical import surnames

    names = surnames()
    assert {"王", "李", "倪", "应", "覃", "阎"} <= names and len(names) > 300
    assert not {"和", "在", "的", "与", "那", "了"} & names  # function words
    # a measure word or bound morpheme that mostly begins names is a surname (张, 刘, 孙); one that
    # mostly begins ordinary words is not (今天, 天气, 家中)
    assert {"张", "刘", "孙", "谭", "段"} <= names and not {"今", "天", "家", "位", "行"} & names


def test_people_after_a_title_whatever_their_surname_and_what_follows():
    found = [p.text for p in extract.people("随后由经济部长张家祝、工业局长沈荣津及台中市政府经济发展局长王诞生逐一回应。")]
    assert found == ["张家祝", "沈荣津", "王诞生"]
    assert [p.text for p in extract.people("省委书记刘明在会上说")] == ["刘明"]
    assert extract.people("他来到村委会主任家中，书记今天表示感谢。") == []


def test_titles_are_positions_not_memberships():
    assert extract.find_people("志愿者王明和党员李华参加了活动") == []
    assert extract.find_people("校长林晓明出席") == [("校长", "林晓明")]


def test_a_meeting_that_opens_the_clause_is_not_part_of_the_role():
    assert extract.find_people("发布会上市长李明表示") == [("市长", "李明")]
    assert extract.find_people("在年度总结会上区长王强指出") == [("区长", "王强")]


def test_rooms_are_not_places_by_their_ending():
    assert [p.text for p in extract.places("他走进会议室和活动室")] == []


def test_place_names_the_segmenter_splits_are_joined():
    for text, place in [("他来到青山镇调研", "青山镇"), ("他来到白河村", "白河村"), ("在防城港市木排村", "防城港市木排村"),
                        ("在珠海市香洲区湾仔街道人大代表中心联络站", "珠海市香洲区湾仔街道")]:
        assert place in [p.text for p in extract.places(text)], text


def test_a_verb_after_a_title_is_no_name():
    """强 is a surname, but in "总理强调，…" the title is followed by a verb, not a person."""
    assert [p.text for p in extract.people("总理强调，要加快农业科技创新。")] == []
    assert [p.text for p in extract.people("国务院总理李强、副总理丁薛祥出席。")] == ["李强", "丁薛祥"]
