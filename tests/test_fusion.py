import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from embeddings.lexical import BM25, tokenize
from embeddings.search import FusionParams, search


def test_tokenize_drops_question_words_and_punctuation():
    tokens = tokenize("哪些领导参加了这次调研？")
    assert "领导" in tokens and "调研" in tokens
    assert not {"哪些", "这次", "？", "了"} & set(tokens)


def test_bm25_normalised_score_is_zero_without_overlap_and_high_with_it():
    docs = [tokenize(t) for t in ["社区治理的核心是人", "疫情防控常态化", "天气晴朗"]]
    bm25 = BM25(docs)
    assert bm25.normalised_scores(tokenize("what is the capital of france")).max() == 0
    s = bm25.normalised_scores(tokenize("社区治理的核心"))
    assert s.argmax() == 0 and 0.3 < s[0] <= 1.0


def test_unknown_terms_lower_the_normalised_score():
    bm25 = BM25([tokenize(t) for t in ["社区治理的核心是人", "疫情防控常态化"]])
    known = bm25.normalised_scores(tokenize("社区治理"))[0]
    mixed = bm25.normalised_scores(tokenize("社区治理 北京天气"))[0]
    assert mixed < known


def test_hits_carry_both_scores(fake_engine):
    hits = search(fake_engine.index, fake_engine.encoder, "疫情防控常态化", 5, FusionParams(title_weight=0.0))
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.score == pytest.approx(h.dense + 0.2 * h.lexical) for h in hits)
    assert hits[0].lexical > 0
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_lexical_signal_reorders_close_dense_scores(tmp_path):
    """Two passages the fake encoder ranks the other way round: the first shares the query's
    characters but none of its words (天晴, 雨伞), the second its words (晴天, 带伞) in a
    longer text. Dense alone ranks the first on top; the lexical signal lifts the second."""
    from embeddings.engine import Engine, EngineConfig
    from tests.fakes import HashEncoder

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text(
        "天晴了，带上雨伞。\n\n居民说晴天要带伞，因为紫外线很强，而且夏季中午气温很高，出门时还要多喝水。\n\n"
        "社区组织了志愿服务活动，帮助老人出行。", "utf-8")
    engine = Engine(EngineConfig(tmp_path / "c", tmp_path / "i", tmp_path / "d"), HashEncoder())
    engine.rebuild()
    dense_only = search(engine.index, engine.encoder, "晴天带伞", 3, FusionParams(lexical_weight=0.0))
    fused = search(engine.index, engine.encoder, "晴天带伞", 3, FusionParams(lexical_weight=1.0))
    assert dense_only[0].passage.text.startswith("天晴了") and dense_only[0].lexical == 0
    assert fused[0].passage.text.startswith("居民说晴天要带伞") and fused[0].dense < dense_only[0].dense


def test_query_without_lexical_overlap_keeps_dense_order(fake_engine):
    index, encoder = fake_engine.index, fake_engine.encoder
    q = "zzz qqq"
    a = search(index, encoder, q, 5, FusionParams(lexical_weight=0.0))
    b = search(index, encoder, q, 5, FusionParams(lexical_weight=0.5))
    assert [h.passage.id for h in a] == [h.passage.id for h in b]
    assert all(h.lexical == 0 for h in b)


def test_traditional_and_simplified_queries_match_alike(fake_engine):
    a = fake_engine.search("應勇強調要防止基層出現什麼傾向", 3)
    b = fake_engine.search("应勇强调要防止基层出现什么倾向", 3)
    assert [h.passage.id for h in a] == [h.passage.id for h in b]


def test_empty_query_returns_nothing(fake_engine):
    assert fake_engine.search("   ", 5) == []


def test_pinyin_terms_of_passages_and_queries():
    from embeddings.lexical import latin_pinyin_terms, pinyin_terms

    assert {"yingyong", "qinghe", "qingheju", "wuhan"} <= set(pinyin_terms("应勇赴武汉市青和居社区"))
    # a two-word name is tried in both orders ("Ching-te Lai"): "yongying" matches nothing here
    assert latin_pinyin_terms("Who attended with Ying Yong in Donghu?") == ["donghu", "yingyong", "yongying"]
    assert latin_pinyin_terms("What is the capital of France?") == []


def test_an_english_query_spelling_a_rare_name_finds_it(fake_engine):
    from embeddings.search import search

    index, encoder = fake_engine.index, fake_engine.encoder
    hits = search(index, encoder, "Who is Tao Jiudi?", 3)
    assert "陶久娣" in hits[0].passage.text and hits[0].lexical > 0
    # within a query, a name in most passages counts for less than one in a single passage
    from embeddings.lexical import BM25

    bm25 = BM25([["yingyong", "a"], ["yingyong", "b"], ["yingyong", "c"], ["taojiudi", "d"]])
    scores, best = bm25.group_scores([[("yingyong",)], [("taojiudi",)], [("absent",)]])
    assert scores[3] > scores[0] > 0 and best > scores.max()


