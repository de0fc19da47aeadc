"""Properties of the text pipeline, on generated input (hypothesis): cleaning, splitting,
script conversion and Telegram formatting never crash, keep every character they are not
meant to remove, and never produce a message Telegram would refuse."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.checks import question_problem, tidy_question
from bot.formatting import MAX_MESSAGE, format_hits, format_passage, pack, units
from corpus.clean import clean_text, match_form, script_of, to_simplified, to_traditional
from corpus.formats.layout import paragraphs
from corpus.model import Passage
from corpus.split import split_sentences, windows
from embeddings.search import Hit
from tests.fake_telegram import telegram_html_problem

PROFILE = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Ordinary document text: common Han characters (traditional and simplified), ASCII letters and
# digits, Chinese punctuation, spaces and line breaks; no pinyin annotations, tags or mojibake.
HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应開關應勇強調社區黨員幹部"
ORDINARY = st.text(alphabet=HAN + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789，。、！？：；“”（）《》 \n",
                   max_size=400)
ANYTHING = st.text(max_size=300)  # every code point but lone surrogates
WITH_SURROGATES = st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=100)


def _dense(text: str) -> str:
    return re.sub(r"\s+", "", text)


@PROFILE
@given(ANYTHING)
def test_cleaning_never_crashes_and_leaves_no_stray_whitespace(text):
    cleaned = clean_text(text).text
    assert "\r" not in cleaned and cleaned == cleaned.strip()
    assert all(line == line.strip() for line in cleaned.split("\n"))


@PROFILE
@given(ORDINARY)
def test_cleaning_ordinary_text_keeps_every_character(text):
    assert _dense(clean_text(text).text) == _dense(text)


@PROFILE
@given(ANYTHING)
def test_matching_form_is_stable(text):
    once = match_form(text)
    assert match_form(once) == once


@PROFILE
@given(WITH_SURROGATES)
def test_questions_with_any_code_points_are_tidied_for_every_step(text):
    question = tidy_question(text)
    question.encode("utf-8")  # no lone surrogate left
    assert tidy_question(question) == question and "  " not in question and question == question.strip()
    problem = question_problem(question, 500)
    has_words = any(ch.isalnum() for ch in question)
    if problem is None:  # accepted: something to search for, within the limit
        assert has_words and len(question) <= 500
    else:  # refused, with the reason that holds
        assert problem[0] == ("too_long" if has_words and len(question) > 500 else "no_words")
    script_of(question), to_simplified(question), to_traditional(question), match_form(question)


@PROFILE
@given(ORDINARY, st.integers(min_value=20, max_value=300))
def test_windows_keep_the_text_and_respect_the_size(text, size):
    text = " ".join(text.split())
    parts = windows(text, size)
    assert all(len(p) <= size for p in parts)
    assert _dense("".join(parts)) == _dense(text)
    assert _dense("".join(split_sentences(text))) == _dense(text)


@PROFILE
@given(st.lists(ORDINARY.map(lambda t: t.replace("\n", " ")), max_size=30))
def test_joining_wrapped_lines_keeps_every_character(lines):
    assert _dense("".join(paragraphs(lines))) == _dense("".join(lines))


def _hit(text: str, title: str, n: int) -> Hit:
    passage = Passage(id=f"d:{n}.0:x", doc_id="d", doc_title=title, path="d.txt", paragraph=n, part=0,
                      section=title[:10], text=text, match_text=match_form(text))
    return Hit(passage, 0.9, 0.9, 0.0, n)


@PROFILE
@given(st.lists(st.tuples(ANYTHING, st.text(max_size=120)), min_size=1, max_size=8),
       st.sampled_from(["zh-Hans", "zh-Hant", "en"]))
def test_formatted_pages_are_html_telegram_accepts(passages, script):
    hits = [_hit(text or "空", title or "标题", n) for n, (text, title) in enumerate(passages, 1)]
    for chunk in format_hits(hits, script, 0):
        assert telegram_html_problem(chunk.html) is None
        assert units(chunk.html) <= MAX_MESSAGE and units(chunk.plain) <= MAX_MESSAGE
    for hit in hits:
        assert telegram_html_problem(format_passage(hit, script)) is None


@PROFILE
@given(st.lists(st.text(max_size=5000), min_size=1, max_size=4))
@example(["😀" * 3000])  # 3,000 characters but 6,000 UTF-16 units: Telegram counts the latter
@example(["<&>" * 1500, "短"])
def test_packing_never_exceeds_a_message(texts):
    import html

    blocks = [f"<blockquote>{html.escape(t, quote=False)}</blockquote>" for t in texts]
    for chunk in pack(blocks):
        assert units(chunk.html) <= MAX_MESSAGE
        assert telegram_html_problem(chunk.html) is None
