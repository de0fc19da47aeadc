"""A fake Telegram Bot API: the methods the bot uses, answered from memory. Served over
HTTP on 127.0.0.1 for end-to-end tests, or plugged in as python-telegram-bot's request
class (no network at all) for handler tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import html
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlparse

from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest

TOKEN = "123456789:AAHfakefakefakefakefakefakefakefake0"
BOT = {"id": 999, "is_bot": True, "first_name": "QA", "username": "qa_test_bot",
       "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": True}


ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "blockquote",
                "tg-spoiler", "span", "tg-emoji"}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+=\"[^\"<>]*\")*)\s*>")


def telegram_html_problem(text: str) -> str | None:
    """Why Telegram would reject ``text`` with parse_mode HTML (its documented rules: only its
    tags, properly nested and closed, every ``<`` and ``&`` part of a tag or an entity), or
    None. Also the length limit: 4096 characters (UTF-16 units) of text once parsed."""
    stack: list[str] = []
    i, visible = 0, []
    while i < len(text):
        ch = text[i]
        if ch == "<":
            m = _TAG.match(text, i)
            if not m or m.group(2).lower() not in ALLOWED_TAGS:
                return f"unsupported start tag at byte offset {i}"
            closing, name = m.group(1) == "/", m.group(2).lower()
            if closing:
                if not stack or stack.pop() != name:
                    return f"unexpected end tag {name} at byte offset {i}"
            else:
                stack.append(name)
            i = m.end()
            continue
        if ch == "&":
            m = _ENTITY.match(text, i)
            if not m:
                return f"unsupported entity at byte offset {i}"
            visible.append(html.unescape(m.group(0)))
            i = m.end()
            continue
        if ch == ">":
            return f"unescaped > at byte offset {i}"
        visible.append(ch)
        i += 1
    if stack:
        return f"unclosed tag {stack[-1]}"
    if len("".join(visible).encode("utf-16-le", "surrogatepass")) // 2 > 4096:
        return "message is too long"
    return None


def _value(v):
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v


class FakeBotApi:
    """State of the fake server: pending updates, recorded calls, sent messages."""

    def __init__(self):
        self.calls: list[tuple[str, dict, float]] = []
        self.pending: list[dict] = []
        self.files: dict[str, bytes] = {}
        self.delivered: dict[int, float] = {}  # update id -> when getUpdates handed it out
        self.reject_entities = False
        # method -> queued faults for its next calls: an HTTP status (429, 500, 502), "drop" (the
        # connection closes without an answer) or "late" (delivered, then the reply times out)
        self.faults: dict[str, list] = {}
        self.failed: list[tuple[str, object]] = []  # (method, fault) of every injected failure
        self.late_seconds = 6.0  # over HTTP, "late" holds the reply back this long
        self.rejected: list[tuple[str, str, str]] = []  # (method, why, text) the fake refused as Telegram would
        self.downloads: list[str] = []  # file ids whose content the bot fetched
        self.slow: list[tuple[str, str, float]] = []  # (method, text it contains, seconds): a slow network
        self.poll_count = 0
        self.in_flight = 0  # requests of the in-process FakeRequest not answered yet
        self.handled: set[int] = set()  # update ids the application finished with (``track_handled``)
        self.fault_rate: dict[str, list[tuple[float, object]]] = {}  # method -> [(probability, fault)]
        self.rng = None
        self._ids = itertools.count(1)
        self._msg_ids = itertools.count(5000)
        self._sent_ids: dict[int, int] = {}  # id() of a sendMessage's recorded params -> its message id
        self._cond = threading.Condition()

    # --- test side ---
    def push(self, update: dict) -> dict:
        with self._cond:
            update = {"update_id": next(self._ids), **update}
            self.pending.append(update)
            self._cond.notify_all()
        return update

    def fail(self, method: str, *faults) -> None:
        """Make the next calls of ``method`` fail, one fault each."""
        with self._cond:
            self.faults.setdefault(method, []).extend(faults)

    def push_raw(self, update: dict) -> dict:
        """Queue an update as given (it may not be valid), with the next update id."""
        return self.push(update)

    def _fault(self, method: str):
        with self._cond:
            queued = self.faults.get(method)
            if queued:
                return queued.pop(0)
            for probability, fault in self.fault_rate.get(method, []):
                if self.rng is not None and self.rng.random() < probability:
                    return fault
        return None

    def sent(self, method: str = "sendMessage", chat_id: int | None = None) -> list[dict]:
        with self._cond:
            return [p for m, p, _ in self.calls if m == method and (chat_id is None or p.get("chat_id") == chat_id)]

    def message_id(self, sent: dict) -> int:
        """The message id the fake gave a message the bot sent (``sent``: from ``sent()``)."""
        with self._cond:
            return self._sent_ids[id(sent)]

    def polls(self) -> int:
        """How many getUpdates calls the fake has answered: a few more mean the bot's loop went round."""
        return self.poll_count

    def wait_for(self, predicate, timeout: float = 30.0):
        """Wait until ``predicate(self)`` is truthy; returns its value or raises."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"timed out; calls so far: {[m for m, _, _ in self.calls]}")
                self._cond.wait(min(left, 0.1))

    # --- server side ---
    def _message(self, params: dict, message_id: int | None = None) -> dict:
        chat_id = int(params["chat_id"])
        return {"message_id": message_id or next(self._msg_ids), "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
                "from": BOT, "text": params.get("text", "")}

    def handle(self, method: str, params: dict) -> tuple[int, dict]:
        params = {k: _value(v) for k, v in params.items()}
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            timeout = min(float(params.get("timeout") or 0), 0.5)
            deadline = time.monotonic() + timeout
            with self._cond:
                while True:
                    ready = [u for u in self.pending if u["update_id"] >= offset]
                    self.pending = ready  # below the offset: confirmed, gone for good
                    ready = ready[: int(params.get("limit") or 100)]  # as Telegram: 100 by default
                    if ready or time.monotonic() >= deadline:
                        now = time.monotonic()
                        for u in ready:
                            self.delivered.setdefault(u["update_id"], now)
                        self.poll_count += 1
                        self._cond.notify_all()
                        return 200, {"ok": True, "result": ready}
                    self._cond.wait(max(0.0, deadline - time.monotonic()))
        fault = self._fault(method)
        if fault in (429, 500, 502):
            with self._cond:
                self.failed.append((method, fault))
            if fault == 429:
                return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                             "parameters": {"retry_after": 1}}
            return fault, {"ok": False, "error_code": fault, "description": "Internal Server Error"}
        if fault == "drop":
            with self._cond:
                self.failed.append((method, fault))
            return DROP, {}
        if method in ("sendMessage", "editMessageText"):  # refused as Telegram refuses: never delivered
            problem = telegram_html_problem(params.get("text", "")) if params.get("parse_mode") == "HTML" else None
            if self.reject_entities and params.get("parse_mode"):
                problem = "unsupported start tag"
            if problem is None and not params.get("parse_mode") and len(params.get("text", "")) > 4096:
                problem = "message is too long"
            if problem:
                with self._cond:
                    self.rejected.append((method, problem, params.get("text", "")))
                what = "message is too long" if "too long" in problem else f"can't parse entities: {problem}"
                return 400, {"ok": False, "error_code": 400, "description": f"Bad Request: {what}"}
        with self._cond:
            self.calls.append((method, params, time.monotonic()))
            self._cond.notify_all()
        if fault == "late":
            with self._cond:
                self.failed.append((method, fault))
            self.handle_delivered(method, params)
            return LATE, {}
        return self.handle_delivered(method, params)

    def handle_delivered(self, method: str, params: dict) -> tuple[int, dict]:
        if method == "getMe":
            return 200, {"ok": True, "result": BOT}
        if method in ("sendMessage", "editMessageText"):
            result = self._message(params, params.get("message_id"))
            with self._cond:
                self._sent_ids[id(params)] = result["message_id"]
            return 200, {"ok": True, "result": result}
        if method == "getFile":
            fid = params["file_id"]
            return 200, {"ok": True, "result": {"file_id": fid, "file_unique_id": fid, "file_path": f"docs/{fid}",
                                                "file_size": len(self.files.get(fid, b""))}}
        if method in ("sendChatAction", "answerCallbackQuery", "answerInlineQuery", "setMyCommands", "editMessageReplyMarkup",
                      "deleteWebhook", "setWebhook", "close", "logOut"):
            return 200, {"ok": True, "result": True}
        return 404, {"ok": False, "error_code": 404, "description": f"Not Found: method {method}"}

    def file(self, path: str) -> bytes | None:
        with self._cond:
            self.downloads.append(path.rsplit("/", 1)[-1])
        return self.files.get(path.rsplit("/", 1)[-1])


DROP, LATE = -1, -2  # pseudo-statuses: the connection dropped; the reply never came (after delivery)


class FakeRequest(BaseRequest):
    """python-telegram-bot request class that never touches the network: every call goes
    to a ``FakeBotApi`` in memory."""

    def __init__(self, api: FakeBotApi):
        self.api = api

    @property
    def read_timeout(self):
        return 1.0

    async def initialize(self):
        pass

    async def shutdown(self):
        pass

    async def do_request(self, url, method, request_data=None, read_timeout=None, write_timeout=None,
                         connect_timeout=None, pool_timeout=None):
        if "/file/bot" in url:
            data = self.api.file(url)
            return (200, data) if data is not None else (404, b"")
        params = dict(request_data.json_parameters) if request_data else {}
        method = url.rsplit("/", 1)[-1]
        self.api.in_flight += 1
        try:
            for slow_method, text, seconds in self.api.slow:
                if slow_method == method and text in str(params.get("text", "")):
                    await asyncio.sleep(seconds)  # the request is on its way
            status, body = self.api.handle(method, params)
        finally:
            self.api.in_flight -= 1
        if status == DROP:
            raise NetworkError("httpx.RemoteProtocolError: Server disconnected without sending a response.")
        if status == LATE:
            raise TimedOut("Timed out")
        return status, json.dumps(body).encode()


class _Server(ThreadingHTTPServer):
    request_queue_size = 256  # the bot opens many connections at once under load


class FakeTelegramServer:
    """The fake API over HTTP on 127.0.0.1 (an ephemeral port); use as a context manager."""

    def __init__(self, api: FakeBotApi | None = None):
        self.api = api or FakeBotApi()
        api = self.api

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status: int, body: bytes, ctype: str = "application/json"):
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the bot gave up on a long poll while shutting down

            def _params(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                params = dict(parse_qsl(urlparse(self.path).query))
                if "json" in ctype and raw:
                    params.update(json.loads(raw))
                elif raw:
                    params.update(parse_qsl(raw.decode("utf-8")))
                return params

            def do_POST(self):
                path = urlparse(self.path).path
                if not path.startswith(f"/bot{TOKEN}/"):
                    return self._reply(401, b'{"ok":false,"error_code":401,"description":"Unauthorized"}')
                status, body = api.handle(path.rsplit("/", 1)[-1], self._params())
                if status in (DROP, LATE):
                    if status == LATE:
                        time.sleep(api.late_seconds)
                    self.close_connection = True  # no answer at all
                    return None
                self._reply(status, json.dumps(body).encode())

            def do_GET(self):
                path = urlparse(self.path).path
                if path.startswith(f"/file/bot{TOKEN}/"):
                    data = api.file(path)
                    return self._reply(200, data, "application/octet-stream") if data else self._reply(404, b"")
                self.do_POST()

        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeTelegramServer:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


class Bots:
    """Applications wired to in-memory fake APIs, initialised as ``run_polling`` would; shut
    them down with ``close`` at the end of the test."""

    def __init__(self):
        self.made = []

    async def make(self, settings, engine):
        from bot.telegram.app import build_application

        api = FakeBotApi()
        app = build_application(settings, engine, request=FakeRequest(api))
        await app.initialize()
        await app.post_init(app)
        self.made.append(app)
        return app, api

    async def close(self) -> None:
        for app in self.made:
            await app.shutdown()


def start_polling(app) -> tuple[asyncio.AbstractEventLoop, threading.Thread]:
    """``app.run_polling`` in a thread of its own; stop it with ``loop.stop`` (abruptly) or
    ``loop.call_soon_threadsafe(app.stop_running)`` (as SIGTERM does)."""
    loop = asyncio.new_event_loop()

    def run():
        asyncio.set_event_loop(loop)
        app.run_polling(poll_interval=0, timeout=1, stop_signals=None, close_loop=False)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return loop, thread


def track_handled(app, api: FakeBotApi) -> None:
    """Record in ``api.handled`` the id of each update the application is done with: PTB runs
    handler groups in order, and the bot's handlers block, so a handler in a last group runs
    once the others (the reply included) have finished. A test waits for that, not a clock."""
    from telegram import Update  # noqa: PLC0415 - only the in-process tests need it
    from telegram.ext import TypeHandler  # noqa: PLC0415

    async def done(update: Update, _context) -> None:
        with api._cond:
            api.handled.add(update.update_id)
            api._cond.notify_all()

    app.add_handler(TypeHandler(Update, done), group=1_000_000)


@contextlib.contextmanager
def polling_in_thread(app, api: FakeBotApi, start_timeout: float = 120):
    """Run the real ``app.run_polling`` in a thread until the block ends; yields once
    polling has begun (the bot deleted its webhook)."""
    loop, thread = start_polling(app)
    try:
        api.wait_for(lambda a: a.sent("deleteWebhook"), start_timeout)
        yield
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
    if thread.is_alive():
        raise RuntimeError("the bot did not stop")


# --- updates as Telegram sends them ---------------------------------------------------------

_msg_counter = itertools.count(1)


def user(uid: int = 42, lang: str = "en") -> dict:
    return {"id": uid, "is_bot": False, "first_name": f"User{uid}", "language_code": lang}


def message(text: str | None = None, uid: int = 42, chat_id: int | None = None, lang: str = "en", **extra) -> dict:
    chat_id = chat_id if chat_id is not None else uid
    chat = {"id": chat_id, "type": "private", "first_name": "U"} if chat_id > 0 else \
        {"id": chat_id, "type": "supergroup", "title": "Group"}
    msg = {"message_id": next(_msg_counter), "date": int(time.time()), "chat": chat, "from": user(uid, lang), **extra}
    if text is not None:
        msg["text"] = text
        if text.startswith("/"):
            cmd = text.split()[0]
            msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(cmd)}]
    return {"message": msg}


def mention(text: str, uid: int, chat_id: int) -> dict:
    update = message(text, uid, chat_id)
    i = text.index("@" + BOT["username"])
    update["message"]["entities"] = [{"type": "mention", "offset": i, "length": len(BOT["username"]) + 1}]
    return update


def sticker(uid: int = 42) -> dict:
    return message(None, uid, sticker={"file_id": "stk", "file_unique_id": "stk", "type": "regular",
                                       "width": 512, "height": 512, "is_animated": False, "is_video": False})


def callback(data: str, chat_id: int, message_id: int, uid: int = 42, reply_to: dict | None = None) -> dict:
    """A button press on the bot's message ``message_id``; ``reply_to`` is the message that one
    replied to (Telegram includes it: an answer's buttons find their question there)."""
    message = {"message_id": message_id, "date": int(time.time()),
               "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"},
               "from": BOT, "text": "answer"}
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    return {"callback_query": {"id": f"cb{next(_msg_counter)}", "from": user(uid), "chat_instance": "ci",
                               "data": data, "message": message}}


def inline(query: str, uid: int = 42) -> dict:
    return {"inline_query": {"id": f"iq{next(_msg_counter)}", "from": user(uid), "query": query, "offset": ""}}


def document_message(file_id: str, name: str, size: int, uid: int) -> dict:
    return message(None, uid, document={"file_id": file_id, "file_unique_id": file_id, "file_name": name,
                                        "file_size": size})
