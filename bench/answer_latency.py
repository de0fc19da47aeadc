"""Answer latency in the engine: ``engine.answer`` on the seed's question sets, after one warm-up
round (query and sentence vectors cached, as in a running bot), split into its search and its
answer step (analysis, candidates, the learned models, the gate).

    .venv/bin/python bench/answer_latency.py [--rounds 5]

It reads the code of the checkout it sits in, so a copy in another worktree measures that version:
run the two one after the other, twice, to see the machine's noise.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, summary_ms, seed_engine


SETS = [ROOT / "tests" / "data" / name for name in ("dev.jsonl", "seed_probes.jsonl")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    print(f"machine: {machine()}; code: {ROOT}")
    questions = [json.loads(line)["question"] for path in SETS for line in path.read_text("utf-8").splitlines()
                 if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        engine = seed_engine(tmp)
        for q in questions:  # warm-up
            engine.answer(q)
        total, search = [], []
        for _ in range(args.rounds):
            for q in questions:
                t0 = time.perf_counter()
                engine.search(q, 5)
                t1 = time.perf_counter()
                engine.answer(q)
                t2 = time.perf_counter()
                search.append(t1 - t0)
                total.append(t2 - t1)
        print(f"answer (search + answer step), {len(questions)} questions x {args.rounds}: {summary_ms(total)}")
        print(f"search alone:                               {summary_ms(search)}")


if __name__ == "__main__":
    main()
