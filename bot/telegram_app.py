"""The Telegram front end: python-telegram-bot v22 handlers over the engine.

Handlers are thin: check, parse, ``await asyncio.to_thread(engine...)``, format, reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import logging
import secrets
import statistics
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from urllib.parse import urlparse

from cachetools import TTLCache
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
    Update,
)
from telegram.constants import ChatAction, ChatType, MessageEntityType, ParseMode
from telegram.error import BadRequest, InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.request import HTTPXRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import telegram_feedback
from bot.checks import question_problem, tidy_question
from bot.feedback import FeedbackStore, open_store
from bot.telegram_fluent import show_fluent
from bot.messages import language_of, say
from bot.formatting import MAX_MESSAGE, Chunk, format_answer, format_hits, format_passage
from bot.formatting import escape as _e
from bot.settings import Settings
from bot.transport import Progress, TolerantBot, describe_start_failure, redact_token_in_logs, with_retries
from corpus.clean import script_of
from corpus.errors import QabotError, UnknownDocument
from corpus.library import Entry, add_document, catalog, find_entry, remove_document
from bot.render import in_script
from embeddings.answering.followup import Conversations
from embeddings.engine import Engine, RebuildInProgress
from embeddings.examples import Examples, make_examples

log = logging.getLogger(__name__)

PAGE = 3
# "More results" pages through this many passages at most: a forged offset asks for no more.
MAX_RESULTS = 30
TYPING_DELAY = 0.5  # seconds an answer may take before the typing indicator is shown
DOCS_PAGE = 10
MAX_TITLE_SHOWN = 80
COMMANDS = [
    BotCommand("start", "What I know and how to ask"),
    BotCommand("help", "Commands and tips"),
    BotCommand("ask", "Ask a question: /ask <question>"),
    BotCommand("reindex", "Admins: rebuild the index from the documents"),
    BotCommand("stats", "Admins: usage and index figures"),
    BotCommand("new", "Start a new topic: forget the conversation so far"),
    BotCommand("docs", "Admins: list the documents"),
    BotCommand("remove", "Admins: remove a document: /remove <number>"),
    BotCommand("feedback", "Admins: ratings and unanswered questions"),
]
@dataclass
class BotState:
    """What the handlers share: the engine, settings, and counters."""

    settings: Settings
    engine: Engine
    examples: Examples = field(default_factory=Examples)
    started: float = field(default_factory=time.time)
    answered: int = 0
    durations: deque = field(default_factory=lambda: deque(maxlen=2000))
    # user id -> when they asked in the last minute; strangers told no in the last minute. Forgotten
    # after a quiet minute, at most 10,000 users each (the clock read through this module, for tests).
    recent: TTLCache = field(default_factory=lambda: TTLCache(maxsize=10_000, ttl=60, timer=lambda: time.monotonic()))
    refused: TTLCache = field(default_factory=lambda: TTLCache(maxsize=10_000, ttl=60, timer=lambda: time.monotonic()))
    conversations: Conversations = field(default_factory=Conversations)  # follow-ups' context, bounded
    # (chat id, question message id) -> how a follow-up was understood, for its "More results";
    # kept as long as a conversation's context, bounded. Another replica reads the question as written.
    readings: TTLCache = field(default_factory=lambda: TTLCache(maxsize=10_000, ttl=15 * 60))
    reindexing: bool = False
    examples_task: asyncio.Task | None = None
    feedback: FeedbackStore | None = None  # None: QABOT_FEEDBACK=0, or the database cannot be opened
    comment_prompts: telegram_feedback.CommentPrompts = field(default_factory=telegram_feedback.CommentPrompts)
    writes: set = field(default_factory=set)  # background work: records being written, fluent answers
    fluent: Counter = field(default_factory=Counter)  # fluent answers shown, held back, failed

    def write_later(self, fn, *args) -> None:
        """Run a database write in a thread without waiting for it: a slow or failing write
        never holds an answer up (its failure is logged)."""
        self.in_background(asyncio.to_thread(fn, *args))

    def in_background(self, work) -> None:
        """Run ``work`` (a coroutine) after the handler returns; kept until done (shutdown waits)."""
        task = asyncio.create_task(work)
        self.writes.add(task)

        def done(t: asyncio.Task) -> None:
            self.writes.discard(t)
            if not t.cancelled() and t.exception():
                log.warning("Feedback not recorded: %s", t.exception())

        task.add_done_callback(done)

    def generation(self) -> str:
        return self.engine.info().generation

    def should_refuse_aloud(self, user_id: int) -> bool:
        """Strangers are told the bot is private once a minute at most: refusals cost sends too."""
        if user_id in self.refused:
            return False
        self.refused[user_id] = True
        return True

    def over_rate_limit(self, user_id: int) -> bool:
        limit = self.settings.questions_per_minute
        if limit <= 0:
            return False
        now = time.monotonic()
        times = self.recent.get(user_id) or deque()
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= limit:
            return True
        times.append(now)
        self.recent[user_id] = times  # stored again: the minute of quiet counts from now
        return False


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


def _is_admin(state: BotState, update: Update) -> bool:
    return bool(update.effective_user) and update.effective_user.id in state.settings.admin_ids


# "More results" needs no memory of the question: it is the message the answer replies to, and
# the button carries the index generation (pages of another index would not match) and the
# offset. Any replica can serve the press, and a restart loses nothing.
GENERATION_CHARS = 12
EXAMPLE_MARK = "❓"  # a tapped example is asked as "❓ question" (so the chat shows what was asked)


def _more_data(generation: str, offset: int) -> str:
    return f"more:{generation[:GENERATION_CHARS]}:{offset}"


def _more_button(generation: str, offset: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("more", lang), callback_data=_more_data(generation, offset))]])


def _answer_buttons(generation: str | None, offset: int, lang: str, rate: bool = False) -> InlineKeyboardMarkup:
    """Under an answer: "More results" (when there are more) and "New topic"; 👍 / 👎 when
    feedback is on."""
    row = [InlineKeyboardButton(say("more", lang), callback_data=_more_data(generation, offset))] if generation else []
    row.append(InlineKeyboardButton(say("new_topic", lang), callback_data="new"))
    return InlineKeyboardMarkup([row, telegram_feedback.rating_row()] if rate else [row])


def conversation_key(update: Update) -> tuple[int, int, int]:
    """Whose conversation a message continues: the chat (and its forum thread), and in groups
    the user, so two people asking in one group each keep their own context."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    thread = (message.message_thread_id or 0) if message else 0
    in_group = bool(chat and chat.type != ChatType.PRIVATE)
    return (chat.id if chat else 0, thread, user.id if (user and in_group) else 0)


