"""The Telegram front end: python-telegram-bot v22 handlers over the engine.

Handlers are thin: check, parse, ``await asyncio.to_thread(engine...)``, format, reply.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import secrets
import statistics
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
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
from bot.formatting import MAX_MESSAGE, Chunk, format_answer, format_hits, format_passage
from bot.settings import Settings
from corpus.clean import script_of, to_simplified
from corpus.errors import QabotError, UnknownDocument
from corpus.library import Entry, add_document, catalog, find_entry, remove_document
from bot.render import in_script
from embeddings.answering import analyse
from embeddings.answering.extract import find_people
from embeddings.answering.followup import Conversations
from embeddings.engine import Engine, RebuildInProgress

log = logging.getLogger(__name__)

PAGE = 3
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
    data = bytes(await (await doc.get_file()).download_as_bytearray())
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


def _e(text: str) -> str:
    return html.escape(text, quote=False)


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
    if data == "reindex" or data.startswith(("docs:", "rm:")) or data == "rmx":
        await _admin_callback(update, context, data)
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
        page = int(data[5:]) if data[5:].isdigit() else 0
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
    state, message, lang = _state(context), update.effective_message, _lang(update)
    if not _is_admin(state, update):
        await message.reply_text(say("admins_reindex", lang), do_quote=True)
        return
    await run_reindex(state, message, lang)


async def run_reindex(state: BotState, message: Message, lang: str) -> None:
    """Rebuild (only what changed is read and embedded), reporting in one edited message
    that replies to ``message``; refused politely while another rebuild runs."""
    if state.reindexing or state.engine.rebuilding:
        await message.reply_text(say("reindex_busy", lang), do_quote=True)
        return
    state.reindexing = True  # set before any await: a second /reindex sees it
    try:
        progress_msg = await message.reply_text(say("reindex_start", lang), do_quote=True)
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
                asyncio.run_coroutine_threadsafe(edit(say("reindex_progress", lang, done=done, total=total)), loop)

        try:
            report = await asyncio.to_thread(state.engine.rebuild, progress)
        except RebuildInProgress:
            await edit(say("reindex_busy", lang))
            return
        except Exception as e:  # report any failure; the old index keeps serving
            log.exception("Rebuild failed")
            await edit(say("reindex_failed", lang, error=e))
            return
        state.examples = await asyncio.to_thread(pick_examples, state.engine, state.settings)
        c = report.changes
        text = say("reindex_done", lang, documents=report.documents, passages=report.passages,
                   embedded=report.embedded, cached=report.passages - report.embedded, seconds=f"{report.seconds:.1f}",
                   new=len(c.new), changed=len(c.changed), removed=len(c.removed), unchanged=len(c.unchanged),
                   pinyin=report.pinyin_removed, repaired=report.mojibake_repaired, marked=report.mojibake_marked)
        text += "".join("\n" + say("reindex_skipped", lang, problem=p) for p in report.problems)
        await edit(text[:MAX_MESSAGE])
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
    app.add_handler(CommandHandler("docs", docs))
    app.add_handler(CommandHandler("remove", remove))
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
