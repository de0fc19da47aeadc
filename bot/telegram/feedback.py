"""Feedback in Telegram: the 👍 / 👎 buttons under answers, the optional comment after a 👎,
and the admins' /feedback report. The records live in ``bot.feedback``; every database call
runs off the event loop."""

from __future__ import annotations

import asyncio
import logging

from cachetools import TTLCache
from telegram import CallbackQuery, ForceReply, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.feedback import FeedbackStore, Rated, Report
from bot.formatting import escape
from bot.messages import say
from bot.telegram.buttons import page_buttons

log = logging.getLogger(__name__)

SHOWN_CHARS = 60  # of a question or answer in the report


class CommentPrompts:
    """The "what was wrong?" prompts sent after a 👎, for 15 minutes: a reply to one is a
    comment on the answer, not a question. Keyed by (chat, prompt message id)."""

    def __init__(self):
        self._prompts: TTLCache[tuple[int, int], tuple[int, int]] = TTLCache(maxsize=10_000, ttl=15 * 60)

    def add(self, prompt: Message, answer: Message, user_id: int) -> None:
        self._prompts[(prompt.chat_id, prompt.message_id)] = (answer.message_id, user_id)

    def answered_by(self, message: Message) -> int | None:
        """The answer message a reply comments on, when ``message`` replies to a prompt of its sender's."""
        to = message.reply_to_message
        if to is None or message.from_user is None:
            return None
        found = self._prompts.get((message.chat_id, to.message_id))
        if found is None or found[1] != message.from_user.id:
            return None
        return found[0]


async def rate(query: CallbackQuery, up: bool, store: FeedbackStore, prompts: CommentPrompts, lang: str) -> None:
    """A 👍 / 👎 press: recorded for the answer the button sits under, by its asker only."""
    rating = 1 if up else -1
    message = query.message
    if message is None:
        await query.answer(say("rating_unknown", lang), show_alert=True)
        return
    result = await asyncio.to_thread(store.rate, message.chat_id, message.message_id, query.from_user.id, rating)
    if result is Rated.NOT_YOURS:
        await query.answer(say("rating_not_yours", lang), show_alert=True)
    elif result is Rated.UNKNOWN:
        await query.answer(say("rating_unknown", lang), show_alert=True)
    elif result is Rated.FAILED:
        await query.answer(say("rating_failed", lang))
    elif result is Rated.SAME:
        await query.answer(say("rating_same", lang))
    else:
        key = ("rated_up" if rating > 0 else "rated_down") if result is Rated.NEW else "rating_changed"
        await query.answer(say(key, lang))
        if rating < 0:
            try:
                prompt = await message.reply_text(say("comment_prompt", lang), do_quote=True,
                                                  reply_markup=ForceReply(selective=True))
                prompts.add(prompt, message, query.from_user.id)
            except TelegramError as e:  # the comment is optional
                log.debug("Could not ask for a comment: %s", e)


async def save_comment(message: Message, answer_id: int, store: FeedbackStore, lang: str) -> None:
    saved = await asyncio.to_thread(store.comment, message.chat_id, answer_id, message.from_user.id,
                                    message.text or "")
    await message.reply_text(say("comment_saved" if saved else "rating_failed", lang), do_quote=True)


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return escape(text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…")


def report_text(report: Report, lang: str) -> str:
    """The /feedback message: counts per day, then a page of each list."""
    lines = [say("feedback_head", lang)]
    lines += [f"{d.day} · {d.asked} · {d.answered} · {d.up} · {d.down}" for d in report.days]
    if not report.days:
        lines.append(say("feedback_none", lang))
    if report.worst:
        lines += ["", say("feedback_worst", lang)]
        for r in report.worst:
            lines.append(f"👎{r.down} 👍{r.up} — {_cut(r.question)} → {_cut(r.answer)}")
            lines += [f"   💬 {_cut(c)}" for c in r.comments if c]
    if report.unanswered:
        lines += ["", say("feedback_unanswered", lang)]
        lines += [f"×{u.times} {_cut(u.question)}" for u in report.unanswered]
    return "\n".join(lines)


async def show_report(store: FeedbackStore, lang: str, page: int, send) -> None:
    """``send(text, parse_mode=..., reply_markup=...)``: a reply or an edit of the page shown."""
    report = await asyncio.to_thread(store.report, 14, page)
    await send(report_text(report, lang), parse_mode=ParseMode.HTML, reply_markup=page_buttons("fbp", page, report.more, lang))
