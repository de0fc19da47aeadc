"""What users think of the answers, and what the documents do not answer.

Every question the bot answers or declines is recorded in a small SQLite database in the data
directory; users rate answers with 👍 / 👎 (a 👎 may carry a one-line comment). Admins read
it with /feedback, and ``qabot feedback export`` turns it into a question set in the
``qabot eval`` format, so a team grows its own test set from real use.

Privacy: no Telegram id is stored. The user and the chat message an answer was sent as are
kept as keyed hashes (HMAC-SHA256 with a random key kept beside the database, readable by its
owner only); rows older than ``days`` are deleted.

Failure costs the record, never the answer: a full disk, a read-only directory or a locked
database is logged and the write dropped (callers run writes off the event loop).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from embeddings.answering import Answer

log = logging.getLogger(__name__)

DB_FILE = "feedback.sqlite3"
KEY_FILE = "feedback.key"
COMMENT_CHARS = 300
_SCHEMA = """
CREATE TABLE IF NOT EXISTS asked (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,             -- unix time
    message TEXT,                 -- keyed hash of (chat, message id) of the answer sent
    user TEXT NOT NULL,           -- keyed hash of the user id
    lang TEXT NOT NULL,           -- of the question: en, zh-Hans, zh-Hant
    question TEXT NOT NULL,       -- as asked
    reading TEXT NOT NULL,        -- a follow-up as it was understood ("" when asked on its own)
    answered INTEGER NOT NULL,
    answer TEXT NOT NULL,         -- the direct answer shown
    expected TEXT NOT NULL,       -- JSON: the answer's spans (names, dates...)
    evidence TEXT NOT NULL,       -- JSON: the sentences cited
    passages TEXT NOT NULL,       -- JSON: ids of the passages shown
    generation TEXT NOT NULL,     -- the index generation that answered
    reason TEXT NOT NULL,         -- why it was declined
    rating INTEGER,               -- 1, -1 or NULL
    rated_at REAL,
    comment TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS asked_message ON asked(message);
CREATE INDEX IF NOT EXISTS asked_at ON asked(at);
"""


class Rated(Enum):
    NEW = "new"
    CHANGED = "changed"
    SAME = "same"
    UNKNOWN = "unknown"  # no such answer (forged, too old, or another replica's)
    NOT_YOURS = "not_yours"  # someone else asked it
    FAILED = "failed"  # the database could not be written


@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD (UTC)
    asked: int
    answered: int
    up: int
    down: int


@dataclass(frozen=True)
class Rating:
    question: str
    answer: str
    up: int
    down: int
    comments: tuple[str, ...]


@dataclass(frozen=True)
class Unanswered:
    question: str
    times: int


@dataclass(frozen=True)
class Report:
    days: tuple[Day, ...]
    worst: tuple[Rating, ...]
    unanswered: tuple[Unanswered, ...]
    more: bool  # further pages of either list


class FeedbackStore:
    """The database; thread-safe (one connection under a lock: writes are a few rows)."""

    def __init__(self, directory: Path, days: int = 90, clock: Callable[[], float] = time.time,
                 read_only: bool = False):
        self.directory = Path(directory)
        self.days = days
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned = 0.0
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key = self._read_key()
        path = (self.directory / DB_FILE).resolve()
        try:
            self._db = self._open(path, read_only)
        except sqlite3.DatabaseError as e:  # not a database at all: kept aside for recovery, a new one begun
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            log.warning("Feedback database %s is damaged (%s); moved to %s, starting a new one", path, e, aside)
            path.rename(aside)
            self._db = self._open(path, read_only)

    @staticmethod
    def _open(path: Path, read_only: bool) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{path}?mode=ro" if read_only else str(path), uri=read_only,
                             check_same_thread=False, timeout=1.0, isolation_level=None)
        if read_only:
            return db
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
        except sqlite3.OperationalError as e:  # a read-only directory, a locked file: answers go unrecorded
            log.warning("Feedback database cannot be written (%s): answers go unrecorded", e)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _read_key(self) -> bytes:
        path = self.directory / KEY_FILE
        try:
            return bytes.fromhex(path.read_text().strip())
        except (OSError, ValueError):
            key = secrets.token_bytes(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(key.hex())
            except OSError as e:  # hashes stay consistent for this run only
                log.warning("Feedback key cannot be saved (%s)", e)
            return key

    def _hash(self, *parts: object) -> str:
        return hmac.new(self._key, ":".join(map(str, parts)).encode(), hashlib.sha256).hexdigest()[:24]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple = ()) -> sqlite3.Cursor | None:
        """Run one statement; a database that cannot be written costs this write only."""
        with self._lock:
            try:
                return self._db.execute(sql, args)
            except sqlite3.Error as e:
                log.warning("Feedback not recorded: %s", e)
                return None

    def _read(self, sql: str, args: tuple = ()) -> list[tuple] | None:
        """The rows, or None (logged) when the database cannot be read."""
        with self._lock:
            try:
                return self._db.execute(sql, args).fetchall()
            except sqlite3.Error as e:
                log.warning("Feedback database unreadable: %s", e)
                return None

    # --- recording ------------------------------------------------------------------------

    def record(self, answer: Answer, user_id: int, generation: str,
               chat_id: int | None = None, message_id: int | None = None) -> None:
        """One question and what the bot did with it (``message_id``: the answer's message, whose
        buttons rate it)."""
        now = self._clock()
        points = answer.points
        message = self._hash(chat_id, message_id) if message_id is not None else None
        self._write(
            "INSERT OR REPLACE INTO asked (at, message, user, lang, question, reading, answered, answer, expected, "
            "evidence, passages, generation, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (now, message, self._hash("user", user_id), answer.script, answer.question,
             answer.analysis.text if answer.reading and answer.analysis else "", int(answer.answered), answer.direct,
             json.dumps([p.span or p.text for p in points], ensure_ascii=False),
             json.dumps(list(dict.fromkeys(p.sentence or p.text for p in points)), ensure_ascii=False),
             json.dumps([e.hit.passage.id for e in answer.evidence]), generation, answer.reason))
        if now - self._pruned > 3600:
            self.prune()

    def rate(self, chat_id: int, message_id: int, user_id: int, rating: int) -> Rated:
        """The asker's 👍 (1) or 👎 (-1) on the answer sent as ``message_id``; changeable."""
        rows = self._read("SELECT id, user, rating FROM asked WHERE message = ?", (self._hash(chat_id, message_id),))
        if rows is None:
            return Rated.FAILED
        if not rows:
            return Rated.UNKNOWN
        row_id, user, before = rows[0]
        if user != self._hash("user", user_id):
            return Rated.NOT_YOURS
        if before == rating:
            return Rated.SAME
        done = self._write("UPDATE asked SET rating = ?, rated_at = ? WHERE id = ?", (rating, self._clock(), row_id))
        if done is None:
            return Rated.FAILED
        return Rated.NEW if before is None else Rated.CHANGED

    def comment(self, chat_id: int, message_id: int, user_id: int, text: str) -> bool:
        """The asker's one-line comment on a rated answer."""
        line = " ".join(text.split())[:COMMENT_CHARS]
        done = self._write("UPDATE asked SET comment = ? WHERE message = ? AND user = ?",
                           (line, self._hash(chat_id, message_id), self._hash("user", user_id)))
        return bool(done and done.rowcount)

    def prune(self) -> int:
        """Delete what is older than ``days``; returns the rows deleted."""
        self._pruned = self._clock()
        done = self._write("DELETE FROM asked WHERE at < ?", (self._clock() - self.days * 86400,))
        return done.rowcount if done else 0

    # --- reading --------------------------------------------------------------------------

    def report(self, days: int = 14, page: int = 0, per_page: int = 5) -> Report:
        """Counts per day (the last ``days``, newest first), the worst-rated answers and the
        most-asked questions the documents did not answer, a page of each."""
        since = self._clock() - days * 86400
        per_day = self._read(
            "SELECT date(at, 'unixepoch'), count(*), sum(answered), sum(rating = 1), sum(rating = -1) FROM asked "
            "WHERE at >= ? GROUP BY 1 ORDER BY 1 DESC", (since,))
        worst = self._read(
            "SELECT question, answer, sum(rating = 1), sum(rating = -1), group_concat(comment, '\n') FROM asked "
            "WHERE rating IS NOT NULL GROUP BY question, answer HAVING sum(rating = -1) > 0 "
            "ORDER BY sum(rating) ASC, max(at) DESC LIMIT ? OFFSET ?", (per_page + 1, page * per_page))
        unanswered = self._read(
            "SELECT question, count(*) FROM asked WHERE answered = 0 GROUP BY lower(question) "
            "ORDER BY count(*) DESC, max(at) DESC LIMIT ? OFFSET ?", (per_page + 1, page * per_page))
        per_day, worst, unanswered = per_day or [], worst or [], unanswered or []
        return Report(
            tuple(Day(d, n, int(a or 0), int(u or 0), int(x or 0)) for d, n, a, u, x in per_day),
            tuple(Rating(q, a, int(u or 0), int(d or 0), tuple(c.split("\n")) if c else ())
                  for q, a, u, d, c in worst[:per_page]),
            tuple(Unanswered(q, n) for q, n in unanswered[:per_page]),
            len(worst) > per_page or len(unanswered) > per_page)

    def export(self) -> list[dict]:
        """The records as a question set for ``qabot eval``: answers rated 👍 with the sentence
        they cited as evidence and their spans as ``answer_contains``; questions the bot declined
        as ``"expect": "no_answer"`` candidates (``"review": true``: someone should check that the
        documents really do not answer them)."""
        out, seen = [], set()
        rows = self._read("SELECT id, lang, question, reading, answered, expected, evidence, rating FROM asked "
                          "WHERE (answered = 1 AND rating = 1) OR answered = 0 ORDER BY at")
        for row_id, lang, question, reading, answered, expected, evidence, _ in rows or []:
            asked = reading or question  # a follow-up as it was understood: the set has no conversation
            if asked.lower() in seen:
                continue
            seen.add(asked.lower())
            if answered:
                out.append({"id": f"fb-{row_id}", "lang": lang, "question": asked,
                            "evidence": json.loads(evidence), "answer_contains": json.loads(expected)})
            else:
                out.append({"id": f"fb-{row_id}", "lang": lang, "question": asked, "expect": "no_answer",
                            "review": True})
        return out


def open_store(data_dir: Path, days: int) -> FeedbackStore | None:
    """The data directory's feedback database, or None (logged) when it cannot be opened."""
    try:
        return FeedbackStore(data_dir, days)
    except (OSError, sqlite3.Error) as e:
        log.warning("Feedback is off: the database in %s cannot be opened (%s)", data_dir, e)
        return None
