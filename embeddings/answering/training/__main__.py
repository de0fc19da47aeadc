"""``make train``: train the answer step's models from public reading-comprehension data.

    python -m embeddings.answering.training [--train-dir ../shared/train] [--out embeddings/answering/models]

Each set in ``--train-dir`` (``data.SETS``) is written out as a corpus and indexed with the
project's own engine and default encoder; every question is searched like a user's, and its
sentences and candidates get their features from the same functions the composer uses. Four
kinds of case: the question with its hits; "article left out" (every third answerable question,
its own article's passages dropped from the hits: the documents do not answer it); "namesake"
(every second question that names its article, asked about a near-namesake no document mentions,
``namesakes``; for the gate only); and SQuAD 2.0's unanswerable questions.

Models (LightGBM, fixed seed, two folds split by article): the sentence model (does the sentence
hold a gold answer?), the span model (a ranking of the candidates: 2 when the phrase shown holds
a gold answer and is short, 1 when it holds it, else 0), and the gate (do the passages answer the
question?). The span model learns from out-of-fold sentence scores and the gate from out-of-fold
sentence and span scores, as they will be at answering time. The final models are fitted on
everything; the manifest records data checksums, settings and the out-of-fold metrics.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from corpus.clean import to_simplified
from embeddings.answering.compose import ComposerParams
from embeddings.answering.candidates import Candidate, Question, Sentence, answers_in_order
from embeddings.answering.features import (
    GATE_FEATURES,
    SENTENCE_FEATURES,
    SPAN_FEATURES,
    gate_features,
    read_sentences,
    read_spans,
)
from embeddings.answering.question import HAN_CHAR, analyse
from embeddings.answering.selector import MODEL_FILES, MODELS_DIR
from embeddings.answering.training.data import SETS, WRITTEN_IN_CHINESE, TrainSet, export
from embeddings.answering.training.english import pseudo_english
from embeddings.answering.training.namesakes import core_title, namesake_question
from embeddings.evaluate import compact, short_limit
from embeddings.search import Hit

log = logging.getLogger("train")

SEED = 20261130
SEARCH_K = 20  # hits searched per question; the composer reads the first ComposerParams.evidence_passages
LEFT_OUT_EVERY = 3
# Every second question that names its article is also asked about a near-namesake that no
# document mentions (``namesakes``): unanswered, though its article is what the search finds.
NAMESAKE_EVERY = 2
CONTEXT_EVERY = 3
# Every fourth question is also asked in English-like words (``english.pseudo_english``): the
# models learn what an English question on Chinese documents looks like to the features.
ENGLISH_EVERY = 4
FOLDS = 2
SENTENCE_PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40,
                   "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0}
SPAN_PARAMS = {"objective": "lambdarank", "learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 40,
               "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0,
               "lambdarank_truncation_level": 10, "eval_at": [1]}
GATE_PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 15, "min_data_in_leaf": 40,
               "feature_fraction": 0.8, "bagging_fraction": 0.8, "bagging_freq": 1, "lambda_l2": 1.0}
ROUNDS = {"sentence": 300, "span": 300, "gate": 200}
# The gate's threshold: the highest that refuses at most this share of the answerable questions
# of the sets written in Chinese (``data.WRITTEN_IN_CHINESE``) whose answer was retrieved
# (out-of-fold), for Chinese and English-like questions apart. SQuAD 2.0's translated questions
# are not counted: their names are often not the passage's (the translations differ), so the
# gate is rightly unsure of many, and counting them (5% of all) put the threshold where it
# answered a near-namesake the documents do not have (CMRC 2018 no-answer accuracy 0.80).
MAX_WRONG_REFUSALS = 0.03


@dataclass
class Case:
    set: str
    id: str
    group: str  # the article: folds never split one
    question: str
    answers: tuple[str, ...]  # compact gold answers
    kind: str  # answerable | left_out | namesake | impossible
    hits: list[Hit]
    bm25: object
    query_vector: np.ndarray  # as the search encoded it

    @property
    def english(self) -> bool:
        return self.id.split("#")[-1] in ("en", "en-left-out")
    q: Question | None = None
    sentences: list[Sentence] = field(default_factory=list)
    sentence_rows: np.ndarray | None = None
    gold_in_pool: bool = False
    spans: list[Candidate] = field(default_factory=list)
    span_rows: np.ndarray | None = None

    @property
    def fold(self) -> int:
        return int(hashlib.sha256(self.group.encode()).hexdigest(), 16) % FOLDS

    def holds(self, text: str) -> bool:
        return self.kind == "answerable" and any(a in compact(text) for a in self.answers)

    def grade(self, c: Candidate) -> int:
        shown = compact(c.sentence.original_span(c.lo, c.hi))
        if self.kind != "answerable":
            return 0
        held = [a for a in self.answers if a in shown]
        if not held:
            return 0
        return 2 if any(len(shown) <= short_limit(len(a)) for a in held) else 1


class VectorCache:
    """Sentence vectors kept in SQLite between training runs (encoding them is most of the work)."""

    def __init__(self, encoder, path: Path):
        from embeddings.index.cache import BuildCache

        self.encoder, self.cache, self.memo = encoder, BuildCache(path), {}
        self.namespace = f"{encoder.name}#sentence"

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if missing:
            keys = {t: self.cache.key(t) for t in missing}
            known = self.cache.get(self.namespace, list(keys.values()))
            todo = [t for t in missing if keys[t] not in known]
            if todo:
                fresh = self.encoder.encode_documents(todo)
                self.cache.put(self.namespace, {keys[t]: v for t, v in zip(todo, fresh)})
                known.update({keys[t]: v for t, v in zip(todo, fresh)})
            self.memo.update({t: known[keys[t]] for t in missing})
        return np.vstack([self.memo[t] for t in texts])


def make_cases(ts: TrainSet, engine, rng: random.Random, limit: int | None) -> list[Case]:
    questions = ts.questions if limit is None else [q for q in ts.questions if int(q.doc_id[:4]) < limit]
    bm25 = engine.index.bm25
    corpus_text = to_simplified("\n".join(p.read_text(encoding="utf-8") for p in sorted(ts.corpus_dir.iterdir())))
    alphabet = "".join(sorted({ch for title, _ in ts.contexts.values() for ch in core_title(title)
                               if HAN_CHAR.match(ch)}))
    namesake_rng = random.Random(f"{SEED}/{ts.name}/namesakes")  # its own: the other cases stay as they were
    cases = []
    for n, tq in enumerate(questions):
        answers = tuple(compact(a) for a in tq.answers)
        group = f"{ts.name}/{tq.doc_id}"
        asked = [(tq.id, tq.question)]
        if rng.randrange(CONTEXT_EVERY) == 0:
            title, clause = ts.contexts[tq.doc_id]
            context = f"{clause}时，" if clause and rng.random() < 0.5 else f"关于{title}，"
            if not any(a in compact(context) for a in answers):
                asked.append((tq.id + "#context", context + tq.question))
        if rng.randrange(ENGLISH_EVERY) == 0:
            asked.append((tq.id + "#en", pseudo_english(tq.question)))
        if not tq.impossible and namesake_rng.randrange(NAMESAKE_EVERY) == 0:
            other = namesake_question(to_simplified(tq.question), ts.contexts[tq.doc_id][0], alphabet, corpus_text,
                                      namesake_rng)
            if other:
                hits = engine.retrieve(other, SEARCH_K)
                cases.append(Case(ts.name, tq.id + "#namesake", group, other, (), "namesake", hits, bm25,
                                  engine.query_vector(other)))
        for qid, question in asked:
            hits = engine.retrieve(question, SEARCH_K)
            qv = engine.query_vector(question)  # the search's own, from the engine's cache
            if tq.impossible:
                cases.append(Case(ts.name, qid, group, question, (), "impossible", hits, bm25, qv))
                continue
            cases.append(Case(ts.name, qid, group, question, answers, "answerable", hits, bm25, qv))
            if rng.randrange(LEFT_OUT_EVERY) == 0:
                others = [h for h in hits if h.passage.doc_id != tq.doc_id]
                others = [Hit(h.passage, h.score, h.dense, h.lexical, r) for r, h in enumerate(others, 1)]
                left_out = qid + ("-left-out" if qid.endswith("#en") else "#left-out")
                cases.append(Case(ts.name, left_out, group, question, (), "left_out", others, bm25, qv))
        if n % 500 == 0:
            log.info("%s: searched %d of %d questions", ts.name, n, len(questions))
    return cases


def _fit(params: dict, rows: np.ndarray, labels: np.ndarray, names: tuple[str, ...], rounds: int,
         groups: list[int] | None = None):
    import lightgbm as lgb

    categorical = [n for n in ("qtype", "kind") if n in names]
    data = lgb.Dataset(rows, labels, group=groups, feature_name=list(names), categorical_feature=categorical,
                       free_raw_data=False)
    full = {**params, "seed": SEED, "deterministic": True, "force_col_wise": True, "num_threads": 2,
            "verbosity": -1}
    return lgb.train(full, data, num_boost_round=rounds)


def _out_of_fold(params, rows, labels, folds, names, rounds, learn=None):
    """Predictions for each row from a model that did not see its fold (and learned only from the
    rows ``learn`` marks, when given)."""
    out = np.zeros(len(rows))
    for k in range(FOLDS):
        train, test = folds != k, folds == k
        if learn is not None:
            train &= learn
        model = _fit(params, rows[train], labels[train], names, rounds)
        out[test] = model.predict(rows[test], num_threads=2)
    return out


def main(argv: list[str] | None = None) -> None:
    from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder
    from embeddings.engine import Engine, EngineConfig

    p = argparse.ArgumentParser(prog="python -m embeddings.answering.training", description=__doc__.splitlines()[0])
    p.add_argument("--train-dir", type=Path, default=Path("../shared/train"))
    p.add_argument("--work", type=Path, default=Path("data-train"), help="corpora, indexes and caches")
    p.add_argument("--out", type=Path, default=MODELS_DIR)
    p.add_argument("--limit", type=int, default=None, help="only the first N articles of each set (a quick run)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    started = time.time()
    rng = random.Random(SEED)
    encoder = load_encoder(DEFAULT_MODEL, Path("data")).load()
    vectors = VectorCache(encoder, args.work / "cache" / "sentence-vectors.sqlite")
    params = ComposerParams()
    cases: list[Case] = []
    sets = []
    for name in SETS:
        ts = export(args.train_dir / name, args.work / "corpora")
        sets.append(ts)
        engine = Engine(EngineConfig(ts.corpus_dir, args.work / "index" / ts.name, args.work), encoder)
        engine.load_or_build()
        cases += make_cases(ts, engine, rng, args.limit)
    log.info("%d cases; reading their sentences", len(cases))

    # 1. sentences
    for n, case in enumerate(cases):
        case.q = Question.of(analyse(case.question), case.bm25)
        pool = case.hits[: params.evidence_passages]
        case.sentences, _, case.sentence_rows = read_sentences(case.q, pool, vectors, case.query_vector)
        case.gold_in_pool = any(case.holds(s.original) for s in case.sentences)
        if n % 1000 == 0:
            log.info("sentences of %d of %d cases", n, len(cases))
    cases = [c for c in cases if c.sentences]
    s_rows = np.vstack([c.sentence_rows for c in cases])
    s_labels = np.array([float(c.holds(s.original)) for c in cases for s in c.sentences])
    s_folds = np.array([c.fold for c in cases for _ in c.sentences])
    # the namesake cases are for the gate: their article's sentences would read, to the sentence
    # model, as the same sentences holding no answer
    s_learn = np.array([c.kind != "namesake" for c in cases for _ in c.sentences])
    s_oof = _out_of_fold(SENTENCE_PARAMS, s_rows, s_labels, s_folds, SENTENCE_FEATURES, ROUNDS["sentence"], s_learn)
    i = 0
    for c in cases:
        for s in c.sentences:
            s.score = float(s_oof[i])
            i += 1
        c.sentences.sort(key=lambda s: -s.score)
    log.info("sentence model: out-of-fold done")

    # 2. spans
    for n, c in enumerate(cases):
        c.spans, c.span_rows = read_spans(c.q, c.sentences, params.span_sentences)
        if n % 1000 == 0:
            log.info("candidates of %d of %d cases", n, len(cases))
    ranked_cases = [c for c in cases if c.kind == "answerable" and any(c.grade(x) for x in c.spans)]
    sp_rows = np.vstack([c.span_rows for c in ranked_cases])
    sp_labels = np.array([c.grade(x) for c in ranked_cases for x in c.spans], dtype=float)
    sp_folds = np.array([c.fold for c in ranked_cases for _ in c.spans])
    sizes = np.array([len(c.spans) for c in ranked_cases])
    case_folds = np.array([c.fold for c in ranked_cases])

    span_models = []
    for k in range(FOLDS):
        train = sp_folds != k
        span_models.append(_fit(SPAN_PARAMS, sp_rows[train], sp_labels[train], SPAN_FEATURES, ROUNDS["span"],
                                [int(n) for n, f in zip(sizes, case_folds) if f != k]))
    for c in cases:  # out-of-fold span scores for every case, the unanswerable ones too
        if c.spans:
            scores = span_models[c.fold].predict(c.span_rows, num_threads=2)
            for x, sc in zip(c.spans, scores):
                x.score = float(sc)
            c.spans.sort(key=lambda x: -x.score)
    log.info("span model: out-of-fold done")

    # 3. the gate
    gate_cases = [c for c in cases if c.kind != "answerable" or c.gold_in_pool]
    g_rows = np.vstack([gate_features(c.q, c.sentences, answers_in_order(c.q, c.spans), c.bm25)
                        for c in gate_cases])
    g_labels = np.array([float(c.kind == "answerable") for c in gate_cases])
    g_folds = np.array([c.fold for c in gate_cases])
    g_oof = _out_of_fold(GATE_PARAMS, g_rows, g_labels, g_folds, GATE_FEATURES, ROUNDS["gate"])
    english = np.array([c.english for c in gate_cases])
    written = np.array([c.set in WRITTEN_IN_CHINESE for c in gate_cases])
    thresholds = {}
    for name, of_language in (("chinese", ~english), ("english", english)):
        positives = np.sort(g_oof[(g_labels == 1) & written & of_language])
        thresholds[name] = float(positives[int(MAX_WRONG_REFUSALS * len(positives))])
    # with the rows and articles, for studying the gate without a rerun (``data-train/``, not committed)
    np.savez(args.work / "gate-out-of-fold.npz", probability=g_oof, label=g_labels, english=english, rows=g_rows,
             set=np.array([c.set for c in gate_cases]), kind=np.array([c.kind for c in gate_cases]),
             group=np.array([c.group for c in gate_cases]), question=np.array([c.question for c in gate_cases]))

    metrics = report(cases, gate_cases, g_oof, thresholds)
    log.info("metrics: %s", json.dumps(metrics, indent=1))

    # 4. final models on everything
    args.out.mkdir(parents=True, exist_ok=True)
    _fit(SENTENCE_PARAMS, s_rows[s_learn], s_labels[s_learn], SENTENCE_FEATURES, ROUNDS["sentence"]).save_model(
        str(args.out / MODEL_FILES["sentence"]))
    _fit(SPAN_PARAMS, sp_rows, sp_labels, SPAN_FEATURES, ROUNDS["span"], [int(n) for n in sizes]).save_model(
        str(args.out / MODEL_FILES["span"]))
    _fit(GATE_PARAMS, g_rows, g_labels, GATE_FEATURES, ROUNDS["gate"]).save_model(str(args.out / MODEL_FILES["gate"]))
    manifest = {
        "trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.time() - started),
        "data": {ts.name: {"sha256": ts.sha256, "questions": len(ts.questions)} for ts in sets},
        "limit_articles": args.limit,
        "encoder": encoder.name,
        "settings": {"seed": SEED, "search_k": SEARCH_K, "left_out_every": LEFT_OUT_EVERY,
                     "namesake_every": NAMESAKE_EVERY,
                     "context_every": CONTEXT_EVERY,
                     "english_every": ENGLISH_EVERY, "folds": FOLDS,
                     "evidence_passages": params.evidence_passages, "span_sentences": params.span_sentences,
                     "rounds": ROUNDS, "sentence": SENTENCE_PARAMS, "span": SPAN_PARAMS, "gate": GATE_PARAMS},
        "rows": {"sentence": len(s_rows), "span": len(sp_rows), "gate": len(g_rows)},
        "gate": {"threshold": round(thresholds["chinese"], 4),
                 "threshold_english": round(thresholds["english"], 4),
                 "chosen_on": f"out-of-fold gate probabilities on {', '.join(SETS)}: for each language (the "
                              f"Chinese questions, their English-like copies), the highest threshold that refuses "
                              f"at most {MAX_WRONG_REFUSALS:.0%} of its answerable questions of "
                              f"{', '.join(WRITTEN_IN_CHINESE)} (written in Chinese, not translated) whose answer "
                              f"was retrieved"},
        "metrics": metrics,
        "features": {"sentence": list(SENTENCE_FEATURES), "span": list(SPAN_FEATURES), "gate": list(GATE_FEATURES)},
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    log.info("models written to %s in %.0f s", args.out, time.time() - started)


def report(cases: list[Case], gate_cases: list[Case], g_oof: np.ndarray, thresholds: dict[str, float]) -> dict:
    """Out-of-fold figures per set: the best sentence and candidate right, the gate's refusals."""
    from sklearn.metrics import roc_auc_score

    out = {}
    for name in sorted({c.set for c in cases}) + ["english"]:
        def of(c: Case, name: str = name) -> bool:
            return c.english if name == "english" else c.set == name and not c.english

        mine = [c for c in cases if of(c) and c.kind == "answerable" and c.gold_in_pool]
        answerable = [c for c in cases if of(c) and c.kind == "answerable"]
        m = {"answerable": len(answerable), "answer_retrieved": round(len(mine) / max(1, len(answerable)), 4)}
        if mine:
            m["sentence_top1"] = round(np.mean([c.holds(c.sentences[0].original) for c in mine]), 4)
            best = [next(iter(answers_in_order(c.q, c.spans)), None) for c in mine]
            m["answer_top1"] = round(np.mean([bool(b) and c.grade(b) > 0 for c, b in zip(mine, best)]), 4)
            m["short_top1"] = round(np.mean([bool(b) and c.grade(b) == 2 for c, b in zip(mine, best)]), 4)
        idx = [i for i, c in enumerate(gate_cases) if of(c)]
        labels = np.array([gate_cases[i].kind == "answerable" for i in idx])
        probs = g_oof[idx]
        threshold = thresholds["english" if name == "english" else "chinese"]
        if labels.any() and not labels.all():
            m["gate_auc"] = round(float(roc_auc_score(labels, probs)), 4)
        for kind in ("answerable", "left_out", "namesake", "impossible"):
            sel = [j for j, i in enumerate(idx) if gate_cases[i].kind == kind]
            if sel:
                m[f"refused_{kind}"] = round(float(np.mean(probs[sel] < threshold)), 4)
        out[name] = m
    return out


if __name__ == "__main__":
    main()
