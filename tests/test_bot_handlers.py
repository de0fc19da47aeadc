"""Handler tests through python-telegram-bot with a request class that never touches the
network: the assertions are on the Bot API calls the bot makes."""

from __future__ import annotations

from pathlib import Path

import pytest
from telegram import Update

from bot.settings import Settings
from corpus.clean import to_traditional
from embeddings.engine import Engine
from tests import fake_telegram as tg
from tests.conftest import seed_engine

pytestmark = pytest.mark.model
ADMIN, USER, GROUP = 7, 42, -100123


@pytest.fixture(scope="module")
def bot_engine(real_encoder, tmp_path_factory) -> Engine:
    return seed_engine(real_encoder, tmp_path_factory.mktemp("botengine"))


def settings_for(engine: Engine, **kw) -> Settings:
    base = dict(token=tg.TOKEN, admin_ids=frozenset({ADMIN}), corpus_dir=engine.config.corpus_dir,
                data_dir=engine.config.data_dir, index_dir=engine.config.index_dir, outgoing_rate_limit=False)
    base.update(kw)
    return Settings(**base)


@pytest.fixture
async def bot(bot_engine):
    """``await bot(**settings)`` -> (application, fake api), initialised."""
    bots = tg.Bots()
    yield lambda **kw: bots.make(settings_for(bot_engine, **kw), bot_engine)
    await bots.close()


async def feed(app, update: dict):
    await app.process_update(Update.de_json(tg.FakeBotApi().push(update), app.bot))


async def test_start_registers_commands_and_offers_example_buttons(bot):
    app, api = await bot()
    await app.bot_data["state"].examples_task  # made in the background at start: wait for them, not a clock
    assert [c["command"] for c in api.sent("setMyCommands")[0]["commands"]] == ["start", "help", "ask", "reindex",
                                                                              "stats", "new", "docs", "remove", "feedback"]
    await feed(app, tg.message("/start", USER))
    msg = api.sent()[0]
    assert msg["chat_id"] == USER and msg["parse_mode"] == "HTML"
    assert "<b>1</b> document(s)" in msg["text"] and "<b>17</b> passages" in msg["text"]
    buttons = [row[0] for row in msg["reply_markup"]["inline_keyboard"]]
    # the user's Telegram is in English: English examples, about the documents' people
    assert len(buttons) == 3 and [b["callback_data"] for b in buttons] == ["ex:en:0", "ex:en:1", "ex:en:2"]
    assert all(b["text"].isascii() and b["text"].endswith("?") for b in buttons)
    # tapping an example asks it, and it is answered (the examples are checked against the index)
    await feed(app, tg.callback("ex:en:0", USER, msg.get("message_id", 1)))
    assert api.sent("answerCallbackQuery")
    asked, answer = (m["text"] for m in api.sent()[-2:])
    assert asked == f"❓ {buttons[0]['text']}" and "do not answer" not in answer
    # in traditional Chinese: Chinese examples in the user's script
    await feed(app, tg.message("/start", USER + 1, lang="zh-hant"))
    buttons = [row[0] for row in api.sent(chat_id=USER + 1)[0]["reply_markup"]["inline_keyboard"]]
    assert [b["callback_data"] for b in buttons] == ["ex:zh:0", "ex:zh:1", "ex:zh:2"]
    assert all(b["text"] == to_traditional(b["text"]) and not b["text"].isascii() for b in buttons)
    await feed(app, tg.callback("ex:zh:2", USER + 1, 1))
    assert "没有找到" not in api.sent(chat_id=USER + 1)[-1]["text"]


async def test_private_question_is_answered_with_names_typing_and_a_reply(bot, monkeypatch):
    monkeypatch.setattr("bot.telegram.questions.TYPING_DELAY", 0.0)  # as if the answer took a while
    app, api = await bot()
    update = tg.message("谁参加了调研？", USER)
    await feed(app, update)
    assert api.sent("sendChatAction")[0] == {"chat_id": USER, "action": "typing"}
    msg = api.sent()[-1]
    assert msg["chat_id"] == USER and msg["parse_mode"] == "HTML"
    assert msg["reply_parameters"]["message_id"] == update["message"]["message_id"]
    assert msg["text"].startswith("<b>相关人物</b>") and "王瑞连" in msg["text"] and "王忠林" in msg["text"]
    button = msg["reply_markup"]["inline_keyboard"][0][0]
    assert button["callback_data"].startswith("more:") and len(button["callback_data"].encode()) <= 64


