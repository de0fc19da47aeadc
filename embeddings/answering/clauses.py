"""Where a clause ends: at a comma, full stop, semicolon, colon, question or exclamation mark,
but not inside brackets. "六个区域总部（东部、中部、南部、西部，中国南方）" is one clause: the
comma in the parentheses belongs to the aside, and an answer cut there is left with an open
bracket. Quotation marks are not brackets here: a quoted speech is clauses of its own.

Hand-written: no kept library splits Chinese clauses; the brackets are matched by
``corpus.split.in_aside``, which keeps sentences whole the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from corpus.split import in_aside

_PUNCTUATION = re.compile(r"[，。；！？：,;!?]")


class ClauseEnds:
    """The clause-ending marks of a text, as ``re`` matches, with a compiled pattern's
    ``finditer`` and ``search``."""

    def finditer(self, text: str, pos: int = 0, endpos: int | None = None) -> Iterator[re.Match[str]]:
        for m in _PUNCTUATION.finditer(text, pos, len(text) if endpos is None else endpos):
            if not in_aside(text, m.start()):
                yield m

    def search(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return next(self.finditer(text, pos), None)


CLAUSE_END = ClauseEnds()
