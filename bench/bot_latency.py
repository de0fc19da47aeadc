"""Bot latency through the fake Telegram Bot API server: time from an update being handed to
the bot (getUpdates) to its answer's sendMessage reaching the server, for N questions asked
one after another, then for a burst of questions sent at once.

    .venv/bin/python bench/bot_latency.py [--questions 200] [--burst 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, machine, summary_ms

from bot.settings import Settings
from bot.telegram_app import build_application
from embeddings.encoder import DEFAULT_MODEL, load_encoder
from embeddings.engine import Engine, EngineConfig
from tests import fake_telegram as tg

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"


def latency(api: tg.FakeBotApi, update: dict) -> float:
    mid = update["message"]["message_id"]
    replies = [t for m, p, t in api.calls
               if m == "sendMessage" and (p.get("reply_parameters") or {}).get("message_id") == mid]
    return replies[0] - api.delivered[update["update_id"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--burst", type=int, default=50)
    args = ap.parse_args()
    print(f"machine: {machine()}")
    dev = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp, tg.FakeTelegramServer() as server:
        tmp = Path(tmp)
        (tmp / "corpus").mkdir()
        for f in (ROOT / "corpus" / "documents").iterdir():
            shutil.copy(f, tmp / "corpus" / f.name)
        engine = Engine(EngineConfig(tmp / "corpus", tmp / "index", tmp / "data"),
                        load_encoder(DEFAULT_MODEL, ROOT / "data").load())
        engine.rebuild()
        settings = Settings(token=tg.TOKEN, api_base_url=server.url, corpus_dir=tmp / "corpus",
                            data_dir=tmp / "data", index_dir=tmp / "index", questions_per_minute=0)
        app = build_application(settings, engine)
        loop = asyncio.new_event_loop()

        def run():
            asyncio.set_event_loop(loop)
            app.run_polling(poll_interval=0, timeout=1, stop_signals=None, close_loop=False)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        api = server.api
        api.wait_for(lambda a: a.sent("deleteWebhook"), 120)

        def replied(update):
            mid = update["message"]["message_id"]
            return any((p.get("reply_parameters") or {}).get("message_id") == mid
                       for m, p, _ in api.calls if m == "sendMessage")

        sequential = []
        for i in range(args.questions):
            update = api.push(tg.message(dev[i % len(dev)], 1000 + i))
            api.wait_for(lambda a, u=update: replied(u), 60)
            sequential.append(latency(api, update))
        print(f"sequential, {args.questions} questions: {summary_ms(sequential)}")

        start = time.monotonic()
        burst = [api.push(tg.message(dev[i % len(dev)], 5000 + i)) for i in range(args.burst)]
        api.wait_for(lambda a: all(replied(u) for u in burst), 300)
        wall = time.monotonic() - start
        print(f"burst of {args.burst} at once: {summary_ms([latency(api, u) for u in burst])}; "
              f"all answered in {wall:.1f}s ({args.burst / wall:.1f} questions/s)")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


if __name__ == "__main__":
    main()