def _okapi(docs, query, k1=1.2, b=0.75):
    """Textbook Okapi BM25 with Lucene's idf, term by term: what the bm25s-backed index must equal."""
    import math

    n, avgdl = len(docs), sum(map(len, docs)) / len(docs)
    out = []
    for d in docs:
        score = 0.0
        for t in set(query):
            df = sum(t in other for other in docs)
            if df and t in d:
                tf = d.count(t)
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(d) / max(avgdl, 1e-9)))
        out.append(score)
    return out


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("甲乙丙丁戊己庚辛"), max_size=12), min_size=1, max_size=12),
       st.lists(st.sampled_from("甲乙丙丁戊己庚辛壬"), min_size=1, max_size=5))
def test_bm25_equals_textbook_okapi(docs, query):
    bm25 = BM25(docs)
    assert bm25.scores(query) == pytest.approx(_okapi(docs, query), rel=1e-4, abs=1e-5)
    for t in set(query):
        assert (t in bm25.idf) == any(t in d for d in docs)


def test_bm25_saved_and_loaded_scores_the_same(tmp_path):
    docs = [tokenize(t) for t in ["社区治理的核心是人", "疫情防控常态化", "社区工作者队伍建设"]]
    bm25 = BM25(docs)
    bm25.save(tmp_path / "bm25")
    loaded = BM25.load(tmp_path / "bm25")
    q = tokenize("社区队伍治理")
    assert list(loaded.normalised_scores(q)) == pytest.approx(list(bm25.normalised_scores(q)))
    assert loaded.idf["社区"] == pytest.approx(bm25.idf["社区"]) and "天气" not in loaded.idf


def test_the_pinyin_channel_indexes_names_not_every_character_pair():
    from embeddings.lexical import passage_terms, pinyin_terms

    text = "省委书记应勇赴武汉市青和居社区调研，东湖新城社区党委书记陶久娣介绍了基层治理的做法"
    names = set(passage_terms(text)[1])
    assert {"yingyong", "wuhan", "qingheju", "donghu", "taojiudi"} <= names
    assert not {"shequ", "diaoyan", "zhili", "jiceng"} & names  # common words: no pinyin
    assert len(names) < len(set(pinyin_terms(text))) / 3


def test_document_title_orders_documents_but_not_passages_within_one(tmp_path):
    """Two reports whose "who accompanied" passages read alike and name neither the person nor
    the place (no section titles either: the documents' titles come from their first
    sentences): the question's words are in one report's title, and that report's passage
    moves above the other's; the passages of one report keep their order."""
    from embeddings.engine import Engine, EngineConfig
    from tests.fakes import HashEncoder

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "a.txt").write_text("李华到江城电厂考察，看望一线职工。\n\n王明、赵刚陪同。\n\n他强调要保障供电安全。", "utf-8")
    (tmp_path / "c" / "b.txt").write_text("张伟到海港码头调研，了解航运情况。\n\n陈强、刘洋陪同考察。\n\n他指出要提升港口效率。", "utf-8")
    engine = Engine(EngineConfig(tmp_path / "c", tmp_path / "i", tmp_path / "d"), HashEncoder())
    engine.rebuild()
    question = "李华考察江城电厂时，哪些人陪同考察？"
    plain = search(engine.index, engine.encoder, question, 6, FusionParams(title_weight=0.0))
    titled = search(engine.index, engine.encoder, question, 6, FusionParams(title_weight=1.0))
    assert {h.passage.doc_title for h in titled} == {"李华到江城电厂考察", "张伟到海港码头调研"}
    assert not any(h.passage.section for h in titled)

    def rank(hits, text):
        return next(h.rank for h in hits if h.passage.text == text)

    assert rank(plain, "王明、赵刚陪同。") > rank(plain, "陈强、刘洋陪同考察。")  # the other report's has more words
    assert rank(titled, "王明、赵刚陪同。") < rank(titled, "陈强、刘洋陪同考察。")
    boost = {h.passage.text: h.score - next(p.score for p in plain if p.passage.id == h.passage.id) for h in titled}
    assert boost["王明、赵刚陪同。"] > 0.2 and boost["陈强、刘洋陪同考察。"] == pytest.approx(0.0)
    order = [[h.passage.text for h in hits if h.passage.doc_id == "a.txt"] for hits in (plain, titled)]
    assert order[0] == order[1] and len(order[0]) == 3
