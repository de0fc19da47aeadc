from pathlib import Path

import pytest

from corpus.reader import UnreadableDocument, decode, load_corpus, read_document
from corpus.split import is_heading, split_document, windows

TEXT = "座談會上，東湖新城社區黨委書記陶久娣介紹了情況。應勇邊聽邊記。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030", "big5"])
def test_encodings_are_detected(encoding):
    text, used = decode(TEXT.encode(encoding))
    assert text == TEXT


def test_simplified_gb18030():
    s = "东湖新城社区党委书记陶久娣介绍了社区治理的情况，应勇边听边记。"
    assert decode(s.encode("gb18030"))[0] == s


def test_binary_is_refused():
    with pytest.raises(UnreadableDocument):
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")


def test_bad_file_is_reported_and_skipped(tmp_path: Path):
    (tmp_path / "good.txt").write_text(TEXT, encoding="utf-8")
    (tmp_path / "broken.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe")
    (tmp_path / "empty.md").write_text("   \n", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")  # not a document type: ignored
    corpus = load_corpus(tmp_path)
    assert [d.path for d in corpus.documents] == ["good.txt"]
    assert {p.path for p in corpus.problems} == {"broken.txt", "empty.md"}
    assert all(p.reason for p in corpus.problems)


def test_front_matter_gives_metadata(tmp_path: Path):
    p = tmp_path / "doc.md"
    p.write_text("---\ntitle: 调研报道\ndate: 2020-08-31\nsource: https://example.org/a\n---\n正文第一段。\n", "utf-8")
    doc = read_document(p, tmp_path)
    assert (doc.title, doc.date, doc.source_url) == ("调研报道", "2020-08-31", "https://example.org/a")
    assert doc.text == "正文第一段。"


def test_title_is_derived_without_front_matter(tmp_path: Path):
    p = tmp_path / "doc.txt"
    p.write_text("省委书记应勇赴社区调研，听取意见。\n第二段。", "utf-8")
    assert read_document(p, tmp_path).title == "省委书记应勇赴社区调研"


def test_seed_headings_become_section_titles(seed_corpus):
    corpus = load_corpus(seed_corpus)
    texts = [p.text for p in corpus.passages]
    for heading in ("應勇強調", "應勇要求", "青和居社區", "東湖新城社區"):
        assert heading not in texts
    by_start = {p.text[:6]: p for p in corpus.passages}
    assert by_start["要時刻繃緊常"].section == "應勇強調"
    assert by_start["各級黨委政府"].section == "應勇要求"
    assert by_start["在青和居社區"].section == "青和居社區"
    assert by_start["今年3月，習"].section == "東湖新城社區"
    assert by_start["為貫徹落實好"].section == ""
    assert len(corpus.passages) == 17


def test_passage_ids_are_stable_and_unique(seed_corpus):
    a = load_corpus(seed_corpus).passages
    b = load_corpus(seed_corpus).passages
    assert [p.id for p in a] == [p.id for p in b]
    assert len({p.id for p in a}) == len(a)


def test_long_paragraphs_split_at_sentence_ends():
    sentence = "这是一个用于测试的句子，内容比较长一些。"
    text = sentence * 20
    parts = windows(text, 100)
    assert len(parts) > 1 and "".join(parts) == text
    assert all(len(p) <= 100 and p.endswith("。") for p in parts)


def test_long_paragraph_becomes_several_passages(tmp_path: Path):
    p = tmp_path / "long.txt"
    p.write_text("标题行\n" + "社区工作很重要，要做好服务。" * 40, "utf-8")
    passages = split_document(read_document(p, tmp_path), max_chars=120)
    assert len(passages) > 3
    assert {x.paragraph for x in passages} == {1} and [x.part for x in passages] == list(range(len(passages)))
    assert all(x.section == "标题行" for x in passages)


def test_heading_detection():
    assert is_heading("應勇強調") and is_heading("青和居社區")
    assert not is_heading("應勇強調：要深入學習。") and not is_heading("基層強則全局強，基層穩則全局穩，要樹立和強化")
