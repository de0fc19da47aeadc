"""Candidate answers: the sentences of the best passages, what the question asks of them
(``Question``: its terms, predicate, the verbs and words of its own clause), the candidates in a
sentence (typed spans, roles, the slot, quoted names, clauses, the sentence), which of them can
answer at all (``eligible``) and in what order they are offered (``answers_in_order``). The rules of
``question`` and ``extract`` make them; ``features`` describes them to the learned models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from corpus.clean import to_simplified
from corpus.split import split_sentences
from embeddings.answering import extract, slots
from embeddings.answering.clauses import CLAUSE_END
from embeddings.answering.gate import Term, predicate_terms, weighted_terms
from embeddings.answering.question import (
    STATEMENT_VERBS,
    AnswerType,
    QuestionAnalysis,
    name_phrases,
    noun_pairs,
    topic_phrase,
    which_noun,
)
from embeddings.dictionary import ENGLISH_STOPWORDS, first_sense, is_a, lemma, phrases
from embeddings.lexical import BM25
from embeddings.search import Hit

# Verbs that introduce a statement in document text (强调, 指出...).
SPEECH = re.compile("(" + "|".join(STATEMENT_VERBS) + ")[：:，,]?")
_QUOTED = re.compile(r"《([^《》]{1,30})》|“([^“”]{1,30})”|「([^「」]{1,30})」|『([^『』]{1,30})』")
CONTENT_CHAR = re.compile(r"[\w\u3400-\u9fff]")

# The kind of span that answers each question type directly.
KIND_OF_TYPE = {AnswerType.PERSON: "person", AnswerType.TIME: "time", AnswerType.DURATION: "duration",
                AnswerType.NUMBER: "number", AnswerType.PLACE: "place", AnswerType.ORGANISATION: "organisation",
                AnswerType.ROLE: "role"}

# Kinds that may stand for one another (a place tagged as an organisation, a name as a place).
NEAR_KINDS = {"place": {"organisation", "quote"}, "organisation": {"place", "quote"}, "person": {"quote"},
              "role": {"slot"}}


def form(text: str) -> str:
    """The simplified lower-case form that positions refer to."""
    return to_simplified(text).lower()


@dataclass
class Sentence:
    original: str  # as in the passage
    form: str  # simplified, lower case: positions of spans refer to it
    hit: Hit
    position: int  # in its passage
    count: int  # sentences in its passage
    score: float = 0.0  # the learned (or rule) score
    features: dict = field(default_factory=dict)
    _cased: str | None = None

    @property
    def cased(self) -> str:
        """The simplified sentence with its case: Latin names ("Fay Fuller") need it."""
        if self._cased is None:
            self._cased = to_simplified(self.original)
        return self._cased

    def original_span(self, start: int, end: int) -> str:
        """The original-script text of ``form[start:end]`` (OpenCC t2s keeps lengths for nearly
        all characters; otherwise the simplified text is shown)."""
        if len(self.original) == len(self.form):
            return self.original[start:end]
        return self.form[start:end]


@dataclass
class Candidate:
    """A candidate answer: ``form[start:end]`` of its sentence, shown as ``form[lo:hi]``."""

    sentence: Sentence
    start: int
    end: int
    lo: int
    hi: int
    kind: str
    score: float = 0.0
    features: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.sentence.form[self.start:self.end]

    @property
    def shown(self) -> str:
        return self.sentence.form[self.lo:self.hi]


@dataclass
class Question:
    """What the features need of a question, computed once."""

    analysis: QuestionAnalysis
    terms: list[Term]
    predicate: list[Term]
    asked: list[Term]  # the verbs of the clause that holds the question phrase (all of them without a context clause)
    asked_words: tuple[str, ...]  # the words of that clause the scene before it does not repeat (simplified)
    asked_own: bool  # whether ``asked`` are verbs of that clause (not, for want of any, the scene's)
    bigrams: frozenset[str]
    chars: frozenset[str]
    body: str  # the question without its question phrase and punctuation (simplified)
    focus: str  # the person or thing asked about, simplified ("" for Latin names)
    topic: str = ""  # the noun phrase the question opens with, simplified ("" for English questions)
    noun_pairs: tuple[str, ...] = ()  # the character pairs that spell its nouns and names (``question.noun_pairs``)

    @property
    def names(self) -> tuple[frozenset[str], ...]:
        """The names the question is about (people, places, organisations, titles in 《》), each
        as the simplified forms that would write it: for an English question, the person its
        pinyin spells and the dictionary's renderings of the proper nouns it uses ("France" -> 法国)."""
        if self.analysis.cross_lingual:
            found = [frozenset({self.focus})] if self.focus else []
            found += [frozenset(w for w in p.chinese if len(w) > 1) or p.chinese
                      for p in phrases(self.analysis.text, ENGLISH_STOPWORDS) if p.proper]
            return tuple(found)
        return tuple(frozenset({form(n)}) for n in name_phrases(self.analysis.normalised))

    def names_in(self, text: str) -> float:
        """Share of the question's names that ``text`` (simplified) holds; -1 when it names none."""
        names = self.names
        return sum(1 for n in names if any(w in text for w in n)) / len(names) if names else -1.0

    @property
    def said(self) -> str:
        """What the question itself says (simplified, lower case): an answer is something else."""
        return "" if self.analysis.cross_lingual else self.analysis.normalised

    @property
    def named(self) -> set[str]:
        """The people the question names (and the person it is about): they are not its answer."""
        found = {p.text.lower() for p in extract.people(to_simplified(self.analysis.text))} if self.said else set()
        return found | {self.focus} if self.focus else found

    @property
    def wordless(self) -> bool:
        """Whether the features that read the question's Chinese wording are missing."""
        return self.analysis.cross_lingual

    @classmethod
    def of(cls, a: QuestionAnalysis, bm25: BM25) -> Question:
        body = "" if a.cross_lingual else re.sub(r"[^\w\u3400-\u9fff]", "", f"{a.before}{a.after}")
        focus = form(a.focus) if a.focus and not a.cross_lingual else ""
        predicate = predicate_terms(a, bm25)
        own = _verbs_in_own_clause(a, predicate)
        topic = "" if a.cross_lingual else form(topic_phrase(a.normalised))
        return cls(a, weighted_terms(a, bm25), predicate, own or predicate, tuple(form(w) for w in _asked_words(a)),
                   bool(own), _bigrams(body), frozenset(c for c in body if CONTENT_CHAR.match(c)), body, focus,
                   topic, () if a.cross_lingual else noun_pairs(form(a.normalised)))


