"""Load and fault soak through the fake Telegram Bot API server (over HTTP, HTML checked as
Telegram checks it): many questions from many users at once, an admin /reindex in the middle,
and the Bot API failing sendMessage at random (429 with retry_after, 500, a dropped
connection). Every question must be answered exactly once, in its own chat, without an
apology instead of an answer.

    .venv/bin/python bench/soak.py [--questions 1000] [--users 50] [--no-faults] [--compare-typing]
                                   [--compare-feedback]

--compare-typing runs the same burst twice in one process: with the typing action sent for
every answer (as before) and only for slow answers (now), and prints answers/s of both.
--compare-feedback runs it with feedback off, then on with every third answer rated 👍/👎 by its
asker while the burst is answered (the presses are updates too), and prints both.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import tempfile
import threading
import time
from pathlib import Path

from common import ROOT, machine, peak_rss_mib, percentile, seed_engine

import bot.telegram.questions as telegram_questions
from bot.settings import Settings
from bot.telegram.app import build_application
from embeddings.engine import Engine
from tests import fake_telegram as tg

QUESTIONS = ROOT / "tests" / "data" / "dev.jsonl"
ADMIN = 7
TYPING_DELAY = telegram_questions.TYPING_DELAY  # the bot's own setting, before a comparison changes it
APOLOGY = ("Sorry, something went wrong", "抱歉，回答时出了点问题", "抱歉，回答時出了點問題")


def _rate_answers(api, stop: threading.Event) -> list[int]:
    """Press 👍 or 👎 under every third answer, as its asker, while the burst runs."""
    pressed: list[int] = []
    seen = 0
    while not stop.is_set():
        calls = list(api.calls)
        for method, params, _ in calls[seen:]:
            markup = params.get("reply_markup") or {}
            if method != "sendMessage" or "fb:up" not in json.dumps(markup):
                continue
            pressed.append(params["chat_id"])
            if len(pressed) % 3 == 1:
                data = "fb:up" if len(pressed) % 2 else "fb:down"
                api.push(tg.callback(data, params["chat_id"], api.message_id(params), uid=params["chat_id"]))
        seen = len(calls)
        stop.wait(0.05)
    return pressed


def soak(engine: Engine, questions: list[str], n: int, users: int, faults: bool, typing_delay: float,
         feedback: bool = False, rate: bool = False) -> dict:
    telegram_questions.TYPING_DELAY = typing_delay
    with tg.FakeTelegramServer() as server:
        api = server.api
        api.late_seconds = 0.0
        if faults:
            api.rng = random.Random(7)
            api.fault_rate["sendMessage"] = [(0.05, 429), (0.02, 500), (0.01, "drop")]
        settings = Settings(token=tg.TOKEN, api_base_url=server.url, admin_ids=frozenset({ADMIN}),
                            corpus_dir=engine.config.corpus_dir, data_dir=engine.config.data_dir,
                            index_dir=engine.config.index_dir, questions_per_minute=0,
                            example_questions=("谁参加了调研？",), feedback=feedback)
        stop = threading.Event()
        rater = threading.Thread(target=_rate_answers, args=(api, stop), daemon=True) if rate else None
        with tg.polling_in_thread(build_application(settings, engine), api):
            if rater:
                rater.start()
            start = time.monotonic()
            updates, reindex = [], None
            for i in range(n):
                if i == n // 2:
                    reindex = api.push(tg.message("/reindex", ADMIN))
                updates.append(api.push(tg.message(questions[i % len(questions)], 10_000 + i % users)))
            ids = {u["message"]["message_id"]: u for u in updates}

            def replies(a):
                out: dict[int, list] = {}
                for method, params, t in list(a.calls):
                    if method == "sendMessage":
                        mid = (params.get("reply_parameters") or {}).get("message_id")
                        if mid in ids:
                            out.setdefault(mid, []).append((params, t))
                return out

            with contextlib.suppress(AssertionError):  # a time-out: what is missing is counted as lost
                api.wait_for(lambda a: len(replies(a)) == n, 900)
            time.sleep(2)  # late duplicates would land now
            stop.set()
            got = replies(api)
            wall = max(t for rs in got.values() for _, t in rs) - start if got else float("nan")
            rebuilt = any("Index rebuilt" in e.get("text", "") for e in api.sent("editMessageText"))
    lat = [rs[0][1] - api.delivered[ids[mid]["update_id"]] for mid, rs in got.items()]
    return {
        "questions": n, "answered": len(got), "lost": n - len(got),
        "duplicates": sum(len(rs) > 1 for rs in got.values()),
        "apologies": sum(any(a in p["text"] for a in APOLOGY) for rs in got.values() for p, _ in rs),
        "wrong_chat": sum(p["chat_id"] != ids[mid]["message"]["chat"]["id"] for mid, rs in got.items() for p, _ in rs),
        "rejected_html": len(api.rejected), "faults_injected": len(api.failed), "reindexed": rebuilt,
        "reindex_seen": reindex is not None,
        "p50_ms": percentile(lat, 50) * 1000, "p95_ms": percentile(lat, 95) * 1000, "max_ms": max(lat) * 1000,
        "answers_per_s": len(got) / wall, "wall_s": wall,
        "ratings": sum(1 for m, p, _ in api.calls if m == "answerCallbackQuery"),
    }


def show(label: str, r: dict) -> None:
    print(f"{label}: {r['answered']}/{r['questions']} answered; lost {r['lost']}, duplicate {r['duplicates']}, "
          f"apology {r['apologies']}, wrong chat {r['wrong_chat']}, HTML refused {r['rejected_html']}; "
          f"{r['faults_injected']} faults injected; reindex done: {r['reindexed']}")
    print(f"    latency p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, max {r['max_ms']:.0f} ms; "
          f"{r['answers_per_s']:.1f} answers/s over {r['wall_s']:.1f} s; {r['ratings']} button presses answered")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=1000)
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--no-faults", action="store_true")
    ap.add_argument("--compare-typing", action="store_true")
    ap.add_argument("--compare-feedback", action="store_true")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text("utf-8").splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        engine = seed_engine(tmp)
        faults = not args.no_faults
        if args.compare_feedback:
            off = soak(engine, questions, args.questions, args.users, faults, TYPING_DELAY, feedback=False)
            show("feedback off", off)
            on = soak(engine, questions, args.questions, args.users, faults, TYPING_DELAY, feedback=True, rate=True)
            show("feedback on, every third answer rated", on)
            print(f"p95 ratio on/off: {on['p95_ms'] / off['p95_ms']:.2f}x; "
                  f"answers/s ratio on/off: {on['answers_per_s'] / off['answers_per_s']:.2f}x")
            print(f"peak RSS: {peak_rss_mib():.0f} MiB")
            return
        if args.compare_typing:
            before = soak(engine, questions, args.questions, args.users, faults, typing_delay=0.0)
            show("typing action on every answer (before)", before)
        after = soak(engine, questions, args.questions, args.users, faults, typing_delay=TYPING_DELAY)
        show("typing action only for slow answers (now)", after)
        if args.compare_typing:
            print(f"answers/s ratio now/before: {after['answers_per_s'] / before['answers_per_s']:.2f}x")
    print(f"peak RSS: {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