async def test_a_quick_answer_costs_one_request_not_two(bot):
    app, api = await bot()
    await feed(app, tg.message("谁参加了调研？", USER))
    assert api.sent() and not api.sent("sendChatAction")  # typing only for answers slower than TYPING_DELAY


async def test_traditional_question_gets_traditional_text(bot):
    app, api = await bot()
    await feed(app, tg.message("東湖新城社區的黨委書記是誰？", USER))
    text = api.sent()[-1]["text"]
    assert "黨委書記陶久娣" in text and "党委书记" not in text


async def test_groups_answer_ask_mentions_and_replies_only(bot):
    app, api = await bot()
    await feed(app, tg.message("大家好，今天开会", USER, GROUP))
    assert api.sent() == []
    await feed(app, tg.mention("@qa_test_bot 武汉市委书记叫什么名字？", USER, GROUP))
    assert "王忠林" in api.sent(chat_id=GROUP)[-1]["text"]
    await feed(app, tg.message("/ask 三驾马车指什么？", USER, GROUP))
    assert "三驾马车" in api.sent(chat_id=GROUP)[-1]["text"]
    reply = tg.message("那么核心是什么？", USER, GROUP,
                       reply_to_message={"message_id": 1, "date": 0, "chat": {"id": GROUP, "type": "supergroup"},
                                         "from": tg.BOT, "text": "..."})
    await feed(app, reply)
    assert len(api.sent(chat_id=GROUP)) == 3
    await feed(app, tg.sticker(USER) | {"message": {**tg.sticker(USER)["message"],
                                                    "chat": {"id": GROUP, "type": "supergroup"}}})
    assert len(api.sent(chat_id=GROUP)) == 3


