"""A speaker's statements ("应勇强调了什么？"): the passages that report what the speaker said,
by name or by a title the text calls them by, one point each."""

from __future__ import annotations

import re

import numpy as np

from corpus.clean import match_form
from embeddings.answering import extract
from embeddings.answering.candidates import SPEECH, Sentence
from embeddings.answering.model import Point


def statements(speaker: str, sentences: list[Sentence], vectors: dict[int, np.ndarray], exclude: frozenset[str],
               statement_chars: int, max_points: int, mmr_lambda: float) -> list[Point]:
    """One point per passage that reports a statement of ``speaker`` ("" for anyone's): the
    speech verb in the passage or its section title, the speaker named before it; the statement
    from the verb on in whole sentences up to ``statement_chars``; at most ``max_points``,
    picked by maximal marginal relevance on the sentences' learned scores (``vectors``: by
    ``id`` of a sentence), shown in document order. Texts in ``exclude`` were shown already."""
    called = (speaker, *_titles_of(speaker, sentences)) if speaker else ()
    by_passage: dict[str, list[Sentence]] = {}
    for s in sorted(sentences, key=lambda s: (s.hit.rank, s.position)):
        by_passage.setdefault(s.hit.passage.id, []).append(s)
    said = []  # (text, passage, relevance, vector)
    for sents in by_passage.values():
        passage = sents[0].hit.passage
        section = match_form(passage.section or "")
        starts = [i for i, s in enumerate(sents) if SPEECH.search(s.form)]
        if speaker:  # only said the question's speaker made
            starts = [i for i in starts if said_by(called, sents, i)]
            headed = _calls(called, section) and bool(SPEECH.search(section))
        else:
            headed = bool(SPEECH.search(section))
        if not starts and not headed:
            continue
        first = starts[0] if starts else 0
        text, used = "", []
        for s in sents[first:]:
            if used and len(text) + len(s.original) > statement_chars:
                break
            text += s.original
            used.append(s)
        if text in exclude:
            continue
        relevance = max(s.score for s in used)
        vector = np.mean([vectors[id(s)] for s in used], axis=0)
        said.append((text, passage, relevance, vector / (np.linalg.norm(vector) or 1.0)))
    chosen: list[int] = []
    remaining = list(range(len(said)))
    lam = mmr_lambda
    while remaining and len(chosen) < max_points:
        def mmr(k: int) -> float:
            redundancy = max((float(said[k][3] @ said[j][3]) for j in chosen), default=0.0)
            return lam * said[k][2] - (1 - lam) * redundancy
        best = max(remaining, key=mmr)
        chosen.append(best)
        remaining.remove(best)
    picked = sorted(chosen, key=lambda k: (said[k][1].doc_id, said[k][1].paragraph))
    return [Point(said[k][0], said[k][1], said[k][2], said[k][0]) for k in picked]


# What may stand before a speech verb that has no subject of its own ("并指出，…", "他强调"):
# the sentence goes on with the previous one's subject.
_NO_SUBJECT = re.compile(r"[并並还還也又同时時他她其]*")


def said_by(called: tuple[str, ...], sents: list[Sentence], i: int) -> bool:
    """Whether sentence ``i`` (of one passage, in order) reports a statement of the speaker
    (``called``: their name, and titles the text calls them by): named before its speech verb,
    or named in the sentence before when this one has no subject."""
    s = sents[i]
    before = s.form[: SPEECH.search(s.form).start()]
    if _calls(called, before):
        return True
    previous = sents[i - 1] if i > 0 and sents[i - 1].position == s.position - 1 else None
    return previous is not None and bool(_NO_SUBJECT.fullmatch(before)) and _calls(called, previous.form)


def _calls(called: tuple[str, ...], text: str) -> bool:
    """Whether ``text`` names the speaker by name or title (a deputy's title is another's:
    "副总理" is not "总理")."""
    return any(re.search(rf"(?<!副){re.escape(c)}", text) for c in called)


def _titles_of(name: str, sentences: list[Sentence]) -> tuple[str, ...]:
    """Titles the text calls ``name`` by on their own ("赖清德总统…" then "总统表示，…"; "国务院总理
    李克强…" then "总理指出"): a title written right next to the name, and next to no other
    person's name in these sentences."""
    mine, others = set(), set()
    for s in sentences:
        for person in extract.people(s.cased):
            after = _TITLE_AFTER.match(s.form, person.end)
            before = _TITLE_BEFORE.search(s.form, 0, person.start)
            for title in (after and after.group(0), before and before.group(0)):
                if title:
                    (mine if person.text == name else others).add(title)
    return tuple(mine - others)


_TITLE_WORDS = "|".join(sorted(extract.TITLES, key=len, reverse=True))
_TITLE_AFTER = re.compile(rf"[副总]?(?:{_TITLE_WORDS})")  # "赖清德总统", "习近平总书记"
_TITLE_BEFORE = re.compile(rf"[副总]?(?:{_TITLE_WORDS})$")  # "国务院总理李克强", "副总理陈强"
