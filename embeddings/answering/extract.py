"""Candidate answers in a sentence: typed spans (people, roles, dates, durations, quantities,
places, organisations). Where the question's slot stands is ``slots``.

Everything works on the simplified matching form of a sentence; positions refer to it, and
``original_span`` maps a span back to the document's own script. Types come from jieba's
part-of-speech tags where it has them (``nr`` person, ``ns`` place, ``nt`` organisation,
``m``/``q`` numerals and measure words); the hand rules below are small and general: date
shapes, role titles, place and organisation suffixes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.answering.question import MEASURES, AnswerType
from embeddings.dictionary import is_place_name
from embeddings.lexical import segment, surnames, tag

# Role titles: general Chinese vocabulary of positions (not taken from any document).
TITLES = ("总支书记", "党委书记", "书记", "副主任", "主任", "部长", "队长", "组长", "常委", "市长", "省长", "区长",
          "县长", "镇长", "乡长", "村长", "州长", "主席", "委员", "委员长", "局长", "处长", "司长", "署长", "院长",
          "校长", "经理", "董事长", "董事", "理事长", "执行长", "行长", "社长", "厅长", "秘书长", "会长", "总监",
          "负责人", "代表", "主管", "总裁", "教授", "主任委员", "总经理", "总理", "部长助理", "大使", "司令",
          "总统", "首相", "议员", "教练", "主编", "所长", "站长", "班长", "馆长", "总干事", "顾问")
# A title comes first in "<role><name>"; a name after it starts with a surname.
SURNAMES = surnames()
_PERSON = re.compile(
    r"(?P<role>[^，。；：,;:“”]{0,40}?(?:" + "|".join(TITLES) + r"))"
    r"(?P<name>[" + "".join(sorted(SURNAMES)) + r"][\u4e00-\u9fff]{1,2}?)"
    r"(?=等|参加|出席|陪同|主持|介绍|表示|说|强调|指出|要求|一同|亦|也|及|和|与|，|。|；|、|,|$"
    # the adverbs and prepositions that follow a subject ("局长王诞生逐一回应", "主任张明在会上说")
    r"|逐一|分别|先后|共同|一起|随后|首先|均|都|还|又|就|对|向|在|为|从|将|已)"
)
# Units a quantity is counted in: the measure words questions count in, plus common units.
UNITS = tuple(sorted(set(MEASURES) | {"%", "％", "万", "亿", "万元", "亿元", "美元", "平方米", "平方千米", "立方米",
                                      "公顷", "亩", "厘米", "毫米", "千瓦", "万人", "万平方米", "余人", "多人", "公尺", "英尺",
                                      "英里", "海里", "千克", "克", "升", "度", "分"},
                     key=len, reverse=True))
_CN_DIGIT = "零〇一二三四五六七八九十百千万亿两"
_NUM = rf"(?:\d+(?:[.,]\d+)*|[{_CN_DIGIT}]+)(?:多|余|几)?"
_N = rf"(?:\d{{1,2}}|[{_CN_DIGIT}]{{1,3}})"  # a month or day number
_DAY = rf"(?:初[{_CN_DIGIT}]{{1,2}}|{_N}\s*[日号])"
_ONE_DATE = (
    # a year: four digits, or two ("98年"); one digit is a duration ("5年"), and "88年前" is one too
    rf"(?:公元前?\d{{1,4}}|\d{{2,4}})\s*年(?![前后来间内多半里])(?:代)?(?:\s*{_N}\s*月(?:\s*{_DAY})?)?(?:[初底末中])?"
    # a year in Chinese numerals ("万历十一年二月") only with its month: "三年" alone is a duration
    rf"|[{_CN_DIGIT}]{{1,4}}年{_N}月(?:{_DAY})?|元年"
    rf"|{_N}\s*月\s*{_DAY}|[{_CN_DIGIT}]{{1,3}}月"
    rf"|(?:今|去|明|前|后|同|当|次)年\s*(?:{_N}\s*月)?(?:\s*{_DAY})?"
    rf"|\d{{1,2}}\s*月(?:[初底中下上旬]+)?|[{_CN_DIGIT}]+世纪(?:[{_CN_DIGIT}\d]+年代)?(?:[初末中]期?)?"
    rf"|\d{{1,2}}世纪(?:\d+年代)?|(?:星期|周)[一二三四五六日天]"
    # a day of the month alone ("17日", "今（14）日"), as news reports date their events
    rf"|今\s*[（(]\s*\d{{1,2}}\s*[）)]\s*日|(?<![\d月年])\d{{1,2}}\s*[日号](?![\d楼线院车机门码桥站馆房])"
    rf"|[昨今明前后]天|日前|近日|当天|当晚|清晨|凌晨"
)
# one date, or a range of them ("3月21日至24日", "6日至8日")
_DATE = re.compile(rf"(?:{_ONE_DATE})(?:\s*(?:至|到|～|~|—|－|-)\s*(?:{_ONE_DATE}))?(?:[上下]午|晚上?)?")
_TIME_UNITS = "年|个月|月|周|星期|天|日|小时|个小时|钟头|分钟|秒|昼夜|个世纪|世纪"
_DURATION = re.compile(rf"{_NUM}\s*(?:{_TIME_UNITS})(?:多|左右|之久)?|(?:半年|半天|半个月|多年|数年|数月|数天|数日)")
_QUANTITY = re.compile(rf"{_NUM}\s*(?:%|％|[^\s\d，。；、,;:：“”（）()]{{1,3}})?")
_PLACE_SUFFIX = re.compile(r"(?:省|市|县|区|镇|乡|村|街道|街|路|社区|州|国|岛|山|河|江|湖|海|港|湾|站|机场|广场|公园|中心|"
                           r"馆|学校|医院|大学|园|所|局)$")
_ORG_SUFFIX = re.compile(r"(?:公司|集团|大学|学院|学校|医院|银行|协会|委员会|部|局|厅|处|署|院|所|社|台|队|俱乐部|"
                         r"乐队|组织|机构|中心|基金会|出版社|工作室)$")


@dataclass(frozen=True)
class Span:
    """A candidate answer: ``text`` at ``start`` in the simplified sentence."""

    text: str
    start: int
    type: AnswerType

    @property
    def end(self) -> int:
        return self.start + len(self.text)


# "<any meeting>会上" ("at the meeting", 座谈会上, 发布会上) opens a clause, it is not part of a role.
_AT_MEETING = r"[\u4e00-\u9fff]{0,6}?会上"
# Words that join or open a clause: a role written after one starts after it ("其中[党委书记]…").
_JOINERS = r"其中|以及|和|与|及"
_LEADING_NON_ROLE = re.compile(r"^(?:" + _AT_MEETING + "|" + _JOINERS + ")")


def find_people(text: str) -> list[tuple[str, str]]:
    """(role, name) pairs in simplified ``text``: a name right after a role title
    (``东湖新城社区党委书记陶久娣``). Roles joined by ``、`` stay together."""
    out = []
    for m in _PERSON.finditer(text):
        role = _LEADING_NON_ROLE.sub("", m.group("role")).strip("、 ")
        out.append((role, m.group("name")))
    return out


def _tagged(text: str, prefixes: tuple[str, ...], min_len: int = 2) -> list[tuple[str, int]]:
    """(word, position) of the words whose jieba tag starts with one of ``prefixes``."""
    out, pos = [], 0
    for word, flag in tag(text):
        start = text.find(word, pos)
        if start < 0:
            continue
        pos = start + len(word)
        if flag.startswith(prefixes) and len(word) >= min_len:
            out.append((word, start))
    return out


# A "name" ending in an administrative unit is a place the tagger took for a person ("青秀区").
_ADMINISTRATIVE = re.compile(r"..(?:省|市|县|区|镇|乡|村|街道)$")


def _plausible_name(word: str) -> bool:
    """jieba's dictionary tags some everyday words as names (康复 "recovery", 殷殷): a word it
    lists as frequent, or a doubled character, is not taken for a person."""
    from embeddings.lexical import word_frequency

    return len(set(word)) > 1 and word_frequency(word) <= 100


def _a_verb(word: str) -> bool:
    """Whether jieba reads ``word`` alone as one verb (强调, 指出)."""
    tags = tag(word)
    return len(tags) == 1 and tags[0][1].startswith("v")


def _trim_common_words(name: str) -> tuple[str, int]:
    """A transliterated name ("约翰·史密斯") out of the run of Han characters around its dots:
    everyday words at either end ("专家", "先后") are not part of it. Returns the name and its
    offset in ``name``."""
    from embeddings.lexical import word_frequency

    parts = name.split("·")
    first, last = list(segment(parts[0])), list(segment(parts[-1]))
    while len(first) > 1 and word_frequency(first[0]) > 100:
        first.pop(0)
    while len(last) > 1 and word_frequency(last[-1]) > 100:
        last.pop()
    trimmed = "·".join(["".join(first), *parts[1:-1], "".join(last)])
    i = name.find(trimmed)
    return (trimmed, i) if i >= 0 else (name, 0)


def people(text: str) -> list[Span]:
    """People named in ``text``: role + name pairs, jieba's person names, transliterated names."""
    spans = {}
    for m in _PERSON.finditer(text):
        if not _a_verb(m.group("name")):  # not "总理[强调]": 强 is a surname, 强调 a verb
            spans[m.start("name")] = Span(m.group("name"), m.start("name"), AnswerType.PERSON)
    for word, start in _tagged(text, ("nr",)):
        if not _plausible_name(word) or _ADMINISTRATIVE.search(word) or is_place_name(word):
            continue
        if not any(s.start <= start < s.end for s in spans.values()):
            spans[start] = Span(word, start, AnswerType.PERSON)
    for m in re.finditer(r"(?<![A-Za-z])[A-Z][a-z]+(?: (?:[A-Z][a-z]+|de|van|von|da|di|la|le)){1,3}(?![A-Za-z])", text):
        spans.setdefault(m.start(), Span(m.group(0), m.start(), AnswerType.PERSON))  # "Fay Fuller"
    # A transliterated name: the whole run of dotted parts, then everyday words trimmed off
    # ("约翰·史密斯先后发言"). ``question._TRANSLITERATED`` stops at a function word instead: a
    # question is short and its name is followed by 的/是 ("莱昂德罗·内托的职业是什么").
    for m in re.finditer(r"[\u4e00-\u9fff]{1,6}(?:·[\u4e00-\u9fff]{1,6})+", text):
        name, offset = _trim_common_words(m.group(0))
        spans[m.start() + offset] = Span(name, m.start() + offset, AnswerType.PERSON)
    _listed_with(text, spans)
    return sorted(spans.values(), key=lambda s: s.start)


