"""The audit's findings, each as the failure it was: the bot keeps serving through bad
updates, transient Bot API errors and odd input, and never prints its token."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest
from telegram import Update

from bot.settings import Settings, SettingsError
from bot.telegram.app import FLOOD_RETRIES, BotStartError, build_application, run_bot
from bot.transport import MAX_BACKLOG, Progress, RedactToken
from embeddings.engine import Engine, EngineConfig
from tests import fake_telegram as tg
from tests.fakes import HashEncoder

ADMIN, USER, OTHER, STRANGER, GROUP = 7, 42, 43, 666, -100123


def settings_for(engine: Engine, **kw) -> Settings:
    base = dict(token=tg.TOKEN, admin_ids=frozenset({ADMIN}), corpus_dir=engine.config.corpus_dir,
                data_dir=engine.config.data_dir, index_dir=engine.config.index_dir, outgoing_rate_limit=False,
                example_questions=("应勇强调了什么？",))
    base.update(kw)
    return Settings(**base)


@pytest.fixture
def open_engine(seed_corpus: Path, tmp_path: Path) -> Engine:
    """The seed with the fake encoder and the gate open: every question gets an answer with
    "More results", fast, when what is tested is the bot around it."""
    from embeddings.answering import ComposerParams, GateParams

    engine = Engine(EngineConfig(seed_corpus, tmp_path / "open-index", tmp_path / "open-data",
                                 answer=ComposerParams(gate=GateParams.open())),
                    HashEncoder())
    engine.rebuild()
    return engine


@pytest.fixture
async def bot(open_engine):
    """``await bot(**settings)`` -> (application, fake api), initialised."""
    bots = tg.Bots()
    yield lambda **kw: bots.make(settings_for(open_engine, **kw), open_engine)
    await bots.close()


async def feed(app, update: dict) -> dict:
    update = tg.FakeBotApi().push(update)
    await app.process_update(Update.de_json(update, app.bot))
    return update


def answers(api, chat_id=USER) -> list[str]:
    return [m["text"] for m in api.sent(chat_id=chat_id)]


# 1. one undecodable update must not stop the bot
def test_an_undecodable_update_is_skipped_and_confirmed(fake_engine, caplog):
    api = tg.FakeBotApi()
    app = build_application(settings_for(fake_engine), fake_engine, request=tg.FakeRequest(api))
    bad = api.push_raw({"message": {"message_id": 1, "chat": {"id": USER}}})  # no date, no chat type
    good = api.push(tg.message("三驾马车指什么？", USER))
    with caplog.at_level(logging.WARNING), tg.polling_in_thread(app, api):
        api.wait_for(lambda a: a.sent(chat_id=USER), 20)
        polls = api.polls()
        api.wait_for(lambda a: a.polls() >= polls + 3)  # a few more polls: the bad update must not come back
    assert api.pending == [] or all(u["update_id"] > good["update_id"] for u in api.pending)
    skipped = [r for r in caplog.records if f"Skipping update {bad['update_id']}" in r.getMessage()]
    assert len(skipped) == 1 and "message" not in skipped[0].getMessage().split(":")[0]


# 2. the token never reaches the logs, and a rejected token is one sentence
def test_token_is_scrubbed_from_messages_arguments_and_tracebacks():
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactToken(tg.TOKEN))
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    try:
        logger.warning("Set Bot API URL: https://api.telegram.org/bot%s", tg.TOKEN)
        try:
            raise RuntimeError(f"InvalidToken: The token `{tg.TOKEN}` was rejected by the server.")
        except RuntimeError:
            logger.exception("start failed")
    finally:
        logger.removeHandler(handler)
    text = "\n".join(records)
    assert "<token>" in text and tg.TOKEN.split(":")[1] not in text


def test_rejected_token_is_one_sentence_without_the_token(fake_engine, caplog):
    with tg.FakeTelegramServer() as server, caplog.at_level(logging.DEBUG):
        wrong = "111111111:BBBwrongwrongwrongwrongwrongwrongwro"
        settings = settings_for(fake_engine, token=wrong, api_base_url=server.url)
        with pytest.raises(BotStartError) as raised:
            run_bot(settings, fake_engine)
    assert "rejected the token" in str(raised.value) and raised.value.__cause__ is None
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert wrong.split(":")[1] not in logged and wrong.split(":")[1] not in str(raised.value)


def test_unreachable_bot_api_is_retried_then_one_sentence(fake_engine, monkeypatch):
    monkeypatch.setattr("bot.telegram.app.START_ATTEMPTS", 2)
    monkeypatch.setattr("bot.telegram.app.time.sleep", lambda s: None)
    settings = settings_for(fake_engine, api_base_url="http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(BotStartError, match="could not be reached"):
        run_bot(settings, fake_engine)


def test_webhook_secret_with_invalid_characters_is_a_settings_error():
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        Settings.from_env({"TELEGRAM_WEBHOOK_SECRET": "no spaces allowed!"})


# 3. progress edits arrive in order, the final one last
async def test_reindex_progress_edits_end_with_the_result(bot, tmp_path: Path, seed_corpus):
    class Slow(HashEncoder):
        def encode_documents(self, texts, progress=None):
            out = []
            for t in texts:
                time.sleep(0.1)
                out.append(super().encode_documents([t])[0])
                if progress:
                    progress(1)
            import numpy as np

            return np.vstack(out)

    engine = Engine(EngineConfig(seed_corpus, tmp_path / "slow-index", tmp_path / "slow-data"), Slow())
    api = tg.FakeBotApi()
    api.slow.append(("editMessageText", "17/17 passages", 0.5))  # the last progress edit is slow to arrive
    app = build_application(settings_for(engine), engine, request=tg.FakeRequest(api))
    await app.initialize()
    try:
        await feed(app, tg.message("/reindex", ADMIN))
        # done, and nothing on its way: an edit still travelling would land after the result
        await until(lambda: api.in_flight == 0 and any("Index rebuilt" in e["text"] for e in api.sent("editMessageText")))
    finally:
        await app.shutdown()
    edits = [e["text"] for e in api.sent("editMessageText")]
    assert any("/17 passages" in e for e in edits[:-1])  # progress was shown on the way
    assert "Index rebuilt" in edits[-1] and all("Index rebuilt" not in e for e in edits[:-1])


async def test_progress_never_edits_after_finish():
    edits, started, release = [], asyncio.Event(), asyncio.Event()

    async def edit(text):
        if text != "done":  # a progress edit still travelling when the work finishes
            started.set()
            await release.wait()
        edits.append(text)

    with Progress(edit, lambda d, t: f"{d}/{t}", interval=0.01) as progress:
        progress.update(1, 20)
        await started.wait()
        finishing = asyncio.create_task(progress.finish("done"))
        await asyncio.sleep(0)
        release.set()
        await finishing
        for _ in range(10):  # let anything left over run: a stray edit would land now
            await asyncio.sleep(0)
    assert edits[-1] == "done" and edits.count("done") == 1


async def until(predicate, timeout: float = 60.0) -> None:
    """Wait for ``predicate()`` on the event loop: an event, not a guess at how long it takes."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# 4. transient Bot API errors do not turn answers into apologies
