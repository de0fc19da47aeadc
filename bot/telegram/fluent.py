"""A language model's fluent answer in Telegram (``embeddings.answering.fluent``): written after
the extractive answer is shown, it replaces that message by an edit — as its checked sentences
come, at most one edit per ``EDIT_INTERVAL`` (Telegram limits edits), then whole — or not at all
when the model fails or too little of what it wrote holds against the passages (an edit made
while it was writing is then undone). The user never sees a failure; /stats counts them."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter

from telegram import InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import TelegramError

from bot.formatting import Chunk, format_fluent
from bot.transport import with_retries
from embeddings.answering import Answer
from embeddings.answering.model import Fluent

log = logging.getLogger(__name__)

EDIT_INTERVAL = 1.5  # seconds between edits of one message


async def show_fluent(answer: Answer, message: Message, shown: Chunk, markup: InlineKeyboardMarkup | None,
                      counts: Counter) -> None:
    """Have the model write ``answer`` (its ``fluent``), editing ``message`` (which shows
    ``shown``, the extractive answer, under ``markup``). ``counts``: shown, held back, failed."""
    loop = asyncio.get_running_loop()
    snapshots: asyncio.Queue[Fluent] = asyncio.Queue()

    def write() -> None:
        try:
            for snapshot in answer.fluent():
                loop.call_soon_threadsafe(snapshots.put_nowait, snapshot)
        except Exception as e:  # a bug in writing costs the fluent answer, never the extractive one
            log.exception("Fluent answer failed")
            loop.call_soon_threadsafe(snapshots.put_nowait, Fluent("", (), (), True, f"error: {e}", failed=True))

    writer = asyncio.ensure_future(asyncio.to_thread(write))
    last_edit, edited = 0.0, False

    async def edit(html: str) -> bool:
        nonlocal last_edit
        await asyncio.sleep(max(0.0, last_edit + EDIT_INTERVAL - time.monotonic()))
        last_edit = time.monotonic()
        try:
            await with_retries(lambda: message.edit_text(html, parse_mode=ParseMode.HTML, reply_markup=markup,
                                                         disable_web_page_preview=True), "editMessageText")
            return True
        except TelegramError as e:  # the extractive answer stays
            log.warning("Could not show the fluent answer: %s", e)
            return False

    snapshot = await snapshots.get()
    while not snapshot.done:
        if snapshot.text and time.monotonic() - last_edit >= EDIT_INTERVAL:
            edited = await edit(format_fluent(answer, snapshot).html) or edited
        snapshot = await snapshots.get()
    await writer
    if snapshot.shown:
        await edit(format_fluent(answer, snapshot).html)
        counts["shown"] += 1
        return
    counts["failed" if snapshot.failed else "held_back"] += 1
    log.info("Fluent answer not shown: %s", snapshot.problem)
    if edited:  # part of it was shown while it was written: back to the extractive answer
        await edit(shown.html)
