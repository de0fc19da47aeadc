"""How an answer reads, shared by every front end: field labels in the question's language
and script, document text in the question's script, and the plain-text form used by the
terminal and ``qabot ask``. (The Telegram HTML form is in ``bot.formatting``.)"""

from __future__ import annotations

from corpus.clean import to_simplified, to_traditional
from embeddings.answering import Answer, AnswerKind, AnswerType, Point
from embeddings.answering.model import Fluent
from embeddings.dictionary import romanised

LABELS = {
    "en": {"fluent": "In short", "writing": "writing…", "answer": "Answer", "people": "People", "points": "Key points", "source": "Source",
           "evidence": "Evidence", "none": "The documents do not answer this question.",
           "closest": "Closest passage (may not answer it)"},
    "zh-Hans": {"fluent": "简答", "writing": "撰写中…", "answer": "答案", "people": "相关人物", "points": "要点", "source": "出处",
                "evidence": "依据", "none": "文档中没有找到这个问题的答案。",
                "closest": "最接近的段落（未必回答了问题）"},
}


def labels_for(script: str) -> dict[str, str]:
    """Field labels in the question's language and script."""
    if script == "zh-Hant":
        return {k: to_traditional(v) for k, v in LABELS["zh-Hans"].items()}
    return LABELS["zh-Hans"] if script == "zh-Hans" else LABELS["en"]


def in_script(text: str, script: str) -> str:
    """Document text shown in the question's script (English questions see the original)."""
    if script == "zh-Hans":
        return to_simplified(text)
    if script == "zh-Hant":
        return to_traditional(text)
    return text


def heading(answer: Answer) -> str:
    """The label over the direct answer: people, key points, or the answer."""
    lab = labels_for(answer.script)
    return {AnswerKind.PEOPLE: lab["people"], AnswerKind.POINTS: lab["points"]}.get(answer.kind, lab["answer"])


def spelled_name(answer: Answer, point: Point) -> str:
    """For an English question whose answer names people, the pinyin of the name a point
    gives, so an English reader can tell who it is; "" otherwise."""
    if answer.script in ("zh-Hans", "zh-Hant") or not point.span:
        return ""
    if answer.kind is AnswerKind.PEOPLE or (answer.kind is AnswerKind.FACT and answer.type is AnswerType.PERSON):
        return romanised(point.span)
    return ""


def render_plain(answer: Answer, max_evidence: int = 1) -> str:
    """The answer as plain text: the direct answer first, each point cited, then the
    supporting passage(s) with the answering sentences in 【】."""
    lab, script = labels_for(answer.script), answer.script
    lines = []
    if not answer.answered:
        if answer.reading:
            lines.append(f"({answer.reading})")
        lines.append(lab["none"])
        if answer.suggestion:
            p = answer.suggestion.passage
            lines += ["", f"{lab['closest']}:", in_script(p.text, script), f"— {in_script(p.citation, script)}"]
        return "\n".join(lines)
    if answer.reading:
        lines.append(f"({answer.reading})")
    lines.append(f"{heading(answer)}:")
    numbered = len(answer.points) > 1
    for n, point in enumerate(answer.points, 1):
        prefix = f"{n}. " if numbered else ""
        spelled = spelled_name(answer, point)
        text = point.text.replace(point.span, f"{point.span} ({spelled})", 1) if spelled else point.text
        lines.append(f"{prefix}{in_script(text, script)} [{in_script(point.passage.citation, script)}]")
    for ev in answer.evidence[:max_evidence]:
        lines += ["", f"{lab['evidence']}:"]
        marked = [f"【{s}】" if j in ev.key else s for j, s in enumerate(ev.sentences)]
        lines.append(in_script("".join(marked), script))
        lines.append(f"— {in_script(ev.hit.passage.citation, script)}")
    return "\n".join(lines)


def render_fluent_plain(answer: Answer, fluent: Fluent) -> str:
    """A language model's checked answer as plain text, with the passages it cites."""
    lab, script = labels_for(answer.script), answer.script
    lines = [f"{lab['fluent']}:", in_script(fluent.text, script)]
    lines += [f"[{n}] {in_script(p.citation, script)}" for n, p in zip(fluent.numbers, fluent.cited)]
    return "\n".join(lines)
