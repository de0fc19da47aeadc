"""The learned answer step: the committed models, the features they read, and the candidates the
rules make for them."""

import json
import math
import shutil

import numpy as np
import pytest

from corpus.model import Passage
from embeddings.answering.candidates import Question, Sentence, candidates_of, eligible
from embeddings.answering.features import (
    GATE_FEATURES,
    SENTENCE_FEATURES,
    SPAN_FEATURES,
    WORDING_FEATURES,
    sentence_features,
    span_features,
)
from embeddings.answering.question import analyse
from embeddings.answering.training.data import WRITTEN_IN_CHINESE
from embeddings.answering.selector import MODEL_FILES, MODELS_DIR, Selector, SelectorProblem
from embeddings.lexical import BM25, tokenize
from embeddings.search import Hit


def _hit(text: str, rank: int = 1, title: str = "报道") -> Hit:
    p = Passage(id=f"d:{rank}.0:x", doc_id="d", doc_title=title, path="d.txt", paragraph=rank + 1, part=0,
                section="", text=text, match_text=text)
    return Hit(p, 0.9, 0.85, 0.5, rank)


def _bm25(texts: list[str]) -> BM25:
    return BM25([tokenize(t) for t in texts])


def test_committed_models_load_with_their_manifest():
    selector = Selector()
    m = selector.manifest
    assert set(m["data"]) == {"drcd_test", "cmrc2018_trial", "squad2_zh_dev"}
    assert all(len(d["sha256"]) == 64 for d in m["data"].values())
    assert m["features"] == {"sentence": list(SENTENCE_FEATURES), "span": list(SPAN_FEATURES),
                             "gate": list(GATE_FEATURES)}
    assert 0 < selector.threshold.value < 1 and 0 < selector.threshold.english < 1
    assert "out-of-fold" in selector.threshold.chosen_on
    assert m["limit_articles"] is None  # trained on the whole sets
    sizes = sum((MODELS_DIR / f).stat().st_size for f in MODEL_FILES.values())
    assert sizes < 25 * 2**20


def test_models_trained_on_other_features_are_refused(tmp_path):
    import lightgbm as lgb

    for name in ("manifest.json", *MODEL_FILES.values()):
        shutil.copy(MODELS_DIR / name, tmp_path / name)
    rng = np.random.default_rng(0)
    other = lgb.train({"objective": "binary", "verbosity": -1},
                      lgb.Dataset(rng.random((50, 3)), rng.integers(0, 2, 50), feature_name=["a", "b", "c"]), 2)
    other.save_model(str(tmp_path / MODEL_FILES["gate"]))
    with pytest.raises(SelectorProblem, match="other features"):
        Selector(tmp_path)


def test_missing_models_say_how_to_make_them(tmp_path):
    with pytest.raises(SelectorProblem, match="make train"):
        Selector(tmp_path)


def test_scores_are_probabilities_and_rankings():
    selector = Selector()
    rows = np.zeros((3, len(SENTENCE_FEATURES)), dtype=np.float32)
    p = selector.sentence_scores(rows)
    assert p.shape == (3,) and ((p >= 0) & (p <= 1)).all()
    assert selector.sentence_scores(np.zeros((0, len(SENTENCE_FEATURES)))).shape == (0,)
    assert 0 <= selector.answerable(np.zeros(len(GATE_FEATURES), dtype=np.float32)) <= 1


SENTENCES = ["5月12日至14日，省委书记张华到江城市调研。", "省委常委、秘书长刘洋陪同调研。",
             "张华强调，要坚持农业农村优先发展，扎实推进乡村振兴。"]


def _read(question: str):
    hits = [_hit(t, i) for i, t in enumerate(SENTENCES, 1)]
    q = Question.of(analyse(question), _bm25(SENTENCES))
    sentences = [Sentence(h.passage.text, h.passage.text, h, 0, 1) for h in hits]
    rows = sentence_features(q, sentences, np.array([0.8, 0.82, 0.79], dtype=np.float32))
    return q, sentences, rows


def test_sentence_features_see_the_question_words_and_the_type_asked_for():
    q, sentences, rows = _read("刘洋担任什么职务？")
    col = {n: i for i, n in enumerate(SENTENCE_FEATURES)}
    assert rows.shape == (3, len(SENTENCE_FEATURES))
    assert rows[1, col["cov"]] > rows[0, col["cov"]]  # the sentence naming 刘洋
    assert rows[1, col["focus_in"]] == 1 and rows[0, col["focus_in"]] == 0
    q, sentences, rows = _read("张华是哪几天到江城市调研的？")
    assert rows[0, col["typed"]] >= 1 and rows[2, col["typed"]] == 0  # a date only in the first
    assert rows[0, col["longest_run"]] > rows[1, col["longest_run"]]


