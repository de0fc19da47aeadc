"""Question analysis: what kind of answer is expected, who or what the question is about,
and which words an answer must be about. Works on simplified, traditional and English
questions; nothing here knows any particular document.

Chinese keeps question words in place ("东湖新城社区的党委书记是谁" asks for the words that
would stand where 谁 stands), so besides the answer type we record the words right before and
after the question phrase: the extractor looks for the same words in a sentence and takes
what sits between them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache

from corpus.clean import match_form, script_of
from embeddings.dictionary import ENGLISH_STOPWORDS, lemma
from embeddings.lexical import STOPWORDS, latin_pinyin_terms, word_frequency

# A one-character word jieba's dictionary has seen fewer times than this carries meaning.
RARE_CHARACTER = 1000


class AnswerType(Enum):
    """The kind of thing a question asks for."""

    PERSON = "person"
    ROLE = "role"  # the position or title of a person
    ORGANISATION = "organisation"
    PLACE = "place"
    TIME = "time"  # a date or point in time
    DURATION = "duration"
    NUMBER = "number"  # a quantity, with its unit
    STATEMENTS = "statements"  # what someone emphasised, required, said
    REASON = "reason"
    MANNER = "manner"  # how something is done
    YES_NO = "yes_no"
    DESCRIPTION = "description"  # what something is; anything else

    @property
    def typed(self) -> bool:
        """Types whose answer is a short span that can be recognised on its own."""
        return self in _TYPED


_TYPED = frozenset({AnswerType.PERSON, AnswerType.ROLE, AnswerType.ORGANISATION, AnswerType.PLACE,
                    AnswerType.TIME, AnswerType.DURATION, AnswerType.NUMBER})


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks, in the simplified matching form."""

    text: str  # as asked
    script: str  # zh-Hans, zh-Hant, en, other
    normalised: str  # match_form(text)
    type: AnswerType
    focus: str = ""  # the person or thing asked about ("陈艳霞" in "陈艳霞担任什么职务"), may be Latin
    content: tuple[str, ...] = ()  # words an answer must be about (Chinese words, or English lemmas)
    before: str = ""  # Chinese: the words just before the question phrase
    after: str = ""  # Chinese: the words just after it
    pinyin: tuple[str, ...] = field(default=())  # English: runs that spell Chinese names in pinyin
    units: tuple[str, ...] = ()  # what a number or date must be counted in ("多少户" -> 户, "哪一年" -> 年)
    plural: bool = False  # asks for several ("哪些人", "哪两个社区", "who attended")
    noun: str = ""  # Chinese: the noun that says what class of thing is asked for ("什么身份" -> 身份)

    @property
    def cross_lingual(self) -> bool:
        return self.script not in ("zh-Hans", "zh-Hant")


# --- Chinese ------------------------------------------------------------------------------
# General vocabulary, not taken from any document: the nouns that say which kind of thing a
# "哪个/什么 + noun" question asks for.
_PERSON_NOUNS = ("人", "人物", "人员", "领导", "官员", "干部", "成员", "代表", "演员", "作者", "作家", "歌手",
                 "球员", "选手", "运动员", "学者", "科学家", "皇帝", "国王", "总统", "主席", "书记", "导演",
                 "老师", "学生", "同志", "嘉宾", "负责人", "创始人", "发明者", "发现者", "设计师", "角色")
_ROLE_NOUNS = ("职务", "职位", "身份", "职业", "头衔", "官职", "职称", "岗位", "称号")
_PLACE_NOUNS = ("地方", "地点", "地区", "城市", "国家", "省份", "省", "市", "县", "区", "位置", "场所", "地址",
                "社区", "街道", "村", "镇", "岛", "山", "河", "湖", "海", "洲", "大陆", "机场", "车站")
_ORG_NOUNS = ("公司", "机构", "组织", "单位", "部门", "大学", "学校", "学院", "医院", "团队", "球队", "俱乐部",
              "乐队", "政党", "企业", "集团", "银行", "出版社", "电视台", "媒体", "品牌", "厂商")
_TIME_NOUNS = ("时候", "时间", "日子", "年", "年份", "年代", "世纪", "朝代", "时期", "月份", "月", "天", "日",
               "日期", "季节", "时代", "阶段")
