"""Bot latency through the fake Telegram Bot API server: time from an update being handed to
the bot (getUpdates) to its answer's sendMessage reaching the server, for N questions asked
one after another, then for a burst of questions sent at once.

    .venv/bin/python bench/bot_latency.py [--questions 200] [--burst 50]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, machine, summary_ms

from bot.settings import Settings
from bot.telegram_app import build_application
from embeddings.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from tests import fake_telegram as tg

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def reply_time(api: tg.FakeBotApi, update: dict) -> float | None:
    mid = update["message"]["message_id"]
    return next((t for m, p, t in api.calls
                 if m == "sendMessage" and (p.get("reply_parameters") or {}).get("message_id") == mid), None)


def latency(api: tg.FakeBotApi, update: dict) -> float:
    return reply_time(api, update) - api.delivered[update["update_id"]]


def measure(api: tg.FakeBotApi, questions: list[str], n: int, burst: int) -> None:
    sequential = []
    for i in range(n):
        update = api.push(tg.message(questions[i % len(questions)], 1000 + i))
        api.wait_for(lambda a, u=update: reply_time(a, u), 60)
        sequential.append(latency(api, update))
    print(f"sequential, {n} questions: {summary_ms(sequential)}")

    start = time.monotonic()
    updates = [api.push(tg.message(questions[i % len(questions)], 5000 + i)) for i in range(burst)]
    api.wait_for(lambda a: all(reply_time(a, u) for u in updates), 300)
    wall = time.monotonic() - start
    print(f"burst of {burst} at once: {summary_ms([latency(api, u) for u in updates])}; "
          f"all answered in {wall:.1f}s ({burst / wall:.1f} questions/s)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--burst", type=int, default=50)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp, tg.FakeTelegramServer() as server:
        tmp = Path(tmp)
        shutil.copytree(ROOT / "corpus" / "documents", tmp / "corpus")
        engine = Engine(EngineConfig(tmp / "corpus", tmp / "index", tmp / "data"),
                        load_encoder(DEFAULT_MODEL, ROOT / "data").load())
        engine.rebuild()
        settings = Settings(token=tg.TOKEN, api_base_url=server.url, corpus_dir=tmp / "corpus",
                            data_dir=tmp / "data", index_dir=tmp / "index", questions_per_minute=0,
                            # given, so that no example questions are being made in the background
                            # while the first questions are timed
                            example_questions=("谁参加了调研？",))
        with tg.polling_in_thread(build_application(settings, engine), server.api):
            measure(server.api, questions, args.questions, args.burst)


if __name__ == "__main__":
    main()
