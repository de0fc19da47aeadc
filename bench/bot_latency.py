"""Bot latency through the fake Telegram Bot API server: time from an update being handed to
the bot (getUpdates) to its answer's sendMessage reaching the server, for N questions asked
one after another, then for a burst of questions sent at once.

    .venv/bin/python bench/bot_latency.py [--questions 200] [--burst 50]
    .venv/bin/python bench/bot_latency.py --compare   # encoder backends, with and without micro-batching

--compare runs the same burst (distinct questions, so no cached vector helps) through bots on
three engines in one process: torch without batching (the path before the faster encoders),
the default backend without batching, and the default backend with micro-batching.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, summary_ms, seed_engine

from bot.settings import Settings
from bot.telegram.app import build_application
from embeddings.encoders.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from tests import fake_telegram as tg

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def reply_time(api: tg.FakeBotApi, update: dict) -> float | None:
    mid = update["message"]["message_id"]
    return next((t for m, p, t in api.calls
                 if m == "sendMessage" and (p.get("reply_parameters") or {}).get("message_id") == mid), None)


def latency(api: tg.FakeBotApi, update: dict) -> float:
    return reply_time(api, update) - api.delivered[update["update_id"]]


def measure(api: tg.FakeBotApi, questions: list[str], n: int, burst: int, tag: int = 0) -> list[float]:
    sequential = []
    for i in range(n):
        update = api.push(tg.message(questions[i % len(questions)], 1000 + i + tag))
        api.wait_for(lambda a, u=update: reply_time(a, u), 60)
        sequential.append(latency(api, update))
    if n:
        print(f"sequential, {n} questions: {summary_ms(sequential)}")

    start = time.monotonic()
    # distinct texts: a repeated question would come from the vector cache
    updates = [api.push(tg.message(f"{questions[i % len(questions)]} ({tag + i})", 5000 + tag + i))
               for i in range(burst)]
    api.wait_for(lambda a: all(reply_time(a, u) for u in updates), 300)
    wall = time.monotonic() - start
    times = [latency(api, u) for u in updates]
    print(f"burst of {burst} at once: {summary_ms(times)}; "
          f"all answered in {wall:.1f}s ({burst / wall:.1f} questions/s)")
    return times


def compare(questions: list[str], burst: int, rounds: int = 3) -> None:
    from dataclasses import replace  # noqa: PLC0415

    from common import percentile  # noqa: PLC0415

    variants = {  # name: (backend, batching)
        "torch, one by one": ("torch", False),
        "openvino int8, one by one": ("openvino", False),
        "openvino int8, micro-batched": ("openvino", True),
    }
    with tempfile.TemporaryDirectory() as tmp, tg.FakeTelegramServer() as server:
        tmp = Path(tmp)
        shutil.copytree(ROOT / "corpus" / "documents", tmp / "corpus")
        bots = {}
        for name, (backend, batched) in variants.items():
            config = EngineConfig(tmp / "corpus", tmp / name / "index", tmp / "data")
            if not batched:
                config = replace(config, query_batch=1, query_window_s=0.0)
            engine = Engine(config, load_encoder(DEFAULT_MODEL, ROOT / "data", backend=backend).load())
            engine.rebuild()
            bots[name] = engine
        results: dict[str, list[float]] = {name: [] for name in variants}
        for r in range(-1, rounds):  # interleaved, so that load on the shared machine hits all alike;
            # round 0 warms up (sentence vectors cached, pages touched) and is not counted
            for i, (name, engine) in enumerate(bots.items()):
                settings = Settings(token=tg.TOKEN, api_base_url=server.url, corpus_dir=tmp / "corpus",
                                    data_dir=tmp / "data", index_dir=engine.config.index_dir,
                                    questions_per_minute=0, example_questions=("谁参加了调研？",))
                with tg.polling_in_thread(build_application(settings, engine), server.api):
                    print(f"[{name}, round {r + 1}{' (warm-up)' if r < 0 else ''}] ", end="")
                    times = measure(server.api, questions, 0, burst, tag=100_000 * (r * 10 + i + 20))
                    if r >= 0:
                        results[name] += times
        base = percentile(results["torch, one by one"], 95)
        for name, times in results.items():
            p95 = percentile(times, 95)
            print(f"{name:30s} burst p50 {percentile(times, 50) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
                  f"(p95 {base / p95:.2f}x better than torch one by one)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--burst", type=int, default=50)
    ap.add_argument("--compare", action="store_true", help="torch vs the default backend, batching on/off")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    if args.compare:
        compare(questions, args.burst)
        return
    with tempfile.TemporaryDirectory() as tmp, tg.FakeTelegramServer() as server:
        tmp = Path(tmp)
        engine = seed_engine(tmp)
        settings = Settings(token=tg.TOKEN, api_base_url=server.url, corpus_dir=tmp / "corpus",
                            data_dir=tmp / "data", index_dir=tmp / "index", questions_per_minute=0,
                            # given, so that no example questions are being made in the background
                            # while the first questions are timed
                            example_questions=("谁参加了调研？",))
        with tg.polling_in_thread(build_application(settings, engine), server.api):
            measure(server.api, questions, args.questions, args.burst)


if __name__ == "__main__":
    main()
