"""Follow-up questions in a conversation: what the last turns were about, and the rewriting of a
question that leans on them ("他们分别担任什么职务？", "What did she talk about?", "那东湖新城社区呢？",
"还有呢？") into one that stands alone. A question that stands on its own is never changed.

Pure data and rules: the engine applies them, the front ends keep one ``Conversation`` per chat.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from cachetools import LRUCache

from corpus.clean import match_form, script_of, to_simplified
from embeddings.answering.extract import find_people
from embeddings.answering.model import Answer, AnswerKind
from embeddings.answering.question import AnswerType, analyse, is_person_name
from embeddings.lexical import tag

# Pronouns: general grammar, not taken from any document. 其他/吉他 are not 他.
_ZH_PLURAL = re.compile(r"他们|她们|这些人|那些人|他俩|她俩|两人|二人")
_ZH_SINGLE = re.compile(r"(?<![其吉])[他她](?![们俩])|此人|这位|那位|该人")
_ZH_PLACE = re.compile(r"那里|那儿|这里|这儿|该地|当地")
_ZH_THEN = re.compile(r"当时|那时候|那时")
_EN_THEN = re.compile(r"\b(?:at that time|back then|then)\b", re.IGNORECASE)
_EN_PLURAL = re.compile(r"\b(they|them|their|theirs)\b", re.IGNORECASE)
_EN_SINGLE = re.compile(r"\b(he|him|his|she|her|hers)\b", re.IGNORECASE)
_EN_PLACE = re.compile(r"\bthere\b", re.IGNORECASE)
_ZH_MORE = re.compile(r"^(?:那)?还有(?:呢|吗|什么|别的|其他的?)?[？?]?$|^(?:那)?其他的?呢[？?]?$")
_EN_MORE = re.compile(r"^(?:and |so )?(?:what|anything|who|where) else\b|^(?:any )?more\??$|^others?\??$", re.IGNORECASE)
_ZH_ABOUT = re.compile(r"^(?:那|那么|那个)?(.{2,20}?)呢[？?]?$")
_EN_ABOUT = re.compile(r"^(?:and|what about|how about)\s+(?:the\s+)?(.+?)\??$", re.IGNORECASE)
_ZH_STILL = re.compile(r"^还")


@dataclass(frozen=True)
class Turn:
    """What one answered question was about."""

    question: str  # the standalone form that was answered
    type: AnswerType | None
    subject: str  # the person or thing asked about (simplified), "" when none
    people: tuple[str, ...]  # people the answer named (simplified), else the subject if a person
    places: tuple[str, ...]
    times: tuple[str, ...]  # the date the answer gave, for "当时" / "then"
    shown: tuple[str, ...]  # the points shown, so "what else" can skip them

    @classmethod
    def of(cls, standalone: str, answer: Answer) -> Turn:
        a = answer.analysis
        subject = match_form(a.focus) if a and a.focus and not a.cross_lingual else (a.focus if a else "")
        if not subject and a and not a.cross_lingual and _is_noun_phrase(a.before, False):
            subject = a.before  # "青和居社区在哪里": the words before the question phrase
        people: list[str] = []
        places: list[str] = []
        times: list[str] = []
        spans = [to_simplified(p.span) for p in answer.points if p.span]
        if answer.kind is AnswerKind.PEOPLE or (a and a.type is AnswerType.PERSON):
            people = [s for s in spans if s != subject]  # the names themselves
        elif a and a.type is AnswerType.ROLE:  # "东湖新城社区党委书记陶久娣": the name after the role
            people = [name for p in answer.points for _, name in find_people(to_simplified(p.text))]
        if a and a.type is AnswerType.PLACE:
            places = spans
        if a and a.type is AnswerType.TIME:
            times = spans
        if not people and subject and is_person_name(subject):
            people = [subject]
        return cls(standalone, a.type if a else None, subject, tuple(dict.fromkeys(people)), tuple(places),
                   tuple(times), tuple(p.text for p in answer.points))


@dataclass(frozen=True)
class Reading:
    """How a question is understood in its conversation."""

    question: str  # what is answered: the question itself, or its standalone rewriting
    note: str = ""  # shown to the user when rewritten: "他们 = 王瑞连、王忠林"
    people: tuple[str, ...] = ()  # the same question asked of each of these people
    exclude: tuple[str, ...] = ()  # points already shown ("what else")

    @property
    def rewritten(self) -> bool:
        return bool(self.note)


def _pinyin_name(name: str) -> str:
    """A Chinese name as English writes it: 王瑞连 -> Wang Ruilian."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(name)
    if not syllables:
        return name
    return " ".join([syllables[0].capitalize(), "".join(syllables[1:]).capitalize()]).strip()