async def test_more_results_pages_then_goes_stale_after_reindex(bot, bot_engine):
    app, api = await bot()
    asked = tg.message("应勇在青和居社区走访了哪些地方？", USER)
    await feed(app, asked)
    first = api.sent()[-1]
    data = first["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    other, other_api = await bot()  # another replica, which never saw the question: the press lands there
    await feed(other, tg.callback(data, USER, 5000, reply_to=asked["message"]))
    page = other_api.sent()[-1]
    assert page["text"].startswith("<b>依据 3–5</b>") and page["text"].count("<blockquote>") == 3
    bot_engine.rebuild()  # a new index generation
    await feed(app, tg.callback(data, USER, 5000, reply_to=asked["message"]))
    note = api.sent("answerCallbackQuery")[-1]
    assert "out of date" in note["text"] and note["show_alert"] is True


async def test_more_results_for_a_group_question_reads_it_without_the_command(bot):
    app, api = await bot()
    asked = tg.message("/ask 应勇在青和居社区走访了哪些地方？", USER, GROUP)
    await feed(app, asked)
    data = api.sent(chat_id=GROUP)[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await feed(app, tg.callback(data, GROUP, 5000, USER, reply_to=asked["message"]))
    assert api.sent(chat_id=GROUP)[-1]["text"].startswith("<b>依据 3–5</b>")


async def test_not_covered_question_says_so(bot):
    app, api = await bot()
    await feed(app, tg.message("What is the population of Wuhan?", USER))
    text = api.sent()[-1]["text"]
    assert text.startswith("🤷 The documents do not answer this question.") and "Closest passage" in text
    assert "reply_markup" not in api.sent()[-1]


@pytest.mark.parametrize("update,expected", [
    (tg.sticker(USER), "I can only read text"),
    (tg.message("x" * 501, USER), "too long"),
    (tg.message("/ask", USER), "Please write a question"),
    (tg.message("/ask   ", USER), "Please write a question"),
    (tg.message("🙂🙂🙂", USER), "I don't see a question"),
    (tg.message("？？？！！！", USER), "I don't see a question"),
    (tg.message("\u200b\u200f\u202e", USER), "I don't see a question"),
    (tg.message("   ", USER), "I don't see a question"),
    (tg.message("/frobnicate", USER), "I don't know /frobnicate"),
    (tg.message("/reindex", USER), "only admins"),
    (tg.message("/stats", USER), "for admins"),
    (tg.document_message("f1", "notes.txt", 10, USER), "Only admins can add documents"),
])
async def test_bad_input_gets_a_short_helpful_reply(bot, update, expected):
    app, api = await bot()
    await feed(app, update)
    assert expected in api.sent()[-1]["text"]


async def test_help_lists_commands(bot):
    app, api = await bot()
    await feed(app, tg.message("/help", USER))
    text = api.sent()[-1]["text"]
    assert "/ask" in text and "/reindex" in text and "@qa_test_bot" in text


async def test_admin_stats(bot):
    app, api = await bot()
    await feed(app, tg.message("基层社会治理的核心是什么？", USER))
    await feed(app, tg.message("/stats", ADMIN))
    text = api.sent()[-1]["text"]
    assert "Passages: 17" in text and "Questions answered since start: 1" in text and "ms" in text


async def test_rate_limit_per_user(bot):
    app, api = await bot(questions_per_minute=2)
    for _ in range(3):
        await feed(app, tg.message("三驾马车指什么？", USER))
    assert "faster than I can read" in api.sent()[-1]["text"]
    await feed(app, tg.message("三驾马车指什么？", USER + 1))
    assert "三驾马车" in api.sent()[-1]["text"]


async def test_allow_lists(bot):
    app, api = await bot(allowed_users=frozenset({USER}))
    await feed(app, tg.message("三驾马车指什么？", 555))
    assert api.sent()[-1]["text"] == "Sorry, this bot is private." and len(api.sent()) == 1
    await feed(app, tg.message("三驾马车指什么？", USER))
    assert "三驾马车" in api.sent()[-1]["text"]


async def test_plain_text_resend_when_formatting_is_rejected(bot):
    app, api = await bot()
    api.reject_entities = True
    await feed(app, tg.message("基层社会治理的核心是什么？", USER))
    [(method, why, html)] = api.rejected  # the HTML version, refused
    [plain] = api.sent()  # then the plain one, delivered
    assert method == "sendMessage" and "<b>" in html and "parse_mode" not in plain
    assert "<b>" not in plain["text"] and "核心是人" in plain["text"]


async def test_unexpected_error_is_logged_and_apologised(bot, bot_engine, monkeypatch, caplog):
    app, api = await bot()

    def boom(*a, **k):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(bot_engine, "answer", boom)
    update = tg.message("三驾马车指什么？", USER)
    await feed(app, update)
    await app.update_queue.join()
    assert "Sorry, something went wrong" in api.sent()[-1]["text"]
    assert any("Error while handling update" in r.getMessage() and r.exc_info for r in caplog.records)


async def test_inline_query_offers_passages(bot):
    app, api = await bot()
    await feed(app, tg.inline("晴天带伞"))
    call = api.sent("answerInlineQuery")[0]
    results = call["results"]
    assert 1 <= len(results) <= 5 and all(r["type"] == "article" for r in results)
    assert "晴天带伞" in results[0]["input_message_content"]["message_text"]  # in the query's script
    assert all(len(r["id"].encode()) <= 64 for r in results)


async def test_admin_uploads_a_document(bot, bot_engine):
    app, api = await bot()
    content = "---\ntitle: 新文件\n---\n新文件的内容。".encode("gb18030")
    api.files["doc1"] = content
    await feed(app, tg.document_message("doc1", "new-doc.txt", len(content), ADMIN))
    saved = Path(bot_engine.config.corpus_dir) / "new-doc.txt"
    try:
        assert saved.read_bytes() == content
        reply = api.sent()[-1]
        assert "Added <b>新文件</b> as <code>new-doc.txt</code>: 1 paragraph(s), 1 passage(s)" in reply["text"]
        assert reply["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "reindex"
        api.files["bin"] = b"\x00\x01binary"
        await feed(app, tg.document_message("bin", "bad.txt", 8, ADMIN))
        assert "I did not add bad.txt: binary data" in api.sent()[-1]["text"]
        assert not (Path(bot_engine.config.corpus_dir) / "bad.txt").exists()
    finally:
        saved.unlink(missing_ok=True)


async def test_admin_reindex_reports_and_refuses_a_second_one(bot, bot_engine):
    app, api = await bot()
    await feed(app, tg.message("/reindex", ADMIN))
    edits = api.sent("editMessageText")
    assert "Index rebuilt: 1 document(s), 17 passages" in edits[-1]["text"]
    state = app.bot_data["state"]
    state.reindexing = True
    await feed(app, tg.message("/reindex", ADMIN))
    assert "already running" in api.sent()[-1]["text"]
    state.reindexing = False


async def test_failed_reindex_keeps_serving(bot, bot_engine, monkeypatch):
    app, api = await bot()
    before = bot_engine.index

    def broken_corpus(*a, **k):
        raise OSError("corpus disk unavailable")

    monkeypatch.setattr("embeddings.engine.load_corpus", broken_corpus)
    await feed(app, tg.message("/reindex", ADMIN))
    assert "Rebuild failed: corpus disk unavailable" in api.sent("editMessageText")[-1]["text"]
    assert bot_engine.index is before
    await feed(app, tg.message("三驾马车指什么？", USER))
    assert "三驾马车" in api.sent()[-1]["text"]


async def test_the_bot_speaks_the_users_language(bot):
    app, api = await bot()
    await feed(app, tg.message("/start", USER, lang="zh-hans"))
    assert api.sent()[-1]["text"].startswith("👋 我根据 <b>1</b> 篇文档")
    await feed(app, tg.message("/start", USER, lang="zh-TW"))
    assert "篇文檔" in api.sent()[-1]["text"]
    await feed(app, tg.sticker(USER) | {"message": {**tg.sticker(USER)["message"], "from": tg.user(USER, "zh")}})
    assert api.sent()[-1]["text"].startswith("我只能读文字")
    await feed(app, tg.message("谁参加了调研？", USER + 5, lang="zh"))
    assert api.sent()[-1]["reply_markup"]["inline_keyboard"][0][0]["text"] == "更多结果 ➜"


async def test_a_private_conversation_of_three_turns_with_follow_ups(bot):
    app, api = await bot()
    await feed(app, tg.message("哪些领导参加了这次调研？", USER))
    first = api.sent()[-1]
    assert first["text"].startswith("<b>相关人物</b>")
    assert [b["callback_data"] for b in first["reply_markup"]["inline_keyboard"][0]][-1] == "new"
    await feed(app, tg.message("他们分别担任什么职务？", USER))
    second = api.sent()[-1]["text"]
    assert second.startswith("<i>(他们 = 王瑞连、王忠林)</i>") and "组织部部长" in second and "武汉市委书记" in second
    await feed(app, tg.message("还有呢？", USER))
    third = api.sent()[-1]["text"]
    assert "还有呢？ = " in third


async def test_two_users_in_a_group_keep_their_own_context(bot):
    app, api = await bot()
    await feed(app, tg.message("/ask 哪些领导参加了这次调研？", USER, chat_id=GROUP))
    await feed(app, tg.message("/ask 东湖新城社区的党委书记是谁？", ADMIN, chat_id=GROUP))
    await feed(app, tg.message("/ask 他们分别担任什么职务？", USER, chat_id=GROUP))
    assert "他们 = 王瑞连、王忠林" in api.sent(chat_id=GROUP)[-1]["text"]
    await feed(app, tg.message("/ask 她在座谈会上介绍了什么？", ADMIN, chat_id=GROUP))
    reply = api.sent(chat_id=GROUP)[-1]["text"]
    assert "她 = 陶久娣" in reply and "社区治理" in reply


async def test_new_topic_and_silence_forget_the_context(bot):
    app, api = await bot()
    await feed(app, tg.message("哪些领导参加了这次调研？", USER))
    await feed(app, tg.message("/new", USER))
    assert "New topic" in api.sent()[-1]["text"]
    await feed(app, tg.message("他们分别担任什么职务？", USER))
    assert "他们 =" not in api.sent()[-1]["text"]
    # the button under an answer does the same
    await feed(app, tg.message("哪些领导参加了这次调研？", USER))
    await feed(app, tg.callback("new", USER, api.sent()[-1].get("message_id", 1)))
    await feed(app, tg.message("他们分别担任什么职务？", USER))
    assert "他们 =" not in api.sent()[-1]["text"]
    # and so does silence
    app.bot_data["state"].conversations.ttl = 0.0
    await feed(app, tg.message("哪些领导参加了这次调研？", USER))
    app.bot_data["state"].conversations.clear((USER, 0, 0))
    await feed(app, tg.message("哪些领导参加了这次调研？", USER))
    await feed(app, tg.message("他们分别担任什么职务？", USER))
    assert "他们 =" not in api.sent()[-1]["text"]
