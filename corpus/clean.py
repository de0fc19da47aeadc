"""Cleaning of document text: pinyin annotations, mojibake, width and whitespace, and the
simplified-Chinese form used for matching."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

DAMAGED_MARK = "[…]"

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ"
_PLAIN = str.maketrans(_TONED, "aaaaeeeeiiiioooouuuuüüüü")
_INITIALS = "(?:zh|ch|sh|[bpmfdtnlgkhjqxrzcsyw])"
_FINALS = (
    "a|o|e|i|u|ü|ai|ei|ao|ou|an|en|ang|eng|ong|er|ia|ie|iao|iu|ian|in|iang|ing|iong|"
    "ua|uo|uai|ui|uan|un|uang|ue|üe|üan|ün"
)
# Without an initial only these stand alone (i, u, ü are written yi, wu, yu).
_ZERO_INITIAL = "a|o|e|ai|ei|ao|ou|an|en|ang|eng|er"
_SYLLABLE = re.compile(f"^(?:{_INITIALS}(?:{_FINALS})|(?:{_ZERO_INITIAL}))$")
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A CJK character followed by a parenthesised lowercase word with a tone mark.
_ANNOTATION = re.compile(f"(?<=[{_CJK}])\\(([a-z{_TONED}ü]{{1,7}})\\)")
_HTML_TAG = re.compile(r"</?[a-zA-Z][a-zA-Z0-9]*(?:\s[^<>]*)?/?>")
_ORPHAN_PINYIN = re.compile(f"[a-z{_TONED}ü]{{1,7}}\\)")
_ORPHAN_TAG = re.compile(r"/?[a-zA-Z][a-zA-Z0-9]*>")


@dataclass(frozen=True)
class Cleaned:
    """Cleaned text and what was done to it."""

    text: str
    pinyin_removed: int = 0
    mojibake_repaired: int = 0
    mojibake_marked: int = 0


def is_plain_pinyin_syllable(word: str) -> bool:
    """True for one Hanyu Pinyin syllable written without tone marks (``qiang``, ``lv``)."""
    return bool(_SYLLABLE.match(word.replace("v", "ü")))


def is_pinyin_syllable(word: str) -> bool:
    """True for one Hanyu Pinyin syllable carrying a tone mark (``shí``, ``qiáng``)."""
    if not any(c in _TONED for c in word):
        return False
    return bool(_SYLLABLE.match(word.translate(_PLAIN)))


def remove_pinyin(text: str) -> tuple[str, int]:
    """Drop pinyin annotations that follow Chinese characters (``實(shí)`` -> ``實``).
    Parentheses holding anything else (English words, numbers) are kept."""
    count = 0

    def repl(m: re.Match) -> str:
        nonlocal count
        if is_pinyin_syllable(m.group(1)):
            count += 1
            return ""
        return m.group(0)

    return _ANNOTATION.sub(repl, text), count


def _is_cjk(ch: str) -> bool:
    return bool(re.match(f"[{_CJK}]", ch))


@lru_cache(maxsize=65536)
def _is_rare_han(ch: str) -> bool:
    """A Han character in neither GB2312 nor Big5: common in mojibake, rare in prose."""
    if not _is_cjk(ch):
        return False
    for enc in ("gb2312", "big5"):
        try:
            ch.encode(enc)
            return False
        except UnicodeEncodeError:
            pass
    return True


def _certain(ch: str) -> bool:
    """A character that ordinary prose almost never holds but GBK/Big5 mojibake does: the
    replacement character, a Han character outside GB2312 and Big5, a BMP symbol or private
    use. (Mojibake from those codecs is all in the BMP: emoji are not evidence.)"""
    if ch == "\ufffd" or _is_rare_han(ch):
        return True
    return ord(ch) < 0x10000 and unicodedata.category(ch) in ("So", "No", "Co", "Cn") and not ch.isdigit()


def _suspicious(text: str, i: int) -> bool:
    ch = text[i]
    if ch == "?" or _certain(ch):
        return True
    prev = text[i - 1] if i > 0 else ""
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if ch in "!;":  # ASCII punctuation right after a damaged or Han character
        return bool(prev) and (_is_cjk(prev) or prev in "?!;")
    if ch.isascii() and ch.isalpha():  # a lone Latin letter glued between non-Latin ones
        return bool(prev) and bool(nxt) and not prev.isascii() and _is_cjk(nxt)
    return False


def _try_repair(span: str) -> str | None:
    """Undo UTF-8-read-as-GBK where the bytes survived; None when they did not."""
    if "?" in span or "\ufffd" in span:
        return None
    for enc in ("gbk", "gb18030", "big5"):
        try:
            fixed = span.encode(enc).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
        if fixed != span and any(_is_cjk(c) for c in fixed) and all(c.isprintable() for c in fixed):
            return fixed
    return None


def repair_mojibake(text: str) -> tuple[str, int, int]:
    """Find spans of mojibake (UTF-8 text that went through GBK: ``?;鶎訌?``, ``?!薄⒓t``).
    Spans whose bytes survived are decoded back; spans with the marks of lost bytes (``?``,
    U+FFFD) are replaced by ``[…]`` so they are neither shown as garbage nor lost without a
    trace; rare characters without either are left alone: real text has them. A stray pinyin tail left by the
    damage (``?qiáng)``) goes with its span. Returns (text, repaired, marked)."""
    # Whole lines that round-trip cleanly are repaired outright (classic mojibake).
    lines = text.split("\n")
    repaired = 0
    for n, line in enumerate(lines):
        fixed = _try_repair(line) if any(_is_cjk(c) for c in line) else None
        if fixed:
            lines[n] = fixed
            repaired += 1
    text = "\n".join(lines)

    flags = [_suspicious(text, i) for i in range(len(text))]
    spans: list[list[int]] = []
    i = 0
    while i < len(text):
        if not flags[i]:
            i += 1
            continue
        start = end = i
        j = i + 1
        while j < len(text):
            if flags[j]:
                end = j
                j += 1
            elif j + 1 < len(text) and flags[j + 1] and text[j] != "\n":
                j += 1  # bridge one ordinary character between two damaged ones
            elif j + 2 < len(text) and flags[j + 2] and text[j] != "\n" and text[j + 1] != "\n":
                j += 1
            else:
                break
        spans.append([start, end + 1])
        i = end + 1

    out, last, marked = [], 0, 0
    for start, end in spans:
        span = text[start:end]
        if sum(flags[start:end]) < 2 and "?" not in span[1:]:
            # A single odd character (a real '?' or a symbol) is not evidence of damage.
            continue
        if not any(_certain(c) for c in span) and "111" not in "".join("1" if f else "0" for f in flags[start:end]):
            # Only question marks, "!;" and Latin letters between Han characters, never three
            # in a row: ordinary text ("买入A股和B股", "真的吗?是的?"), not damage ("?!?").
            continue
        fixed = _try_repair(span)
        if not fixed and "?" not in span and "\ufffd" not in span:
            # Rare characters alone are not damage (黇鹿, 天瑞邨, 高畑勲, "──", "°C"): what GBK/Big5
            # damage leaves is bytes that decode back (repaired above) or the marks of lost ones.
            continue
        out.append(text[last:start])
        if fixed:
            out.append(fixed)
            repaired += 1
        else:
            out.append(DAMAGED_MARK)
            marked += 1
            tail = _ORPHAN_PINYIN.match(text, end)
            if tail and is_pinyin_syllable(tail.group(0)[:-1]):
                end = tail.end()
            tag = _ORPHAN_TAG.match(text, end)  # "</p>" whose "<" went with the damage
            if tag:
                end = tag.end()
        last = end
    out.append(text[last:])
    return "".join(out), repaired, marked


_CJK_PUNCT = {",": "，", ":": "：", ";": "；", "?": "？", "!": "！"}


def normalise_width(text: str) -> str:
    """Full-width letters, digits and spaces become ASCII; ASCII punctuation between Chinese
    characters becomes its full-width form; runs of blanks collapse."""
    chars = []
    for ch in text:
        code = ord(ch)
        if 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            ch = chr(code - 0xFEE0)
        elif ch == "\u3000":
            ch = " "
        chars.append(ch)
    text = "".join(chars)
    text = re.sub(
        f"(?<=[{_CJK}”’）》」』])([,:;?!])(?=[^\\s]|$)",
        lambda m: _CJK_PUNCT[m.group(1)],
        text,
        flags=re.MULTILINE,
    )
    text = re.sub(r"[ \t\u00a0\u200b\ufeff]+", " ", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip()


def clean_text(raw: str) -> Cleaned:
    """Clean one document's text: HTML remnants, mojibake, pinyin annotations, width and
    whitespace. Keeps the script of the original (traditional stays traditional)."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n"))
    text = _HTML_TAG.sub("", text)
    text, repaired, marked = repair_mojibake(text)
    text, pinyin = remove_pinyin(text)
    text = normalise_width(text)
    return Cleaned(text, pinyin, repaired, marked)