def _join(names: tuple[str, ...], english: bool) -> str:
    if english:
        spelled = [_pinyin_name(n) for n in names]
        return spelled[0] if len(spelled) == 1 else ", ".join(spelled[:-1]) + " and " + spelled[-1]
    return "、".join(names)


def _is_noun_phrase(text: str, english: bool) -> bool:
    """"东湖新城社区" but not "他说了什么": no verb, no question word."""
    if english:
        return not re.search(r"\b(?:is|are|was|were|did|does|do|what|who|when|where|why|how)\b", text, re.I)
    return not any(flag.startswith(("v", "r")) for _, flag in tag(text))


def resolve(question: str, last: Turn | None) -> Reading:
    """The reading of ``question`` after ``last`` (None: the first question of a conversation)."""
    q = question.strip()
    if last is None or not q:
        return Reading(q)
    english = script_of(q) not in ("zh-Hans", "zh-Hant")
    simplified = to_simplified(q)

    # "还有呢？" / "what else?": the last question again, without what was shown.
    if (_EN_MORE if english else _ZH_MORE).search(simplified):
        return Reading(last.question, f"{q} = {last.question}", exclude=last.shown)

    # Pronouns standing for the people (or place) of the last turn.
    plural, single, place, then = ((_EN_PLURAL, _EN_SINGLE, _EN_PLACE, _EN_THEN) if english
                                   else (_ZH_PLURAL, _ZH_SINGLE, _ZH_PLACE, _ZH_THEN))
    rewritten, notes, people = simplified, [], ()
    for pattern, referents in ((plural, last.people), (single, last.people[:1]), (place, last.places[:1]),
                               (then, last.times[:1])):
        m = pattern.search(rewritten)
        if m and referents:
            names = _join(referents, english and pattern is not then)
            possessive = "'s" if english and m.group(0).lower() in ("his", "her", "their", "hers", "theirs") else ""
            rewritten = rewritten[: m.start()] + names + possessive + rewritten[m.end():]
            notes.append(f"{m.group(0)} = {_join(referents, False)}")
            if pattern is plural and len(referents) > 1:
                people = referents
    if notes:
        return Reading(rewritten, "; ".join(notes), people=people)

    # "那东湖新城社区呢？" / "what about Qinghe Ju?": the last question about something else.
    about = (_EN_ABOUT if english else _ZH_ABOUT).match(simplified)
    if about and last.subject and last.subject in last.question and _is_noun_phrase(about.group(1), english):
        other = about.group(1).strip()
        after = last.question[last.question.find(last.subject) + len(last.subject):]
        tail = next((other[i:] for i in range(len(other)) if after.startswith(other[i:])), "")
        rewritten = last.question.replace(last.subject, other[: len(other) - len(tail)], 1)
        return Reading(rewritten, f"{q} = {rewritten}")

    # "还强调了什么？": the last subject did something else.
    if not english and _ZH_STILL.match(simplified) and last.subject and not analyse(q).focus:
        rewritten = last.subject + simplified
        return Reading(rewritten, f"{q} = {rewritten}", exclude=last.shown)
    return Reading(q)


@dataclass
class Conversation:
    """The last turn of one chat (what a follow-up refers to), forgotten after ``ttl`` seconds
    of silence."""

    ttl: float = 15 * 60
    turn: Turn | None = None
    updated: float = field(default_factory=time.monotonic)

    @property
    def last(self) -> Turn | None:
        if self.turn is not None and time.monotonic() - self.updated > self.ttl:
            self.turn = None
        return self.turn

    def add(self, turn: Turn) -> None:
        self.turn = turn
        self.updated = time.monotonic()

    def clear(self) -> None:
        self.turn = None


class Conversations:
    """Conversations by key (chat, thread, user in groups), at most ``limit``, least recently
    used dropped first: state stays small however many people talk to the bot."""

    def __init__(self, ttl: float = 15 * 60, limit: int = 10_000):
        self.ttl, self.limit = ttl, limit
        self._items: LRUCache = LRUCache(limit)

    def get(self, key) -> Conversation:
        conv = self._items.get(key)
        if conv is None:
            conv = self._items[key] = Conversation(self.ttl)
        return conv

    def clear(self, key) -> None:
        self._items.pop(key, None)

    def __len__(self) -> int:
        return len(self._items)