def _lang(update: Update) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None)


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
    state = _state(context)
    message = reply_to or update.effective_message
    lang = _lang(update)
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
    markup = _answer_buttons(more, min(2, len(answer.evidence)), lang, rate) if answer.answered else None
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


# --- handlers -------------------------------------------------------------------------

async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Allow-lists: updates from other users or chats stop here."""
    s = _state(context).settings
    user, chat = update.effective_user, update.effective_chat
    state = _state(context)
    if s.allowed_users and (not user or user.id not in s.allowed_users) and not _is_admin(state, update):
        if update.callback_query:  # answered, or the button spins
            await update.callback_query.answer(say("private", _lang(update)), show_alert=True)
        elif update.inline_query:
            await update.inline_query.answer([], cache_time=60, is_personal=True)
        elif (chat and chat.type == ChatType.PRIVATE and update.effective_message and user
              and state.should_refuse_aloud(user.id)):
            await update.effective_message.reply_text(say("private", _lang(update)))
        raise ApplicationHandlerStop
    if s.allowed_chats and chat and chat.type != ChatType.PRIVATE and chat.id not in s.allowed_chats:
        raise ApplicationHandlerStop


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot knows, how to ask, example questions as buttons."""
    state = _state(context)
    if state.examples_task is not None and not state.examples_task.done():  # just started: give them a moment
        await asyncio.wait([state.examples_task], timeout=3)
    lang = _lang(update)
    info = state.engine.info()
    text = say("start", lang, documents=info.documents, passages=info.passages)
    group, examples = state.examples.for_language(lang)  # the button names its list: a tap reads the same one
    buttons = [[InlineKeyboardButton(_example_text(q, lang), callback_data=f"ex:{group}:{i}")]
               for i, q in enumerate(examples[:3])]
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                              reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: commands and tips."""
    await update.effective_message.reply_text(say("help", _lang(update), username=context.bot.username or "bot"),
                                              parse_mode=ParseMode.HTML)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>, in any chat."""
    parts = (update.effective_message.text or "").split(maxsplit=1)
    question = tidy_question(parts[1]) if len(parts) > 1 else ""
    if not question:
        await update.effective_message.reply_text(say("empty", _lang(update)), do_quote=True)
        return
    await answer_question(update, context, question)


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question (or a comment on an answer rated 👎)."""
    if not await _comment(update, context):
        await answer_question(update, context, update.effective_message.text or "")


async def _comment(update: Update, context: ContextTypes.DEFAULT_TYPE) -> bool:
    """A reply to the "what was wrong?" prompt after a 👎: saved as the answer's comment."""
    state, message = _state(context), update.effective_message
    answer_id = state.comment_prompts.answered_by(message) if state.feedback else None
    if answer_id is None:
        return False
    await telegram_feedback.save_comment(message, answer_id, state.feedback, _lang(update))
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
    await message.reply_text(say("not_text", _lang(update)), do_quote=True)


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins add a document of any supported format; others get a polite note."""
    state, message, lang = _state(context), update.effective_message, _lang(update)
    if message.chat.type != ChatType.PRIVATE:
        return
    if not _is_admin(state, update):
        await message.reply_text(say("admins_docs", lang), do_quote=True)
        return
    doc = message.document
    name = doc.file_name or "document"
    limit = state.settings.max_upload_mb
    if (doc.file_size or 0) > limit * 2**20:  # refused before downloading anything
        await message.reply_text(say("too_large", lang, name=name, size=f"{doc.file_size / 2**20:.1f}", limit=limit),
                                 do_quote=True)
        return
    file = await doc.get_file()
    if (file.file_size or 0) > limit * 2**20:  # the size was not declared with the message
        await message.reply_text(say("too_large", lang, name=name, size=f"{file.file_size / 2**20:.1f}", limit=limit),
                                 do_quote=True)
        return
    data = bytes(await file.download_as_bytearray())
    try:
        added = await asyncio.to_thread(add_document, state.settings.corpus_dir, name, data,
                                        state.engine.documents(), limit * 2**20,
                                        state.engine.config.max_passage_chars)
    except QabotError as e:
        await message.reply_text(say("refused", lang, name=name, reason=str(e)), do_quote=True)
        return
    d = added.document
    parts = say("pages", lang, n=d.pages) if d.pages else say("paragraphs", lang, n=d.paragraphs)
    log.info("Admin %s added %s (%d bytes)", update.effective_user.id, d.doc_id, d.size)
    await message.reply_html(say("added", lang, title=_e(d.title), doc_id=_e(d.doc_id), parts=parts,
                                 passages=added.passages), do_quote=True, reply_markup=_reindex_button(lang))


def _reindex_button(lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("reindex_now", lang), callback_data="reindex")]])


def _catalog(state: BotState) -> list[Entry]:
    return catalog(state.settings.corpus_dir, state.engine.indexed())


def docs_page(entries: list[Entry], page: int, lang: str) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of the document list as HTML, with previous/next buttons."""
    if not entries:
        return say("docs_empty", lang), None
    pages = (len(entries) + DOCS_PAGE - 1) // DOCS_PAGE
    page = min(max(page, 0), pages - 1)
    where = say("docs_page", lang, page=page + 1, pages=pages) if pages > 1 else ""
    lines = [say("docs_header", lang, count=len(entries), page=where)]
    for e in entries[page * DOCS_PAGE : (page + 1) * DOCS_PAGE]:
        size = f"{e.size / 2**20:.1f} MB" if e.size >= 2**20 else f"{max(e.size // 1024, 1)} KB"
        facts = [f"<code>{_e(e.doc_id)}</code>", size]
        if e.passages is not None:
            facts.append(say("docs_passages", lang, n=e.passages))
        if e.added:
            facts.append(time.strftime("%Y-%m-%d", time.localtime(e.added)))
        if e.state != "indexed":
            facts.append(f"<i>{say('state_' + e.state, lang)}</i>")
        lines.append(f"{e.number}. <b>{_e(e.title[:MAX_TITLE_SHOWN])}</b> — {', '.join(facts)}")
    lines.append(say("docs_footer", lang))
    row = []
    if page > 0:
        row.append(InlineKeyboardButton(say("previous", lang), callback_data=f"docs:{page - 1}"))
    if page < pages - 1:
        row.append(InlineKeyboardButton(say("next", lang), callback_data=f"docs:{page + 1}"))
    return "\n".join(lines), InlineKeyboardMarkup([row]) if row else None


