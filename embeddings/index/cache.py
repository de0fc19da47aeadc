"""The build cache: what a build derives from a passage's content (vectors, lexical terms), by
content hash in SQLite, so a rebuild only embeds and segments what changed."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from embeddings.lexical import passage_terms

log = logging.getLogger(__name__)

# Below this many texts to segment, worker processes cost more to start than they save.
PARALLEL_SEGMENTATION_MIN = 4000


class BuildCache:
    """What a build derives from a passage's content, by content hash, in SQLite and shared
    by every build: vectors (per model) and lexical terms (per tokenizer version), so a
    rebuild only embeds and segments what changed."""

    TERMS_VERSION = "jieba+name-pinyin-wade-giles-4"

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = self._open(path)
        except sqlite3.DatabaseError as e:
            # Derived data only: a damaged cache is set aside and rebuilt, never a reason to stop.
            aside = path.with_name(f"{path.name}.damaged-{int(time.time())}")
            log.warning("The build cache %s is damaged (%s); moved it to %s and starting a new one", path, e, aside)
            os.replace(path, aside)
            self._db = self._open(path)

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        db = sqlite3.connect(path, check_same_thread=False)
        try:
            db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, hash TEXT, v BLOB, PRIMARY KEY (model, hash))")
            db.execute("CREATE TABLE IF NOT EXISTS terms (version TEXT, hash TEXT, t TEXT, PRIMARY KEY (version, hash))")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("integrity check failed")
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _get(self, table: str, column: str, namespace: str, keys: Sequence[str]) -> dict:
        out = {}
        name_col = "model" if table == "vec" else "version"
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = list(keys[i : i + 500])
                q = (f"SELECT hash, {column} FROM {table} WHERE {name_col}=? "
                     f"AND hash IN ({','.join('?' * len(chunk))})")
                out.update(self._db.execute(q, [namespace, *chunk]))
        return out

    def _put(self, table: str, rows: list[tuple]) -> None:
        with self._lock, self._db:
            self._db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", rows)

    def get(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors of ``model`` for the given content keys that are cached."""
        return {h: np.frombuffer(b, dtype=np.float32) for h, b in self._get("vec", "v", model, keys).items()}

    def put(self, model: str, items: dict[str, np.ndarray]) -> None:
        rows = list(items.items())
        for start in range(0, len(rows), 20_000):  # in slices: a million vectors' bytes at once are gigabytes
            self._put("vec", [(model, h, v.astype(np.float32).tobytes()) for h, v in rows[start : start + 20_000]])

    def terms(self, texts: Sequence[str]) -> list[dict[str, list[str]]]:
        """Lexical terms of each text (jieba words and pinyin runs), cached."""
        keys = [self.key(t) for t in texts]
        known = {h: json.loads(v) for h, v in self._get("terms", "t", self.TERMS_VERSION, keys).items()}
        todo = {k: text for k, text in zip(keys, texts) if k not in known}
        fresh = dict(zip(todo, lexical_terms(list(todo.values()))))
        items = list(fresh.items())
        for start in range(0, len(items), 20_000):  # in slices: the JSON of a million rows is gigabytes
            self._put("terms", [(self.TERMS_VERSION, k, json.dumps(v, ensure_ascii=False))
                                for k, v in items[start : start + 20_000]])
        known.update(fresh)
        return [known[k] for k in keys]


def _terms_of(text: str) -> dict[str, list[str]]:
    tokens, pinyin = passage_terms(text)
    return {"tokens": tokens, "pinyin": pinyin}


def lexical_terms(texts: Sequence[str], workers: int | None = None,
                  min_parallel: int = PARALLEL_SEGMENTATION_MIN) -> list[dict[str, list[str]]]:
    """jieba words and name pinyin of each text; many texts are segmented in worker
    processes (jieba is pure Python and holds the GIL), one per core."""
    workers = workers if workers is not None else min(os.cpu_count() or 1, 8)
    if workers < 2 or len(texts) < min_parallel:
        return [_terms_of(t) for t in texts]
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    # spawn, not fork: the parent holds encoder and FAISS threads that a fork would copy mid-flight
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        # Each chunk comes back with its own copy of every word: one shared copy instead, made as
        # the chunks arrive (a million passages hold ~10^8 words; a string object costs 60+ bytes).
        return [{k: [sys.intern(t) for t in v] for k, v in row.items()}
                for row in pool.map(_terms_of, texts, chunksize=max(64, min(2000, len(texts) // (workers * 16))))]
