"""What the optional fluent answers cost: ``engine.answer`` with them off and on (interleaved,
the seed's questions), and the time from the extractive answer to the checked fluent one with a
fake OpenAI-compatible endpoint on 127.0.0.1 that answers at once (so the figure is our own
overhead: the prompt, the HTTP round trip, the check; a real model adds its generation time).
With ``--url URL --model M`` it asks a real endpoint instead and prints its answers.

    .venv/bin/python bench/fluent.py [--rounds 3] [--url http://localhost:11434/v1 --model qwen2.5:7b]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, seed_engine, summary_ms

sys.path.insert(0, str(ROOT))
from embeddings.answering.fluent import ChatEndpoint, FluentComposer, LLMConfig, final  # noqa: E402
from tests.fake_llm import FakeLLM, Reply  # noqa: E402

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--url")
    ap.add_argument("--model", default="test-model")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        engine = seed_engine(Path(tmp))
        plain = engine.composer
        fluent = FluentComposer(plain, ChatEndpoint(LLMConfig(args.url or fake.url, args.model, timeout=60)))
        for q in questions:
            engine.answer(q)  # warm-up: vectors cached
        off, on, written, shown = [], [], [], 0
        for _ in range(args.rounds):
            for q in questions:
                engine.composer = plain
                t0 = time.perf_counter()
                engine.answer(q)
                off.append(time.perf_counter() - t0)
                engine.composer = fluent
                t0 = time.perf_counter()
                answer = engine.answer(q)
                on.append(time.perf_counter() - t0)
                if answer.fluent is None:
                    continue
                # the fake model restates the extractive answer, citing the passage it came from
                cited = 1 + [h.passage.id for h in answer.hits].index(answer.points[0].passage.id)
                fake.reply = Reply(f"{answer.points[0].text}[{cited}]。", pieces=3)
                t0 = time.perf_counter()
                result = final(answer.fluent)
                written.append(time.perf_counter() - t0)
                shown += result.shown
                if args.url and _ == 0:
                    print(f"\n? {q}\n  extractive: {answer.direct[:80]}\n  fluent: {result.text or '-'}"
                          f"{'' if result.shown else f'  (not shown: {result.problem})'}")
        engine.composer = plain
    print(f"engine.answer, fluent off: {summary_ms(off)}")
    print(f"engine.answer, fluent on:  {summary_ms(on)}  (the extractive answer, shown at once)")
    print(f"then the fluent answer ({'the endpoint given' if args.url else 'fake endpoint, instant'}): "
          f"{summary_ms(written)}; shown {shown} of {len(written)}")


if __name__ == "__main__":
    main()
