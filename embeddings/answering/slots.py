"""Where the answer stands in a sentence: the slot (the text standing where the question phrase
stands in the question, between the words the question puts around it), and the phrase shown
for an answer (its clause, grown by whole neighbouring clauses within a limit)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from embeddings.answering.clauses import CLAUSE_END
from embeddings.answering.question import QuestionAnalysis
from embeddings.lexical import segment


_GLUE = frozenset("的了是在有")


def _anchor(question_part: str, sentence: str, from_end: bool, min_chars: int = 2,
            within: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """Where the words next to the question phrase occur in ``sentence``: the end of the
    longest run of the last words of ``before`` (``from_end``), or the start of the longest
    run of the first words of ``after``; particles (的, 了) are skipped. Only occurrences
    inside ``within`` count. Returns (position, length of the run), or None when no run of
    ``min_chars`` characters occurs."""
    words = [w for w in segment(question_part) if w not in _GLUE]
    lo, hi = within or (0, len(sentence))
    for n in range(min(len(words), 4), 0, -1):
        run = "".join(words[-n:] if from_end else words[:n])
        if len(run) < min_chars:
            continue
        i = sentence.rfind(run, lo, hi) if from_end else sentence.find(run, lo, hi)
        if i >= 0:
            return (i + len(run) if from_end else i), len(run)
    return None


_EDGE = re.compile(r"^(?:是|为|由|在|于|了|的|有|被|和|与|及|[，、：》」』”’）)]|\s)+|(?:的|了|是|所|等|[，、《「『“‘（(]|\s)+$")


@dataclass(frozen=True)
class Slot:
    """The text standing where the question phrase stands, and how much of the question's
    wording around it the sentence repeats (``anchored`` characters)."""

    text: str
    start: int
    anchored: int
    both_sides: bool


def slot(analysis: QuestionAnalysis, sentence: str, max_chars: int = 40) -> Slot | None:
    """The text of ``sentence`` that stands where the question phrase stands in the question:
    between the words before it and the words after it, or from the words before it to the end
    of the clause (and back from the words after it). A gap that crosses clause punctuation
    keeps the clause next to the words after it (where Chinese puts the answer: "是[斯洛文尼亚]
    的足球运动员"), else the one after the words before it. None when the sentence does not
    hold the question's words around a gap."""
    before, after = analysis.before, analysis.after
    left = _anchor(before, sentence, True) if before else None
    lo = left[0] if left else 0
    right = _anchor(after, sentence, False, within=(lo, len(sentence))) if after else None
    if right is None and analysis.noun:  # the class asked for may stand after the answer ("以[普通党员]身份")
        right = _anchor(analysis.noun + after, sentence, False, within=(lo, len(sentence)))
        after = analysis.noun + after if right else after
    # A one-character neighbour (以, 到) counts when the other side pins the place down.
    if left is None and right is not None and before:
        left = _anchor(before, sentence, True, 1, within=(max(0, right[0] - 16), right[0]))
    if right is None and left is not None and after:
        right = _anchor(after, sentence, False, 1, within=(left[0], min(len(sentence), left[0] + 16)))
    if left is not None and right is not None and right[0] > left[0]:
        start, end = left[0], right[0]
        inner = list(CLAUSE_END.finditer(sentence, start, end))
        if inner:
            start = inner[-1].end()
    elif left is not None:
        start = left[0]
        m = CLAUSE_END.search(sentence, start + 1)
        end = m.start() if m else len(sentence)
    elif right is not None:
        end = right[0]
        start = max((m.end() for m in CLAUSE_END.finditer(sentence, 0, end)), default=0)
    else:
        return None
    raw = sentence[start:end]
    text = _EDGE.sub("", raw)
    noun = analysis.noun
    if noun and text.endswith(noun) and len(text) > len(noun) + 1:
        text = text[: -len(noun)]  # "以[普通党员]身份": the class asked about follows the answer
    if len(re.findall(r"[\w\u4e00-\u9fff]", text)) < 2 or len(text) > max_chars:
        return None  # nothing but brackets and punctuation ("王金璐（）"), or a whole passage
    anchored = (left[1] if left else 0) + (right[1] if right else 0)
    return Slot(text, start + raw.find(text), anchored, left is not None and right is not None)


def answer_phrase(sentence: str, start: int, end: int, limit: int = 40) -> tuple[int, int]:
    """The phrase to show for an answer found at ``[start, end)``: its clause, grown by whole
    neighbouring clauses (after, then before) while it stays within ``limit`` characters; a
    clause longer than that is cut to the answer and the words next to it. The context keeps
    what a tagger cuts off ("近" in "近5.6万平方米", "新会" after "广东") and lets the reader
    check the answer; front ends show the answer itself in bold."""
    left = max((m.end() for m in CLAUSE_END.finditer(sentence, 0, start)), default=0)
    m = CLAUSE_END.search(sentence, end)
    right = m.start() if m else len(sentence)
    if right - left <= limit:
        while True:
            nxt = CLAUSE_END.search(sentence, right + 1) if right < len(sentence) else None
            new_right = nxt.start() if nxt else len(sentence)
            grown = False
            if right < len(sentence) and new_right - left <= limit:
                right, grown = new_right, True
            starts = [b.end() for b in CLAUSE_END.finditer(sentence, 0, max(0, left - 1))]
            new_left = starts[-1] if starts else 0
            if new_left < left and right - new_left <= limit:
                left, grown = new_left, True
            if not grown:
                return left, _with_full_stop(sentence, right)
    room = max(0, limit - (end - start)) // 2
    lo, hi = max(left, start - room), min(right, end + room)
    # snap to word boundaries
    bounds = {0}
    pos = 0
    for word in segment(sentence[left:right]):
        i = sentence.find(word, left + pos)
        if i >= 0:
            bounds.update((i, i + len(word)))
            pos = i + len(word) - left
    lo = min((b for b in bounds if lo <= b <= start), default=start)
    hi = max((b for b in bounds if end <= b <= hi), default=end)
    return lo, hi


def _with_full_stop(sentence: str, end: int) -> int:
    """``end``, moved past the sentence's final punctuation when only that follows."""
    rest = sentence[end:]
    return len(sentence) if rest and re.fullmatch(r"[。！？!?…」』”’）)]+", rest) else end
