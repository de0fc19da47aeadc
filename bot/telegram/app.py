"""Wiring: the Application with its handlers in one table, the allow-list gate, the button
router, the error handler, start-up and shutdown, and ``run_bot``."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from urllib.parse import urlparse

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import InvalidToken, NetworkError, TelegramError
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
from telegram.request import HTTPXRequest

from bot.feedback import open_store
from bot.messages import say
from bot.settings import Settings
from bot.telegram import buttons
from bot.telegram import feedback as telegram_feedback
from bot.telegram.admin import admin_press, docs, document, feedback, feedback_page, reindex, remove, stats
from bot.telegram.questions import (
    answer_question,
    ask,
    example_text,
    group_text,
    help_command,
    inline_query,
    make_examples_later,
    more_results,
    new_topic,
    not_text,
    private_text,
    start,
    unknown_command,
)
from bot.telegram.state import BotState, conversation_key, is_admin, lang_of, state_of
from bot.transport import TolerantBot, describe_start_failure, redact_token_in_logs, with_retries
from corpus.errors import QabotError
from embeddings.engine import Engine
from embeddings.store import StoreProblem

log = logging.getLogger(__name__)


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


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Allow-lists: updates from other users or chats stop here."""
    s = state_of(context).settings
    user, chat = update.effective_user, update.effective_chat
    state = state_of(context)
    if s.allowed_users and (not user or user.id not in s.allowed_users) and not is_admin(state, update):
        if update.callback_query:  # answered, or the button spins
            await update.callback_query.answer(say("private", lang_of(update)), show_alert=True)
        elif update.inline_query:
            await update.inline_query.answer([], cache_time=60, is_personal=True)
        elif (chat and chat.type == ChatType.PRIVATE and update.effective_message and user
              and state.should_refuse_aloud(user.id)):
            await update.effective_message.reply_text(say("private", lang_of(update)))
        raise ApplicationHandlerStop
    if s.allowed_chats and chat and chat.type != ChatType.PRIVATE and chat.id not in s.allowed_chats:
        raise ApplicationHandlerStop


async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Every button press, routed by what it asks for (``buttons.parse``). Every press is
    answered (a press left unanswered spins on the user's screen), whatever its data."""
    state, query, lang = state_of(context), update.callback_query, lang_of(update)
    press = buttons.parse(query.data)
    examples = state.examples.group(press.group) if isinstance(press, buttons.Example) else ()
    if isinstance(press, buttons.Example) and press.index < len(examples):
        await query.answer()
        question = example_text(examples[press.index], lang)
        # the answer quotes the question, not the /start message the button sits under
        asked = await with_retries(lambda: query.message.reply_text(f"{buttons.EXAMPLE_MARK} {question}"),
                                   "sendMessage")
        await answer_question(update, context, question, reply_to=asked)
    elif isinstance(press, buttons.NewTopic):
        state.conversations.clear(conversation_key(update))
        await query.answer(say("new", lang))
    elif isinstance(press, buttons.ADMIN_PRESSES):
        await admin_press(update, context, press)
    elif isinstance(press, buttons.More):
        await more_results(update, context, press)
    elif isinstance(press, buttons.Rate) and state.feedback:
        await telegram_feedback.rate(query, press.up, state.feedback, state.comment_prompts, lang)
    elif isinstance(press, buttons.FeedbackPage):
        await feedback_page(update, context, press.page)
    else:
        await query.answer()


async def error_handler(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log every unexpected exception with its update id; apologise to the user."""
    update_id = getattr(update, "update_id", None)
    if isinstance(context.error, NetworkError) and update is None:
        # polling hiccups: python-telegram-bot retries by itself
        log.warning("Network problem talking to the Bot API: %s", context.error)
        return
    if isinstance(context.error, StoreProblem):  # the vector store is down or restarting: expected, said plainly
        log.warning("Update %s not answered: %s", update_id, context.error)
        apology = "store_down"
    else:
        log.error("Error while handling update %s", update_id, exc_info=context.error)
        apology = "sorry"
    if isinstance(update, Update) and update.effective_message:
        try:
            await update.effective_message.reply_text(say(apology, lang_of(update)), do_quote=True)
        except TelegramError:
            log.warning("Could not send the apology for update %s", update_id)


async def _post_init(application: Application) -> None:
    state: BotState = application.bot_data["state"]
    await application.bot.set_my_commands(COMMANDS)
    if not (state.examples.zh or state.examples.en):  # made in the background: answering starts at once
        state.examples_task = asyncio.create_task(make_examples_later(state))


async def _post_shutdown(application: Application) -> None:
    """Records still being written are finished, then the feedback database closed."""
    state: BotState = application.bot_data["state"]
    if state.background:
        await asyncio.wait(list(state.background), timeout=5)
    if state.feedback is not None:
        state.feedback.close()


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