# Where a context clause ends: clause punctuation, or 时 before the question's own clause
# ("张华到江城调研[时]有谁陪同？", "张华到江城调研[，]谁陪同？").
_CONTEXT_END = re.compile(r"[，,；;：:]|(?<=[\u4e00-\u9fff]{2})时(?=[有是要都还又]|$)")


def _own_clause(a: QuestionAnalysis) -> tuple[str, str]:
    """The question's own clause (around its question phrase) and the scene it sets before it
    ("张华到江城调研时，谁陪同？": "谁陪同", "张华到江城调研时，")."""
    starts = [m.end() for m in _CONTEXT_END.finditer(a.before)]
    end = _CONTEXT_END.search(a.after)
    cut = starts[-1] if starts else 0
    return a.before[cut:] + a.after[: end.start() if end else len(a.after)], a.before[:cut]


def _verbs_in_own_clause(a: QuestionAnalysis, predicate: list[Term]) -> list[Term]:
    """The question's verbs in the clause that holds its question phrase: in "张华到江城调研，谁
    陪同？" the answer is who accompanied (陪同), and the opening that says 张华到江城调研 is not.
    (``Question.asked`` falls back to all of them when that clause has none.)"""
    if a.cross_lingual or not predicate:
        return predicate
    clause, _ = _own_clause(a)
    return [t for t in predicate if any(w in clause for w in t.chinese)]


def _asked_words(a: QuestionAnalysis) -> tuple[str, ...]:
    """The words of the question's own clause that the scene it sets does not repeat, when it
    sets one ("马英九访视大立光电时，是谁带领他参观生产线": 带领, 参观, 生产线); () otherwise."""
    if a.cross_lingual:
        return ()
    clause, scene = _own_clause(a)
    if not scene:
        return ()
    return tuple(w for w in a.content if len(w) > 1 and form(w) in form(clause) and form(w) not in form(scene))


def _bigrams(text: str) -> frozenset[str]:
    return frozenset(text[i:i + 2] for i in range(len(text) - 1))


def sentences_of(hits: list[Hit]) -> list[Sentence]:
    out = []
    for hit in hits:
        parts = split_sentences(hit.passage.text)
        out += [Sentence(s, form(s), hit, i, len(parts)) for i, s in enumerate(parts)]
    return out


def _typed_spans(s: Sentence) -> list[tuple[int, int, str]]:
    out = []
    for t, fn in extract.EXTRACTORS.items():
        out += [(sp.start, sp.end, KIND_OF_TYPE[t]) for sp in fn(s.cased)]
    for p in extract.people(s.cased):
        for role in extract.roles_of(p.text, s.form):
            if role.end == p.start:
                out.append((role.start, role.end, "role"))
    out += [(m.start(g), m.end(g), "quote") for m in _QUOTED.finditer(s.form) for g in range(1, 5) if m.group(g)]
    return out


