"""How the bot talks to the Bot API without losing answers or leaking the token: updates that
cannot be decoded are skipped (and confirmed) instead of stalling polling, sends are retried
on transient failures, progress edits are applied in order, and the token is scrubbed from
every log line. python-telegram-bot leaves these to the application."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
# Updates fetched but not yet handled, at most: fetching waits while this many are queued or
# being answered. Telegram keeps the rest, unconfirmed, so a stop (SIGTERM) drains a few
# seconds of work and loses nothing: what was not fetched is delivered again after a restart.
MAX_BACKLOG = 16


class TolerantBot(ExtBot):
    """An ExtBot whose ``getUpdates`` survives an update it cannot decode (a field missing
    or of another type, as older self-hosted Bot API servers send them). python-telegram-bot
    decodes a batch as a whole: one bad update fails it, the same batch is fetched again and
    again, and nothing after it is ever handled. Here the bad update is replaced by a bare
    ``{"update_id": n}``, which no handler acts on but which confirms it, and is logged once
    without its content (it holds a user's message).

    It also applies back-pressure: ``backlog`` (set by the application) counts updates fetched
    but not handled, and no more are fetched while it is at ``MAX_BACKLOG``."""

    backlog: Callable[[], int] | None = None

    def set_backlog(self, backlog: Callable[[], int]) -> None:
        """Tell the bot how to count updates in hand. python-telegram-bot freezes a bot's
        attributes after ``__init__``; this subclass's own attribute is set past that."""
        object.__setattr__(self, "backlog", backlog)

    async def get_updates(self, *args, **kwargs):
        timeout = kwargs.get("timeout")
        seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout or 0)
        if self.backlog is not None and seconds > 0:  # a long poll; the clean-up call at stop has no timeout
            loop = asyncio.get_running_loop()
            deadline = loop.time() + seconds
            while self.backlog() >= MAX_BACKLOG:
                if loop.time() >= deadline:
                    return ()  # as if the long poll found nothing; the updater asks again
                await asyncio.sleep(0.02)
        kwargs["limit"] = min(kwargs.get("limit") or MAX_BACKLOG, MAX_BACKLOG)
        return await super().get_updates(*args, **kwargs)

    async def _post(self, endpoint: str, data=None, *args, **kwargs):
        result = await super()._post(endpoint, data, *args, **kwargs)
        if endpoint == "getUpdates" and isinstance(result, list):
            result = [self._decodable(raw) for raw in result]
        return result

    def _decodable(self, raw):
        try:
            Update.de_json(raw, self)
            return raw
        except Exception as e:  # any decoding failure: the update cannot be handled either way
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            if not isinstance(update_id, int):
                raise
            log.warning("Skipping update %s: it could not be decoded (%s: %s)", update_id, type(e).__name__,
                        str(e)[:100])
            return {"update_id": update_id}


class RedactToken(logging.Filter):
    """Replaces the bot token (and other secrets: the webhook's) in log records (message,
    arguments, traceback) by ``<token>``."""

    def __init__(self, token: str, *others: str):
        super().__init__()
        candidates = {token, token.split(":", 1)[-1], *others}
        self.secrets = sorted((t for t in candidates if t and len(t) >= 8), key=len, reverse=True)

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "<token>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            # Formatters print a cached exc_text instead of formatting exc_info again.
            record.exc_text = self._scrub(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self._scrub(record.stack_info)
        record.msg, record.args = self._scrub(message), None
        if record.exc_text:
            record.exc_text = self._scrub(record.exc_text)
        return True


def redact_token_in_logs(token: str, *others: str) -> RedactToken:
    """Install the filter on every handler of the root logger (where records are written)."""
    redact = RedactToken(token, *others)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(redact)
    return redact


def describe_start_failure(error: BaseException, token: str) -> str | None:
    """One sentence for an error at start-up that a user can fix; None for anything else."""
    if isinstance(error, InvalidToken):
        return ("the Bot API rejected the token (TELEGRAM_BOT_TOKEN) or TELEGRAM_API_BASE_URL does not point "
                "to a Bot API server")
    if isinstance(error, NetworkError):
        text = str(error).replace(token, "<token>") if token else str(error)
        return f"the Bot API could not be reached ({text})"
    return None


async def with_retries(send: Callable[[], Awaitable], what: str, attempts: int = SEND_ATTEMPTS):
    """Run ``send`` again after a transient failure: a dropped connection or a 5xx
    (NetworkError). Flood control (RetryAfter) is the rate limiter's to wait out (it already
    did, and gave up). A time-out is not retried: the message may have arrived, and a second
    copy is worse than none. Errors that will not pass by themselves (BadRequest, Forbidden)
    are raised at once."""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            return await send()
        except (BadRequest, Forbidden, TimedOut, InvalidToken, RetryAfter):
            raise
        except NetworkError as e:
            if attempt == attempts:
                raise
            log.info("Transient error on %s (attempt %d): %s", what, attempt, e)
            await asyncio.sleep(delay)
            delay *= 2
    return None


class Progress:
    """Reports a long job's progress in one message, edits applied in order: the worker thread
    only records the latest figures; one task on the event loop edits at most once a second
    and stops before the final text is written, so "42/164" can never land after "✅"."""

    def __init__(self, edit: Callable[[str], Awaitable], render: Callable[[int, int], str], interval: float = 1.0):
        self._edit, self._render, self._interval = edit, render, interval
        self._latest: tuple[int, int] | None = None
        self._shown: tuple[int, int] | None = None
        self._task: asyncio.Task | None = None

    def update(self, done: int, total: int) -> None:
        """Called from any thread."""
        self._latest = (done, total)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            latest = self._latest
            if latest is not None and latest != self._shown:
                self._shown = latest
                await self._edit(self._render(*latest))

    def __enter__(self) -> Progress:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def finish(self, text: str) -> None:
        """Stop the periodic edits (waiting for one in flight), then write ``text``."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._edit(text)

    def __exit__(self, *exc) -> None:
        if self._task is not None:
            self._task.cancel()

