"""Feedback: the store (ratings, comments, pruning, export, privacy, a database that cannot be
written) and the bot's 👍 / 👎 through the fake Bot API, with the export read back by the
evaluation."""

from __future__ import annotations

import asyncio

import json
import sqlite3
from pathlib import Path

import pytest
from telegram import Update

from bot.feedback import DB_FILE, FeedbackStore, Rated
from corpus.model import Passage
from embeddings.answering import Answer, AnswerKind, Point
from embeddings.answering.model import Evidence
from embeddings.search import Hit
from tests import fake_telegram as tg

ADMIN, USER, STRANGER, GROUP = 7, 42, 43, -100123
CHAT = USER


def _answer(question: str, span: str = "王忠林", answered: bool = True) -> Answer:
    sentence = f"省委常委、武汉市委书记{span}参加调研。"
    passage = Passage("d:1.0:x", "d", "报告", "d.txt", 1, 0, "", sentence, sentence)
    hit = Hit(passage, 0.9, 0.8, 0.5, 1)
    if not answered:
        return Answer(question, "zh-Hans", AnswerKind.NONE, hits=(hit,), reason="not covered")
    point = Point(f"武汉市委书记{span}", passage, 1.0, sentence, span)
    return Answer(question, "zh-Hans", AnswerKind.FACT, (point,), (Evidence(hit, (sentence,), frozenset({0})),), (hit,))


class Clock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_asker_rates_and_changes_a_rating_others_cannot(tmp_path):
    store = FeedbackStore(tmp_path)
    store.record(_answer("谁是武汉市委书记？"), USER, "gen1", CHAT, 100)
    assert store.rate(CHAT, 100, USER, 1) is Rated.NEW
    assert store.rate(CHAT, 100, USER, 1) is Rated.SAME
    assert store.rate(CHAT, 100, USER, -1) is Rated.CHANGED
    assert store.rate(CHAT, 100, STRANGER, 1) is Rated.NOT_YOURS
    assert store.rate(CHAT, 101, USER, 1) is Rated.UNKNOWN  # no answer was sent as that message
    assert store.rate(CHAT + 1, 100, USER, 1) is Rated.UNKNOWN  # the same message id in another chat
    assert store.comment(CHAT, 100, USER, "  说的是另一个人\n第二行 ") and not store.comment(CHAT, 100, STRANGER, "x")
    report = store.report()
    assert [(r.up, r.down, r.comments) for r in report.worst] == [(0, 1, ("说的是另一个人 第二行",))]
    assert report.days[0].asked == 1 and report.days[0].down == 1 and report.days[0].up == 0


def test_no_telegram_id_is_stored(tmp_path):
    store = FeedbackStore(tmp_path)
    user, chat, message = 987654321, 987654321, 424242
    store.record(_answer("谁是武汉市委书记？"), user, "gen1", chat, message)
    store.rate(chat, message, user, 1)
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(DB_FILE))
    assert b"987654321" not in raw and b"424242" not in raw and "王忠林".encode() in raw
    assert (tmp_path / "feedback.key").stat().st_mode & 0o077 == 0  # the hashing key: its owner's only


def test_old_records_are_pruned(tmp_path):
    clock = Clock()
    store = FeedbackStore(tmp_path, days=90, clock=clock)
    store.record(_answer("谁是武汉市委书记？"), USER, "gen1", CHAT, 1)
    clock.now += 30 * 86400
    store.record(_answer("谁陪同调研？", "王瑞连"), USER, "gen1", CHAT, 2)
    clock.now += 61 * 86400  # the first is 91 days old, the second 61
    assert store.prune() == 1
    assert store.rate(CHAT, 1, USER, 1) is Rated.UNKNOWN and store.rate(CHAT, 2, USER, 1) is Rated.NEW


def test_export_is_a_question_set_of_good_answers_and_declined_questions(tmp_path):
    store = FeedbackStore(tmp_path)
    store.record(_answer("谁是武汉市委书记？"), USER, "g", CHAT, 1)
    store.record(_answer("谁陪同调研？", "王瑞连"), USER, "g", CHAT, 2)
    store.record(_answer("北京天气怎么样？", answered=False), USER, "g", CHAT, None)
    store.record(_answer("北京天气怎么样？", answered=False), STRANGER, "g", CHAT, None)
    store.rate(CHAT, 1, USER, 1)
    store.rate(CHAT, 2, USER, -1)  # a 👎 answer is no test: its right answer is unknown
    rows = store.export()
    assert [(r["question"], r.get("answer_contains"), r.get("expect")) for r in rows] == [
        ("谁是武汉市委书记？", ["王忠林"], None), ("北京天气怎么样？", None, "no_answer")]
    assert rows[0]["evidence"] == ["省委常委、武汉市委书记王忠林参加调研。"] and rows[1]["review"] is True
    assert store.report().unanswered[0].times == 2