def test_candidates_hold_typed_spans_roles_the_slot_and_clauses():
    q, sentences, _ = _read("刘洋担任什么职务？")
    by_kind = {}
    for c in candidates_of(q, sentences[1]):
        by_kind.setdefault(c.kind, []).append(c)
    assert "刘洋" in [c.text for c in by_kind["person"]]
    assert any(c.text == "省委常委、秘书长" and c.shown.endswith("刘洋") for c in by_kind["role"])
    assert {"clause", "sentence"} <= set(by_kind)
    q, sentences, _ = _read("张华是哪几天到江城市调研的？")
    dates = [c.text for c in candidates_of(q, sentences[0]) if c.kind == "time"]
    assert any(d.startswith("5月12日") for d in dates)


def test_a_document_about_a_namesake_and_the_words_its_title_does_not_hold():
    """A document whose title holds the question's subject gives its sentences credit only for
    the words beyond that subject; one about a near-namesake writes only part of the subject."""
    fish = ["短齿石斑鱼为辐鳍鱼纲鲈形目的其中一种。", "本鱼以甲壳类为食，臀鳍硬棘2枚。"]
    q = Question.of(analyse("短齿石斑鱼有多少枚臀鳍硬棘？"), _bm25(fish))
    assert q.topic == "短齿石斑鱼"
    hits = [_hit(t, i, title="短齿石斑鱼") for i, t in enumerate(fish, 1)]
    sentences = [Sentence(h.passage.text, h.passage.text, h, 0, 1) for h in hits]
    rows = sentence_features(q, sentences, np.array([0.8, 0.8], dtype=np.float32))
    col = {n: i for i, n in enumerate(SENTENCE_FEATURES)}
    assert rows[0, col["cov"]] > rows[1, col["cov"]]  # the name is only in the first
    assert rows[1, col["cov_untitled"]] == 1 and rows[0, col["cov_untitled"]] < 0.5  # partial credit at most
    assert rows[0, col["topic_in_document"]] == 1
    assert sentences[1].features["noun_pairs_in_document"] == 1  # the document's, whichever sentence
    other = [_hit(t.replace("短齿", "长齿"), i, title="长齿石斑鱼") for i, t in enumerate(fish, 1)]
    sentences = [Sentence(h.passage.text, h.passage.text, h, 0, 1) for h in other]
    rows = sentence_features(q, sentences, np.array([0.8, 0.8], dtype=np.float32))
    assert 0 < rows[0, col["topic_in_document"]] < 1
    assert 0 < sentences[0].features["noun_pairs_in_document"] < 1  # 短齿 missing, 石斑 斑鱼 there


def test_english_questions_have_no_wording_features_but_the_rest():
    q = Question.of(analyse("Who accompanied Zhang Hua?"), _bm25(SENTENCES))
    hits = [_hit(t, i) for i, t in enumerate(SENTENCES, 1)]
    sentences = [Sentence(h.passage.text, h.passage.text, h, 0, 1) for h in hits]
    rows = sentence_features(q, sentences, np.array([0.8, 0.82, 0.79], dtype=np.float32))
    for i, name in enumerate(SENTENCE_FEATURES):
        assert math.isnan(rows[0, i]) == (name in WORDING_FEATURES), name
    assert rows[0, SENTENCE_FEATURES.index("cross_lingual")] == 1
    for s, r in zip(sentences, rows[:, SENTENCE_FEATURES.index("dense")]):
        s.score = float(r)
    cands = candidates_of(q, sentences[1])
    span_rows = span_features(q, sentences, cands)
    assert np.isnan(span_rows[:, SPAN_FEATURES.index("distance")]).all()
    assert not np.isnan(span_rows[:, SPAN_FEATURES.index("type_match")]).any()


def test_manifest_metrics_are_reported_per_training_set():
    m = json.loads((MODELS_DIR / "manifest.json").read_text(encoding="utf-8"))
    for name in ("drcd_test", "cmrc2018_trial", "squad2_zh_dev", "english"):
        figures = m["metrics"][name]  # out of fold: what the models do on questions they were not fitted on
        assert 0.5 < figures["answer_top1"] <= 1 and 0.5 < figures["sentence_top1"] <= 1
        # English-like questions (made word by word) are harder to tell apart from unanswerable ones;
        # the threshold counts the refusals of the sets written in Chinese, not SQuAD 2.0's translations
        assert figures["refused_answerable"] <= (0.05 if name in WRITTEN_IN_CHINESE else 0.25)
        assert figures["refused_left_out"] > (0.3 if name == "english" else 0.6)
        if name != "english":
            assert figures["refused_namesake"] > 0.3  # a near-namesake's article found, and still refused


def test_a_place_an_english_question_names_is_not_its_answer():
    """"Which cities did Zhao Leji visit in Guangdong?": Guangdong (广东, through the dictionary)
    is what the question says, so it cannot be the answer; the cities it names can."""
    text = "赵乐际到广东调研，先后到珠海、广州等地。"
    q = Question.of(analyse("Which cities did Zhao Leji visit in Guangdong?"), _bm25([text]))
    [sentence] = [Sentence(text, text, _hit(text), 0, 1)]
    places = {c.text: eligible(q, c) for c in candidates_of(q, sentence) if c.kind == "place"}
    assert places["广东"] is False and places["珠海"] is True