@pytest.mark.parametrize("faults", [(500,), ("drop",), (502, 500), (429,)])
async def test_transient_send_errors_are_retried(bot, faults):
    app, api = await bot()
    api.fail("sendMessage", *faults)
    await feed(app, tg.message("三驾马车指什么？", USER))
    texts = answers(api)
    assert len(texts) == 1 and "三驾马车" in texts[0] and "Sorry" not in texts[0]


async def test_flood_control_is_waited_out_by_one_layer(bot, monkeypatch):
    """Under lasting flood control a message costs at most 1 + FLOOD_RETRIES sends: the rate
    limiter waits and retries, ``with_retries`` does not retry on top of it (that made 16)."""
    app, api = await bot()
    waited = []
    sleep = asyncio.sleep

    async def no_wait(seconds, *args, **kwargs):  # the limiter's waits, counted instead of slept
        waited.append(seconds)
        await sleep(0)

    monkeypatch.setattr("telegram.ext._aioratelimiter.asyncio.sleep", no_wait)
    api.fail("sendMessage", *[429] * 40)
    await feed(app, tg.message("三驾马车指什么？", USER))
    # the answer and then the apology each get 1 + FLOOD_RETRIES tries, nothing more
    assert len([f for f in api.failed if f == ("sendMessage", 429)]) == 2 * (1 + FLOOD_RETRIES)
    assert len([w for w in waited if w >= 1]) == 2 * FLOOD_RETRIES  # each retry waited as Telegram asked
    api.faults.clear()
    api.fail("sendMessage", 429, 429)  # passing flood control: the answer arrives
    await feed(app, tg.message("三驾马车指什么？", USER))
    assert "三驾马车" in answers(api)[-1]


