"""What the front ends check in a question before it reaches the engine: one rule for the
bot, the terminal and the command line."""

from __future__ import annotations

import re

# Control characters, lone surrogates (invalid in UTF-8: they break script conversion and
# Telegram), zero-width and direction marks: nothing a question needs.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\ud800-\udfff\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def tidy_question(text: str) -> str:
    """The question without invisible characters and with single spaces."""
    return " ".join(_INVISIBLE.sub("", text or "").split())


def question_problem(text: str, max_chars: int) -> tuple[str, dict] | None:
    """Why a tidied question cannot be answered, as a message key and its values, or None.
    A question needs words: letters, digits or Han characters, not only emoji or punctuation."""
    if not text:
        return "no_words", {}
    if len(text) > max_chars:
        return "too_long", {"length": len(text), "limit": max_chars}
    if not any(ch.isalnum() for ch in text):
        return "no_words", {}
    return None