SPEECH_VERBS = ("强调", "指出", "要求", "表示", "提出", "说", "讲", "谈到", "提到", "介绍", "认为", "宣布", "呼吁")
# Those that open a statement in a report ("应勇强调：…"); 说, 讲, 谈到, 提到 run through ordinary text too.
STATEMENT_VERBS = tuple(v for v in SPEECH_VERBS if v not in ("说", "讲", "谈到", "提到"))
# Nouns that only frame a question ("哪些方面的工作", "什么情况"): not what it is about.
_GENERIC = {"方面", "情况", "内容", "问题", "东西", "事情", "事", "哪些", "什么", "分别", "各自"}
_MEASURE_ADJ = "长高大重远深宽厚久快"

_QP = r"(?:哪|什么|啥|何)"
_CN_RULES: list[tuple[re.Pattern, AnswerType | None]] = [
    (re.compile(r"(?<![成作称认视以])为什么(?!样)|为何|什么原因|原因是什么|何故"), AnswerType.REASON),
    (re.compile(r"几几年|哪一年|哪年"), AnswerType.TIME),
    (re.compile(r"多久|多长时间|多少(?:年|天|个月|小时|分钟|秒|周|星期)|(?<![那这前近头哪])几(?:年|天|个月|个小时|小时|分钟|周|个星期)"),
     AnswerType.DURATION),
    (re.compile(r"什么时候|何时|哪(?:一)?(?:年|天|日|月)|几月|几号|几日|几点|什么时间|何年|哪个(?:时期|朝代|年代|世纪)"),
     AnswerType.TIME),
    (re.compile(r"哪里|哪儿|在哪|何地|何处|什么地方|哪个地方|哪一?国(?!际)"), AnswerType.PLACE),  # "哪国人": a country
    (re.compile(r"谁|哪位|哪些人|什么人|叫什么名字|叫什么|什么名字|名字是什么"), AnswerType.PERSON),
    (re.compile(r"多少|(?<![那这前近头哪])几(?:个|位|名|次|家|种|座|所|条|项|部|本|场|届|岁|人)?|多[" + _MEASURE_ADJ + r"]"),
     AnswerType.NUMBER),
    (re.compile(_QP + r"(?!样)(?:些|个|位|家|种|座|所|条|项|部|本|一个|一位|一家|两个|几个|\d+个)?"), None),  # typed by its noun
    (re.compile(r"怎样|怎么样|怎么|如何|什么样|哪些方面"), AnswerType.MANNER),
    (re.compile(r"是否|是不是|有没有|能否|可否|吗[？?]?$"), AnswerType.YES_NO),
]
_TRAILING = re.compile(r"[呢吗吧啊呀的了？?！!。，, ]+$")


# A transliterated foreign name: parts joined by "·", the last one ending before a function word.
_TRANSLITERATED = r"[\u4e00-\u9fff]{1,8}(?:·[\u4e00-\u9fff]{1,6}?)+(?=[的是在于和与为从被把及等曾，。、]|[^\u4e00-\u9fff·]|$)"


def _noun_after(q: str, end: int) -> str:
    """The noun that follows a question word (``什么职务`` -> ``职务``)."""
    from embeddings.lexical import segment

    words = segment(q[end:end + 8])
    return words[0] if words else ""


def _type_of_noun(noun: str) -> AnswerType | None:
    for nouns, t in ((_ROLE_NOUNS, AnswerType.ROLE), (_TIME_NOUNS, AnswerType.TIME),
                     (_PERSON_NOUNS, AnswerType.PERSON), (_ORG_NOUNS, AnswerType.ORGANISATION),
                     (_PLACE_NOUNS, AnswerType.PLACE)):
        if noun in nouns or (len(noun) > 1 and noun.endswith(nouns)):
            return t
    return None


def _named_entities(q: str) -> list[str]:
    """Names, places, organisations and titles (《…》) in a question, longest first."""
    from embeddings.lexical import tag

    found = [m.group(1) for m in re.finditer(r"《([^》]+)》", q)]
    found += re.findall(_TRANSLITERATED, q)
    found += [w for w, flag in tag(q) if flag.startswith(("nr", "ns", "nt", "nz")) and len(w) > 1]
    return sorted(dict.fromkeys(found), key=len, reverse=True)


# Words made only of these characters are grammar ("要朝", "对于"), not content.
_FUNCTION_CHARS = frozenset("要朝向往把被让使给对为以于在从由和与及或而但就都也还又才将已曾会能可应该得地的了着过吗呢吧啊是有")


