"""Inline buttons: the callback data each one carries, written here and read back here
(``parse``) into a typed press. Data is at most 64 bytes and may be forged or stale: what does
not parse reads as ``Unknown``, and numbers are ASCII digits below a bound.

"More results" needs no memory of the question: it is the message the answer replies to, and
the button carries the index generation (pages of another index would not match) and the
offset. Any replica can serve the press, and a restart loses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.messages import say

PAGE = 3  # passages per "More results" page
MAX_RESULTS = 30  # "More results" pages through this many passages at most: a forged offset asks for no more
GENERATION_CHARS = 12
EXAMPLE_MARK = "❓"  # a tapped example is asked as "❓ question" (so the chat shows what was asked)
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Example:
    group: str  # the list it was shown from ("en", "zh")
    index: int


@dataclass(frozen=True)
class More:
    generation: str  # the first GENERATION_CHARS of the index generation that answered
    offset: int | None  # None: not a number below MAX_RESULTS (forged)


@dataclass(frozen=True)
class NewTopic:
    pass


@dataclass(frozen=True)
class Rate:
    up: bool


@dataclass(frozen=True)
class FeedbackPage:
    page: int | None


@dataclass(frozen=True)
class Reindex:
    pass


@dataclass(frozen=True)
class DocsPage:
    page: int


@dataclass(frozen=True)
class Remove:
    key: str  # doc_key() of the document


@dataclass(frozen=True)
class CancelRemove:
    pass


@dataclass(frozen=True)
class Unknown:
    pass


Press = Example | More | NewTopic | Rate | FeedbackPage | Reindex | DocsPage | Remove | CancelRemove | Unknown
ADMIN_PRESSES = (Reindex, DocsPage, Remove, CancelRemove)


def number_in(text: str, below: int) -> int | None:
    """A button's number: ASCII digits only ("²".isdigit() is true, int("²") raises) and below
    ``below``; None for anything else (a forged or stale press)."""
    if not re.fullmatch(r"[0-9]{1,6}", text):
        return None
    n = int(text)
    return n if n < below else None


def parse(data: str | None) -> Press:
    """What a press asks for."""
    data = (data or "")[:64]
    kind, _, rest = data.partition(":")
    if kind == "ex":
        group, _, n = rest.partition(":")
        index = number_in(n, MAX_PAGE)
        return Example(group, index) if group and index is not None else Unknown()
    if kind == "more":
        generation, _, offset = rest.partition(":")
        return More(generation, number_in(offset, MAX_RESULTS))
    if kind == "fb" and rest in ("up", "down"):
        return Rate(rest == "up")
    if kind == "fbp":
        return FeedbackPage(number_in(rest, MAX_PAGE))
    if kind == "docs":
        return DocsPage(number_in(rest, MAX_PAGE) or 0)
    if kind == "rm" and rest:
        return Remove(rest)
    return {"new": NewTopic(), "reindex": Reindex(), "rmx": CancelRemove()}.get(data, Unknown())


# --- what the buttons carry ------------------------------------------------------------------

def example_button(text: str, group: str, index: int) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text, callback_data=f"ex:{group}:{index}")]


def more_data(generation: str, offset: int) -> str:
    return f"more:{generation[:GENERATION_CHARS]}:{offset}"


def more_button(generation: str, offset: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("more", lang), callback_data=more_data(generation, offset))]])


def rating_row() -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton("👍", callback_data="fb:up"), InlineKeyboardButton("👎", callback_data="fb:down")]


def answer_buttons(generation: str | None, offset: int, lang: str, rate: bool = False) -> InlineKeyboardMarkup:
    """Under an answer: "More results" (when there are more) and "New topic"; 👍 / 👎 when
    feedback is on."""
    row = [InlineKeyboardButton(say("more", lang), callback_data=more_data(generation, offset))] if generation else []
    row.append(InlineKeyboardButton(say("new_topic", lang), callback_data="new"))
    return InlineKeyboardMarkup([row, rating_row()] if rate else [row])


def reindex_button(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("reindex_now", lang), callback_data="reindex")]])


def remove_buttons(key: str, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("remove_yes", lang), callback_data=f"rm:{key}"),
                                  InlineKeyboardButton(say("cancel", lang), callback_data="rmx")]])


def page_buttons(prefix: str, page: int, more: bool, lang: str) -> InlineKeyboardMarkup | None:
    """◀ ▶ under a paged list (/docs: ``docs:``, /feedback: ``fbp:``)."""
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(say("previous", lang), callback_data=f"{prefix}:{page - 1}"))
    if more:
        row.append(InlineKeyboardButton(say("next", lang), callback_data=f"{prefix}:{page + 1}"))
    return InlineKeyboardMarkup([row]) if row else None
