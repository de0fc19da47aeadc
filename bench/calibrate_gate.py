"""Choose the answer gate's thresholds from evaluation runs made with the gate open.

Usage:
    qabot eval SET.jsonl --gate-open --json > run.json        (for each question set)
    python bench/calibrate_gate.py tune.json [more.json ...] [--check other.json ...] [--halves]

Each run must come from `qabot eval --gate-open --json` (coverage thresholds at 0), so every
question carries the coverage of its answer. With --halves, every other question of the
tuning runs is held out and reported as a check. The script tries
every pair of thresholds (passage coverage, sentence coverage for short typed answers) on
the tuning runs and keeps the pair with the most questions handled right (answered
correctly, or refused when the documents do not answer), among those that refuse at most
10% of answerable questions; then prints the same figures for the --check runs, which
the choice never saw.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _load(paths: list[str]) -> list[dict]:
    rows = []
    for p in paths:
        rows += json.loads(Path(p).read_text(encoding="utf-8"))["questions"]
    return rows


def _outcome(row: dict, passage: float, sentence: float) -> tuple[bool, bool]:
    """(refused, right) for one question under the thresholds."""
    refused = row["refused"]
    if not refused and row["coverage"] is not None:
        cross = row["lang"] == "en"
        limit = passage * (CROSS_FACTOR if cross else 1.0)
        refused = row["coverage"] < limit or (
            row.get("kind") == "fact" and not row.get("anchored") and row["type"] in ("time", "number", "duration")
            and row["sentence_coverage"] is not None
            and row["sentence_coverage"] < sentence * (CROSS_FACTOR if cross else 1.0))
    if row["no_answer"]:
        return refused, refused
    return refused, (not refused) and bool(row["answer_ok"] if row["answer_ok"] is not None else True)


CROSS_FACTOR = 0.75  # GateParams.cross_lingual_factor


def figures(rows: list[dict], passage: float, sentence: float) -> dict:
    answerable = [r for r in rows if not r["no_answer"]]
    unanswerable = [r for r in rows if r["no_answer"]]
    outcomes = [(r, *_outcome(r, passage, sentence)) for r in rows]
    checked = [(r, ref, ok) for r, ref, ok in outcomes if r["answer_ok"] is not None]
    return {
        "right": sum(ok for _, _, ok in outcomes) / len(rows),
        "answer_accuracy": sum(ok for _, _, ok in checked) / max(1, len(checked)),
        "short_answers": sum(ok and bool(r["short"]) for r, _, ok in checked) / max(1, len(checked)),
        "no_answer_accuracy": sum(ref for r, ref, _ in outcomes if r["no_answer"]) / max(1, len(unanswerable)),
        "wrong_refusals": sum(ref for r, ref, _ in outcomes if not r["no_answer"]) / max(1, len(answerable)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("tune", nargs="+")
    ap.add_argument("--check", nargs="*", default=[])
    ap.add_argument("--max-wrong-refusals", type=float, default=0.10)
    ap.add_argument("--halves", action="store_true", help="tune on every other question, check on the rest")
    args = ap.parse_args()
    tune = _load(args.tune)
    held_out = []
    if args.halves:
        tune, held_out = tune[::2], tune[1::2]
    grid = [round(0.05 * i, 2) for i in range(0, 17)]
    best = None
    for p in grid:
        for s in grid:
            f = figures(tune, p, s)
            if f["wrong_refusals"] <= args.max_wrong_refusals and (best is None or f["right"] > best[0]["right"]):
                best = (f, p, s)
    f, p, s = best
    print(f"chosen: min_coverage={p} min_sentence_coverage={s}")
    print("tuning: " + ", ".join(f"{k} {v:.3f}" for k, v in f.items()))
    if held_out:
        g = figures(held_out, p, s)
        print("held-out half: " + ", ".join(f"{k} {v:.3f}" for k, v in g.items()))
    for path in args.check:
        g = figures(_load([path]), p, s)
        print(f"{path}: " + ", ".join(f"{k} {v:.3f}" for k, v in g.items()))


if __name__ == "__main__":
    main()
