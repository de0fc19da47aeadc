"""Settings, read in one place: the environment first, then command-line flags over it."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from corpus.errors import QabotError
from embeddings.encoders.encoder import DEFAULT_MODEL

_TOKEN = re.compile(r"^\d{5,}:[A-Za-z0-9_-]{30,}$")
_WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what the Bot API accepts as secret_token


class SettingsError(QabotError, ValueError):
    """A setting is missing or malformed; the message is one sentence for the user."""


def _ids(value: str, name: str) -> frozenset[int]:
    try:
        return frozenset(int(v) for v in re.split(r"[,\s]+", value.strip()) if v)
    except ValueError:
        raise SettingsError(f"{name} must be a comma-separated list of numeric Telegram ids") from None


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    corpus_dir: Path = Path("corpus/documents")
    index_dir: Path | None = None  # default: data_dir / "index"
    model: str = DEFAULT_MODEL
    top_k: int = 5
    token: str = ""
    api_base_url: str = ""
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    allowed_users: frozenset[int] = field(default_factory=frozenset)
    allowed_chats: frozenset[int] = field(default_factory=frozenset)
    questions_per_minute: int = 20
    max_question_chars: int = 500
    webhook_secret: str = ""
    example_questions: tuple[str, ...] = ()
    outgoing_rate_limit: bool = True
    max_upload_mb: int = 20  # the Bot API lets bots download files up to 20 MB
    encoder_backend: str = "openvino"  # openvino (int8 weights), onnx (fp32) or torch
    encoder_threads: int = 0  # 0: the runtime's default (one per core)
    vector_store: str = "faiss"  # faiss, milvus:///path/file.db (Milvus Lite) or milvus://host:port
    milvus_token: str = ""  # for a Milvus server that wants one ("user:password" or an API key)
    feedback: bool = True  # 👍/👎 under answers, questions recorded (bot/feedback.py)
    feedback_days: int = 90  # records older than this are deleted
    # An OpenAI-compatible endpoint for fluent answers (off when empty): see embeddings/answering/fluent.py
    llm_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 20.0

    @property
    def index_path(self) -> Path:
        return self.index_dir or self.data_dir / "index"

    @property
    def trash_dir(self) -> Path:
        """Where removed documents go (moved, not deleted)."""
        return self.data_dir / "removed"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(env.get("QABOT_DATA_DIR") or "data")
        return cls(
            data_dir=data_dir,
            corpus_dir=Path(env.get("QABOT_CORPUS_DIR") or "corpus/documents"),
            index_dir=Path(env["QABOT_INDEX_DIR"]) if env.get("QABOT_INDEX_DIR") else None,
            model=env.get("EMBEDDING_MODEL") or DEFAULT_MODEL,
            top_k=_int(env, "QABOT_TOP_K", 5),
            token=env.get("TELEGRAM_BOT_TOKEN", "").strip(),
            api_base_url=env.get("TELEGRAM_API_BASE_URL", "").strip(),
            admin_ids=_ids(env.get("TELEGRAM_ADMIN_IDS", ""), "TELEGRAM_ADMIN_IDS"),
            allowed_users=_ids(env.get("TELEGRAM_ALLOWED_USERS", ""), "TELEGRAM_ALLOWED_USERS"),
            allowed_chats=_ids(env.get("TELEGRAM_ALLOWED_CHATS", ""), "TELEGRAM_ALLOWED_CHATS"),
            questions_per_minute=_int(env, "QABOT_QUESTIONS_PER_MINUTE", 20),
            max_question_chars=_int(env, "QABOT_MAX_QUESTION_CHARS", 500),
            webhook_secret=env.get("TELEGRAM_WEBHOOK_SECRET", "").strip(),
            example_questions=tuple(q.strip() for q in env.get("QABOT_EXAMPLE_QUESTIONS", "").split("|") if q.strip()),
            outgoing_rate_limit=env.get("QABOT_OUTGOING_RATE_LIMIT", "1").strip().lower() not in ("0", "false", "no"),
            max_upload_mb=_int(env, "QABOT_MAX_UPLOAD_MB", 20),
            encoder_backend=(env.get("QABOT_ENCODER_BACKEND") or "openvino").strip().lower(),
            encoder_threads=_int(env, "QABOT_ENCODER_THREADS", 0),
            vector_store=(env.get("QABOT_VECTOR_STORE") or "faiss").strip(),
            milvus_token=env.get("QABOT_MILVUS_TOKEN", "").strip(),
            feedback=env.get("QABOT_FEEDBACK", "1").strip().lower() not in ("0", "false", "no", "off"),
            feedback_days=_int(env, "QABOT_FEEDBACK_DAYS", 90),
            llm_url=env.get("QABOT_LLM_URL", "").strip(),
            llm_model=env.get("QABOT_LLM_MODEL", "").strip(),
            llm_api_key=env.get("QABOT_LLM_API_KEY", "").strip(),
            llm_timeout=float(_int(env, "QABOT_LLM_TIMEOUT", 20)),
        )

    def __repr__(self) -> str:  # secrets never reach a log line or a traceback
        hidden = {"token", "webhook_secret", "milvus_token", "llm_api_key"}
        shown = ", ".join(f"{f.name}={'***' if f.name in hidden and getattr(self, f.name) else getattr(self, f.name)!r}"
                          for f in fields(self))
        return f"Settings({shown})"

    def __post_init__(self):
        if not (self.vector_store == "faiss" or self.vector_store.startswith(("milvus://", "http://", "https://"))):
            raise SettingsError(f"QABOT_VECTOR_STORE={self.vector_store!r}: use faiss, milvus:///path/file.db "
                                "or milvus://host:port")
        if self.llm_url and not (self.llm_url.startswith(("http://", "https://")) and self.llm_model):
            raise SettingsError("QABOT_LLM_URL must be an http(s) address of an OpenAI-compatible API "
                                "(e.g. http://localhost:11434/v1), with QABOT_LLM_MODEL naming the model")
        if self.webhook_secret and not _WEBHOOK_SECRET.match(self.webhook_secret):
            raise SettingsError("TELEGRAM_WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them)")

    def override(self, **flags) -> Settings:
        """Apply command-line flags that were given (None means not given)."""
        return replace(self, **{k: v for k, v in flags.items() if v is not None})

    @property
    def bot_api_url(self) -> str:
        """The Bot API base URL in python-telegram-bot's form (the token is appended)."""
        base = (self.api_base_url or "https://api.telegram.org").rstrip("/")
        return base if base.endswith("/bot") or "{token}" in base else base + "/bot"

    @property
    def bot_file_url(self) -> str:
        base = self.bot_api_url
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base

    def require_token(self) -> str:
        if not self.token:
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export it")
        if not _TOKEN.match(self.token):
            raise SettingsError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then 35 letters)")
        return self.token
