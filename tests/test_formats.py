"""Each format read from real files that the tests write themselves."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest

from corpus.errors import UnreadableDocument
from corpus.formats.layout import paragraphs, wrap_width
from corpus.reader import document_from_bytes, load_corpus
from corpus.split import split_document
from corpus.titles import headline
from tests import documents as files


def _read(name: str, data: bytes):
    doc = document_from_bytes(data, name)
    return doc, split_document(doc)


@pytest.mark.parametrize("name", list(files.FILES))
def test_every_format_reads_the_same_sections_and_paragraphs(name):
    doc, passages = _read(name, files.FILES[name]())
    assert doc.title == files.TITLE
    assert [(p.section, p.text) for p in passages] == [(h, b) for h, b in files.SECTIONS]
    assert doc.paragraphs == 3 and doc.format == {"txt": "text", "md": "markdown", "html": "web",
                                                   "docx": "word", "pdf": "pdf"}[name.split(".")[1]]


def test_pdf_citations_name_the_page_and_drop_page_numbers():
    doc, passages = _read("report.pdf", files.as_pdf(pages=4))
    assert doc.pages == 4 and {p.page for p in passages} == {1, 2, 3, 4}
    assert passages[-1].citation == f"{files.TITLE}, p. 4"
    assert not any(p.text.strip().isdigit() for p in passages)  # the page numbers at the bottom
    assert not any("（续）" in p.text for p in passages)  # the running header of pages 2-4
    assert [p.text for p in passages] == [b for _, b in files.SECTIONS] * 4


def test_pdf_paragraph_across_pages_comes_back_whole_without_headers_and_footers():
    doc, passages = _read("summary.pdf", files.as_long_pdf())
    assert doc.pages >= 3 and doc.title == "社区议事会工作总结"
    assert {p.paragraph for p in passages} == {1} and {p.page for p in passages} == {1}
    text = "".join(p.text for p in passages)
    assert text == files.LONG_PARAGRAPH  # no header, no "第 N 页", nothing lost at the page breaks


def test_pdf_without_text_layer_is_refused_with_the_reason():
    with pytest.raises(UnreadableDocument, match="no text layer.*OCR is not supported"):
        document_from_bytes(files.as_pdf(text_layer=False), "scan.pdf")


def test_pdf_metadata_title_that_is_a_file_name_is_ignored():
    doc, _ = _read("x.pdf", files.as_pdf(title="Microsoft Word - notice_final_v2.docx"))
    assert doc.title == files.TITLE  # the first heading instead


@pytest.mark.parametrize("name, data, reason", [
    ("empty.txt", b"", "empty"),
    ("blank.md", b"  \n\n \n", "empty"),
    ("empty.pdf", b"", "empty"),
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf", "not a readable PDF"),
    ("old.docx", b"PK\x03\x04 not a zip really", "not a valid .docx"),
    ("text.docx", "这是文本，不是Word文件。".encode(), "not a valid .docx"),
    ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
    ("headings.md", b"# Title\n\n## Section\n", "only headings"),
    ("page.html", b"<html><body><nav><a href='/'>home</a></nav></body></html>", "no text"),
])
def test_bad_files_are_refused_with_a_clear_reason(name, data, reason):
    with pytest.raises(UnreadableDocument, match=reason):
        document_from_bytes(data, name)


def test_random_bytes_renamed_txt_are_not_read_as_chinese():
    """Random bytes decode as GB18030 more often than not; they must still be refused. Skewed
    towards the bytes of common GB2312 characters, the hardest case for the check."""
    read = []
    for seed in range(300):
        rng = random.Random(seed)
        data = bytes(rng.choice([rng.randrange(1, 256), rng.randrange(0xA1, 0xFF), rng.randrange(0xB0, 0xD8)])
                     for _ in range(rng.choice([100, 300, 1000])))
        try:
            document_from_bytes(data, "random.txt")
            read.append(seed)
        except UnreadableDocument:
            pass
    assert read == []


BIG5_TEXT = ("圖書館開放通知\n\n讀者憑身份證即可免費辦理借書證。每張借書證最多可借圖書十冊，借期為三十天。\n\n"
             "新館位於和平大道，乘坐地鐵到青山站步行約五分鐘即可到達。\n")


NOTICE = [b for _, b in files.SECTIONS]


@pytest.mark.parametrize("encoding, text, read_as, expected", [
    ("gbk", files.as_text(wrapped=False), "gb18030", NOTICE),  # GB18030 is the superset that decodes GBK
    ("gb18030", files.as_text(wrapped=True), "gb18030", NOTICE),
    ("big5", BIG5_TEXT, "big5", BIG5_TEXT.split("\n\n")[1:]),
    ("utf-16", files.as_text(wrapped=False), "utf-16", NOTICE),
])
def test_chinese_encodings(encoding, text, read_as, expected):
    doc, passages = _read(f"notice-{encoding}.txt", text.encode(encoding))
    assert doc.encoding == read_as
    assert [p.text for p in passages] == [e.strip() for e in expected]


def test_hard_wrapped_text_is_joined_into_paragraphs():
    doc, passages = _read("wrapped.txt", files.as_text(wrapped=True).encode())
    assert [p.text for p in passages] == [b for _, b in files.SECTIONS]  # no line break inside a sentence


def test_wrapped_english_joins_with_spaces_and_mends_hyphenation():
    text = ("The new library opens on 1 March. Readers may borrow up to ten\n"
            "books at a time for thirty days, and renew them once on the web-\n"
            "site before they are due. Late books suspend borrowing rights for\n"
            "a week, so please keep an eye on the due dates in your account.\n"
            "\n"
            "Parking is free for the first two hours; there are two hundred\n"
            "spaces under the building, reached from Peace Avenue near the gate.\n")
    _, passages = _read("en.txt", text.encode())
    assert {p.paragraph for p in passages} == {1, 2}
    assert all(len(p.text) <= 240 and "  " not in p.text for p in passages)
    assert "borrow up to ten books at a time" in passages[0].text and "website" in passages[0].text


def test_one_paragraph_per_line_is_kept_even_with_similar_line_lengths():
    lines = [f"第{i}段：社区志愿服务的第{i}项安排，居民可以在服务中心报名参加。" for i in range(12)]
    assert wrap_width(lines) is None
    assert paragraphs(lines) == lines


def test_markdown_paragraph_written_over_two_lines_is_one_passage():
    # CommonMark joins a soft line break; a two-line paragraph is too short for wrap detection
    md = "# 秋季运动会\n\n北山小学定于下周五举行秋季运动会，\n全体学生参加，家长可以到校观看。\n\n运动会设田径和跳绳项目。\n"
    _, passages = _read("sports.md", md.encode())
    assert [p.text for p in passages] == ["北山小学定于下周五举行秋季运动会，全体学生参加，家长可以到校观看。",
                                          "运动会设田径和跳绳项目。"]
    # a file without any blank line: each line is a paragraph, as its writer meant
    _, passages = _read("lines.md", "第一段，社区活动安排。\n第二段，志愿者报名方式。\n".encode())
    assert len(passages) == 2


def test_markdown_leaves_no_markup_and_keeps_lists_and_tables():
    md = ("# 活动安排\n\n本次活动由**社区服务中心**主办，详情见[官网](https://example.org)。\n\n"
          "- 上午：开幕式\n- 下午：志愿者培训\n\n| 项目 | 负责人 |\n| --- | --- |\n| 培训 | 王芳 |\n\n"
          "```\nconfig = 1\n```\n")
    doc, passages = _read("plan.md", md.encode())
    texts = [p.text for p in passages]
    assert doc.title == "活动安排"
    assert texts[0] == "本次活动由社区服务中心主办，详情见官网。"
    assert texts[1] == "上午：开幕式；下午：志愿者培训"
    assert "培训 | 王芳" in texts and "config = 1" in texts
    assert not any(c in "".join(texts) for c in "*[]#`")


def test_html_boilerplate_is_dropped():
    _, passages = _read("page.html", files.as_html().encode())
    text = "".join(p.text for p in passages)
    for boilerplate in ("首页", "关于我们", "版权所有", "天气预报", "ICP"):
        assert boilerplate not in text


def test_short_html_page_falls_back_to_its_body():
    doc, passages = _read("tiny.html", "<html><head><title>通知</title></head><body><p>明天停水。</p></body></html>".encode())
    assert doc.title == "通知" and [p.text for p in passages] == ["明天停水。"]


def test_word_lists_and_tables():
    import io

    import docx

    d = docx.Document()
    d.add_heading("会议纪要", level=1)
    d.add_paragraph("会议决定以下事项。")
    d.add_paragraph("增加志愿者人数", style="List Bullet")
    d.add_paragraph("延长服务时间", style="List Bullet")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate((("姓名", "职务"), ("王芳", "主任"))):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    out = io.BytesIO()
    d.save(out)
    doc, passages = _read("minutes.docx", out.getvalue())
    assert doc.title == "会议纪要"
    assert [p.text for p in passages] == ["会议决定以下事项。", "增加志愿者人数；延长服务时间", "姓名 | 职务", "王芳 | 主任"]
    assert all(p.section == "会议纪要" for p in passages)


def test_titles_are_headlines_not_cuts():
    seed = "為貫徹落實好習近平總書記考察湖北的重要講話精神，根據省委有關部署，8月31日，省委書記應勇赴武漢市青和居社區調研基層社會治理，並召開座談會。"
    assert headline(seed) == "省委書記應勇赴武漢市青和居社區調研基層社會治理"
    assert headline("The council met on Monday. It decided many things.") == "The council met on Monday"
    long = "市政府今天发布了关于进一步加强城市基层治理体系和治理能力现代化建设的若干意见和实施细则"
    title = headline(long)
    assert title.endswith("…") and len(title) <= 31 and long.startswith(title[:-1])


def test_seed_title_is_its_headline(seed_corpus):
    [doc] = load_corpus(seed_corpus).documents
    assert doc.title == "省委書記應勇赴武漢市青和居社區、東湖新城社區調研基層社會治理"


def test_same_name_in_two_folders_are_two_documents(tmp_path: Path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.txt").write_text(f"{folder}文件夹里的文档，内容不同。", "utf-8")
    corpus = load_corpus(tmp_path)
    assert [d.doc_id for d in corpus.documents] == ["a/x.txt", "b/x.txt"]
    assert len({p.id for p in corpus.passages}) == 2


@pytest.mark.model
def test_same_content_in_every_format_retrieves_the_same_passage_first(real_encoder, tmp_path: Path):
    from embeddings.engine import Engine, EngineConfig

    firsts = {}
    for name, make in files.FILES.items():
        corpus = tmp_path / name / "corpus"
        corpus.mkdir(parents=True)
        (corpus / name).write_bytes(make())
        engine = Engine(EngineConfig(corpus, tmp_path / name / "index", tmp_path / "data"), real_encoder)
        engine.rebuild()
        hit = engine.search(files.QUESTION, k=1)[0]
        firsts[name] = (hit.passage.text, hit.passage.section)
    assert set(firsts.values()) == {(files.SECTIONS[1][1], "借阅规则")}, firsts


def test_a_huge_front_matter_title_is_cut_to_a_title(tmp_path: Path):
    text = "---\ntitle: " + "很长的标题" * 420 + "\n---\n正文第一段。\n"
    doc, _ = _read("long.md", text.encode())
    assert len(doc.title) <= 81 and doc.title.endswith("…")


def test_a_docx_that_unpacks_to_too_much_is_refused_before_it_is_read(monkeypatch):
    import zipfile

    from corpus.formats import word

    monkeypatch.setattr(word, "MAX_UNPACKED_BYTES", 2**20)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        with zipfile.ZipFile(io.BytesIO(files.as_docx())) as real:
            for item in real.infolist():
                z.writestr(item, real.read(item))
        z.writestr("word/media/padding.bin", b"\0" * (2 * 2**20))  # compresses to a few KB
    assert len(bomb.getvalue()) < 100_000
    with pytest.raises(UnreadableDocument, match=r"unpacks to \d MB in \d+ parts, more than a document may \(1 MB"):
        document_from_bytes(bomb.getvalue(), "bomb.docx")
    assert document_from_bytes(files.as_docx(), "fine.docx")  # a normal one still reads


def test_a_pdf_with_too_many_pages_is_refused_before_its_text_is_read(monkeypatch):
    from corpus.formats import pdf

    monkeypatch.setattr(pdf, "MAX_PAGES", 3)
    with pytest.raises(UnreadableDocument, match="5 pages, more than"):
        document_from_bytes(files.as_pdf(pages=5), "long.pdf")
    assert document_from_bytes(files.as_pdf(pages=2), "short.pdf")
