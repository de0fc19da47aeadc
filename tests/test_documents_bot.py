"""Documents managed from the chat, through the real python-telegram-bot client and the fake
Bot API: upload, reindex, ask, list, remove."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from telegram import Update

from bot.settings import Settings
from bot.telegram.app import build_application
from embeddings.engine import Engine, EngineConfig
from tests import documents as files
from tests import fake_telegram as tg
from tests.conftest import SEED_FILE

ADMIN, USER = 7, 42


@pytest.fixture
async def chat(real_encoder, tmp_path: Path):
    """(application, fake api, engine) over a private copy of the seed with the real model."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(SEED_FILE, corpus / SEED_FILE.name)
    engine = Engine(EngineConfig(corpus, tmp_path / "index", tmp_path / "data"), real_encoder)
    engine.rebuild()
    api = tg.FakeBotApi()
    settings = Settings(token=tg.TOKEN, admin_ids=frozenset({ADMIN}), corpus_dir=corpus, data_dir=tmp_path / "data",
                        index_dir=tmp_path / "index", outgoing_rate_limit=False, max_upload_mb=1,
                        example_questions=("谁参加了调研？",))
    app = build_application(settings, engine, request=tg.FakeRequest(api))
    await app.initialize()
    yield app, api, engine
    await app.shutdown()


async def feed(app, update: dict) -> dict:
    update = tg.FakeBotApi().push(update)
    await app.process_update(Update.de_json(update, app.bot))
    return update


def buttons(message: dict) -> list[dict]:
    return [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]


@pytest.mark.model
async def test_upload_reindex_ask_remove_end_to_end(chat):
    app, api, engine = chat
    question = files.QUESTION
    before = engine.answer(question)
    assert not before.answered or "10" not in " ".join(p.text for p in before.points)

    api.files["notice"] = files.as_docx()
    await feed(app, tg.document_message("notice", "图书馆通知.docx", len(api.files["notice"]), ADMIN))
    added = api.sent()[-1]
    assert f"Added <b>{files.TITLE}</b>" in added["text"] and "3 passage(s)" in added["text"]

    [reindex_button] = buttons(added)
    await feed(app, tg.callback(reindex_button["callback_data"], ADMIN, 1, ADMIN))
    done = api.sent("editMessageText")[-1]["text"]
    assert "Index rebuilt: 2 document(s)" in done and "1 new, 0 changed, 0 removed, 1 unchanged" in done

    await feed(app, tg.message(question, USER))
    answer = api.sent(chat_id=USER)[-1]["text"]
    assert "10" in answer and files.TITLE in answer  # the answer, and the citation names the title

    await feed(app, tg.message("/docs", ADMIN))
    listing = api.sent(chat_id=ADMIN)[-1]["text"]
    assert "2</b> document(s)" in listing and f"2. <b>{files.TITLE}</b>" in listing and "3 passage(s)" in listing

    await feed(app, tg.message("/remove 2", ADMIN))
    confirm = api.sent(chat_id=ADMIN)[-1]
    assert files.TITLE in confirm["text"]
    yes = next(b for b in buttons(confirm) if b["callback_data"].startswith("rm:"))
    await feed(app, tg.callback(yes["callback_data"], ADMIN, 2, ADMIN))
    assert "Removed" in api.sent("editMessageText")[-1]["text"]
    assert not (Path(engine.config.corpus_dir) / "图书馆通知.docx").exists()
    assert any(Path(engine.config.data_dir, "removed").iterdir())  # moved aside, not deleted

    await feed(app, tg.message("/reindex", ADMIN))
    assert "0 new, 0 changed, 1 removed, 1 unchanged" in api.sent("editMessageText")[-1]["text"]
    await feed(app, tg.message(question, USER))
    assert files.TITLE not in api.sent(chat_id=USER)[-1]["text"]


async def test_documents_are_for_admins_only(chat):
    app, api, _ = chat
    for command in ("/docs", "/remove 1"):
        await feed(app, tg.message(command, USER))
        assert "for admins" in api.sent(chat_id=USER)[-1]["text"]
    await feed(app, tg.callback("rm:0123456789abcdef", USER, 1, USER))
    assert api.sent("answerCallbackQuery")[-1]["show_alert"] is True
    await feed(app, tg.callback("reindex", USER, 1, USER))
    assert not api.sent("editMessageText")


async def test_refused_uploads_say_why_and_change_nothing(chat):
    app, api, engine = chat
    corpus = Path(engine.config.corpus_dir)
    before = sorted(p.name for p in corpus.iterdir())
    api.files["bin"] = b"\x00\x01binary"
    await feed(app, tg.document_message("bin", "bad.txt", 8, ADMIN))
    assert "I did not add bad.txt: binary data" in api.sent()[-1]["text"]
    api.files["exe"] = b"MZ\x90\x00"
    await feed(app, tg.document_message("exe", "setup.exe", 4, ADMIN))
    assert "not a supported type" in api.sent()[-1]["text"]
    api.files["seed"] = SEED_FILE.read_bytes()
    await feed(app, tg.document_message("seed", "again.txt", len(api.files["seed"]), ADMIN))
    assert "already there as" in api.sent()[-1]["text"]
    getfile_calls = len(api.sent("getFile"))
    await feed(app, tg.document_message("huge", "huge.pdf", 30 * 2**20, ADMIN))
    assert "too large" in api.sent()[-1]["text"] and len(api.sent("getFile")) == getfile_calls  # not downloaded
    api.files["undeclared"] = b"x" * (2 * 2**20)  # no size in the message; getFile tells it
    await feed(app, tg.document_message("undeclared", "big.txt", None, ADMIN))
    assert "too large" in api.sent()[-1]["text"] and not (corpus / "big.txt").exists()
    assert "undeclared" not in api.downloads  # refused on getFile's size, before downloading
    api.files["trick"] = "路径里的文字。".encode()
    await feed(app, tg.document_message("trick", "../../escape.txt", 21, ADMIN))
    assert sorted(p.name for p in corpus.iterdir()) == sorted([*before, "escape.txt"])  # inside the folder


async def test_docs_pages_and_unknown_remove(chat):
    app, api, engine = chat
    corpus = Path(engine.config.corpus_dir)
    for i in range(11):
        (corpus / f"note{i:02d}.txt").write_text(f"第{i}号通知：社区第{i}次活动安排。", "utf-8")
    await feed(app, tg.message("/docs", ADMIN))
    first = api.sent(chat_id=ADMIN)[-1]
    assert "12</b> document(s), page 1/2" in first["text"] and "not indexed yet" in first["text"]
    [next_button] = buttons(first)
    await feed(app, tg.callback(next_button["callback_data"], ADMIN, 3, ADMIN))
    second = api.sent("editMessageText")[-1]["text"]
    assert "page 2/2" in second and "12. <b>note10.txt</b>" in second
    await feed(app, tg.message("/remove 99", ADMIN))
    assert "There is no document 99" in api.sent(chat_id=ADMIN)[-1]["text"]
    await feed(app, tg.message("/remove", ADMIN))
    assert "/remove with its number" in api.sent(chat_id=ADMIN)[-1]["text"]