async def docs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/docs (admins): the documents with title, size, passages and date, a page at a time."""
    state, message, lang = _state(context), update.effective_message, _lang(update)
    if not _is_admin(state, update):
        await message.reply_text(say("admins_only", lang), do_quote=True)
        return
    text, markup = docs_page(await asyncio.to_thread(_catalog, state), 0, lang)
    await message.reply_html(text, do_quote=True, reply_markup=markup)


def _doc_key(doc_id: str) -> str:
    """A short stand-in for a document id in callback data (64 bytes at most)."""
    return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:16]


async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove N|ID (admins): asks for confirmation with a button before moving the file out."""
    state, message, lang = _state(context), update.effective_message, _lang(update)
    if not _is_admin(state, update):
        await message.reply_text(say("admins_only", lang), do_quote=True)
        return
    ref = " ".join(context.args or []).strip()
    if not ref:
        await message.reply_text(say("remove_usage", lang), do_quote=True)
        return
    try:
        entry = find_entry(await asyncio.to_thread(_catalog, state), ref)
    except UnknownDocument:
        await message.reply_text(say("remove_unknown", lang, ref=ref[:100]), do_quote=True)
        return
    key = _doc_key(entry.doc_id)
    markup = InlineKeyboardMarkup([[InlineKeyboardButton(say("remove_yes", lang), callback_data=f"rm:{key}"),
                                    InlineKeyboardButton(say("cancel", lang), callback_data="rmx")]])
    await message.reply_html(say("remove_confirm", lang, title=_e(entry.title), doc_id=_e(entry.doc_id)),
                             do_quote=True, reply_markup=markup)


