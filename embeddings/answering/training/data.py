"""Training data for the learned answer step, from public reading-comprehension sets in SQuAD
format (``../shared/train/``: DRCD, CMRC 2018 trial, SQuAD 2.0 dev in Chinese).

Each set becomes a corpus the project indexes like any user's documents, so that training sees
the same passages, search hits and candidates as answering does: one file per article, half of
them Markdown (``# title`` then its paragraphs: the title is a heading) and half plain text (the
title on the first line, as news reports come: the headline is a passage of its own). Questions
keep their article, so an "article left out" case can be made by dropping that article's hits.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

# The sets ``make train`` reads, by file name in the training folder.
SETS = ("drcd_test.json", "cmrc2018_trial.json", "squad2_zh_dev.json")
# Those whose questions people wrote in Chinese (SQuAD 2.0's are machine translations of English ones).
WRITTEN_IN_CHINESE = ("drcd_test", "cmrc2018_trial")


@dataclass(frozen=True)
class TrainQuestion:
    id: str
    set: str  # file stem of the set it comes from
    question: str
    answers: tuple[str, ...]  # gold answer texts (any one of them answers); empty when impossible
    doc_id: str  # the corpus file of its article
    impossible: bool  # the article does not answer it (SQuAD 2.0)


@dataclass(frozen=True)
class TrainSet:
    name: str
    corpus_dir: Path
    questions: tuple[TrainQuestion, ...]
    sha256: str  # of the source file
    # per article: its title and its opening clause, to put a context in front of a question
    contexts: dict[str, tuple[str, str]]


_CLAUSE = re.compile(r"[，。；：！？,;:!?（(]")


def opening_clause(paragraph: str) -> str:
    """The first clause of a paragraph when it is a reasonable length for a context, else ""."""
    clause = _CLAUSE.split(paragraph, maxsplit=1)[0].strip()
    return clause if 4 <= len(clause) <= 30 else ""


def _clean(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def export(source: Path, out_dir: Path) -> TrainSet:
    """Write the articles of the SQuAD-format ``source`` as Markdown files under ``out_dir``
    (rewritten only when missing) and return its questions."""
    raw = source.read_bytes()
    data = json.loads(raw)
    name = source.stem
    corpus = out_dir / name
    corpus.mkdir(parents=True, exist_ok=True)
    questions = []
    contexts = {}
    for n, article in enumerate(data["data"]):
        doc_id = f"{n:04d}.md" if n % 2 == 0 else f"{n:04d}.txt"
        paragraphs = [p for p in article["paragraphs"] if _clean(p["context"])]
        title = _clean(article.get("title") or "") or _clean(paragraphs[0]["context"])[:20]
        contexts[doc_id] = (title, opening_clause(_clean(paragraphs[0]["context"])))
        path = corpus / doc_id
        if not path.exists():
            body = "\n\n".join(_clean(p["context"]) for p in paragraphs)
            head = f"# {title}" if doc_id.endswith(".md") else title
            path.write_text(f"{head}\n\n{body}\n", encoding="utf-8")
        for p in paragraphs:
            for qa in p["qas"]:
                answers = tuple(dict.fromkeys(_clean(a["text"]) for a in qa.get("answers", []) if _clean(a["text"])))
                impossible = bool(qa.get("is_impossible")) or not answers
                questions.append(TrainQuestion(f"{name}:{qa['id']}", name, _clean(qa["question"]),
                                               () if impossible else answers, doc_id, impossible))
    return TrainSet(name, corpus, tuple(questions), hashlib.sha256(raw).hexdigest(), contexts)
