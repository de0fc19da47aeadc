"""Fluent answers from an OpenAI-compatible endpoint (a fake one on 127.0.0.1): the check that
keeps only what the passages hold, every way the endpoint can fail, and what the Telegram user
sees through the fake Bot API."""

from __future__ import annotations

import asyncio

import pytest
from telegram import Update

from corpus.model import Passage
from embeddings.answering import Answer, AnswerKind, Point
from embeddings.answering.fluent import (
    ChatEndpoint,
    FluentComposer,
    LLMConfig,
    check,
    final,
    sentences_in,
    write,
)
from embeddings.answering.model import Evidence
from embeddings.search import Hit
from tests import fake_telegram as tg
from tests.fake_llm import FakeLLM, Reply

P1 = "省委书记应勇赴武汉市青和居社区调研，8月31日召开座谈会。"
P2 = "省委常委、武汉市委书记王忠林参加调研。"


def _passage(n: int, text: str) -> Passage:
    return Passage(f"d:{n}.0:x", "d", "报告", "d.txt", n, 0, "", text, text)


PASSAGES = [_passage(1, P1), _passage(2, P2)]


def _answer(question: str = "谁参加了调研？", script: str = "zh-Hans") -> Answer:
    hits = tuple(Hit(p, 0.9 - i / 10, 0.8, 0.5, i + 1) for i, p in enumerate(PASSAGES))
    point = Point("武汉市委书记王忠林", PASSAGES[1], 1.0, P2, "王忠林")
    return Answer(question, script, AnswerKind.FACT, (point,), (Evidence(hits[1], (P2,), frozenset({0})),), hits)


@pytest.fixture
def llm():
    with FakeLLM() as server:
        yield server


def endpoint(server: FakeLLM, timeout: float = 5.0, key: str = "") -> ChatEndpoint:
    return ChatEndpoint(LLMConfig(server.url, "test-model", key, timeout))


# --- the check --------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, problem", [
    ("王忠林参加了调研[2]。", ""),
    ("应勇8月31日召开座谈会[1]。", ""),
    ("Wang Zhonglin took part in the research [2].", ""),
    ("王忠林参加了调研。", "cites no passage"),
    ("王忠林参加了调研[3]。", "cites a passage it was not given"),
    ("应勇9月1日召开座谈会[1]。", "9 is not in the passages it cites"),
    ("王忠林参加了调研[1]。", "王忠林 is not in the passages it cites"),  # the name is in [2], not [1]
    ("他说“社区是基层治理的核心”[1]。", "“社区是基层治理的核心” is not in the passages it cites"),
    ("Li Qiang took part in the research [2].", "liqiang is not named in the passages it cites"),
    ("会议决定明年大幅提高全省居民收入水平[1]。", "only"),
])
def test_a_sentence_holds_only_when_the_passages_it_cites_say_it(sentence, problem):
    got = check(sentence, PASSAGES).problem
    assert got.startswith(problem) if problem else got == ""


def test_sentences_are_cut_with_their_citations():
    assert sentences_in("王忠林参加调研[2]。应勇召开座谈会。[1] 还") == (["王忠林参加调研[2]。", "应勇召开座谈会。[1]"], " 还")
    assert sentences_in("Wang attended [2]. Ying held it [1][2]. An") == (
        ["Wang attended [2].", "Ying held it [1][2]."], " An")


# --- the endpoint -------------------------------------------------------------------------------

def test_a_streamed_answer_is_checked_sentence_by_sentence(llm):
    llm.reply = Reply("武汉市委书记王忠林参加了调研[2]。座谈会在8月31日召开[1]。", pieces=8)
    snapshots = list(write(_answer(), endpoint(llm, key="sk-secret")))
    assert [s.done for s in snapshots] == [False, False, True]
    last = snapshots[-1]
    assert last.shown and last.text == "武汉市委书记王忠林参加了调研[2]。 座谈会在8月31日召开[1]。"
    assert last.numbers == (2, 1) and [p.text for p in last.cited] == [P2, P1]
    sent = llm.requests[0]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-secret"
    assert sent["body"]["model"] == "test-model" and sent["body"]["stream"] is True
    prompt = sent["body"]["messages"][1]["content"]
    assert "谁参加了调研？" in prompt and f"[1] (报告 ¶1) {P1}" in prompt and "武汉市委书记王忠林" in prompt
    assert "simplified Chinese" in sent["body"]["messages"][0]["content"]