def candidates_of(q: Question, s: Sentence) -> list[Candidate]:
    """The candidate answers in one sentence, each with the phrase that would be shown."""
    a = q.analysis
    found: dict[tuple[int, int, str], Candidate] = {}

    def add(start: int, end: int, kind: str, lo: int | None = None, hi: int | None = None) -> None:
        if end <= start or (start, end, kind) in found:
            return
        if lo is None:
            lo, hi = slots.answer_phrase(s.form, start, end, shown_limit(end - start))
        found[(start, end, kind)] = Candidate(s, start, end, lo, hi, kind)

    typed = _typed_spans(s)
    for start, end, kind in typed:
        if kind == "role":  # shown with the name it belongs to ("国务院副总理韩正")
            name_end = next((p.end for p in extract.people(s.cased) if p.start == end), end)
            add(start, end, kind, start, name_end)
            continue
        lo, hi = slots.answer_phrase(s.form, start, end, shown_limit(end - start))
        others = [(a, b) for a, b, k in typed if k == kind == "person" and (a, b) != (start, end) and lo <= a and b <= hi]
        if others:  # a person's phrase not grown over another person ("陶久娣，…党委书记倪娟"): their own clause
            lo = max((m.end() for m in CLAUSE_END.finditer(s.form, 0, start)), default=0)
            m = CLAUSE_END.search(s.form, end)
            hi = m.start() if m else len(s.form)
            if any(lo <= a and b <= hi for a, b in others):
                lo, hi = start, end
        add(start, end, kind, lo, hi)
    if q.focus and not q.focus.isascii():  # the role written before the person asked about
        for role in extract.roles_of(q.focus, s.form):
            add(role.start, role.end, "role", role.start, role.end + len(q.focus))
    sl = None if a.cross_lingual else slots.slot(a, s.form)
    if sl:
        add(sl.start, sl.start + len(sl.text), "slot")
    starts = [0] + [m.end() for m in CLAUSE_END.finditer(s.form)]
    ends = starts[1:] + [len(s.form)]
    for n, lo in enumerate(starts):  # each clause, and each two in a row (answers that run on)
        for hi in ends[n:n + 2]:
            stripped = s.form[lo:hi].rstrip("，。；！？：,;!? ")
            if len(stripped) >= 2:
                add(lo, lo + len(stripped), "clause", lo, lo + len(stripped))
    add(0, len(s.form), "sentence", 0, len(s.form))
    return list(found.values())


def shown_limit(answer_chars: int) -> int:
    """How long the phrase shown around an answer may grow: short answers get a short context
    (the evaluation's "short answer" is at most 3x the answer plus 30 characters)."""
    return min(40, 30 + 2 * answer_chars)


_NUMERIC = {AnswerType.NUMBER: "number", AnswerType.DURATION: "duration"}


_SPANS = frozenset(KIND_OF_TYPE.values()) | {"quote"}


def _states_occupation(person: str, c: Candidate) -> bool:
    """Whether the phrase shown for ``c`` says what ``person`` is: a title or occupation after
    the name, with no other person named in between (in "王勇、肖捷，…负责人出席" the title is
    someone else's)."""
    text = c.sentence.form
    at = text.find(person)
    if at < 0 or not c.lo <= at < c.hi:
        return False
    after = at + len(person)
    m = extract.occupation_after(text, after, c.hi)
    if m is None:
        return False
    clause = CLAUSE_END.search(text, m)
    clause_end = clause.start() if clause else len(text)
    others = [p.start for p in extract.people(c.sentence.cased) if p.start >= after]
    # no one named between the person and the title, nor right after the title in its clause
    # ("王瑞连，省委常委、武汉市委书记王忠林": that title is 王忠林's)
    return not any(p < m or p < clause_end for p in others)


def eligible(q: Question, c: Candidate) -> bool:
    """Whether a candidate can be the answer at all, by its form: a span the question already
    says is not its answer; "how many / how long" is answered by a number or duration (in the
    unit asked for), "which year / day" by a date of that unit, and "what post does X hold" by a
    role written with X's name (or the question's own wording around the gap). An English
    question says its names in English: "Guangdong" in it rules out 广东."""
    a = q.analysis
    if c.kind in _SPANS and (c.text in q.said if q.said else any(c.text in n for n in q.names)):
        return False
    if c.kind == "person" and c.text in q.named:  # the person asked about (also as an English question spells them)
        return False
    unit_ok = c.features.get("unit_match", -1.0) != 0
    # a date, number or duration is the date or number of what the question asks about: its
    # sentence mentions the question's predicate ("建于" in "建于哪一年"), unless the question's own
    # wording stands around it (the slot)
    about = c.kind == "slot" or not q.predicate or c.sentence.features.get("predicate", 1.0) > 0
    if a.type in _NUMERIC:
        return c.kind == _NUMERIC[a.type] and unit_ok and about
    if a.type is AnswerType.TIME and a.units:
        return c.kind == "time" and unit_ok and about
    if a.type is AnswerType.TIME and c.kind == "time" and not about:
        return False
    if a.type is AnswerType.ROLE and q.focus:
        if c.kind == "role":
            return c.sentence.form[c.end:c.hi] == q.focus
        # the slot or a clause that says what the person is ("X，巴西足球运动员", "X以普通党员身份"),
        # not one that only names them ("X参加调研")
        if c.kind == "slot" and c.features.get("slot_both") and q.focus in c.sentence.form:
            return True  # the question's own wording on both sides, in a sentence about them ("以[普通党员]身份到")
        return c.kind in ("slot", "clause", "sentence") and _states_occupation(q.focus, c)
    return True