_LIST_JOIN = re.compile(r"[、]|和|及|与")
_LIST_END = re.compile(r"[、，。；]|和|及|与|等|$")


def _listed_with(text: str, spans: dict[int, Span]) -> None:
    """The items of a list that names people are people too ("石泰峰、王东峰一同调研",
    "李克强、汪洋、李强出席"): an item right after a person and a list mark (、和及与) that starts
    with a surname and ends where a word ends, two or three characters long. Added to ``spans``."""
    bounds = set()
    pos = 0
    for word in segment(text):
        i = text.find(word, pos)
        if i >= 0:
            bounds.update((i, i + len(word)))
            pos = i + len(word)
    changed = True
    while changed:
        changed = False
        for sp in list(spans.values()):
            m = _LIST_JOIN.match(text, sp.end)
            if not m:
                continue
            start = m.end()
            if start in spans or start >= len(text) or text[start] not in SURNAMES:
                continue
            for n in (3, 2):
                name = text[start:start + n]
                if len(name) < n or start + n not in bounds or not re.fullmatch(r"[\u4e00-\u9fff]+", name):
                    continue
                # a whole element of the list ("汪洋、"), or a word rare enough to be a name
                whole = bool(_LIST_END.match(text, start + n))
                if whole or _plausible_name(name):
                    spans[start] = Span(name, start, AnswerType.PERSON)
                    changed = True
                    break


