"""Example questions for a new user: made from the index's own passages, in Chinese and in
English, and kept only when the engine answers them.

A fact the documents state about a person gives the questions: a name followed by what they
said ("应勇强调…" -> "应勇强调了什么？" / "What did Ying Yong say?"), a role written before a
name ("党委书记陶久娣" -> "陶久娣担任什么职务？" / "What post does Tao Jiudi hold?"), or just the
name ("…是谁？" / "Who is …?"). Passages are read document by document in turn, so the
examples show more than the first document, and at most ``tries_per_language`` questions are
answered per language: a large index costs the same few answers as a small one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from corpus.clean import to_simplified
from corpus.model import Passage
from embeddings.answering.extract import people, roles_of
from embeddings.answering.question import STATEMENT_VERBS
from embeddings.dictionary import romanised

PASSAGES_PER_DOCUMENT = 40
MAX_PASSAGES = 400


@dataclass(frozen=True)
class Candidate:
    kind: str  # "said", "role", "who": one example of each kind first
    name: str
    zh: str
    en: str  # "" when the name has no English spelling


@dataclass(frozen=True)
class Examples:
    """Example questions per language; each list holds questions the engine answered."""

    zh: tuple[str, ...] = ()
    en: tuple[str, ...] = ()

    def for_language(self, lang: str) -> tuple[str, tuple[str, ...]]:
        """("en" or "zh", the questions) for a user's language ("en", "zh-Hans", "zh-Hant"):
        the other language's when this one has none."""
        order = [("en", self.en), ("zh", self.zh)]
        if lang != "en":
            order.reverse()
        return next(((group, qs) for group, qs in order if qs), order[0])

    def group(self, name: str) -> tuple[str, ...]:
        return self.en if name == "en" else self.zh if name == "zh" else ()


def _facts(text: str) -> Iterator[Candidate]:
    for span in people(text):
        name = span.text
        english = name if name.isascii() else romanised(name)
        said = _SAID.match(text, span.end)
        if said:
            verb = "说" if said.group(1) == "表示" else said.group(1)
            yield Candidate("said", name, f"{name}{verb}了什么？", f"What did {english} say?" if english else "")
        if roles_of(name, text):
            yield Candidate("role", name, f"{name}担任什么职务？", f"What post does {english} hold?" if english else "")
        yield Candidate("who", name, f"{name}是谁？", f"Who is {english}?" if english else "")


_SAID = re.compile(r"[^，。；：,;:“”]{0,8}?(" + "|".join(STATEMENT_VERBS[:5]) + ")[，：:]")


def _in_turn(passages: Sequence[Passage]) -> Iterator[Passage]:
    """The first passages of each document, one document after another in turn."""
    by_doc: dict[str, list[Passage]] = {}
    for p in itertools.islice(passages, MAX_PASSAGES):  # read on demand: a large index is not walked
        rows = by_doc.setdefault(p.doc_id, [])
        if len(rows) < PASSAGES_PER_DOCUMENT:
            rows.append(p)
    for row in itertools.zip_longest(*by_doc.values()):
        yield from (p for p in row if p is not None)


def candidates(passages: Sequence[Passage]) -> list[Candidate]:
    """Questions the passages suggest, most telling kinds first, each name once per kind."""
    seen: set[tuple[str, str]] = set()
    found: list[Candidate] = []
    for p in _in_turn(passages):
        for c in _facts(to_simplified(p.text)):
            if (c.kind, c.name) not in seen:
                seen.add((c.kind, c.name))
                found.append(c)
    order = {"said": 0, "role": 1, "who": 2}
    return sorted(found, key=lambda c: order[c.kind])  # stable: document order within a kind


def _chosen(questions: Iterable[tuple[str, str, str]], answers, n: int, tries: int) -> tuple[str, ...]:
    """Up to ``n`` of (question, kind, name) that ``answers`` answers: kinds taken in turn,
    each person once, after at most ``tries`` answers."""
    by_kind: dict[str, list[tuple[str, str]]] = {}
    for q, kind, name in questions:
        by_kind.setdefault(kind, []).append((q, name))
    chosen: list[str] = []
    names: set[str] = set()
    while len(chosen) < n and tries > 0 and any(by_kind.values()):
        for rows in by_kind.values():
            while rows and rows[0][1] in names:
                rows.pop(0)
            if not rows or len(chosen) >= n or tries <= 0:
                continue
            q, name = rows.pop(0)
            tries -= 1
            if answers(q):
                chosen.append(q)
                names.add(name)
    return tuple(chosen)


def make_examples(passages: Sequence[Passage], answers, n: int = 3, tries_per_language: int = 8) -> Examples:
    """Example questions in Chinese and English that ``answers(question) -> bool`` accepts."""
    found = candidates(passages)
    zh = _chosen(((c.zh, c.kind, c.name) for c in found), answers, n, tries_per_language)
    en = _chosen(((c.en, c.kind, c.name) for c in found if c.en), answers, n, tries_per_language)
    return Examples(zh, en)
