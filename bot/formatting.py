"""Pure formatting: an ``Answer`` (or a page of hits) to Telegram HTML messages under 4096
characters, with a plain-text twin for when Telegram rejects the markup."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.render import spelled_name, heading, in_script, labels_for
from embeddings.answering import Answer
from embeddings.answering.model import Fluent
from embeddings.search import Hit

MAX_MESSAGE = 4096
_TAG = re.compile(r"</?(?:b|i|u|s|code|pre|blockquote|a)(?:\s[^>]*)?>")


@dataclass(frozen=True)
class Chunk:
    html: str
    plain: str


def units(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji outside the BMP is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape(text: str) -> str:
    """Document or user text made safe inside Telegram HTML."""
    return html.escape(text, quote=False)


_e = escape


def to_plain(markup: str) -> str:
    """The text of a Telegram-HTML fragment without its tags."""
    return html.unescape(_TAG.sub("", markup))


def _citation(hit_passage, script: str) -> str:
    p = hit_passage
    where = in_script(p.citation, script)
    if p.section:
        where += f" · {in_script(p.section, script)}"
    if p.source_url.startswith(("http://", "https://")):
        return f'📄 <a href="{html.escape(p.source_url, quote=True)}">{_e(where)}</a>'
    return f"📄 {_e(where)}"


def _passage_block(text_sentences, key, script: str) -> str:
    parts = [f"<b>{_e(in_script(s, script))}</b>" if j in key else _e(in_script(s, script))
             for j, s in enumerate(text_sentences)]
    return "<blockquote>" + "".join(parts) + "</blockquote>"


def pack(blocks: list[str], limit: int = MAX_MESSAGE) -> list[Chunk]:
    """Join blocks with blank lines into messages of at most ``limit`` characters, splitting
    only between blocks; a block that alone is too long is sent as plain text in pieces."""
    chunks: list[str] = []
    current = ""
    for block in blocks:
        if units(block) > limit:
            if current:
                chunks.append(current)
                current = ""
            chunks.extend(_cut_escaped(to_plain(block), limit))
            continue
        candidate = f"{current}\n\n{block}" if current else block
        if units(candidate) > limit:
            chunks.append(current)
            current = block
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [Chunk(c, to_plain(c)) for c in chunks]


def _cut_escaped(plain: str, limit: int) -> list[str]:
    """Escaped pieces of ``plain``, each at most ``limit`` characters once escaped."""
    pieces, current, size = [], [], 0
    for ch in plain:
        escaped = _e(ch)
        if size + units(escaped) > limit:
            pieces.append("".join(current))
            current, size = [], 0
        current.append(escaped)
        size += units(escaped)
    if current:
        pieces.append("".join(current))
    return pieces


def format_answer(answer: Answer, max_evidence: int = 2) -> list[Chunk]:
    """The answer message(s): the direct answer first, each point cited, then the passages
    that support it with the answering sentences in bold."""
    lab, script = labels_for(answer.script), answer.script
    blocks: list[str] = []
    if not answer.answered:
        reading = f"<i>({_e(answer.reading)})</i>\n" if answer.reading else ""  # how a follow-up was read
        blocks.append(f"{reading}🤷 {_e(lab['none'])}")
        if answer.suggestion:
            p = answer.suggestion.passage
            blocks.append(f"<i>{_e(lab['closest'])}:</i>\n<blockquote>{_e(in_script(p.text, script))}</blockquote>\n"
                          f"{_citation(p, script)}")
        return pack(blocks)
    lines = [f"<i>({_e(answer.reading)})</i>"] if answer.reading else []
    lines.append(f"<b>{_e(heading(answer))}</b>")
    numbered = len(answer.points) > 1
    for n, point in enumerate(answer.points, 1):
        bullet = f"{n}. " if numbered else ""
        lines.append(f"{bullet}{_highlighted(point.text, point.span, script, spelled_name(answer, point))} "
                     f"<i>[{_e(in_script(point.passage.citation, script))}]</i>")
    blocks.append("\n".join(lines))
    for n, ev in enumerate(answer.evidence[:max_evidence]):
        title = f"<b>{_e(lab['evidence'])}</b>\n" if n == 0 else ""
        blocks.append(title + _passage_block(ev.sentences, ev.key, script) + "\n" + _citation(ev.hit.passage, script))
    return pack(blocks)


def format_fluent(answer: Answer, fluent: Fluent, max_passages: int = 2) -> Chunk:
    """A language model's checked answer (``fluent``) in place of the extractive one: its
    sentences with their [n] citations, then the passages it cites. Written while the model is
    still writing, it says so."""
    lab, script = labels_for(answer.script), answer.script
    lines = [f"<i>({_e(answer.reading)})</i>"] if answer.reading else []
    lines.append(f"<b>{_e(lab['fluent'])}</b>" + ("" if fluent.done else f" <i>({_e(lab['writing'])})</i>"))
    lines.append(_e(in_script(fluent.text, script)))
    blocks = ["\n".join(lines)]
    for n, passage in list(zip(fluent.numbers, fluent.cited))[:max_passages]:
        blocks.append(f"[{n}] <blockquote>{_e(in_script(passage.text, script))}</blockquote>\n{_citation(passage, script)}")
    return pack(blocks)[0]


def _highlighted(text: str, span: str, script: str, spelled: str = "") -> str:
    """``text`` escaped, with the answer itself (``span``, a date or a name in it) in bold, and
    the name's pinyin after it when ``spelled`` (English questions)."""
    i = text.find(span) if span and span != text else -1
    if i < 0:
        return _e(in_script(text, script)) + (f" ({_e(spelled)})" if spelled and span == text else "")
    parts = (text[:i], span, text[i + len(span):])
    after = f" ({_e(spelled)})" if spelled else ""
    return (f"{_e(in_script(parts[0], script))}<b>{_e(in_script(parts[1], script))}</b>{after}"
            f"{_e(in_script(parts[2], script))}")


def format_passage(hit: Hit, script: str) -> str:
    """One passage and its citation (inline results, result pages)."""
    return f"<blockquote>{_e(in_script(hit.passage.text, script))}</blockquote>\n{_citation(hit.passage, script)}"


def format_hits(hits: list[Hit], script: str, start: int) -> list[Chunk]:
    """A page of further passages, numbered from ``start + 1``."""
    lab = labels_for(script)
    blocks = [f"<b>{_e(lab['evidence'])} {start + 1}–{start + len(hits)}</b>"]
    blocks += [f"{n}. {format_passage(hit, script)}" for n, hit in enumerate(hits, start + 1)]
    return pack(blocks)
