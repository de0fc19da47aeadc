from bot.formatting import MAX_MESSAGE, format_answer, format_hits, pack, to_plain
from corpus.model import Passage
from embeddings.answering import Answer, AnswerKind, Evidence, Point
from embeddings.search import Hit


def _passage(text: str, n: int = 1, section: str = "", url: str = "") -> Passage:
    return Passage(id=f"d:{n}.0:x", doc_id="d", doc_title="報道<一>", path="d.txt", paragraph=n, part=0,
                   section=section, text=text, match_text=text, source_url=url)


def _answer(points, evidence, script="zh-Hans", kind=AnswerKind.SENTENCE, suggestion=None):
    return Answer("q", script, kind, tuple(points), tuple(evidence), (), suggestion)


def test_document_text_is_escaped():
    p = _passage("a <b>tag</b> & <script>x</script>。第二句。")
    hit = Hit(p, 1.0, 0.9, 0.5, 1)
    chunks = format_answer(_answer([Point("a <b>tag</b> & <script>x</script>。", p, 1.0)],
                                   [Evidence(hit, ("a <b>tag</b> & <script>x</script>。", "第二句。"), frozenset({0}))]))
    html = chunks[0].html
    assert "&lt;script&gt;" in html and "<script>" not in html and "&amp;" in html
    assert "<b>a &lt;b&gt;tag&lt;/b&gt;" in html  # the key sentence is bold, its text escaped
    assert "報道&lt;一&gt; ¶1" in html.replace("报道", "報道") or "报道&lt;一&gt; ¶1" in html
    assert "<script>" in chunks[0].plain  # the plain twin shows the text as it is


def test_answer_lists_points_first_with_citations_in_question_script():
    p = _passage("東湖新城社區黨委書記陶久娣。", 3, section="座談會")
    hit = Hit(p, 1.0, 0.9, 0.5, 1)
    ans = _answer([Point("東湖新城社區黨委書記陶久娣", p, 1.0)], [Evidence(hit, (p.text,), frozenset({0}))],
                  script="zh-Hans", kind=AnswerKind.PEOPLE)
    text = format_answer(ans)[0].html
    assert text.startswith("<b>相关人物</b>\n东湖新城社区党委书记陶久娣 <i>[报道&lt;一&gt; ¶3]</i>")
    assert "📄 报道&lt;一&gt; ¶3 · 座谈会" in text
    hant = format_answer(_answer(ans.points, ans.evidence, script="zh-Hant", kind=AnswerKind.PEOPLE))[0].html
    assert hant.startswith("<b>相關人物</b>\n東湖新城社區黨委書記陶久娣")


def test_not_covered_is_said_plainly_with_a_labelled_suggestion():
    p = _passage("最接近的段落。", url="https://example.org/a?b=1&c=2")
    ans = _answer([], [], script="en", kind=AnswerKind.NONE, suggestion=Hit(p, 0.5, 0.5, 0, 1))
    html = format_answer(ans)[0].html
    assert html.startswith("🤷 The documents do not answer this question.")
    assert "<i>Closest passage (may not answer it):</i>" in html
    assert '<a href="https://example.org/a?b=1&amp;c=2">' in html


def test_long_answers_split_at_block_boundaries_under_the_limit():
    blocks = [f"<b>{i}</b> " + "字" * 1500 for i in range(6)]
    chunks = pack(blocks)
    assert len(chunks) == 3 and all(len(c.html) <= MAX_MESSAGE for c in chunks)
    assert all(c.html.count("<b>") == c.html.count("</b>") for c in chunks)
    assert "".join(to_plain(c.html) for c in chunks).count("字") == 9000


def test_a_single_huge_block_is_cut_as_plain_text():
    chunks = pack(["<blockquote>" + "&lt;&gt;&amp;" * 3000 + "</blockquote>"])
    assert all(len(c.html) <= MAX_MESSAGE for c in chunks) and len(chunks) >= 2
    assert "".join(c.plain for c in chunks) == "<>&" * 3000


def test_hits_page_is_numbered_from_the_offset():
    hits = [Hit(_passage(f"段落{i}。", i), 1.0, 0.9, 0, i) for i in (4, 5)]
    html = format_hits(hits, "zh-Hans", 3)[0].html
    assert html.startswith("<b>依据 4–5</b>") and "4. <blockquote>段落4。" in html and "5. <blockquote>" in html


def test_the_answer_inside_its_phrase_is_bold_and_escaped():
    p = _passage("工程于1998年3月开工<b>。", 2)
    hit = Hit(p, 1.0, 0.9, 0.5, 1)
    point = Point("工程于1998年3月开工<b>", p, 1.0, p.text, "1998年3月")
    html = format_answer(_answer([point], [Evidence(hit, (p.text,), frozenset({0}))], kind=AnswerKind.FACT))[0].html
    assert html.startswith("<b>答案</b>\n工程于<b>1998年3月</b>开工&lt;b&gt; <i>[")