def test_an_endpoint_that_does_not_stream_is_read_whole(llm):
    llm.reply = Reply("Wang Zhonglin, Party Secretary of Wuhan, took part [2].", mode="json")
    result = final(lambda: write(_answer("Who took part?", "en"), endpoint(llm)))
    assert result.shown and result.numbers == (2,)
    assert "English" in llm.requests[0]["body"]["messages"][0]["content"]


def test_an_invented_sentence_is_dropped_and_the_rest_kept(llm):
    llm.reply = Reply("王忠林参加了调研[2]。参加调研的共有35人[2]。应勇召开了座谈会[1]。")
    result = final(lambda: write(_answer(), endpoint(llm)))
    assert result.shown and "35" not in result.text and result.text.count("[") == 2
    assert result.dropped == ("参加调研的共有35人[2]。 — 35 is not in the passages it cites",)


@pytest.mark.parametrize("reply, problem", [
    (Reply("参加调研的共有35人[2]。"), "no sentence of the model's answer holds"),
    (Reply("王忠林参加了调研。应勇召开了座谈会。"), "no sentence of the model's answer holds"),  # cites nothing
    (Reply("王忠林参加了调研[2]。共35人[2]。又有12人[1]。"), "2 of 3 sentences did not hold"),
])
def test_too_little_that_holds_is_not_shown(llm, reply, problem):
    llm.reply = reply
    result = final(lambda: write(_answer(), endpoint(llm)))
    assert not result.shown and result.problem.startswith(problem) and not result.failed


@pytest.mark.parametrize("reply, problem", [
    (Reply(mode="status", status=500), "the endpoint answered HTTP 500"),
    (Reply(mode="status", status=429), "the endpoint answered HTTP 429"),
    (Reply(mode="garbage"), "the endpoint answered something that is not JSON"),
    (Reply("王忠林参加了调研[2]。", mode="json", delay=3.0), "timed out"),
    (Reply("王忠林参加了调研[2]。应勇召开了座谈会[1]。", delay=3.0, pieces=6), "no complete answer within 1 s"),
])
def test_a_failing_endpoint_gives_no_fluent_answer(llm, reply, problem):
    llm.reply = reply
    result = final(lambda: write(_answer(), endpoint(llm, timeout=1.0)))
    assert not result.shown and result.failed and result.problem.startswith(problem)


def test_an_endpoint_that_is_not_there(llm):
    config = LLMConfig("http://127.0.0.1:9/v1", "m", timeout=1.0)
    result = final(lambda: write(_answer(), ChatEndpoint(config)))
    assert result.failed and result.problem.startswith("cannot reach the endpoint")


def test_the_key_is_never_shown():
    from bot.settings import Settings

    config = LLMConfig("http://localhost:11434/v1", "m", "sk-very-secret")
    settings = Settings(llm_url="http://localhost:11434/v1", llm_model="m", llm_api_key="sk-very-secret")
    assert all("sk-very-secret" not in repr(x) for x in (config, ChatEndpoint(config), settings))
    s = Settings.from_env({"QABOT_LLM_URL": "http://h/v1", "QABOT_LLM_MODEL": "m", "QABOT_LLM_TIMEOUT": "7"})
    assert s.llm_timeout == 7.0 and s.llm_api_key == ""


def test_the_setting_is_checked():
    from bot.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="QABOT_LLM_URL"):
        Settings(llm_url="localhost:11434", llm_model="m")
    with pytest.raises(SettingsError, match="QABOT_LLM_MODEL"):
        Settings(llm_url="http://localhost:11434/v1")


# --- through the bot --------------------------------------------------------------------------

USER, ADMIN = 42, 7