async def _confirm_remove(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
    state, query, lang = _state(context), update.callback_query, _lang(update)
    entries = await asyncio.to_thread(_catalog, state)
    entry = next((e for e in entries if _doc_key(e.doc_id) == key and e.state != "removed"), None)
    if entry is None:
        await query.answer(say("gone", lang), show_alert=True)
        return
    try:
        await asyncio.to_thread(remove_document, state.settings.corpus_dir, entry.doc_id, state.settings.trash_dir)
    except UnknownDocument:
        await query.answer(say("gone", lang), show_alert=True)
        return
    log.info("Admin %s removed %s", update.effective_user.id, entry.doc_id)
    await query.answer()
    await query.edit_message_text(say("removed", lang, title=_e(entry.title)), parse_mode=ParseMode.HTML,
                                  reply_markup=_reindex_button(lang))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    command = (message.text or "").split()[0]
    name, _, target = command.partition("@")
    if target and target.lower() != (context.bot.username or "").lower():
        return  # /cmd@otherbot: addressed to another bot in the group
    if message.chat.type != ChatType.PRIVATE and not target:
        return
    shown = name if len(name) <= 40 else name[:40] + "…"
    await message.reply_text(say("unknown", _lang(update), command=shown), do_quote=True)


def _number(text: str, below: int) -> int | None:
    """A button's number: ASCII digits only ("²".isdigit() is true, int("²") raises) and below
    ``below``; None for anything else (a forged or stale press)."""
    if not re.fullmatch(r"[0-9]{1,6}", text):
        return None
    n = int(text)
    return n if n < below else None


async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Example-question buttons, “more results”, “new topic” and the admins' buttons. Every
    press is answered (a press left unanswered spins on the user's screen), whatever its data."""
    state, query, lang = _state(context), update.callback_query, _lang(update)
    data = (query.data or "")[:64]
    kind, _, rest = data.partition(":")
    group, _, number = rest.partition(":")
    examples = state.examples.group(group)
    example = _number(number, len(examples)) if kind == "ex" else None
    if example is not None:
        await query.answer()
        question = _example_text(examples[example], lang)
        # the answer quotes the question, not the /start message the button sits under
        asked = await with_retries(lambda: query.message.reply_text(f"{EXAMPLE_MARK} {question}"), "sendMessage")
        await answer_question(update, context, question, reply_to=asked)
    elif data == "new":
        state.conversations.clear(conversation_key(update))
        await query.answer(say("new", lang))
    elif data in ("reindex", "rmx") or kind in ("docs", "rm"):
        await _admin_callback(update, context, data)
    elif kind == "more":
        await _more_results(update, context, rest)
    elif data in (telegram_feedback.UP, telegram_feedback.DOWN) and state.feedback:
        await telegram_feedback.rate(query, state.feedback, state.comment_prompts, lang)
    elif data.startswith(telegram_feedback.PAGE_PREFIX):
        await _feedback_page(update, context, data)
    else:
        await query.answer()


def _asked_in(message: Message | None, bot_id: int, username: str) -> str | None:
    """The question a message asked, read as the handlers read it: without the bot's mention,
    the /ask command, or the ❓ of a tapped example. None when there is no such message."""
    if message is None or not message.text:
        return None
    text = message.text.strip()
    if text.startswith(EXAMPLE_MARK):
        return text[len(EXAMPLE_MARK):].strip()
    if text.startswith("/"):
        return text.partition(" ")[2].strip()
    if message.chat.type != ChatType.PRIVATE:
        return _addressed_question(message, bot_id, username) or text
    return text


async def _more_results(update: Update, context: ContextTypes.DEFAULT_TYPE, rest: str) -> None:
    """The next page of passages for the question the pressed answer replied to; the pressed
    button goes."""
    state, query, lang = _state(context), update.callback_query, _lang(update)
    generation, _, offset_s = rest.partition(":")
    asked = query.message.reply_to_message if query.message else None
    question = tidy_question(_asked_in(asked, context.bot.id, context.bot.username or "") or "")
    if asked is not None:  # a follow-up: as it was understood ("他们" = the people named before)
        question = state.readings.get((asked.chat_id, asked.message_id), question)
    offset = _number(offset_s, MAX_RESULTS)
    if not question or offset is None or not generation or generation != state.generation()[:GENERATION_CHARS]:
        await query.answer(say("stale", lang), show_alert=True)
        return
    if state.over_rate_limit(query.from_user.id):
        await query.answer(say("rate", lang), show_alert=True)
        return
    hits = await asyncio.to_thread(state.engine.search, question, min(offset + PAGE + 1, MAX_RESULTS))
    page = hits[offset : offset + PAGE]
    if not page:
        await query.answer(say("no_more", lang))
        return
    await query.answer()
    try:  # one page per button: the next page brings its own
        await query.edit_message_reply_markup(_answer_buttons(None, 0, lang, state.feedback is not None))
    except TelegramError as e:
        log.debug("Could not retire the More button: %s", e)
    more = _more_button(generation, offset + PAGE, lang) if len(hits) > offset + PAGE < MAX_RESULTS else None
    await send_chunks(query.message, format_hits(page, script_of(question), offset), more)


async def _admin_callback(update: Update, context: ContextTypes.DEFAULT_TYPE, data: str) -> None:
    """The buttons of /docs, /remove and uploads; admins only."""
    state, query, lang = _state(context), update.callback_query, _lang(update)
    if not _is_admin(state, update):
        await query.answer(say("admins_only", lang), show_alert=True)
        return
    if data == "reindex":
        await query.answer()
        try:  # the button has done its job; a failure to remove it is cosmetic
            await query.edit_message_reply_markup(None)
        except TelegramError as e:
            log.debug("Could not remove the reindex button: %s", e)
        await run_reindex(state, query.message, lang)
    elif data.startswith("docs:"):
        await query.answer()
        page = _number(data[5:], 10_000) or 0
        text, markup = docs_page(await asyncio.to_thread(_catalog, state), page, lang)
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    elif data.startswith("rm:"):
        await _confirm_remove(update, context, data[3:])
    else:
        await query.answer()
        await query.edit_message_text(say("cancelled", lang))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot question: the best passages as results to send."""
    state, query = _state(context), update.inline_query
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


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild off the event loop, edit one progress message, swap atomically."""
    state, message, lang = _state(context), update.effective_message, _lang(update)
    if not _is_admin(state, update):
        await message.reply_text(say("admins_reindex", lang), do_quote=True)
        return
    await run_reindex(state, message, lang)


def _progress_text(lang: str):
    """Renders "done/total passages", with the time left once it can be estimated (from the
    passages embedded since the first report: the cached ones come at once)."""
    first: list[tuple[float, int]] = []

    def render(done: int, total: int) -> str:
        now = time.monotonic()
        if not first:
            first.append((now, done))
        text = say("reindex_progress", lang, done=done, total=total)
        start, start_done = first[0]
        if done > start_done and done < total and now - start >= 2:
            left = (now - start) / (done - start_done) * (total - done)
            text += say("eta", lang, seconds=max(1, round(left)))
        return text

    return render


async def run_reindex(state: BotState, message: Message, lang: str) -> None:
    """Rebuild (only what changed is read and embedded), reporting in one edited message
    that replies to ``message``; refused politely while another rebuild runs."""
    if state.reindexing or state.engine.rebuilding:
        await message.reply_text(say("reindex_busy", lang), do_quote=True)
        return
    state.reindexing = True  # set before any await: a second /reindex sees it
    try:
        progress_msg = await with_retries(lambda: message.reply_text(say("reindex_start", lang), do_quote=True),
                                          "sendMessage")

        async def edit(text: str) -> None:
            try:
                await with_retries(lambda: progress_msg.edit_text(text), "editMessageText")
            except TelegramError as e:  # "message is not modified" and friends are harmless
                log.debug("Progress edit skipped: %s", e)

        with Progress(edit, _progress_text(lang)) as progress:
            try:
                report = await asyncio.to_thread(state.engine.rebuild, progress.update)
            except RebuildInProgress:
                await progress.finish(say("reindex_busy", lang))
                return
            except Exception as e:  # report any failure; the old index keeps serving
                log.exception("Rebuild failed")
                await progress.finish(say("reindex_failed", lang, error=e))
                return
            try:
                state.examples = await asyncio.to_thread(pick_examples, state.engine, state.settings)
            except Exception:  # the rebuild succeeded: say so even if the examples could not be made
                log.exception("Could not pick example questions after the rebuild")
            c = report.changes
            text = say("reindex_done", lang, documents=report.documents, passages=report.passages,
                       embedded=report.embedded, cached=report.passages - report.embedded,
                       seconds=f"{report.seconds:.1f}", new=len(c.new), changed=len(c.changed), removed=len(c.removed),
                       unchanged=len(c.unchanged), pinyin=report.pinyin_removed, repaired=report.mojibake_repaired,
                       marked=report.mojibake_marked)
            text += "".join("\n" + say("reindex_skipped", lang, problem=p) for p in report.problems)
            await progress.finish(text[:MAX_MESSAGE])
    finally:
        state.reindexing = False


async def new_topic(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/new: forget the conversation, so the next question is read on its own."""
    _state(context).conversations.clear(conversation_key(update))
    await update.effective_message.reply_text(say("new", _lang(update)), do_quote=True)


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins)."""
    state, message = _state(context), update.effective_message
    if not _is_admin(state, update):
        await message.reply_text(say("admins_stats", _lang(update)), do_quote=True)
        return
    info = state.engine.info()
    median = f"{statistics.median(state.durations) * 1000:.0f} ms" if state.durations else "–"
    text = say("stats", _lang(update), documents=info.documents, passages=info.passages, model=info.model,
               index=f"{info.index_type} ({info.store})", built=info.built_at, answered=state.answered, median=median)
    if state.settings.llm_url:
        text += "\n" + say("stats_fluent", _lang(update), model=state.settings.llm_model, shown=state.fluent["shown"],
                           held_back=state.fluent["held_back"], failed=state.fluent["failed"])
    await message.reply_text(text, do_quote=True)


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feedback (admins): ratings per day, the worst-rated answers, what went unanswered."""
    state, message, lang = _state(context), update.effective_message, _lang(update)
    if not _is_admin(state, update):
        await message.reply_text(say("admins_feedback", lang), do_quote=True)
    elif state.feedback is None:
        await message.reply_text(say("feedback_off", lang), do_quote=True)
    else:
        await telegram_feedback.show_report(
            state.feedback, lang, 0, lambda text, **kw: message.reply_text(text, do_quote=True, **kw))


async def _feedback_page(update: Update, context: ContextTypes.DEFAULT_TYPE, data: str) -> None:
    state, query, lang = _state(context), update.callback_query, _lang(update)
    page = _number(data[len(telegram_feedback.PAGE_PREFIX):], 10_000)
    if not _is_admin(state, update) or state.feedback is None or page is None:
        await query.answer(say("admins_only", lang), show_alert=True)
        return
    await query.answer()
    await telegram_feedback.show_report(state.feedback, lang, page, query.edit_message_text)


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unexpected exception with its update id; apologise to the user."""
    update_id = getattr(update, "update_id", None)
    if isinstance(context.error, NetworkError) and update is None:
        # polling hiccups: python-telegram-bot retries by itself
        log.warning("Network problem talking to the Bot API: %s", context.error)
        return
    log.error("Error while handling update %s", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(say("sorry", _lang(update)))
        except TelegramError:
            log.warning("Could not send the apology for update %s", update_id)


# --- wiring -----------------------------------------------------------------------------

def _example_text(question: str, lang: str) -> str:
    """An example question as the user sees it: Chinese ones in the user's script."""
    return question if question.isascii() else in_script(question, "zh-Hant" if lang == "zh-Hant" else "zh-Hans")


def pick_examples(engine: Engine, settings: Settings, n: int = 3) -> Examples:
    """Example questions for /start: the configured ones (for every language), or questions
    made from the documents that the engine answers (``embeddings.examples``)."""
    if settings.example_questions:
        configured = tuple(settings.example_questions[:n])
        return Examples(configured, configured)
    return make_examples(engine.index.passages, lambda q: engine.answer(q).answered, n)


async def _post_init(application: Application) -> None:
    state: BotState = application.bot_data["state"]
    await application.bot.set_my_commands(COMMANDS)
    if not (state.examples.zh or state.examples.en):  # made in the background: answering starts at once
        state.examples_task = asyncio.create_task(_make_examples(state))


async def _post_shutdown(application: Application) -> None:
    """Records still being written are finished, then the feedback database closed."""
    state: BotState = application.bot_data["state"]
    if state.writes:
        await asyncio.wait(list(state.writes), timeout=5)
    if state.feedback is not None:
        state.feedback.close()


async def _make_examples(state: BotState) -> None:
    try:
        state.examples = await asyncio.to_thread(pick_examples, state.engine, state.settings)
    except Exception:  # /start then simply has no example buttons
        log.exception("Could not pick example questions")


FLOOD_RETRIES = 3


def _rate_limiter(throttle: bool) -> AIORateLimiter:
    """PTB's limiter: Telegram's send rates when ``throttle``, and in every case the one place
    that waits out flood control (RetryAfter) and sends again, at most ``FLOOD_RETRIES`` times.
    ``with_retries`` retries only dropped connections and 5xx, so one message costs at most
    four sends under flood control, not four times four."""
    if throttle:
        return AIORateLimiter(max_retries=FLOOD_RETRIES)
    return AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=FLOOD_RETRIES)


def build_application(settings: Settings, engine: Engine, request=None) -> Application:
    """Register the handlers and return the Application without running it."""
    bot = TolerantBot(settings.token, base_url=settings.bot_api_url, base_file_url=settings.bot_file_url,
                      request=request or HTTPXRequest(connection_pool_size=256),
                      get_updates_request=request or HTTPXRequest(),
                      rate_limiter=_rate_limiter(settings.outgoing_rate_limit))
    builder = Application.builder().bot(bot).concurrent_updates(True).post_init(_post_init).post_shutdown(_post_shutdown)
    app = builder.build()
    bot.set_backlog(lambda: app.update_queue.qsize() + app.update_processor.current_concurrent_updates)
    app.bot_data["state"] = BotState(settings, engine,
                                     feedback=open_store(settings.data_dir, settings.feedback_days)
                                     if settings.feedback else None)

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, gate), group=-1)
    new = filters.UpdateType.MESSAGE  # an edited message is not asked again
    for name, handler in (("start", start), ("help", help_command), ("ask", ask), ("reindex", reindex),
                          ("stats", stats), ("new", new_topic), ("docs", docs), ("remove", remove),
                          ("feedback", feedback)):
        app.add_handler(CommandHandler(name, handler, filters=new))
    app.add_handler(MessageHandler(filters.COMMAND & new, unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & private & new, private_text))
    app.add_handler(MessageHandler(filters.TEXT & groups & new, group_text))
    app.add_handler(MessageHandler(filters.Document.ALL & new, document))
    app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL & ~filters.Document.ALL & new, not_text))
    app.add_handler(CallbackQueryHandler(callback))
    app.add_handler(InlineQueryHandler(inline_query))
    app.add_error_handler(error_handler)
    return app