@lru_cache(maxsize=4)
def _converter(config: str):
    import opencc

    return opencc.OpenCC(config)


@lru_cache(maxsize=8192)
def to_simplified(text: str) -> str:
    """Traditional -> simplified Chinese (OpenCC t2s); other text passes unchanged."""
    return _converter("t2s").convert(text)


def to_traditional(text: str) -> str:
    """Simplified -> traditional Chinese (OpenCC s2t)."""
    return _converter("s2t").convert(text)


def match_form(text: str) -> str:
    """The form used for matching: simplified script, ASCII width, lower case, no
    damage marks, single spaces."""
    text = normalise_width(unicodedata.normalize("NFKC", text)).replace(DAMAGED_MARK, " ")
    return re.sub(r"\s+", " ", to_simplified(text)).strip().lower()


def script_of(text: str) -> str:
    """'zh-Hant', 'zh-Hans' or 'en'/'other' for a question: traditional when converting to
    simplified changes it, Chinese when it holds Han characters."""
    han = [c for c in text if _is_cjk(c)]
    if not han:
        return "en" if re.search(r"[A-Za-z]", text) else "other"
    s = "".join(han)
    if to_simplified(s) != s:
        return "zh-Hant"
    if to_traditional(s) != s:
        return "zh-Hans"
    return "zh-Hans"