def _content_words(text: str, drop: set[str]) -> tuple[str, ...]:
    from embeddings.lexical import segment

    words = [w for w in segment(text) if w not in STOPWORDS and w not in drop and re.search(r"[\w\u4e00-\u9fff]", w)
             and not set(w) <= _FUNCTION_CHARS]
    return tuple(dict.fromkeys(words))


def name_phrases(q: str) -> list[str]:
    """The names a question is about, as whole as the text writes them: titles in 《》, and runs of
    words tagged as names, with the one noun right after them ("马岛/灵猫" -> 马岛灵猫, "海宁/西站" ->
    海宁西站, "国家电网/公司" -> 国家电网公司), which the segmenter cuts apart."""
    from embeddings.lexical import tag

    found = [m.group(1) for m in re.finditer(r"《([^》]+)》", q)]
    run: list[str] = []
    run_flag = ""
    for word, flag in (*tag(q), ("", "x")):
        if flag.startswith(("nr", "ns", "nt", "nz")) and len(word) > 1:
            run.append(word)
            run_flag = flag
        elif run:
            # a noun after a place or an organisation is part of its name (海宁/西站), one after a
            # person's name is not (赵乐际/现任)
            noun = flag.startswith("n") and len(word) > 1 and not run_flag.startswith("nr")
            found.append("".join(run) + (word if noun else ""))
            run = []
    return list(dict.fromkeys(f for f in found if len(f) > 1))


# Tags of the words that can make up a noun phrase: nouns of every kind, numbers, place words,
# attributives and bound morphemes ("黑/a 尾/n 前/f 肛鳗/n", "城巴/ns 11/m 线/n").
_PHRASE_TAGS = ("n", "m", "f", "a", "b", "g", "j", "eng", "q")


def topic_phrase(q: str) -> str:
    """The noun phrase a question opens with, as whole as it is written ("黑尾前肛鳗的体长…" ->
    黑尾前肛鳗, "城巴11线连接了…" -> 城巴11线), else its longest name; "" when it has neither.
    What a question asks about is most often its subject, and a document that writes only part
    of it (大沙地站 for 大沙东站) is most often about something else."""
    from embeddings.lexical import tag

    run = ""
    for word, flag in tag(q):
        if not flag.startswith(_PHRASE_TAGS):
            break
        run += word
    names = name_phrases(q)
    longest = max(names, key=len) if names else ""
    return run if len(run) > 1 and len(run) >= len(longest) else longest


# A character of the CJK Unified Ideographs block (the common ones; not extension A).
HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")


def noun_pairs(q: str) -> tuple[str, ...]:
    """The character pairs that spell the nouns and names of ``q``: inside each word of a noun
    phrase, or across a word of one character ("黑尾前肛鳗" -> 黑/尾/前/肛鳗 -> 黑尾 尾前 前肛 肛鳗:
    jieba writes a name it does not know as single characters), never across two longer words
    ("长崎县/产量" gives no 县产: a phrase that runs on into other nouns loses nothing by it).
    A document about what the question names holds all of them; one about a near-namesake misses
    those of the part that differs (黑尾 尾前 in a document on 异齿前肛鳗, 丹佛 on 森麻实郡)."""
    from embeddings.lexical import tag

    pairs: list[str] = []
    run: list[str] = []
    for word, flag in (*tag(q), ("", "x")):
        # a number word is part of a name only with digits ("城巴11线"; not 多少, 一种)
        if word and flag.startswith(_PHRASE_TAGS) and (flag[0] not in "mq" or any(c.isdigit() for c in word)):
            run.append(word)
        else:
            pairs += _pairs_of(run)
            run = []
    return tuple(dict.fromkeys(pairs))


def _pairs_of(words: list[str]) -> list[str]:
    """The character pairs of a noun phrase's ``words`` with a Chinese character, except those
    that join two words of two characters or more."""
    text = "".join(words)
    size = [len(w) for w in words for _ in w]  # the length of the word each character is in
    start = {sum(map(len, words[:i])) for i in range(1, len(words))}  # where a word begins
    return [text[k:k + 2] for k in range(len(text) - 1)
            if not (k + 1 in start and size[k] > 1 and size[k + 1] > 1) and HAN_CHAR.search(text[k:k + 2])]


