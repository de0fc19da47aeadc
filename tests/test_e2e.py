"""End to end: the real application polls a fake Telegram Bot API server on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.settings import Settings
from bot.telegram.app import build_application
from bot.transport import redact_token_in_logs
from embeddings.engine import Engine
from tests import fake_telegram as tg
from tests.conftest import MODEL_DATA_DIR, ROOT, seed_engine

pytestmark = pytest.mark.model
ADMIN, USER, GROUP = 7, 42, -100777


@pytest.fixture(scope="module")
def e2e_engine(real_encoder, tmp_path_factory) -> Engine:
    return seed_engine(real_encoder, tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="module")
def running_bot(e2e_engine):
    """The real Application in run_polling (in a thread) against the fake server."""
    with tg.FakeTelegramServer() as server:
        settings = Settings(token=tg.TOKEN, api_base_url=server.url, admin_ids=frozenset({ADMIN}),
                            corpus_dir=e2e_engine.config.corpus_dir, data_dir=e2e_engine.config.data_dir,
                            index_dir=e2e_engine.config.index_dir, questions_per_minute=100)
        app = build_application(settings, e2e_engine)
        tg.track_handled(app, server.api)
        with tg.polling_in_thread(app, server.api):
            yield server.api


def replies_to(api: tg.FakeBotApi, update: dict) -> list[dict]:
    mid = update["message"]["message_id"]
    return [m for m in api.sent() if (m.get("reply_parameters") or {}).get("message_id") == mid]


def ask(api, update, n: int = 1) -> list[dict]:
    api.push(update)
    return api.wait_for(lambda a: (lambda r: r if len(r) >= n else None)(replies_to(a, update)))


def test_startup_calls(running_bot):
    called = [m for m, _, _ in running_bot.calls]
    assert called[0] == "getMe" and "deleteWebhook" in called and "setMyCommands" in called


def test_private_question_answered_from_the_seed(running_bot):
    update = tg.message("Who attended the field research with Ying Yong?", USER)
    [reply] = ask(running_bot, update)
    assert reply["text"].startswith("<b>People</b>")
    assert "王瑞連" in reply["text"] and "王忠林" in reply["text"]


def test_group_mention_answered_and_chatter_ignored(running_bot):
    chatter = running_bot.push(tg.message("今天天气不错", USER, GROUP))
    update = tg.mention("@qa_test_bot 陈艳霞担任什么职务？", USER, GROUP)
    [reply] = ask(running_bot, update)
    assert "陈艳霞" in reply["text"]
    running_bot.wait_for(lambda a: chatter["update_id"] in a.handled)  # the bot is done with it
    assert replies_to(running_bot, chatter) == []


def test_more_button(running_bot):
    update = tg.message("社区工作者队伍建设要朝什么方向推进？", USER)
    [reply] = ask(running_bot, update)
    data = reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    before = len(running_bot.sent())
    running_bot.push(tg.callback(data, USER, 5000, reply_to=update["message"]))
    page = running_bot.wait_for(lambda a: a.sent()[before:])
    assert page[0]["text"].startswith("<b>依据 3–")


def test_inline_query(running_bot):
    running_bot.push(tg.inline("核心是人"))
    [call] = running_bot.wait_for(lambda a: a.sent("answerInlineQuery"))
    assert any("核心是人" in r["input_message_content"]["message_text"] for r in call["results"])


def test_sticker(running_bot):
    update = tg.sticker(USER)
    [reply] = ask(running_bot, update)
    assert "only read text" in reply["text"]


def test_non_admin_reindex(running_bot):
    [reply] = ask(running_bot, tg.message("/reindex", USER))
    assert "only admins" in reply["text"]


def test_plain_text_fallback(running_bot):
    running_bot.reject_entities = True
    try:
        update = tg.message("疫情防控要形成怎样的生产生活状态？", USER)
        [plain] = ask(running_bot, update)
    finally:
        running_bot.reject_entities = False
    html = [text for _, _, text in running_bot.rejected if "晴天带伞" in text]
    assert html and "<b>" in html[-1]  # the HTML version was refused...
    assert "parse_mode" not in plain and "晴天带伞" in plain["text"]  # ...and the plain one delivered


def test_reindex_while_questions_keep_arriving(running_bot, e2e_engine):
    corpus = Path(e2e_engine.config.corpus_dir)
    (corpus / "extra.md").write_text("---\ntitle: 补充\n---\n" + "\n".join(
        f"第{i}段：社区志愿服务的第{i}项安排，居民可以在服务中心报名参加。" for i in range(12)), "utf-8")
    try:
        reindex = tg.message("/reindex", ADMIN)
        running_bot.push(reindex)
        questions = [tg.message(q, USER + i) for i, q in enumerate(
            ["三驾马车指什么？", "基层社会治理的核心是什么？", "武汉市委书记叫什么名字？", "应勇以什么身份到社区报到？",
             "要让社区工作者成为什么样的职业？", "东湖新城社区的党委书记是谁？"])]
        ids = {running_bot.push(q)["update_id"] for q in questions}
        running_bot.wait_for(lambda a: any("Index rebuilt" in e["text"] for e in a.sent("editMessageText")), 120)
        running_bot.wait_for(lambda a: ids <= a.handled, 60)
        polls = running_bot.polls()
        running_bot.wait_for(lambda a: a.polls() >= polls + 2)  # a question fetched twice would be back by now
        assert all(len(replies_to(running_bot, q)) == 1 for q in questions)
        done = [e["text"] for e in running_bot.sent("editMessageText") if "Index rebuilt" in e["text"]][-1]
        assert "2 document(s), 29 passages" in done
        # a second /reindex right after the first is answered (refused or run), never silently dropped
        assert replies_to(running_bot, reindex)
    finally:
        (corpus / "extra.md").unlink()


def test_black_box_serve_process(e2e_engine, tmp_path):
    """`qabot serve` as a user starts it, pointed at the fake server; SIGTERM stops it cleanly."""
    with tg.FakeTelegramServer() as server:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "QABOT_"))}
        env.update(TELEGRAM_BOT_TOKEN=tg.TOKEN, TELEGRAM_API_BASE_URL=server.url, PYTHONUNBUFFERED="1",
                   QABOT_DATA_DIR=str(MODEL_DATA_DIR), QABOT_INDEX_DIR=str(tmp_path / "index"),
                   QABOT_CORPUS_DIR=str(e2e_engine.config.corpus_dir))
        log = open(tmp_path / "serve.log", "w+")  # noqa: SIM115 - read back after the process ends
        proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        try:
            server.api.wait_for(lambda a: a.sent("setMyCommands"), 180)
            update = tg.message("哪些领导参加了这次调研？", USER)
            [reply] = ask(server.api, update)
            assert "王瑞连" in reply["text"] and "王忠林" in reply["text"]
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0  # a hang guard, not a speed test
        finally:
            if proc.poll() is None:
                proc.kill()
            log.seek(0)
            output = log.read()
            log.close()
        assert tg.TOKEN not in output and tg.TOKEN.split(":")[1] not in output
        assert "Traceback" not in output


def test_webhook_mode(e2e_engine, caplog):
    """Webhook mode, in process (the real `qabot serve` process is tested above): registers the
    webhook with its secret, answers updates posted to it, refuses posts without the secret,
    and stops cleanly; neither the token nor the secret reaches the log."""
    import asyncio
    import json as _json
    import logging
    import socket
    import threading
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    secret = "s3cret-token_for-tests"
    url = f"http://127.0.0.1:{port}/hook"
    # httpx at DEBUG here: its request lines carry the token, so the redaction is what keeps it out
    with tg.FakeTelegramServer() as server, caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, "httpx"):
        settings = Settings(token=tg.TOKEN, api_base_url=server.url, webhook_secret=secret,
                            corpus_dir=e2e_engine.config.corpus_dir, data_dir=e2e_engine.config.data_dir,
                            index_dir=e2e_engine.config.index_dir, example_questions=("谁参加了调研？",))
        redact_token_in_logs(tg.TOKEN, secret)  # as run_bot does before anything else
        app = build_application(settings, e2e_engine)
        loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(loop)
            app.run_webhook(listen="127.0.0.1", port=port, url_path="hook", webhook_url=url, secret_token=secret,
                            stop_signals=None, close_loop=False)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            [hook] = server.api.wait_for(lambda a: a.sent("setWebhook"), 60)
            assert hook["url"] == url and hook["secret_token"] == secret

            def post(update: dict, token: str | None) -> int:
                headers = {"Content-Type": "application/json"}
                if token:
                    headers["X-Telegram-Bot-Api-Secret-Token"] = token
                req = urllib.request.Request(url, _json.dumps(update).encode(), headers)
                try:
                    with urllib.request.urlopen(req, timeout=10) as r:
                        return r.status
                except urllib.error.HTTPError as e:
                    return e.code

            deadline = time.monotonic() + 30
            update = {"update_id": 1, **tg.message("东湖新城社区的党委书记是谁？", USER)}
            while True:  # the webhook server starts just after setWebhook
                try:
                    assert post({"update_id": 9, **tg.message("hi", USER)}, "wrong") == 403
                    break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline
                    time.sleep(0.2)
            assert post(update, secret) == 200
            reply = server.api.wait_for(lambda a: replies_to(a, update))
            assert "陶久娣" in reply[0]["text"]
        finally:
            loop.call_soon_threadsafe(app.stop_running)
            thread.join(30)
        assert not thread.is_alive()
    logged = [caplog.handler.format(r) for r in caplog.records]
    assert any("HTTP Request" in line and "/bot<token>/" in line for line in logged)  # URLs were logged, scrubbed
    assert not any(tg.TOKEN.split(":")[1] in line or secret in line for line in logged)