async def test_a_send_that_times_out_after_delivery_gets_no_apology(bot):
    app, api = await bot()
    api.fail("sendMessage", "late")
    await feed(app, tg.message("三驾马车指什么？", USER))
    texts = answers(api)
    assert len(texts) == 1 and "三驾马车" in texts[0]


async def test_a_failing_typing_action_costs_nothing(bot, monkeypatch):
    monkeypatch.setattr("bot.telegram.questions.TYPING_DELAY", 0.0)
    app, api = await bot()
    api.fail("sendChatAction", 500, 500, 500, 500)
    await feed(app, tg.message("三驾马车指什么？", USER))
    texts = answers(api)
    assert len(texts) == 1 and "三驾马车" in texts[0]


# 8. rate limits hold for every way of asking; strangers are refused once a minute
async def test_inline_and_more_results_count_against_the_rate_limit(bot):
    app, api = await bot(questions_per_minute=2)
    for _ in range(4):
        await feed(app, tg.inline("三驾马车", USER))
    served = [c for c in api.sent("answerInlineQuery") if c["results"]]
    assert len(served) == 2


async def test_strangers_are_told_once_and_their_buttons_answered(bot):
    app, api = await bot(allowed_users=frozenset({USER}))
    for _ in range(5):
        await feed(app, tg.message("三驾马车指什么？", STRANGER))
    assert len(api.sent(chat_id=STRANGER)) == 1
    await feed(app, tg.callback("more:abc:2", STRANGER, 1, STRANGER))
    assert api.sent("answerCallbackQuery")[-1]["show_alert"] is True
    await feed(app, tg.inline("三驾马车", STRANGER))
    assert api.sent("answerInlineQuery")[-1]["results"] == []


# 9. commands for other bots in a group are not ours to answer
@pytest.mark.parametrize("text", ["/ask@otherbot 三驾马车指什么？", "/foo@otherbot", "/foo"])
async def test_commands_for_other_bots_get_silence(bot, text):
    app, api = await bot()
    await feed(app, tg.message(text, USER, GROUP))
    assert api.sent() == []


async def test_unknown_command_for_us_in_a_group_is_answered_briefly(bot):
    app, api = await bot()
    await feed(app, tg.message("/frobnicate@qa_test_bot", USER, GROUP))
    assert "I don't know /frobnicate" in api.sent()[-1]["text"]
    await feed(app, tg.message("/" + "x" * 4091, USER))
    assert api.sent()[-1]["text"].startswith("I don't know /xxx") and len(api.sent()[-1]["text"]) < 200
    assert not api.rejected


# 16. callbacks: odd data is answered, paging ids work only where they were given
@pytest.mark.parametrize("data", ["more:", "more:x:y:z", "more:abc:notanumber", "ex:99", "ex:-1", "docs:x", "∞" * 80,
                                  "", "rm:", "ex:²", "docs:²", "ex:٣", "ex:en:99", "ex:zh:²", "ex:xx:0", "ex:0"])
async def test_malformed_callback_data_is_answered_without_error(bot, data):
    app, api = await bot()
    await feed(app, tg.callback(data, USER, 1, USER))
    assert len(api.sent("answerCallbackQuery")) == 1
    assert not any("Sorry, something went wrong" in m["text"] for m in api.sent())


def _more_data(answer: dict) -> str:
    """The callback data of the "More results" button under an answer."""
    return next(b["callback_data"] for row in answer["reply_markup"]["inline_keyboard"] for b in row
                if b["callback_data"].startswith("more:"))


async def test_forged_more_offsets_are_refused_without_a_search(bot, open_engine, monkeypatch):
    app, api = await bot()
    asked = tg.message("应勇强调了什么？", USER)
    await feed(app, asked)
    generation = _more_data(api.sent()[-1]).split(":")[1]
    asked_for = []
    search = open_engine.search
    monkeypatch.setattr(open_engine, "search", lambda q, k=5: asked_for.append(k) or search(q, k))
    for offset in ("²", "999999", "٣"):  # a superscript and an Arabic-Indic digit pass str.isdigit()
        await feed(app, tg.callback(f"more:{generation}:{offset}", USER, 1, USER, reply_to=asked["message"]))
        assert api.sent("answerCallbackQuery")[-1].get("show_alert") is True, offset
    assert asked_for == []
    assert not any("Sorry, something went wrong" in m["text"] for m in api.sent())