def is_person_name(text: str) -> bool:
    """A person's name alone: one word jieba tags as a name, or a transliteration (``莱昂德罗·内托``)."""
    from embeddings.lexical import tag

    if re.fullmatch(_TRANSLITERATED, text):
        return True
    tags = tag(text)
    return len(tags) == 1 and tags[0][1].startswith("nr")


def _analyse_chinese(text: str, script: str) -> QuestionAnalysis:
    q = match_form(text)
    body = _TRAILING.sub("", q)
    qtype: AnswerType | None = None
    span = (len(body), len(body))
    head = ""
    for pattern, t in _CN_RULES:
        m = pattern.search(body)
        if m:
            qtype, span = t, m.span()
            if t is None:  # 哪个/什么 + noun: the noun decides
                head = _noun_after(body, m.end())
                if not _type_of_noun(head):  # "X的职业是什么": the noun before 是 decides
                    before_is = re.search(r"的?([\u4e00-\u9fff]{1,4})是$", body[: m.start()])
                    head = before_is.group(1) if before_is and _type_of_noun(before_is.group(1)) else head
                noun_type = _type_of_noun(head)
                qtype = noun_type or t or AnswerType.DESCRIPTION
                if head and body[m.end():].startswith(head) and noun_type:
                    span = (m.start(), m.end() + len(head))
            break
    qtype = qtype or AnswerType.DESCRIPTION
    before = re.sub(r"(?:是|的|有|在|为|叫|了|由|被|对|把|到)+$", "", body[: span[0]]).strip()
    after = re.sub(r"^(?:是|的|了|呢)+", "", body[span[1]:]).strip()

    speech = next((v for v in SPEECH_VERBS if v in body), "")
    focus = ""
    if speech and qtype in (AnswerType.DESCRIPTION, AnswerType.MANNER) and re.search(
            r"(?:" + "|".join(SPEECH_VERBS) + r")(?:了|过|的)?(?:些)?(?:什么|哪些|啥)", body):
        qtype = AnswerType.STATEMENTS
        speaker = re.sub(r"^(?:请问|那么|那|还)|(?:还|又|也|都|再|另外)$", "", body[: body.find(speech)]).strip()
        # "赵乐际在天津调研时强调了什么": the speaker is the person named, not the whole context
        named = [e for e in _named_entities(speaker) if is_person_name(e) and speaker.startswith(e)]
        focus = named[0] if named else speaker
    # "X是谁" asks who X is: the role of the person named.
    who_is = re.fullmatch(r"(.{2,16}?)(?:是谁|是什么人|是何人|是做什么的)", body)
    if who_is and qtype == AnswerType.PERSON and is_person_name(who_is.group(1)):
        qtype, focus = AnswerType.ROLE, who_is.group(1)
    entities = _named_entities(body)
    if qtype == AnswerType.ROLE and not focus:
        people = [e for e in entities if is_person_name(e)]
        # the words right before 担任/的职务 ("…时，沈荣津担任什么职务", "赵乐际现任"), within their clause
        m = re.search(r"([^，,。；;\s]{2,12}?)(?:分别|各自|都|现在|目前|曾经|曾|现|原|还)?"
                      r"(?:担任|的职务|的职位|的身份|的职业|是什么职务|任|做什么工作)", body)
        written = m.group(1) if m else ""
        head_words = re.split(r"[在于从到]", written)[0]  # "陈艳霞在社区担任": the person, not the place
        written = head_words if len(head_words) >= 2 else written
        inside = [p for p in people if p in written]
        # the name as written ("王瑞连"), which jieba may have cut short ("王瑞")
        focus = inside[0] if inside and not written.startswith(inside[0]) else written or (people[0] if people else "")
    if not focus:
        focus = entities[0] if entities else ""
    # The noun right after the question word names the answer's class ("什么倾向" is answered
    # by "机关化"): the answer's sentence need not repeat it.
    drop = {head, speech} if qtype == AnswerType.STATEMENTS else {head}
    if qtype == AnswerType.ROLE:  # the verbs that frame a question about a position
        drop |= {"担任", "任", "出任", "身为", "是"}
    content = _content_words(f"{before} {after}", drop | _GENERIC)
    if len(content) > 1:  # common one-character words (去, 开, 让) are mostly grammar; rare ones are not (畠)
        content = tuple(w for w in content if len(w) > 1 or word_frequency(w) < RARE_CHARACTER) or content
    if focus and focus in body:  # a name is one word, not the pieces jieba may cut it into
        content = (focus, *(w for w in content if w not in focus))
    plural = bool(re.search(r"哪些|哪几|哪[两二三四五六七八九十]|几[个位名家]|都有谁|有谁|分别|都是谁", body))
    return QuestionAnalysis(text, script, q, qtype, focus, content, before, after, units=_units(body, qtype),
                            plural=plural, noun=head if head and body[span[0]:span[1]].endswith(head) else "")