def test_a_database_that_cannot_be_written_costs_the_record_only(tmp_path):
    FeedbackStore(tmp_path).close()
    store = FeedbackStore(tmp_path, read_only=True)
    store.record(_answer("谁是武汉市委书记？"), USER, "gen1", CHAT, 1)  # logged, not raised
    assert store.rate(CHAT, 1, USER, 1) is Rated.UNKNOWN
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / DB_FILE).write_bytes(b"not a database" * 100)
    broken = FeedbackStore(tmp_path / "broken")  # not a database: kept aside, a new one begun
    broken.record(_answer("谁是武汉市委书记？"), USER, "gen1", CHAT, 1)
    assert broken.rate(CHAT, 1, USER, 1) is Rated.NEW
    aside = [p for p in (tmp_path / "broken").iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == b"not a database" * 100


# --- through the bot ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def bot_engine(real_encoder, tmp_path_factory):
    from tests.conftest import seed_engine

    return seed_engine(real_encoder, tmp_path_factory.mktemp("feedbackengine"))


@pytest.fixture
async def bot(bot_engine, tmp_path):
    from bot.settings import Settings

    bots = tg.Bots()

    def make(**kw):
        base = dict(token=tg.TOKEN, admin_ids=frozenset({ADMIN}), corpus_dir=bot_engine.config.corpus_dir,
                    data_dir=tmp_path / "data", index_dir=bot_engine.config.index_dir, outgoing_rate_limit=False)
        return bots.make(Settings(**base | kw), bot_engine)

    yield make
    await bots.close()


async def feed(app, update: dict):
    await app.process_update(Update.de_json(tg.FakeBotApi().push(update), app.bot))
    state = app.bot_data["state"]
    while state.background:  # the records are written off the event loop: wait for them, not a clock
        # (gather, then a turn of the loop for the tasks' done-callbacks: awaiting a finished task
        # does not yield, and a loop on it would spin before the callback that removes it runs)
        await asyncio.gather(*state.background)
        await asyncio.sleep(0)


def _rating_buttons(msg: dict) -> list[str]:
    return [b["callback_data"] for row in msg["reply_markup"]["inline_keyboard"] for b in row if b["callback_data"].startswith("fb:")]


@pytest.mark.model
async def test_rate_change_comment_and_report_through_the_bot(bot):
    app, api = await bot()
    await feed(app, tg.message("谁参加了调研？", USER))
    answer = api.sent()[-1]
    assert _rating_buttons(answer) == ["fb:up", "fb:down"]
    mid = api.message_id(answer)
    await feed(app, tg.callback("fb:up", USER, mid))
    assert api.sent("answerCallbackQuery")[-1]["text"] == "Thanks! 👍"
    await feed(app, tg.callback("fb:down", USER, mid))
    assert api.sent("answerCallbackQuery")[-1]["text"] == "Rating changed."
    prompt = api.sent()[-1]
    assert prompt["reply_markup"] == {"force_reply": True, "selective": True} and "What was wrong" in prompt["text"]
    # the reply to the prompt is a comment, not a question
    reply = tg.message("名单不全", USER, reply_to_message={"message_id": api.message_id(prompt), "date": 0,
                                                         "chat": {"id": USER, "type": "private"}, "from": tg.BOT,
                                                         "text": prompt["text"]})
    await feed(app, reply)
    assert api.sent()[-1]["text"] == "Thanks, your comment is saved."
    await feed(app, tg.message("/feedback", USER))
    assert "for admins" in api.sent()[-1]["text"]
    await feed(app, tg.message("/feedback", ADMIN))
    report = api.sent(chat_id=ADMIN)[-1]["text"]
    assert "👎1 👍0 — 谁参加了调研？" in report and "💬 名单不全" in report and " · 1 · 1 · 0 · 1" in report


@pytest.mark.model
async def test_strangers_and_forged_presses_are_refused(bot):
    app, api = await bot()
    await feed(app, tg.message("/ask 谁参加了调研？", USER, GROUP))
    mid = api.message_id(api.sent()[-1])
    await feed(app, tg.callback("fb:up", GROUP, mid, uid=STRANGER))  # someone else in the group
    note = api.sent("answerCallbackQuery")[-1]
    assert note["text"] == "Only the person who asked can rate this answer." and note["show_alert"] is True
    await feed(app, tg.callback("fb:up", GROUP, mid + 1000))  # no answer was sent as that message
    assert api.sent("answerCallbackQuery")[-1]["text"] == "This answer can no longer be rated."
    await feed(app, tg.callback("fb:up", USER, mid))  # that message id, in another chat
    assert api.sent("answerCallbackQuery")[-1]["text"] == "This answer can no longer be rated."
    for forged in ("fb:sideways", "fb:", "fbp:²", "fbp:3"):
        await feed(app, tg.callback(forged, GROUP, mid))
    assert len(api.sent("answerCallbackQuery")) == 7  # every press answered
    store = app.bot_data["state"].feedback
    assert store.report().days[0].up == 0 and store.report().days[0].down == 0


@pytest.mark.model
async def test_export_is_read_back_by_the_evaluation(bot, bot_engine, tmp_path, monkeypatch):
    from bot.cli import main
    from embeddings.evaluate import evaluate, read_questions

    app, api = await bot()
    await feed(app, tg.message("武汉市委书记叫什么名字？", USER))
    await feed(app, tg.callback("fb:up", USER, api.message_id(api.sent()[-1])))
    await feed(app, tg.message("法国的首都是哪里？", USER))
    assert "fb:up" not in json.dumps(api.sent()[-1].get("reply_markup") or {})  # nothing to rate in a refusal
    out = tmp_path / "grown.jsonl"
    monkeypatch.setenv("QABOT_DATA_DIR", str(tmp_path / "nothing"))
    assert main(["feedback", "export", str(out)]) == 2 and not out.exists()  # nothing recorded there
    monkeypatch.setenv("QABOT_DATA_DIR", str(tmp_path / "data"))
    assert main(["feedback", "export", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["question"] for r in rows] == ["武汉市委书记叫什么名字？", "法国的首都是哪里？"]
    result = evaluate(bot_engine, read_questions(out))
    by_id = {q["id"]: q for q in result["questions"]}
    assert by_id[rows[0]["id"]]["answer_ok"] is True and by_id[rows[0]["id"]]["rank"] == 1
    assert by_id[rows[1]["id"]]["no_answer"] is True


@pytest.mark.model
async def test_a_read_only_database_does_not_break_answering(bot, tmp_path):
    app, api = await bot()
    state = app.bot_data["state"]
    state.feedback.close()
    state.feedback = FeedbackStore(tmp_path / "data", read_only=True)
    await feed(app, tg.message("谁参加了调研？", USER))
    answer = api.sent()[-1]
    assert "王瑞连" in answer["text"]
    await feed(app, tg.callback("fb:up", USER, api.message_id(answer)))
    assert api.sent("answerCallbackQuery")[-1]["text"] == "This answer can no longer be rated."


@pytest.mark.model
async def test_feedback_off_shows_no_buttons_and_records_nothing(bot, tmp_path):
    app, api = await bot(feedback=False)
    await feed(app, tg.message("谁参加了调研？", USER))
    assert _rating_buttons(api.sent()[-1]) == []
    await feed(app, tg.message("/feedback", ADMIN))
    assert "turned off" in api.sent(chat_id=ADMIN)[-1]["text"]
    assert not (Path(tmp_path / "data") / DB_FILE).exists()


def test_settings_read_feedback_from_the_environment():
    from bot.settings import Settings

    assert Settings.from_env({}).feedback is True and Settings.from_env({}).feedback_days == 90
    s = Settings.from_env({"QABOT_FEEDBACK": "0", "QABOT_FEEDBACK_DAYS": "30"})
    assert s.feedback is False and s.feedback_days == 30


def test_sqlite_is_used_in_wal_mode(tmp_path):
    FeedbackStore(tmp_path).close()
    assert sqlite3.connect(tmp_path / DB_FILE).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