async def test_more_results_after_a_follow_up_pages_through_what_was_understood(bot, open_engine, monkeypatch):
    app, api = await bot()
    await feed(app, tg.message("青和居社区在哪里？", USER))
    follow_up = tg.message("那东湖新城社区呢？", USER)
    await feed(app, follow_up)
    answer = api.sent()[-1]
    assert "东湖新城社区在哪里" in answer["text"]  # the reading, shown above the answer
    searched = []
    search = open_engine.search
    monkeypatch.setattr(open_engine, "search", lambda q, k=5: searched.append(q) or search(q, k))
    await feed(app, tg.callback(_more_data(answer), USER, 1, USER, reply_to=follow_up["message"]))
    assert searched == ["东湖新城社区在哪里？"]


async def test_paging_id_from_another_chat_is_refused(bot):
    app, api = await bot()
    asked = tg.message("应勇强调了什么？", USER)
    await feed(app, asked)
    more = _more_data(api.sent()[-1])
    await feed(app, tg.callback(more, OTHER, 1, OTHER))  # copied to another chat: no question there
    assert api.sent("answerCallbackQuery")[-1].get("show_alert") is True
    await feed(app, tg.callback(more, USER, 1, USER, reply_to=asked["message"]))
    assert len(api.sent(chat_id=USER)) == 2  # the page, in the chat it was asked in


async def test_a_lone_surrogate_in_a_question_is_harmless(bot):
    app, api = await bot()
    await feed(app, tg.message("三驾马车\ud800指什么？", USER))
    assert "三驾马车" in api.sent()[-1]["text"]


# 17. small things a user notices
async def test_an_edited_question_is_not_answered_again(bot):
    app, api = await bot()
    update = tg.message("三驾马车指什么？", USER)
    edited = {"edited_message": {**update["message"], "edit_date": int(time.time())}}
    await feed(app, edited)
    assert api.sent() == []


async def test_a_tapped_example_is_quoted_as_the_question(bot):
    app, api = await bot()
    await feed(app, tg.message("/start", USER, lang="zh-TW"))
    start = api.sent()[-1]
    [[button]] = start["reply_markup"]["inline_keyboard"]
    assert button["text"] == "應勇強調了什麼？"  # in the user's script
    tap = tg.callback(button["callback_data"], USER, 5000, USER)
    tap["callback_query"]["from"]["language_code"] = "zh-TW"
    await feed(app, tap)
    asked, answer = api.sent()[-2:]
    assert asked["text"] == "❓ 應勇強調了什麼？"
    assert answer["reply_parameters"]["message_id"] != 5000  # quotes the question, not /start


async def test_more_results_button_works_once(bot):
    app, api = await bot()
    asked = tg.message("应勇强调了什么？", USER)
    await feed(app, asked)
    more = _more_data(api.sent()[-1])
    await feed(app, tg.callback(more, USER, 1, USER, reply_to=asked["message"]))
    [retired] = api.sent("editMessageReplyMarkup")
    assert all(not b["callback_data"].startswith("more:")
               for row in retired["reply_markup"]["inline_keyboard"] for b in row)


def test_thread_safety_of_progress_updates():
    """Progress.update is called from the build thread while the loop reads it."""
    seen = []

    async def run():
        async def edit(text):
            seen.append(text)

        with Progress(edit, lambda d, t: f"{d}/{t}", interval=0.01) as progress:
            worker = threading.Thread(target=lambda: [progress.update(i, 500) or time.sleep(0.0005) for i in range(500)])
            worker.start()
            while worker.is_alive():
                await asyncio.sleep(0.01)
            await progress.finish("done")

    asyncio.run(run())
    assert seen[-1] == "done"


class SlowEncoder(HashEncoder):
    """Embeds one passage per 50 ms: a rebuild long enough to race against."""

    def encode_documents(self, texts, progress=None):
        import numpy as np

        out = []
        for t in texts:
            time.sleep(0.05)
            out.append(self._vec(t))
            if progress:
                progress(1)
        return np.vstack(out) if out else np.zeros((0, self.dim), np.float32)