def _titled_as_asked(q: Question, c: Candidate) -> bool:
    """Whether the role the text writes before person ``c`` ends with the title the question
    puts right after its question phrase ("还有哪位[国务院副总理]一同前往" - "国务院副总理韩正")."""
    after = form(q.analysis.after)
    if q.analysis.cross_lingual or len(after) < 2:
        return False
    return any(role.text.endswith(after[:k]) for role in extract.roles_of(c.text, c.sentence.form)
               for k in range(len(after), 1, -1))


# Kinds of place a question may ask for ("which cities", "哪些城市"), as the dictionary's senses of
# place names call them.
_PLACE_KINDS = frozenset("city county province town township village district prefecture".split())


def of_kind_asked(a: QuestionAnalysis, text: str) -> bool:
    """Whether ``text`` (simplified) is a place of the kind the question asks for."""
    kind, _ = _place_kind(a) if a.type is AnswerType.PLACE else ("", False)
    return bool(kind) and is_a(text, kind)


def _place_kind(a: QuestionAnalysis) -> tuple[str, bool]:
    """The kind of place asked for ("哪些城市", "which cities": city) and whether several are;
    ("", False) when the question names none."""
    if a.cross_lingual:
        noun = which_noun(a.normalised)
        kind = lemma(noun) if noun else ""
        return (kind, noun != kind) if kind in _PLACE_KINDS else ("", False)
    kind = first_sense(a.noun) if a.noun else ""
    return (kind, a.plural) if kind in _PLACE_KINDS else ("", False)


def answers_in_order(q: Question, cands: list[Candidate]) -> list[Candidate]:
    """The eligible candidates, scored, best first; for "what post does X hold", the role the
    text writes right before X's name first when there is one ("组织部部长王瑞连"), after the slot
    when the question's wording stands on both its sides."""
    ok = sorted((c for c in cands if eligible(q, c)), key=lambda c: -c.score)
    if q.analysis.cross_lingual:
        # An English question reaches the text through dictionary senses, which match in any
        # document ("concerns" -> 有关); its names do not: documents that name none of what it names
        # come last ("…during Ma Ying-jeou's visit": not a report on another visit)
        ok = [c for c in ok if c.sentence.features.get("names_in_document") != 0] + \
             [c for c in ok if c.sentence.features.get("names_in_document") == 0]
    if q.analysis.type is AnswerType.ROLE:  # the question's own wording on both sides first ("以[…]身份到")
        first = [c for c in ok if c.kind == "slot" and c.features.get("slot_both")]
        first += [c for c in ok if c.kind == "role"]
        return first + [c for c in ok if c not in first]
    if q.analysis.type is AnswerType.PLACE and q.analysis.units:  # "哪个村": a name ending in 村 first
        first = [c for c in ok if c.kind in ("place", "organisation") and c.features.get("unit_match") == 1]
        return first + [c for c in ok if c not in first]
    kind, plural = _place_kind(q.analysis) if q.analysis.type is AnswerType.PLACE else ("", False)
    if kind:  # "which cities": a place the dictionary calls a city first; for several, one listed with others
        first = [c for c in ok if c.kind == "place" and is_a(c.text, kind)]
        if plural:
            first.sort(key=lambda c: -sum(1 for o in first if o.sentence is c.sentence and o.text != c.text
                                             and c.lo <= o.start < c.hi))
        return first + [c for c in ok if c not in first]
    if q.analysis.type is AnswerType.PERSON:  # "哪位副总理…": a person the text gives that title first
        titled = [c for c in ok if c.kind == "person" and _titled_as_asked(q, c)]
        if titled:
            return titled + [c for c in ok if c not in titled]
    if q.analysis.type is AnswerType.PERSON and (q.asked or q.asked_words):
        # the sentence that says the deed asked about ("谁陪同"), not the scene the question sets
        first = [c for c in ok if c.sentence.features.get("asked_predicate", 0.0) > 0] if q.asked_own else []
        if not first and q.asked_words:  # the deed in other words: a person where the question's own words are
            first = [c for c in ok if c.kind == "person" and any(w in c.sentence.form for w in q.asked_words)]
        return first + [c for c in ok if c not in first]
    return ok