# Measure words a "多少/几" question counts in; 人 is counted as 人, 名 or 位.
MEASURES = ("平方公里", "公里", "千米", "公斤", "千克", "亿元", "万元", "小时", "分钟", "个月", "米", "吨", "元", "个",
             "位", "名", "户", "次", "岁", "年", "人", "家", "座", "所", "条", "项", "部", "本", "场", "届", "件", "只",
             "头", "辆", "架", "艘", "层", "栋", "间", "张", "台", "套", "支", "篇", "首", "集", "期", "天", "周", "倍")
_SAME_UNIT = {"人": ("人", "名", "位"), "名": ("名", "人", "位"), "位": ("位", "名", "人"), "天": ("天", "日")}


def _units(body: str, qtype: AnswerType) -> tuple[str, ...]:
    if qtype in (AnswerType.NUMBER, AnswerType.DURATION):
        m = re.search(r"(?:多少|几)(" + "|".join(MEASURES) + ")", body)
        if m:
            return _SAME_UNIT.get(m.group(1), (m.group(1),))
        if re.search(r"多大(?:年纪|岁数)|年龄|几岁|多少岁", body):
            return ("岁",)
    if qtype is AnswerType.TIME:
        if re.search(r"哪(?:一)?年|何年|几几年|哪个年份", body):
            return ("年", "世纪")
        if re.search(r"哪(?:一)?(?:天|日)|几号|几日", body):
            return ("日", "号", "天")
        if re.search(r"几月|哪(?:一)?个?月", body):
            return ("月",)
    if qtype is AnswerType.PLACE:  # "去了哪个村": a village is written with 村 (木排村)
        m = re.search(r"哪(?:一)?[个座条所片家]?(" + "|".join(PLACE_SUFFIXES) + ")", body)
        if m:
            return (m.group(1),)
    return ()


# Kinds of place that Chinese names end with (a village is "…村", a county "…县"): "which
# village" is answered by a name with that ending. Not 城市/国家: "哪个国家" is answered by 日本.
PLACE_SUFFIXES = ("村", "镇", "乡", "县", "区", "省", "州", "岛", "山", "河", "湖", "街", "路", "站", "寺", "桥", "港")


# --- English --------------------------------------------------------------------------------
_EN_STOP = STOPWORDS | ENGLISH_STOPWORDS
_EN_RULES: list[tuple[re.Pattern, AnswerType]] = [
    (re.compile(r"\bwhy\b|\breason\b"), AnswerType.REASON),
    (re.compile(r"\bhow long\b.*\b(?:last|lasted|take|took|spend|spent|stay|stayed)\b|\bfor how long\b|"
                r"\bhow many (?:years|days|months|hours|minutes|weeks)\b"), AnswerType.DURATION),
    (re.compile(r"\bwhen\b|\bwhat (?:date|year|day|month|time)\b|\bwhich (?:date|year|day|month)\b|\bwhat time\b"),
     AnswerType.TIME),
    (re.compile(r"\bwhat (?:position|post|title|role|job|office|rank|occupation|profession)s?\b|"
                r"\bwhat (?:is|was|are|were)\b.*['’]s (?:position|post|title|role|job|office|rank|occupation)s?\b|"
                r"\b(?:what|which)\b.*\b(?:positions|posts|titles|roles|jobs|offices)\b|"
                r"\bwho is\b(?!.*\b(?:the|a|an)\b)"), AnswerType.ROLE),
    (re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|\bwhat is the name\b|\bwhich (?:person|people|leaders?|officials?)\b"),
     AnswerType.PERSON),
    (re.compile(r"\bwhere\b|\bwhat (?:place|location)\b"), AnswerType.PLACE),
    (re.compile(r"\bhow (?:many|much|long|far|tall|high|big|large|old|deep|wide)\b|\bwhat (?:is|was) the "
                r"(?:number|population|area|length|height|size|price|cost|amount|total|budget|age|distance)\b"),
     AnswerType.NUMBER),
    (re.compile(r"\bwhat (?:did|does|do|has|have)\b.*\b(?:emphasi[sz]e|stress|say|said|require|urge|call for|"
                r"point out|demand|ask for|propose|announce|talk about|speak about|introduce|present|report)d?\b"),
     AnswerType.STATEMENTS),
    (re.compile(r"\bhow\b"), AnswerType.MANNER),
    (re.compile(r"^(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should)\b"), AnswerType.YES_NO),
]
_CAPITALISED = re.compile(r"(?<![.?!]\s)(?<!^)\b([A-Z][a-z]+(?:-[a-z]+)?(?:[\s-][A-Z][a-z]+(?:-[a-z]+)?)*)")