def times(text: str) -> list[Span]:
    return [Span(m.group(0).strip(), m.start(), AnswerType.TIME) for m in _DATE.finditer(text) if m.group(0).strip()]


def durations(text: str) -> list[Span]:
    dates = times(text)
    return [Span(m.group(0), m.start(), AnswerType.DURATION) for m in _DURATION.finditer(text)
            if not any(d.start <= m.start() < d.end for d in dates)]


def quantities(text: str) -> list[Span]:
    """Numbers with their unit, dates excluded."""
    dates = times(text)
    out = []
    for m in _QUANTITY.finditer(text):
        value = m.group(0)
        if not re.search(r"\d", value) and len(value) < 2:
            continue  # a lone 一/十 is rarely a quantity
        if re.fullmatch(r"[一两]", value[:1]) and not re.search(r"\d", value) and len(value) <= 2:
            continue
        if any(d.start <= m.start() < d.end for d in dates):
            continue
        # keep what follows the number only when it is a unit
        number = re.match(_NUM, value).group(0)
        rest = value[len(number):].lstrip()
        unit = next((u for u in UNITS if rest.startswith(u)), "")
        out.append(Span(value[: value.find(rest) + len(unit)] if rest else value, m.start(), AnswerType.NUMBER))
    return out


def _names(text: str, flag: str, suffix: re.Pattern, kind: AnswerType) -> list[Span]:
    """Words jieba tags ``flag``, and words of three characters or more ending in ``suffix``,
    touching ones joined."""
    out = [Span(w, s, kind) for w, s in _tagged(text, (flag,))]
    out += [Span(w, s, kind) for w, s in _words_with_positions(text) if len(w) >= 3 and suffix.search(w)]
    return _merge_adjacent(text, out)


