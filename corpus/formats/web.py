"""HTML pages through trafilatura: the main text with its headings, lists and tables; the
navigation, footers and other boilerplate dropped. Pages too short for trafilatura's
main-text detection fall back to every paragraph and heading of the body."""

from __future__ import annotations

import re

from corpus.errors import UnreadableDocument
from corpus.formats import Block, Parsed
from corpus.formats.layout import list_text

_SPACE = re.compile(r"\s+")
_BOILERPLATE_TAGS = ("script", "style", "nav", "footer", "header", "aside", "form", "noscript", "template")


def _text(element) -> str:
    return _SPACE.sub(" ", "".join(element.itertext())).strip()


def _from_trafilatura(data: bytes) -> tuple[list[Block], str]:
    import trafilatura
    from lxml import etree

    xml = trafilatura.extract(data, output_format="xml", with_metadata=True, include_tables=True,
                              include_comments=False, favor_precision=False)
    if not xml:
        return [], ""
    root = etree.fromstring(xml.encode("utf-8"))
    blocks: list[Block] = []
    main = root.find("main")
    for el in (main if main is not None else root).iter("head", "p", "list", "row", "quote"):
        if el.tag == "head":
            level = int(el.get("rend", "h2")[1:] or 2) if re.fullmatch(r"h[1-6]", el.get("rend", "")) else 2
            blocks.append(Block(_text(el), level))
        elif el.tag == "p" and el.getparent().tag not in ("item", "cell", "quote"):
            blocks.append(Block(_text(el)))
        elif el.tag == "list" and el.getparent().tag != "item":
            blocks.append(Block(list_text([_text(item) for item in el.iter("item")])))
        elif el.tag == "row":
            blocks.append(Block(" | ".join(_text(cell) for cell in el.iter("cell"))))
        elif el.tag == "quote":
            blocks.append(Block(_text(el)))
    return [b for b in blocks if b.text], root.get("title") or ""


def _from_body(data: bytes) -> tuple[list[Block], str]:
    import lxml.html

    root = lxml.html.document_fromstring(data)
    for bad in root.iter(*_BOILERPLATE_TAGS):
        bad.drop_tree()
    blocks = []
    for el in root.iter("h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "pre"):
        if el.tag in ("p", "li", "td", "pre") and any(a.tag in ("li", "td", "p") for a in el.iterancestors()):
            continue
        level = int(el.tag[1]) if el.tag[0] == "h" and len(el.tag) == 2 else 0
        blocks.append(Block(_text(el), level))
    if not blocks:  # bare text in <body>
        blocks = [Block(t) for t in (s.strip() for s in root.text_content().split("\n")) if t]
    title_el = root.find(".//title")
    return [b for b in blocks if b.text], _text(title_el) if title_el is not None else ""


def read(data: bytes) -> Parsed:
    if not data.strip():
        raise UnreadableDocument("an empty page")
    try:
        blocks, title = _from_trafilatura(data)
        if not blocks:
            blocks, title = _from_body(data)
    except (ValueError, TypeError) as e:  # lxml's parser errors are ValueErrors
        raise UnreadableDocument(f"not a readable HTML page ({e})") from e
    return Parsed(tuple(blocks), title=title, encoding="html")
