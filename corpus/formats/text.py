"""Plain text: encoding detection, optional ``---`` front matter, paragraphs."""

from __future__ import annotations

import contextlib
import re

from corpus.clean import to_simplified
from corpus.errors import UnreadableDocument
from corpus.formats import Block, Parsed
from corpus.formats.layout import paragraphs

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
_KEY = re.compile(r"^([A-Za-z_]+)\s*:\s*(.*?)\s*$")
# Control characters other than tab, newline, carriage return and form feed: binary data.
_CONTROL = re.compile(r"[\x01-\x08\x0b\x0e-\x1f\x7f]")
_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _level1_share(text: str) -> float:
    """Share of Han characters that are common (GB2312 level 1 once simplified): high for
    a correct decoding, low for a wrong one, which scatters over rare characters."""
    han = [c for c in text if "\u4e00" <= c <= "\u9fff"]
    if not han:
        return 0.0
    common = 0
    for c in to_simplified("".join(han)):
        with contextlib.suppress(UnicodeEncodeError):
            common += c.encode("gb2312")[0] < 0xD8
    return common / len(han)


def decode(data: bytes) -> tuple[str, str]:
    """Decode document bytes: UTF-8 (with or without BOM), UTF-16 with BOM, GB18030 or
    Big5, whichever reads as plausible Chinese. Returns (text, encoding).
    Raises UnreadableDocument for binary data."""
    if data.startswith(b"\xef\xbb\xbf"):
        data, bom = data[3:], True
    else:
        bom = False
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as e:
            raise UnreadableDocument(f"broken UTF-16 ({e.reason})") from e
    if b"\x00" in data:
        raise UnreadableDocument("binary data (NUL bytes), not a text file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        if len(_CONTROL.findall(text)) > max(2, len(text) // 200):
            raise UnreadableDocument("binary data (control characters), not a text file")
        return text, "utf-8-sig" if bom else "utf-8"
    candidates = []
    for enc in ("gb18030", "big5"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        candidates.append((_level1_share(text), enc, text))
    if not candidates:
        raise UnreadableDocument("not UTF-8, UTF-16, GB18030 or Big5 text")
    share, enc, text = max(candidates)
    # Bytes that are not text still decode as GB18030: they scatter over rare characters,
    # control characters and the private-use area, where the codecs put undefined codes.
    garbage = len(_CONTROL.findall(text)) + len(_PRIVATE_USE.findall(text))
    if (share < 0.5 and len(text) > 20) or garbage > max(1, len(text) // 200):
        raise UnreadableDocument("does not read as text in any supported encoding")
    return text, enc


def parse_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Split optional ``---`` front matter (``key: value`` lines) from the body."""
    m = _FRONT_MATTER.match(text)
    if not m:
        return {}, text
    meta = {}
    for line in m.group(1).splitlines():
        km = _KEY.match(line)
        if km:
            meta[km.group(1).lower()] = km.group(2).strip("'\"")
    return meta, text[m.end() :]


def read_text(data: bytes) -> tuple[dict[str, str], str, str]:
    """Decoded body, front matter and encoding of a text-like file."""
    raw, encoding = decode(data)
    raw = raw.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
    meta, body = parse_front_matter(raw)
    return meta, body, encoding


def read(data: bytes) -> Parsed:
    meta, body, encoding = read_text(data)
    blocks = tuple(Block(text) for text in paragraphs(body.split("\n")))
    return Parsed(blocks, title=meta.get("title", ""), encoding=encoding, date=meta.get("date", ""),
                  source_url=meta.get("source") or meta.get("url", ""), infer_headings=True)