# Words that end a place name when jieba writes them apart ("白河/村", "湾仔/街道").
_PLACE_WORDS = frozenset("省 市 县 区 镇 乡 村 街道 社区 州 岛 港".split())
_NAME_TAGS = ("ns", "nr", "nz", "nt", "j")


def places(text: str) -> list[Span]:
    """Place names: words jieba tags as places, joined with the name-tagged words and place
    words around them ("青/山镇" -> 青山镇, "白河/村" -> 白河村, "防城港市/木排/村"), and
    longer words ending in a place suffix."""
    out = _names(text, "ns", _PLACE_SUFFIX, AnswerType.PLACE)
    tokens, pos = [], 0
    for word, flag in tag(text):
        start = text.find(word, pos)
        if start >= 0:
            tokens.append((word, flag, start))
            pos = start + len(word)
    run: list[tuple[str, str, int]] = []
    for i, tok in enumerate(tokens + [("", "x", len(text))]):
        word, flag, start = tok
        nxt = tokens[i + 1][0] if i + 1 < len(tokens) else ""
        joins = (flag.startswith(_NAME_TAGS) or word in _PLACE_WORDS
                 or (flag.startswith("n") and nxt in _PLACE_WORDS and len(word) >= 2))
        if joins and (not run or run[-1][2] + len(run[-1][0]) == start):
            run.append(tok)
            continue
        while run and not (run[-1][1] == "ns" or run[-1][0] in _PLACE_WORDS):
            run.pop()  # a place name ends in a place word or a place ("…街道", not "…街道人大代表")
        if len(run) > 1:
            out.append(Span(text[run[0][2]: run[-1][2] + len(run[-1][0])], run[0][2], AnswerType.PLACE))
        run = [tok] if joins else []
    return _merge_adjacent(text, out)


def organisations(text: str) -> list[Span]:
    return _names(text, "nt", _ORG_SUFFIX, AnswerType.ORGANISATION)


def _words_with_positions(text: str) -> list[tuple[str, int]]:
    out, pos = [], 0
    for word in segment(text):
        start = text.find(word, pos)
        if start >= 0:
            out.append((word, start))
            pos = start + len(word)
    return out


