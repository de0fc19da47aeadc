"""The Telegram front end: python-telegram-bot v22 handlers over the engine.

Handlers are thin: check, parse, ``await asyncio.to_thread(engine...)``, format, reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import statistics
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

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
from telegram.error import BadRequest, NetworkError, TelegramError
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

from bot.messages import language_of, say
from bot.formatting import Chunk, format_answer, format_hits, format_passage
from bot.settings import Settings
from corpus.clean import script_of, to_simplified
from corpus.reader import SUFFIXES, UnreadableDocument, decode
from bot.render import in_script
from embeddings.answering import analyse
from embeddings.answering.extract import find_people
from embeddings.answering.followup import Conversations
from embeddings.engine import Engine, RebuildInProgress

log = logging.getLogger(__name__)

PAGE = 3
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
COMMANDS = [
    BotCommand("start", "What I know and how to ask"),
    BotCommand("help", "Commands and tips"),
    BotCommand("ask", "Ask a question: /ask <question>"),
    BotCommand("reindex", "Admins: rebuild the index from the documents"),
    BotCommand("stats", "Admins: usage and index figures"),
    BotCommand("new", "Start a new topic: forget the conversation so far"),
]
@dataclass
class BotState:
    """What the handlers share: the engine, settings, and counters."""

    settings: Settings
    engine: Engine
    examples: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    answered: int = 0
    durations: deque = field(default_factory=lambda: deque(maxlen=2000))
    recent: dict[int, deque] = field(default_factory=dict)
    queries: OrderedDict = field(default_factory=OrderedDict)  # query id -> (question, script, generation)
    conversations: Conversations = field(default_factory=Conversations)  # follow-ups' context, bounded
    reindexing: bool = False

    def generation(self) -> str:
        m = self.engine.index.manifest
        return f"{m.get('built_at')}|{m.get('corpus_fingerprint')}"

    def remember(self, question: str, script: str) -> str:
        qid = secrets.token_hex(4)
        self.queries[qid] = (question, script, self.generation())
        while len(self.queries) > 5000:
            self.queries.popitem(last=False)
        return qid

    def over_rate_limit(self, user_id: int) -> bool:
        limit = self.settings.questions_per_minute
        if limit <= 0:
            return False
        now = time.monotonic()
        times = self.recent.setdefault(user_id, deque())
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= limit:
            return True
        times.append(now)
        return False


def _state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


def _is_admin(state: BotState, update: Update) -> bool:
    return bool(update.effective_user) and update.effective_user.id in state.settings.admin_ids


def _more_button(qid: str, offset: int, lang: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[InlineKeyboardButton(say("more", lang), callback_data=f"more:{qid}:{offset}")]])


def _answer_buttons(qid: str | None, offset: int, lang: str) -> InlineKeyboardMarkup:
    """Under an answer: "More results" (when there are more) and "New topic"."""
    row = [InlineKeyboardButton(say("more", lang), callback_data=f"more:{qid}:{offset}")] if qid else []
    row.append(InlineKeyboardButton(say("new_topic", lang), callback_data="new"))
    return InlineKeyboardMarkup([row])


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
            sent = await message.reply_text(chunk.html, parse_mode=ParseMode.HTML, reply_markup=kb,
                                            do_quote=True, disable_web_page_preview=True)
        except BadRequest as e:
            if "parse entities" not in str(e).lower() and "can't parse" not in str(e).lower():
                raise
            log.warning("Telegram rejected the formatting (%s); sending plain text", e)
            sent = await message.reply_text(chunk.plain, reply_markup=kb, do_quote=True)
    return sent


async def answer_question(update: Update, context: ContextTypes.DEFAULT_TYPE, question: str,
                          reply_to: Message | None = None) -> None:
    """The whole path of a question: checks, search off the event loop, formatted reply."""
    state = _state(context)
    message = reply_to or update.effective_message
    lang = _lang(update)
    question = question.strip()
    if not question:
        await message.reply_text(say("empty", lang), do_quote=True)
        return
    if len(question) > state.settings.max_question_chars:
        await message.reply_text(say("too_long", lang, length=len(question), limit=state.settings.max_question_chars),
                                 do_quote=True)
        return
    user = update.effective_user
    if user and state.over_rate_limit(user.id):
        await message.reply_text(say("rate", lang), do_quote=True)
        return
    start = time.perf_counter()
    await context.bot.send_chat_action(message.chat_id, ChatAction.TYPING)
    conversation = state.conversations.get(conversation_key(update))
    answer = await asyncio.to_thread(state.engine.answer, question, state.settings.top_k, conversation)
    qid = None
    if answer.answered and len(answer.hits) > len(answer.evidence[:2]):
        qid = state.remember(question, answer.script)
    markup = _answer_buttons(qid, min(2, len(answer.evidence)), lang) if answer.answered else None
    await send_chunks(message, format_answer(answer), markup)
    state.answered += 1
    state.durations.append(time.perf_counter() - start)


# --- handlers -------------------------------------------------------------------------

async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Allow-lists: updates from other users or chats stop here."""
    s = _state(context).settings
    user, chat = update.effective_user, update.effective_chat
    if s.allowed_users and (not user or user.id not in s.allowed_users) and not _is_admin(_state(context), update):
        if chat and chat.type == ChatType.PRIVATE and update.effective_message:
            await update.effective_message.reply_text(say("private", _lang(update)))
        raise ApplicationHandlerStop
    if s.allowed_chats and chat and chat.type != ChatType.PRIVATE and chat.id not in s.allowed_chats:
        raise ApplicationHandlerStop


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: what the bot knows, how to ask, example questions as buttons."""
    state = _state(context)
    m = state.engine.index.manifest
    text = say("start", _lang(update), documents=m.get("documents", 0), passages=m.get("passages", 0))
    buttons = [[InlineKeyboardButton(q, callback_data=f"ex:{i}")] for i, q in enumerate(state.examples[:3])]
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML,
                                              reply_markup=InlineKeyboardMarkup(buttons) if buttons else None)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: commands and tips."""
    await update.effective_message.reply_text(say("help", _lang(update), username=context.bot.username or "bot"),
                                              parse_mode=ParseMode.HTML)


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ask <question>, in any chat."""
    parts = (update.effective_message.text or "").split(maxsplit=1)
    await answer_question(update, context, parts[1] if len(parts) > 1 else "")


async def private_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    await answer_question(update, context, update.effective_message.text or "")


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
    if question is not None:
        await answer_question(update, context, question)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like."""
    message = update.effective_message
    if message.chat.type != ChatType.PRIVATE and _addressed_question(message, context.bot.id,
                                                                     context.bot.username or "") is None:
        return
    await message.reply_text(say("not_text", _lang(update)), do_quote=True)


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins add a .txt/.md document to the corpus; others get a polite note."""
    state, message = _state(context), update.effective_message
    if message.chat.type != ChatType.PRIVATE:
        return
    if not _is_admin(state, update):
        await message.reply_text(say("admins_docs", _lang(update)), do_quote=True)
        return
    doc = message.document
    name = Path(doc.file_name or "").name
    if Path(name).suffix.lower() not in SUFFIXES:
        await message.reply_text(f"I can add .txt and .md files only, not {name or 'this file'}.", do_quote=True)
        return
    if (doc.file_size or 0) > MAX_UPLOAD_BYTES:
        await message.reply_text("That file is too large (over 5 MiB).", do_quote=True)
        return
    data = bytes(await (await doc.get_file()).download_as_bytearray())
    try:
        text, encoding = await asyncio.to_thread(decode, data)
    except UnreadableDocument as e:
        await message.reply_text(f"I could not read {name}: {e}. Nothing was added.", do_quote=True)
        return
    target = Path(state.settings.corpus_dir) / name
    existed = target.exists()
    await asyncio.to_thread(target.write_bytes, data)
    await message.reply_text(f"{'Replaced' if existed else 'Added'} {name} ({len(text)} characters, {encoding}). "
                             "Send /reindex to make it searchable.", do_quote=True)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    command = (message.text or "").split()[0]
    if message.chat.type != ChatType.PRIVATE and "@" not in command:
        return
    await message.reply_text(say("unknown", _lang(update), command=command), do_quote=True)


async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Example-question buttons and the “more results” button."""
    state, query = _state(context), update.callback_query
    data = query.data or ""
    if data.startswith("ex:"):
        await query.answer()
        try:
            question = state.examples[int(data[3:])]
        except (ValueError, IndexError):
            return
        await answer_question(update, context, question, reply_to=query.message)
        return
    if data == "new":
        state.conversations.clear(conversation_key(update))
        await query.answer(say("new", _lang(update)))
        return
    if data.startswith("more:"):
        _, qid, offset_s = data.split(":", 2)
        entry = state.queries.get(qid)
        if entry is None or entry[2] != state.generation():
            await query.answer(say("stale", _lang(update)), show_alert=True)
            return
        question, script, _ = entry
        offset = int(offset_s)
        hits = await asyncio.to_thread(state.engine.search, question, offset + PAGE + 1)
        page = hits[offset : offset + PAGE]
        if not page:
            await query.answer(say("no_more", _lang(update)))
            return
        await query.answer()
        more = _more_button(qid, offset + PAGE, _lang(update)) if len(hits) > offset + PAGE else None
        await send_chunks(query.message, format_hits(page, script, offset), more)
        return
    await query.answer()


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot question: the best passages as results to send."""
    state, query = _state(context), update.inline_query
    text = query.query.strip()
    if not text or len(text) > state.settings.max_question_chars:
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
    state, message = _state(context), update.effective_message
    if not _is_admin(state, update):
        await message.reply_text(say("admins_reindex", _lang(update)), do_quote=True)
        return
    if state.reindexing or state.engine.rebuilding:
        await message.reply_text("A rebuild is already running; I'll keep answering from the current index.",
                                 do_quote=True)
        return
    state.reindexing = True  # set before any await: a second /reindex sees it
    try:
        progress_msg = await message.reply_text("🔄 Rebuilding the index…", do_quote=True)
        loop = asyncio.get_running_loop()
        last = [0.0]

        async def edit(text: str) -> None:
            try:
                await progress_msg.edit_text(text)
            except TelegramError as e:  # "message is not modified" and friends are harmless
                log.debug("Progress edit skipped: %s", e)

        def progress(done: int, total: int) -> None:
            now = time.monotonic()
            if now - last[0] >= 1.0 or done >= total:
                last[0] = now
                asyncio.run_coroutine_threadsafe(edit(f"🔄 Rebuilding the index… {done}/{total} passages"), loop)

        try:
            report = await asyncio.to_thread(state.engine.rebuild, progress)
        except RebuildInProgress:
            await edit("A rebuild is already running; I'll keep answering from the current index.")
            return
        except Exception as e:  # report any failure; the old index keeps serving
            log.exception("Rebuild failed")
            await edit(f"❌ Rebuild failed: {e}. The previous index is still serving.")
            return
        state.examples = await asyncio.to_thread(pick_examples, state.engine, state.settings)
        skipped = "".join(f"\nSkipped {p}" for p in report.problems)
        await edit(f"✅ Index rebuilt: {report.documents} document(s), {report.passages} passages "
                   f"({report.embedded} embedded, {report.passages - report.embedded} cached) in {report.seconds:.1f}s."
                   f"\nCleaning: {report.pinyin_removed} pinyin annotations removed, {report.mojibake_repaired} "
                   f"mojibake spans repaired, {report.mojibake_marked} marked.{skipped}")
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
    m = state.engine.index.manifest
    median = f"{statistics.median(state.durations) * 1000:.0f} ms" if state.durations else "–"
    await message.reply_text(
        f"Documents: {m.get('documents')}\nPassages: {m.get('passages')}\nModel: {m.get('model')}\n"
        f"Index: {m.get('index_type')}, built {m.get('built_at')}\n"
        f"Questions answered since start: {state.answered}\nMedian answer time: {median}", do_quote=True)


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

def pick_examples(engine: Engine, settings: Settings, n: int = 3) -> list[str]:
    """Example questions for /start: the configured ones, or questions made from the
    documents (a person named, a section title) that the engine verifiably answers, one of
    each kind where possible."""
    if settings.example_questions:
        return list(settings.example_questions[:n])
    candidates = []
    for p in engine.index.passages:
        for _, name in find_people(to_simplified(p.text))[:1]:
            candidates.append(f"{name}是谁？")
        section = to_simplified(p.section)
        if section:
            speech = section.endswith(("强调", "要求", "指出", "表示"))
            candidates.append(f"{section}了什么？" if speech else f"{section}有哪些情况？")
    candidates.append("What was emphasized?")
    chosen: list[str] = []
    kinds: set[str] = set()
    for q in dict.fromkeys(candidates):
        if len(chosen) >= n:
            break
        kind = analyse(q).type
        if kind not in kinds and engine.answer(q).answered:
            chosen.append(q)
            kinds.add(kind)
    return chosen


async def _post_init(application: Application) -> None:
    state: BotState = application.bot_data["state"]
    await application.bot.set_my_commands(COMMANDS)
    if not state.examples:
        state.examples = await asyncio.to_thread(pick_examples, state.engine, state.settings)


def build_application(settings: Settings, engine: Engine, request=None) -> Application:
    """Register the handlers and return the Application without running it."""
    builder = (Application.builder().token(settings.token).concurrent_updates(True).post_init(_post_init)
               .base_url(settings.bot_api_url).base_file_url(settings.bot_file_url))
    if settings.outgoing_rate_limit:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    app = builder.build()
    app.bot_data["state"] = BotState(settings, engine)

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    app.add_handler(TypeHandler(Update, gate), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("ask", ask))
    app.add_handler(CommandHandler("reindex", reindex))
    app.add_handler(CommandHandler("stats", stats))
    app.add_handler(CommandHandler("new", new_topic))
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command))
    app.add_handler(MessageHandler(filters.TEXT & private, private_text))
    app.add_handler(MessageHandler(filters.TEXT & groups, group_text))
    app.add_handler(MessageHandler(filters.Document.ALL, document))
    app.add_handler(MessageHandler(~filters.TEXT & ~filters.StatusUpdate.ALL & ~filters.Document.ALL, not_text))
    app.add_handler(CallbackQueryHandler(callback))
    app.add_handler(InlineQueryHandler(inline_query))
    app.add_error_handler(error_handler)
    return app


def run_bot(settings: Settings, engine: Engine, webhook_url: str | None = None, port: int = 8443,
            listen: str = "0.0.0.0") -> int:
    """Run the bot until SIGINT/SIGTERM: long polling, or PTB's webhook server."""
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs carry the token
    app = build_application(settings, engine)
    log.info("Starting the bot (%s) with %d passages", "webhook" if webhook_url else "polling", engine.index.size)
    if webhook_url:
        secret = settings.webhook_secret or secrets.token_urlsafe(32)
        path = urlparse(webhook_url).path.strip("/")
        app.run_webhook(listen=listen, port=port, url_path=path, webhook_url=webhook_url,
                        secret_token=secret, allowed_updates=Update.ALL_TYPES)
    else:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    log.info("Bot stopped")
    return 0