def _analyse_english(text: str, script: str) -> QuestionAnalysis:
    q = match_form(text)
    qtype = next((t for pattern, t in _EN_RULES if pattern.search(q)), AnswerType.DESCRIPTION)
    names = [m.group(1) for m in _CAPITALISED.finditer(text.strip())]
    focus = max(names, key=len) if names else ""
    if qtype == AnswerType.STATEMENTS:
        m = re.search(r"\bwhat (?:did|does|do|has|have) (.+?) (?:emphasi|stress|say|said|require|urge|call|point|"
                      r"demand|ask|propose|announce|talk|speak|introduce|present|report)", q)
        if m:
            subject = re.sub(r"^(?:the|a|an) ", "", m.group(1))
            focus = focus if focus and focus.lower() in subject else subject
    which = which_noun(q)
    if qtype is AnswerType.DESCRIPTION and which:  # "which university": typed by what its noun is in Chinese
        qtype = _type_of_english_noun(lemma(which)) or qtype
    words = re.findall(r"[a-z]+", q)
    content = tuple(dict.fromkeys(lemma(w) for w in words if w not in _EN_STOP and len(w) > 1))
    units: tuple[str, ...] = ()
    if qtype in (AnswerType.NUMBER, AnswerType.DURATION):
        many = re.search(r"\bhow many ([a-z]+)", q)
        units = ("岁",) if re.search(r"\bhow old\b", q) else _english_units(lemma(many.group(1))) if many else ()
    plural = qtype is AnswerType.PERSON and not re.search(r"\bwho is\b|\bwho was\b|\bname of the\b", q)
    return QuestionAnalysis(text, script, q, qtype, focus, content, pinyin=tuple(latin_pinyin_terms(q)), units=units,
                            plural=plural)


def which_noun(question: str) -> str:
    """The noun of "which / what <noun>" in a normalised English question ("which two cities" ->
    cities), or ""."""
    m = re.search(r"\b(?:which|what)(?: (?:two|three|four|five|several|\d+))? ([a-z]+)\b", question)
    return m.group(1) if m else ""


def _type_of_english_noun(lemma: str) -> AnswerType | None:
    """The answer type a "which <noun>" question asks for, from the noun's Chinese translations
    (CC-CEDICT) and the Chinese noun classes: university -> 大学 -> an organisation."""
    from collections import Counter

    from embeddings.dictionary import chinese_for

    types = Counter(t for w in chinese_for(lemma) if (t := _type_of_noun(w)))
    return types.most_common(1)[0][0] if types else None


def _english_units(lemma: str) -> tuple[str, ...]:
    """What "how many <noun>" counts in: the noun's translations that are measure words
    (households -> 户, years -> 年), or 人/名/位 for a noun for people (members -> 成员)."""
    from embeddings.dictionary import chinese_for

    words = chinese_for(lemma, single=True)
    measures = [m for m in MEASURES if m in words]
    if measures:
        return tuple(dict.fromkeys(u for m in measures for u in _SAME_UNIT.get(m, (m,))))
    if any(_type_of_noun(w) is AnswerType.PERSON for w in words):
        return _SAME_UNIT["人"]
    return ()


@lru_cache(maxsize=4096)
def analyse(text: str) -> QuestionAnalysis:
    """Analyse a question in simplified or traditional Chinese, or English."""
    script = script_of(text)
    if script in ("zh-Hans", "zh-Hant"):
        return _analyse_chinese(text, script)
    return _analyse_english(text, script)
