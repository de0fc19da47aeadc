"""The question path: a question (private text, /ask, a mention or reply in a group, a tapped
example) is checked, answered off the event loop and sent; "More results", inline mode, /start,
/help, /new."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from telegram import InlineKeyboardMarkup, InlineQueryResultArticle, InputTextMessageContent, Message, Update
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, TelegramError, TimedOut
from telegram.ext import ContextTypes

from bot.checks import question_problem, tidy_question
from bot.formatting import Chunk, format_answer, format_hits, format_passage
from bot.messages import say
from bot.render import in_script
from bot.settings import Settings
from bot.telegram import buttons
from bot.telegram import feedback as telegram_feedback
from bot.telegram.fluent import show_fluent
from bot.telegram.state import BotState, conversation_key, lang_of, state_of
from bot.transport import with_retries
from corpus.clean import script_of
from embeddings.engine import Engine
from embeddings.examples import Examples, make_examples

log = logging.getLogger(__name__)


TYPING_DELAY = 0.5  # seconds an answer may take before the typing indicator is shown


async def send_chunks(message: Message, chunks: list[Chunk], markup=None) -> Message | None:
    """Reply with each chunk (the keyboard on the last); resend as plain text when
    Telegram cannot parse the formatting."""
    sent = None
    for n, chunk in enumerate(chunks):
        kb = markup if n == len(chunks) - 1 else None
        try:
            sent = await with_retries(lambda c=chunk, k=kb: message.reply_text(
                c.html, parse_mode=ParseMode.HTML, reply_markup=k, do_quote=True, disable_web_page_preview=True),
                "sendMessage")
        except BadRequest as e:
            if "parse entities" not in str(e).lower() and "can't parse" not in str(e).lower():
                raise
            log.warning("Telegram rejected the formatting (%s); sending plain text", e)
            sent = await with_retries(lambda c=chunk, k=kb: message.reply_text(c.plain, reply_markup=k, do_quote=True),
                                      "sendMessage")
    return sent


async def _typing_after(bot, chat_id: int, delay: float) -> None:
    """The typing indicator, only for an answer that takes a while: most take a few tens of
    milliseconds, and an action per answer would halve the messages the rate limit allows."""
    await asyncio.sleep(delay)
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING)
    except TelegramError as e:  # cosmetic: never worth an apology
        log.debug("Typing action failed: %s", e)


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str,
                          reply_to: Message | None = None) -> None:
    """The whole path of a question: checks, search off the event loop, formatted reply."""
    state = state_of(context)
    message = reply_to or update.effective_message
    lang = lang_of(update)
    question = tidy_question(question)
    problem = question_problem(question, state.settings.max_question_chars)
    if problem:
        await message.reply_text(say(problem[0], lang, **problem[1]), do_quote=True)
        return
    user = update.effective_user
    if user and state.over_rate_limit(user.id):
        await message.reply_text(say("rate", lang), do_quote=True)
        return
    start = time.perf_counter()
    typing = asyncio.create_task(_typing_after(context.bot, message.chat_id, TYPING_DELAY))
    try:
        conversation = state.conversations.get(conversation_key(update))
        answer = await asyncio.to_thread(state.engine.answer, question, state.settings.top_k, conversation)
    finally:
        typing.cancel()
    if answer.reading and answer.analysis:  # "More results" pages through what was answered
        state.readings[(message.chat_id, message.message_id)] = answer.analysis.text
    more = state.generation() if answer.answered and len(answer.hits) > len(answer.evidence[:2]) else None
    rate = state.feedback is not None
    markup = buttons.answer_buttons(more, min(2, len(answer.evidence)), lang, rate) if answer.answered else None
    sent = None
    chunks = format_answer(answer)
    try:
        sent = await send_chunks(message, chunks, markup)
    except TimedOut:  # it may well have arrived: neither a second copy nor an apology
        log.warning("Sending an answer timed out; it may have been delivered")
    if sent is not None and answer.fluent is not None and len(chunks) == 1:  # a language model rewrites it
        state.in_background(show_fluent(answer, sent, chunks[0], markup, state.fluent))
    if rate and user:
        state.write_later(state.feedback.record, answer, user.id, state.generation(), message.chat_id,
                          sent.message_id if sent and answer.answered else None)
    state.answered += 1
    state.durations.append(time.perf_counter() - start)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot knows, how to ask, example questions as buttons."""
    state = state_of(context)
    if state.examples_task is not None and not state.examples_task.done():  # just started: give them a moment
        await asyncio.wait([state.examples_task], timeout=3)
    lang = lang_of(update)
    info = state.engine.info()
    text = say("start", lang, documents=info.documents, passages=info.passages)
    group, examples = state.examples.for_language(lang)  # the button names its list: a tap reads the same one
    rows = [buttons.example_button(example_text(q, lang), group, i) for i, q in enumerate(examples[:3])]
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                              reply_markup=InlineKeyboardMarkup(rows) if rows else None)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: commands and tips."""
    await update.effective_message.reply_text(say("help", lang_of(update), username=context.bot.username or "bot"),
                                              parse_mode=ParseMode.HTML)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>, in any chat."""
    parts = (update.effective_message.text or "").split(maxsplit=1)
    question = tidy_question(parts[1]) if len(parts) > 1 else ""
    if not question:
        await update.effective_message.reply_text(say("empty", lang_of(update)), do_quote=True)
        return
    await answer_question(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question (or a comment on an answer rated 👎)."""
    if not await _comment(update, context):
        await answer_question(update, context, update.effective_message.text or "")


async def _comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A reply to the "what was wrong?" prompt after a 👎: saved as the answer's comment."""
    state, message = state_of(context), update.effective_message
    answer_id = state.comment_prompts.answered_by(message) if state.feedback else None
    if answer_id is None:
        return False
    await telegram_feedback.save_comment(message, answer_id, state.feedback, lang_of(update))
    return True


def _addressed_question(message: Message, bot_id: int, username: str) -> str | None:
    """The question in a group message that mentions the bot or replies to it; None otherwise."""
    text = message.text or ""
    mention = f"@{username}".lower()
    addressed = bool(message.reply_to_message and message.reply_to_message.from_user
                     and message.reply_to_message.from_user.id == bot_id)
    for entity, value in message.parse_entities([MessageEntityType.MENTION, MessageEntityType.TEXT_MENTION]).items():
        if (entity.type == MessageEntityType.MENTION and value.lower() == mention) or (
                entity.type == MessageEntityType.TEXT_MENTION and entity.user and entity.user.id == bot_id):
            addressed = True
            text = text.replace(value, " ")
    return text.strip() if addressed else None


async def group_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Groups: answer mentions and replies to the bot; stay quiet otherwise."""
    question = _addressed_question(update.effective_message, context.bot.id, context.bot.username or "")
    if question is not None and not await _comment(update, context):
        await answer_question(update, context, question)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like."""
    message = update.effective_message
    if message.chat.type != ChatType.PRIVATE and _addressed_question(message, context.bot.id,
                                                                     context.bot.username or "") is None:
        return
    await message.reply_text(say("not_text", lang_of(update)), do_quote=True)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    command = (message.text or "").split()[0]
    name, _, target = command.partition("@")
    if target and target.lower() != (context.bot.username or "").lower():
        return  # /cmd@otherbot: addressed to another bot in the group
    if message.chat.type != ChatType.PRIVATE and not target:
        return
    shown = name if len(name) <= 40 else name[:40] + "…"
    await message.reply_text(say("unknown", lang_of(update), command=shown), do_quote=True)


def _asked_in(message: Message | None, bot_id: int, username: str) -> str | None:
    """The question a message asked, read as the handlers read it: without the bot's mention,
    the /ask command, or the ❓ of a tapped example. None when there is no such message."""
    if message is None or not message.text:
        return None
    text = message.text.strip()
    if text.startswith(buttons.EXAMPLE_MARK):
        return text[len(buttons.EXAMPLE_MARK):].strip()
    if text.startswith("/"):
        return text.partition(" ")[2].strip()
    if message.chat.type != ChatType.PRIVATE:
        return _addressed_question(message, bot_id, username) or text
    return text


async def more_results(update: Update, context: ContextTypes.DEFAULT_TYPE, press: buttons.More) -> None:
    """The next page of passages for the question the pressed answer replied to; the pressed
    button goes."""
    state, query, lang = state_of(context), update.callback_query, lang_of(update)
    generation, offset = press.generation, press.offset
    asked = query.message.reply_to_message if query.message else None
    question = tidy_question(_asked_in(asked, context.bot.id, context.bot.username or "") or "")
    if asked is not None:  # a follow-up: as it was understood ("他们" = the people named before)
        question = state.readings.get((asked.chat_id, asked.message_id), question)
    if not question or offset is None or not generation or generation != state.generation()[:buttons.GENERATION_CHARS]:
        await query.answer(say("stale", lang), show_alert=True)
        return
    if state.over_rate_limit(query.from_user.id):
        await query.answer(say("rate", lang), show_alert=True)
        return
    hits = await asyncio.to_thread(state.engine.search, question, min(offset + buttons.PAGE + 1, buttons.MAX_RESULTS))
    page = hits[offset : offset + buttons.PAGE]
    if not page:
        await query.answer(say("no_more", lang))
        return
    await query.answer()
    try:  # one page per button: the next page brings its own
        await query.edit_message_reply_markup(buttons.answer_buttons(None, 0, lang, state.feedback is not None))
    except TelegramError as e:
        log.debug("Could not retire the More button: %s", e)
    more = buttons.more_button(generation, offset + buttons.PAGE, lang) if len(hits) > offset + buttons.PAGE < buttons.MAX_RESULTS else None
    await send_chunks(query.message, format_hits(page, script_of(question), offset), more)


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot question: the best passages as results to send."""
    state, query = state_of(context), update.inline_query
    text = tidy_question(query.query)
    if question_problem(text, state.settings.max_question_chars) or state.over_rate_limit(query.from_user.id):
        await query.answer([], cache_time=5)
        return
    hits = await asyncio.to_thread(state.engine.search, text, 5)
    script = script_of(text)
    results = [InlineQueryResultArticle(
        id=f"{hit.rank}-{hashlib.sha1(hit.passage.id.encode()).hexdigest()[:16]}",
        title=in_script(hit.passage.citation, script), description=in_script(hit.passage.text[:120], script),
        input_message_content=InputTextMessageContent(format_passage(hit, script), parse_mode=ParseMode.HTML))
        for hit in hits]
    await query.answer(results, cache_time=30)


async def new_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget the conversation, so the next question is read on its own."""
    state_of(context).conversations.clear(conversation_key(update))
    await update.effective_message.reply_text(say("new", lang_of(update)), do_quote=True)


def example_text(question: str, lang: str) -> str:
    """An example question as the user sees it: Chinese ones in the user's script."""
    return question if question.isascii() else in_script(question, "zh-Hant" if lang == "zh-Hant" else "zh-Hans")


def pick_examples(engine: Engine, settings: Settings, n: int = 3) -> Examples:
    """Example questions for /start: the configured ones (for every language), or questions
    made from the documents that the engine answers (``embeddings.examples``)."""
    if settings.example_questions:
        configured = tuple(settings.example_questions[:n])
        return Examples(configured, configured)
    return make_examples(engine.index.passages, lambda q: engine.answer(q).answered, n)


async def make_examples_later(state: BotState) -> None:
    try:
        state.examples = await asyncio.to_thread(pick_examples, state.engine, state.settings)
    except Exception:  # /start then simply has no example buttons
        log.exception("Could not pick example questions")
