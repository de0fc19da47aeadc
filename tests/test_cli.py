import json
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import MODEL_DATA_DIR, SEED_FILE


@pytest.fixture
def env(monkeypatch, tmp_path: Path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / SEED_FILE.name).write_bytes(SEED_FILE.read_bytes())
    monkeypatch.setenv("QABOT_DATA_DIR", str(MODEL_DATA_DIR))
    monkeypatch.setenv("QABOT_CORPUS_DIR", str(corpus))
    monkeypatch.setenv("QABOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return tmp_path


@pytest.mark.model
def test_index_build_then_ask_prints_the_names_first(env, capsys):
    assert main(["index", "build"]) == 0
    out = capsys.readouterr().out
    assert "1 document(s), 17 passages" in out and "327 pinyin annotations removed" in out
    assert "3 marked as damaged" in out
    assert main(["ask", "谁参加了调研？"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[:3]
    assert first[0] == "相关人物:" and "王瑞连" in "".join(first) and "王忠林" in "".join(first)


@pytest.mark.model
def test_ask_json_carries_scores(env, capsys):
    assert main(["ask", "基层社会治理的核心是什么？", "--json", "--top-k", "3"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["answered"] and len(data["hits"]) == 3
    hit = data["hits"][0]
    assert {"score", "dense", "lexical", "citation", "passage_id"} <= hit.keys()
    assert "核心是人" in data["answer"]


def test_empty_question_is_one_clear_error(env, capsys):
    assert main(["ask", "  "]) == 2
    assert capsys.readouterr().err.strip() == "qabot: the question is empty"


def test_question_without_words_is_one_clear_error(env, capsys):
    assert main(["ask", "？？？🙂"]) == 2
    assert "the question has no words" in capsys.readouterr().err


def test_huge_question_is_one_clear_error(env, capsys):
    assert main(["ask", "问" * 600]) == 2
    assert "the question is too long: 600 characters, at most 500" in capsys.readouterr().err


def test_missing_question_file_is_one_clear_error(env, capsys):
    assert main(["eval", str(env / "nope.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


@pytest.mark.model
def test_broken_index_is_rebuilt_on_start(env, capsys):
    index = env / "index"
    index.mkdir()
    (index / "manifest.json").write_text("{", "utf-8")
    assert main(["ask", "三驾马车指什么？"]) == 0
    assert "三驾马车" in capsys.readouterr().out


def test_bad_settings_are_one_sentence(env, monkeypatch, capsys):
    monkeypatch.setenv("QABOT_TOP_K", "many")
    assert main(["ask", "问题"]) == 2
    assert "QABOT_TOP_K must be a whole number" in capsys.readouterr().err


def test_add_docs_remove_from_the_terminal(env, monkeypatch, capsys, tmp_path: Path):
    from tests import documents as files

    monkeypatch.setenv("QABOT_DATA_DIR", str(tmp_path / "data"))  # the trash goes here, not beside the model
    upload = tmp_path / "uploads"
    upload.mkdir()
    (upload / "notice.docx").write_bytes(files.as_docx())
    (upload / "scan.pdf").write_bytes(files.as_pdf(text_layer=False))
    assert main(["add", str(upload / "notice.docx"), str(upload / "scan.pdf")]) == 1  # one of two failed
    captured = capsys.readouterr()
    assert f"Added notice.docx: “{files.TITLE}”, 3 paragraphs, 3 passages." in captured.out
    assert "Not added" in captured.err and "OCR is not supported" in captured.err

    assert main(["docs"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("  2. notice.docx  (notice.docx, 36 KB, -,") and "[new]" in lines[1]

    assert main(["remove", "2"]) == 0
    assert "Removed notice.docx" in capsys.readouterr().out
    assert main(["remove", "notice.docx"]) == 2
    assert "no document 'notice.docx'" in capsys.readouterr().err


def test_a_bug_keeps_its_traceback(env, monkeypatch):
    def broken(settings):
        raise ValueError("a real bug")

    monkeypatch.setattr("bot.cli.cmd_docs", broken)
    with pytest.raises(ValueError, match="a real bug"):
        main(["docs"])


def test_an_unloadable_model_is_one_sentence(env, monkeypatch, capsys, tmp_path: Path):
    monkeypatch.setenv("EMBEDDING_MODEL", str(tmp_path / "no-such-model"))
    assert main(["index", "build"]) == 2
    assert "the embedding model" in capsys.readouterr().err