@pytest.fixture(scope="module")
def engine(real_encoder, tmp_path_factory):
    from tests.conftest import seed_engine

    return seed_engine(real_encoder, tmp_path_factory.mktemp("fluentengine"))


@pytest.fixture
async def bot(engine, llm, tmp_path, monkeypatch):
    """(application, fake Bot API) for an engine whose answers the fake model rewrites."""
    from bot.settings import Settings

    monkeypatch.setattr("bot.telegram.fluent.EDIT_INTERVAL", 0.05)
    plain = engine.composer
    engine.composer = FluentComposer(plain, endpoint(llm, timeout=1.0))
    bots = tg.Bots()
    settings = Settings(token=tg.TOKEN, admin_ids=frozenset({ADMIN}), corpus_dir=engine.config.corpus_dir,
                        data_dir=tmp_path, index_dir=engine.config.index_dir, outgoing_rate_limit=False,
                        llm_url=llm.url, llm_model="test-model")
    yield await bots.make(settings, engine)
    await bots.close()
    engine.composer = plain


async def ask(app, text: str, uid: int = USER):
    await app.process_update(Update.de_json(tg.FakeBotApi().push(tg.message(text, uid)), app.bot))
    state = app.bot_data["state"]
    while state.background:  # the fluent answer is written after the handler returns: wait for it
        # (gather, then a turn of the loop for the tasks' done-callbacks: awaiting a finished task
        # does not yield, and a loop on it would spin before the callback that removes it runs)
        await asyncio.gather(*state.background)
        await asyncio.sleep(0)


@pytest.mark.model
@pytest.mark.parametrize("mode", ["stream", "json"])
async def test_the_fluent_answer_replaces_the_extractive_one_by_edits(bot, llm, mode):
    app, api = bot
    llm.reply = Reply("参加调研的有省委常委、组织部部长王瑞连[1]。还有武汉市委书记王忠林[1]。", mode=mode, pieces=6, delay=0.3)
    await ask(app, "谁参加了调研？")
    first = api.sent()[-1]
    assert "王瑞连" in first["text"] and "简答" not in first["text"]  # the extractive answer, at once
    edits = api.sent("editMessageText")
    assert len(edits) >= 2 and "撰写中" in edits[0]["text"]  # shown as it was written, then whole
    last = edits[-1]
    assert last["text"].startswith("<b>简答</b>\n参加调研的有省委常委、组织部部长王瑞连[1]。 还有武汉市委书记王忠林[1]。")
    assert "[1] <blockquote>" in last["text"] and last["reply_markup"] == first["reply_markup"]
    assert all(e["message_id"] == api.message_id(first) for e in edits)
    assert app.bot_data["state"].fluent["shown"] == 1


@pytest.mark.model
@pytest.mark.parametrize("reply, counted", [
    (Reply(mode="status", status=500), "failed"),
    (Reply(mode="garbage"), "failed"),
    (Reply("王瑞连参加了调研[1]。", mode="json", delay=3.0), "failed"),  # slower than its 1 s
    (Reply("参加调研的共有35位领导[1]。"), "held_back"),  # invents a number
    (Reply("王瑞连和王忠林参加了调研。"), "held_back"),  # cites no passage
])
async def test_when_the_model_fails_the_user_sees_the_extractive_answer_only(bot, llm, reply, counted):
    app, api = bot
    llm.reply = reply
    await ask(app, "谁参加了调研？")
    assert "王瑞连" in api.sent()[-1]["text"] and not api.sent("editMessageText")
    assert app.bot_data["state"].fluent[counted] == 1
    await ask(app, "/stats", ADMIN)
    assert f"{'endpoint failed 1' if counted == 'failed' else 'held back by the check 1'}" in api.sent()[-1]["text"]


@pytest.mark.model
async def test_the_model_never_sees_a_declined_question(bot, llm):
    app, api = bot
    llm.reply = Reply("法国的首都是巴黎[1]。")
    await ask(app, "法国的首都是哪里？")
    assert "没有找到" in api.sent()[-1]["text"] and llm.requests == [] and not api.sent("editMessageText")
