"""Evaluation on a question set (format: shared/eval/README.md): retrieval R@k and MRR,
answer accuracy and short answers (checked against the direct answer only, not the passage
shown under it), no-answer accuracy and wrong refusals, per language and overall."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from corpus.clean import match_form
from embeddings.answering.followup import Conversation
from embeddings.engine import Engine


@dataclass(frozen=True)
class Question:
    id: str
    lang: str
    question: str
    evidence: tuple[str, ...]
    answer_contains: tuple[str, ...]
    no_answer: bool
    follow_up_of: str = ""  # asked right after that question, in the same conversation


def read_questions(path: Path) -> list[Question]:
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(Question(row["id"], row.get("lang", "?"), row["question"], tuple(row.get("evidence", [])),
                                tuple(row.get("answer_contains", [])), row.get("expect") == "no_answer",
                                row.get("follow_up_of", "")))
        except (ValueError, KeyError) as e:
            raise ValueError(f"{path}, line {n}: not a question record ({e})") from None
    return out


def short_limit(expected_chars: int) -> int:
    """The longest direct answer that counts as short: 3x the expected answer, plus 30."""
    return 3 * expected_chars + 30


def compact(text: str) -> str:
    """Text as answers are compared: matching form, no spaces."""
    return match_form(text).replace(" ", "")


def evaluate(engine: Engine, questions: list[Question], k: int = 10) -> dict:
    """Metrics per language and overall, plus one row per question."""
    rows = []
    by_id = {q.id: q for q in questions}
    for q in questions:
        conversation = None
        if q.follow_up_of and q.follow_up_of in by_id:  # the earlier question first, in a fresh conversation
            conversation = Conversation()
            engine.answer(by_id[q.follow_up_of].question, conversation=conversation)
        reading = engine.read(q.question, conversation)
        hits = engine.search(reading.question, k)
        rank = None
        if q.evidence:
            ev = [compact(e) for e in q.evidence]
            rank = next((i for i, h in enumerate(hits, 1) if any(e in compact(h.passage.text) for e in ev)), None)
        answer = engine.answer(q.question, conversation=conversation)
        direct = compact(answer.direct)
        ok = all(compact(a) in direct for a in q.answer_contains) if q.answer_contains else None
        expected = sum(len(compact(a)) for a in q.answer_contains)
        rows.append({
            "id": q.id, "lang": q.lang, "rank": rank, "answerable": bool(q.evidence) and not q.no_answer,
            "answer_ok": ok, "short": bool(ok) and len(direct) <= short_limit(expected) if ok is not None else None,
            "no_answer": q.no_answer, "refused": not answer.answered,
            "reading": answer.reading, "type": answer.type.value if answer.type else None, "kind": answer.kind.value, "direct": answer.direct, "reason": answer.reason,
            "sentence": answer.points[0].sentence if answer.points else "",
            "anchored": bool(answer.points and answer.points[0].anchored),
            "coverage": None if answer.coverage is None else round(answer.coverage, 3),
            "confidence": None if answer.confidence is None else round(answer.confidence, 3),
            "top_score": round(hits[0].score, 4) if hits else None,
        })
    groups = defaultdict(list)
    for r in rows:
        groups[r["lang"]].append(r)
        groups["overall"].append(r)
    metrics = {}
    for name, rs in groups.items():
        ans = [r for r in rs if r["answerable"]]
        m = {"questions": len(rs), "answerable": len(ans)}
        if ans:
            for kk in (1, 3, 5):
                m[f"R@{kk}"] = round(sum(1 for r in ans if r["rank"] and r["rank"] <= kk) / len(ans), 4)
            m["MRR"] = round(sum(1 / r["rank"] for r in ans if r["rank"]) / len(ans), 4)
        checked = [r for r in rs if r["answer_ok"] is not None]
        if checked:
            m["answer_accuracy"] = round(sum(r["answer_ok"] for r in checked) / len(checked), 4)
            m["short_answers"] = round(sum(r["short"] for r in checked) / len(checked), 4)
        unanswerable = [r for r in rs if r["no_answer"]]
        if unanswerable:
            m["no_answer_accuracy"] = round(sum(r["refused"] for r in unanswerable) / len(unanswerable), 4)
        m["wrong_refusals"] = sum(1 for r in ans if r["refused"])
        metrics[name] = m
    return {"metrics": metrics, "questions": rows}


def format_report(result: dict) -> str:
    cols = ["questions", "R@1", "R@3", "R@5", "MRR", "answer_accuracy", "short_answers", "no_answer_accuracy",
            "wrong_refusals"]
    lines = ["group      " + " ".join(f"{c:>9}" for c in ["n", "R@1", "R@3", "R@5", "MRR", "ans_acc", "short",
                                                         "noans_acc", "wrong_ref"])]
    order = sorted(g for g in result["metrics"] if g != "overall") + ["overall"]
    for g in order:
        m = result["metrics"][g]
        cells = []
        for c in cols:
            v = m.get(c)
            cells.append(f"{'-':>9}" if v is None else f"{v:>9}" if isinstance(v, int) else f"{v:>9.3f}")
        lines.append(f"{g:10} " + " ".join(cells))
    misses = [r["id"] for r in result["questions"] if r["answerable"] and (r["rank"] or 99) > 3]
    if misses:
        lines.append("not in top 3: " + ", ".join(misses))
    return "\n".join(lines)