def _merge_adjacent(text: str, spans: list[Span]) -> list[Span]:
    """Join touching spans (``武汉市`` + ``青和居社区``) into one."""
    merged: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.start, -len(s.text))):
        if merged and s.start <= merged[-1].end:
            last = merged[-1]
            end = max(last.end, s.end)
            merged[-1] = Span(text[last.start:end], last.start, last.type)
        else:
            merged.append(s)
    return merged


EXTRACTORS = {
    AnswerType.PERSON: people,
    AnswerType.TIME: times,
    AnswerType.DURATION: durations,
    AnswerType.NUMBER: quantities,
    AnswerType.PLACE: places,
    AnswerType.ORGANISATION: organisations,
}


_TITLE_AT_END = re.compile("(?:" + "|".join(TITLES) + ")$")
# A role starts after clause punctuation, a conjunction or a preposition ("习近平在[山西省委书记]唐登杰…陪同下").
_ROLE_START = re.compile(r"[，。；：,;:“”（）()]|" + _AT_MEETING + "|" + _JOINERS + r"|在|由|被|向|对|将|把")


# A word for what someone is or does: a title, or a word ending as occupations do (运动员, 工程师,
# 作家, 歌手, 外交官, 校长); 国家 and 大家 end like them but are none.
_OCCUPATION = re.compile("(?:" + "|".join(TITLES) + r")|[\u4e00-\u9fff](?<![国大])(?:员|师|家|手|官|长)")


def names_an_occupation(text: str) -> bool:
    """Whether ``text`` holds a title or an occupation ("巴西足球运动员", "京剧琴师")."""
    return bool(_OCCUPATION.search(text))


def occupation_after(text: str, start: int, end: int) -> int | None:
    """Where the first title or occupation in ``text[start:end]`` begins, or None."""
    m = _OCCUPATION.search(text, start, end)
    return m.start() if m else None


def ends_with_title(text: str) -> bool:
    """Whether ``text`` ends in a role title (``东湖新城社区党委书记``)."""
    return bool(_TITLE_AT_END.search(text))


def roles_of(name: str, text: str) -> list[Span]:
    """The role written right before ``name`` (``省委办公厅副主任、…队长陈艳霞`` -> the role):
    back from the name to the start of its clause, when that ends in a role title."""
    out = []
    for m in re.finditer(re.escape(name), text):
        head = text[max(0, m.start() - 40): m.start()]
        if not _TITLE_AT_END.search(head):
            continue
        cut = max((b.end() for b in _ROLE_START.finditer(head)), default=0)
        # another person's name inside: the role starts after it ("董事长林耀英、[执行长]林恩平")
        names = [m2.end("name") for m2 in _PERSON.finditer(head, cut)]
        cut = max([cut, *names])
        role = head[cut:].strip("、和及与 ")
        if role:
            out.append(Span(role, m.start() - len(role), AnswerType.ROLE))
    return out


_ERA_YEAR = re.compile(rf"(?<=[\u4e00-\u9fff]{{2}})[{_CN_DIGIT}]{{1,3}}年(?![多来间内后前中里半])")


def typed_candidates(qtype: AnswerType, sentence: str, units: tuple[str, ...] = ()) -> list[Span]:
    """Spans of ``qtype`` in the simplified ``sentence``; with ``units``, only those counted in
    one of them (a "多少户" question is not answered by "七次"). A "when" question also takes a
    year in Chinese numerals after a reign name ("崇宁五年"), which elsewhere reads as a duration."""
    extract = EXTRACTORS.get(qtype)
    spans = extract(sentence) if extract else []
    if qtype is AnswerType.TIME:
        spans += [Span(m.group(0), m.start(), qtype) for m in _ERA_YEAR.finditer(sentence)
                  if not any(s.start <= m.start() < s.end for s in spans)]
    if units:
        spans = [s for s in spans if any(u in sentence[s.start:s.end + len(u)] for u in units)]
    return spans
