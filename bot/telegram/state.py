"""What the handlers share (``BotState``, in ``bot_data``) and what they read of an update:
who asks, in which language, in which conversation."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field

from cachetools import TTLCache
from telegram import Update
from telegram.constants import ChatType
from telegram.ext import ContextTypes

from bot.feedback import FeedbackStore
from bot.messages import language_of
from bot.settings import Settings
from bot.telegram import feedback as telegram_feedback
from embeddings.answering.followup import Conversations
from embeddings.engine import Engine
from embeddings.examples import Examples

log = logging.getLogger(__name__)


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
    background: set = field(default_factory=set)  # work after the handler: records being written, fluent answers
    fluent: Counter = field(default_factory=Counter)  # fluent answers shown, held back, failed

    def write_later(self, fn, *args) -> None:
        """Run a database write in a thread without waiting for it: a slow or failing write
        never holds an answer up (its failure is logged)."""
        self.in_background(asyncio.to_thread(fn, *args))

    def in_background(self, work) -> None:
        """Run ``work`` (a coroutine) after the handler returns; kept until done (shutdown waits)."""
        task = asyncio.create_task(work)
        self.background.add(task)

        def done(t: asyncio.Task) -> None:
            self.background.discard(t)
            if not t.cancelled() and t.exception():
                log.warning("Work after an answer failed: %s", t.exception())

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


def state_of(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    return context.application.bot_data["state"]


def is_admin(state: BotState, update: Update) -> bool:
    return bool(update.effective_user) and update.effective_user.id in state.settings.admin_ids


def conversation_key(update: Update) -> tuple[int, int, int]:
    """Whose conversation a message continues: the chat (and its forum thread), and in groups
    the user, so two people asking in one group each keep their own context."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    thread = (message.message_thread_id or 0) if message else 0
    in_group = bool(chat and chat.type != ChatType.PRIVATE)
    return (chat.id if chat else 0, thread, user.id if (user and in_group) else 0)


def lang_of(update: Update) -> str:
    user = update.effective_user
    return language_of(user.language_code if user else None)
