"""What admins do from the chat: add documents (upload), list and remove them (/docs, /remove),
rebuild the index (/reindex, with one edited progress message), read figures (/stats, /feedback)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import statistics
import time

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.formatting import MAX_MESSAGE
from bot.formatting import escape as _e
from bot.messages import say
from bot.telegram import buttons
from bot.telegram import feedback as telegram_feedback
from bot.telegram.questions import pick_examples
from bot.telegram.state import BotState, is_admin, lang_of, state_of
from bot.transport import Progress, with_retries
from corpus.errors import QabotError, UnknownDocument
from corpus.library import Entry, add_document, catalog, find_entry, remove_document
from embeddings.generations import RebuildInProgress

log = logging.getLogger(__name__)


DOCS_PAGE = 10


MAX_TITLE_SHOWN = 80


async def document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Admins add a document of any supported format; others get a polite note."""
    state, message, lang = state_of(context), update.effective_message, lang_of(update)
    if message.chat.type != ChatType.PRIVATE:
        return
    if not is_admin(state, update):
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
                                 passages=added.passages), do_quote=True, reply_markup=buttons.reindex_button(lang))


def catalog_of(state: BotState) -> list[Entry]:
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
    return "\n".join(lines), buttons.page_buttons("docs", page, page < pages - 1, lang)


async def docs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/docs (admins): the documents with title, size, passages and date, a page at a time."""
    state, message, lang = state_of(context), update.effective_message, lang_of(update)
    if not is_admin(state, update):
        await message.reply_text(say("admins_only", lang), do_quote=True)
        return
    text, markup = docs_page(await asyncio.to_thread(catalog_of, state), 0, lang)
    await message.reply_html(text, do_quote=True, reply_markup=markup)


def _doc_key(doc_id: str) -> str:
    """A short stand-in for a document id in callback data (64 bytes at most)."""
    return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[:16]


async def remove(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/remove N|ID (admins): asks for confirmation with a button before moving the file out."""
    state, message, lang = state_of(context), update.effective_message, lang_of(update)
    if not is_admin(state, update):
        await message.reply_text(say("admins_only", lang), do_quote=True)
        return
    ref = " ".join(context.args or []).strip()
    if not ref:
        await message.reply_text(say("remove_usage", lang), do_quote=True)
        return
    try:
        entry = find_entry(await asyncio.to_thread(catalog_of, state), ref)
    except UnknownDocument:
        await message.reply_text(say("remove_unknown", lang, ref=ref[:100]), do_quote=True)
        return
    key = _doc_key(entry.doc_id)
    markup = buttons.remove_buttons(key, lang)
    await message.reply_html(say("remove_confirm", lang, title=_e(entry.title), doc_id=_e(entry.doc_id)),
                             do_quote=True, reply_markup=markup)


async def _confirm_remove(update: Update, context: ContextTypes.DEFAULT_TYPE, key: str) -> None:
    state, query, lang = state_of(context), update.callback_query, lang_of(update)
    entries = await asyncio.to_thread(catalog_of, state)
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
                                  reply_markup=buttons.reindex_button(lang))


async def admin_press(update: Update, context: ContextTypes.DEFAULT_TYPE, press: buttons.Press) -> None:
    """The buttons of /docs, /remove and uploads; admins only."""
    state, query, lang = state_of(context), update.callback_query, lang_of(update)
    if not is_admin(state, update):
        await query.answer(say("admins_only", lang), show_alert=True)
        return
    if isinstance(press, buttons.Reindex):
        await query.answer()
        try:  # the button has done its job; a failure to remove it is cosmetic
            await query.edit_message_reply_markup(None)
        except TelegramError as e:
            log.debug("Could not remove the reindex button: %s", e)
        await run_reindex(state, query.message, lang)
    elif isinstance(press, buttons.DocsPage):
        await query.answer()
        text, markup = docs_page(await asyncio.to_thread(catalog_of, state), press.page, lang)
        await query.edit_message_text(text, parse_mode=ParseMode.HTML, reply_markup=markup)
    elif isinstance(press, buttons.Remove):
        await _confirm_remove(update, context, press.key)
    else:
        await query.answer()
        await query.edit_message_text(say("cancelled", lang))


async def reindex(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reindex (admins): rebuild off the event loop, edit one progress message, swap atomically."""
    state, message, lang = state_of(context), update.effective_message, lang_of(update)
    if not is_admin(state, update):
        await message.reply_text(say("admins_reindex", lang), do_quote=True)
        return
    await run_reindex(state, message, lang)


def progress_text(lang: str):
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

        with Progress(edit, progress_text(lang)) as progress:
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


async def stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats (admins)."""
    state, message = state_of(context), update.effective_message
    if not is_admin(state, update):
        await message.reply_text(say("admins_stats", lang_of(update)), do_quote=True)
        return
    info = state.engine.info()
    median = f"{statistics.median(state.durations) * 1000:.0f} ms" if state.durations else "–"
    text = say("stats", lang_of(update), documents=info.documents, passages=info.passages, model=info.model,
               index=f"{info.index_type} ({info.store})", built=info.built_at, answered=state.answered, median=median)
    if state.settings.llm_url:
        text += "\n" + say("stats_fluent", lang_of(update), model=state.settings.llm_model, shown=state.fluent["shown"],
                           held_back=state.fluent["held_back"], failed=state.fluent["failed"])
    await message.reply_text(text, do_quote=True)


async def feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/feedback (admins): ratings per day, the worst-rated answers, what went unanswered."""
    state, message, lang = state_of(context), update.effective_message, lang_of(update)
    if not is_admin(state, update):
        await message.reply_text(say("admins_feedback", lang), do_quote=True)
    elif state.feedback is None:
        await message.reply_text(say("feedback_off", lang), do_quote=True)
    else:
        await telegram_feedback.show_report(
            state.feedback, lang, 0, lambda text, **kw: message.reply_text(text, do_quote=True, **kw))


async def feedback_page(update: Update, context: ContextTypes.DEFAULT_TYPE, page: int | None) -> None:
    """◀ ▶ under /feedback (admins)."""
    state, query, lang = state_of(context), update.callback_query, lang_of(update)
    if not is_admin(state, update) or state.feedback is None or page is None:
        await query.answer(say("admins_only", lang), show_alert=True)
        return
    await query.answer()
    await telegram_feedback.show_report(state.feedback, lang, page, query.edit_message_text)