async def test_two_reindexes_raced_one_runs_questions_and_uploads_keep_flowing(tmp_path: Path, seed_corpus: Path):
    engine = Engine(EngineConfig(seed_corpus, tmp_path / "index", tmp_path / "data"), SlowEncoder())
    engine.rebuild()
    (tmp_path / "data" / "cache" / "build-cache.sqlite").unlink()  # the next build embeds everything again
    engine._cache = None
    before = engine.index
    api = tg.FakeBotApi()
    app = build_application(settings_for(engine), engine, request=tg.FakeRequest(api))
    await app.initialize()
    try:
        await feed(app, tg.message("三驾马车指什么？", USER))  # its sentences encoded now, not during the race
        first = asyncio.create_task(feed(app, tg.message("/reindex", ADMIN)))
        second = asyncio.create_task(feed(app, tg.message("/reindex", ADMIN)))
        await until(lambda: engine.rebuilding)
        # a question during the rebuild is answered from the old index
        await feed(app, tg.message("三驾马车指什么？", USER))
        assert "三驾马车" in api.sent(chat_id=USER)[-1]["text"] and engine.index is before
        # an upload during the rebuild lands in the folder and is not claimed as indexed
        api.files["late"] = "迟到的文件：周五晚上社区放映露天电影。".encode()
        await feed(app, tg.document_message("late", "late.txt", len(api.files["late"]), ADMIN))
        await asyncio.gather(first, second)
    finally:
        await app.shutdown()
    texts = [m["text"] for m in api.sent(chat_id=ADMIN)] + [e["text"] for e in api.sent("editMessageText")]
    assert sum("Index rebuilt" in t for t in texts) == 1
    assert sum("already running" in t for t in texts) == 1
    assert engine.index is not before
    if "late.txt" not in {p.doc_id for p in engine.index.passages}:  # read after the build had listed the folder
        assert engine.is_stale()
        assert engine.rebuild().changes.new == ("late.txt",)
    assert "late.txt" in {p.doc_id for p in engine.index.passages}


# 5. a stop with a backlog drains a few seconds of work and confirms nothing it did not handle
def test_stop_with_a_backlog_is_quick_and_loses_nothing(seed_corpus: Path, tmp_path: Path):
    class SlowQueries(HashEncoder):
        def encode_queries(self, texts):
            time.sleep(0.3)
            return super().encode_queries(texts)

    engine = Engine(EngineConfig(seed_corpus, tmp_path / "index", tmp_path / "data"), SlowQueries())
    engine.rebuild()
    api = tg.FakeBotApi()
    app = build_application(settings_for(engine, questions_per_minute=0), engine, request=tg.FakeRequest(api))
    ids = {api.push(tg.message(f"第{i}个问题：三驾马车指什么？", 1000 + i % 50))["message"]["message_id"]
           for i in range(300)}
    loop, thread = tg.start_polling(app)
    api.wait_for(lambda a: len(a.sent()) >= 10, 60)
    answered_before = len(api.sent())
    loop.call_soon_threadsafe(app.stop_running)  # what SIGTERM does
    thread.join(60)  # a hang guard, not a speed test
    assert not thread.is_alive()
    # the stop drains what was in hand (fetched or being fetched), not the backlog Telegram keeps
    assert len(api.sent()) - answered_before <= 2 * MAX_BACKLOG
    replies = [m["reply_parameters"]["message_id"] for m in api.sent()]
    still_queued = {u["message"]["message_id"] for u in api.pending}  # not confirmed: fetched again on restart
    assert len(replies) == len(set(replies))  # nothing answered twice
    assert set(replies) | still_queued == ids and not set(replies) & still_queued  # nothing lost
    assert len(still_queued) > 200  # the backlog stayed with Telegram


async def test_reindex_reports_success_even_if_examples_fail(bot, monkeypatch):
    app, api = await bot()

    def broken(*a, **k):
        raise RuntimeError("examples exploded")

    monkeypatch.setattr("bot.telegram.questions.pick_examples", broken)
    await feed(app, tg.message("/reindex", ADMIN))
    assert "Index rebuilt" in api.sent("editMessageText")[-1]["text"]


async def test_rate_limit_memory_forgets_quiet_users(bot, monkeypatch):
    app, _ = await bot(questions_per_minute=5)
    state = app.bot_data["state"]
    for uid in range(10_001):
        state.over_rate_limit(uid)
    clock = time.monotonic() + 120  # two minutes later
    monkeypatch.setattr("bot.telegram.state.time.monotonic", lambda: clock)
    state.over_rate_limit(99_999)
    assert len(state.recent) == 1


def test_progress_says_how_long_is_left(monkeypatch):
    from bot.telegram.admin import progress_text as _progress_text

    clock = [100.0]
    monkeypatch.setattr("bot.telegram.state.time.monotonic", lambda: clock[0])
    render = _progress_text("en")
    assert render(500, 2000) == "🔄 Rebuilding the index… 500/2000 passages"  # cached ones: no rate yet
    clock[0] += 10
    assert render(600, 2000).endswith("600/2000 passages, about 140 s left")  # 100 passages per 10 s