class BotStartError(QabotError):
    """The bot could not start for a reason the user can fix (token, Bot API address, network)."""


START_ATTEMPTS = 5


def run_bot(settings: Settings, engine: Engine, webhook_url: str | None = None, port: int = 8443,
            listen: str = "0.0.0.0") -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or PTB's webhook server. A network
    failure at start is retried with growing pauses; a rejected token is one sentence."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs carry the token
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    redact_token_in_logs(settings.token, secret)  # PTB's debug lines and errors may carry both
    delay = 2.0
    for attempt in range(1, START_ATTEMPTS + 1):
        asyncio.set_event_loop(asyncio.new_event_loop())  # a failed start closes its loop
        app = build_application(settings, engine)
        log.info("Starting the bot (%s) with %d passages", "webhook" if webhook_url else "polling", engine.index.size)
        try:
            if webhook_url:
                path = urlparse(webhook_url).path.strip("/")
                app.run_webhook(listen=listen, port=port, url_path=path, webhook_url=webhook_url,
                                secret_token=secret, allowed_updates=Update.ALL_TYPES)
            else:
                app.run_polling(allowed_updates=Update.ALL_TYPES)
            break
        except (InvalidToken, NetworkError) as e:
            reason = describe_start_failure(e, settings.token)
            if isinstance(e, InvalidToken) or attempt == START_ATTEMPTS:
                raise BotStartError(reason) from None  # no traceback: it would carry the URL
            log.warning("Could not start (%s); trying again in %.0f s", reason, delay)
            time.sleep(delay)
            delay *= 2
    log.info("Bot stopped")
    return 0
