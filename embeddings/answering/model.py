"""What an answer is: the direct answer's pieces, the passages behind them, and why it was
declined when it was."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from corpus.model import Passage
from embeddings.answering.question import AnswerType, QuestionAnalysis
from embeddings.search import Hit


class AnswerKind(Enum):
    """How the direct answer is shaped (the front ends label it accordingly)."""

    PEOPLE = "people"  # people, each with their role
    POINTS = "points"  # what someone emphasised, one point per statement
    FACT = "fact"  # a short span: a role, date, number, place, name...
    SENTENCE = "sentence"  # the sentence or clause that answers
    NONE = "none"  # the documents do not answer it


@dataclass(frozen=True)
class Point:
    """One piece of the direct answer, verbatim (original script) from ``passage``."""

    text: str
    passage: Passage
    score: float
    sentence: str = ""  # the whole sentence it was taken from (original script)
    span: str = ""  # within ``text``, the answer itself (a date, a name), for highlighting
    anchored: bool = False  # found between the question's own words (its slot, or the role asked about)


@dataclass(frozen=True)
class Evidence:
    """A supporting passage with its sentences; ``key`` marks those that carry the answer."""

    hit: Hit
    sentences: tuple[str, ...]
    key: frozenset[int]


@dataclass(frozen=True)
class Fluent:
    """A language model's answer as far as it holds against the passages (``answering.fluent``)."""

    text: str  # the sentences kept, each with its [n] citations
    cited: tuple[Passage, ...]  # the passages the kept sentences cite, in order of first citation
    numbers: tuple[int, ...]  # their numbers in the text ([1] is the first passage given to the model)
    done: bool
    problem: str = ""  # why it is not to be shown (endpoint failure, too little held); "" when it is
    dropped: tuple[str, ...] = ()  # sentences left out, and why
    failed: bool = False  # the endpoint failed (down, 429, timeout, not a chat completion)

    @property
    def shown(self) -> bool:
        return self.done and not self.problem and bool(self.text)


@dataclass(frozen=True)
class Answer:
    question: str
    script: str  # of the question: zh-Hans, zh-Hant, en
    kind: AnswerKind
    points: tuple[Point, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    hits: tuple[Hit, ...] = ()
    suggestion: Hit | None = None  # the closest passage, when declined
    analysis: QuestionAnalysis | None = None
    reason: str = ""  # why it was declined: for logs, evaluation and tests
    reading: str = ""  # how a follow-up was understood ("他们 = 王瑞连、王忠林"), "" for a question on its own
    coverage: float | None = None  # share of the question's words found in the answer's passage
    confidence: float | None = None  # the learned gate's probability that the passages answer it
    # With a language model configured: writes the fluent answer, snapshots as checked sentences come
    fluent: Callable[[], Iterator[Fluent]] | None = field(default=None, compare=False, repr=False)

    @property
    def answered(self) -> bool:
        return self.kind is not AnswerKind.NONE

    @property
    def direct(self) -> str:
        """The direct answer as one line of text (the points joined)."""
        return "；".join(p.text for p in self.points)

    @property
    def type(self) -> AnswerType | None:
        return self.analysis.type if self.analysis else None
