"""Two real replicas: two ``qabot serve --webhook-url …`` processes, each with a data directory of
its own, sharing nothing but a Milvus server (the session's, stopped on purpose and started
again on its port), behind the fake Bot API. Updates are posted to each replica's webhook as Telegram
would post them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


from tests import fake_telegram as tg
from tests.conftest import MODEL_DATA_DIR, ROOT, SEED_FILE

ADMIN, USER = 7, 42
SECRET = "replica-secret"
NEW_DOC = "社区食堂每天中午为辖区老人提供午餐，由志愿者配送到家。"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    """One ``qabot serve`` process with its webhook on a free loopback port."""

    def __init__(self, name: str, root: Path, corpus: Path, milvus: str, api_url: str):
        self.name, self.port = name, _free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        data = root / name
        (data / "models").mkdir(parents=True)
        for model in (MODEL_DATA_DIR / "models").iterdir():  # the exported encoder, not converted again
            (data / "models" / model.name).symlink_to(model)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "QABOT_"))}
        env.update(TELEGRAM_BOT_TOKEN=tg.TOKEN, TELEGRAM_API_BASE_URL=api_url, TELEGRAM_WEBHOOK_SECRET=SECRET,
                   TELEGRAM_ADMIN_IDS=str(ADMIN), QABOT_DATA_DIR=str(data), QABOT_CORPUS_DIR=str(corpus),
                   QABOT_VECTOR_STORE=milvus, QABOT_OUTGOING_RATE_LIMIT="0", PYTHONUNBUFFERED="1")
        self.log = open(root / f"{name}.log", "w+")  # noqa: SIM115 - read back when the test ends
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve", "--webhook-url", self.url, "--listen", "127.0.0.1",
             "--port", str(self.port)], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def post(self, update: dict) -> int:
        req = urllib.request.Request(self.url, json.dumps({"update_id": int(time.time() * 1000) % 2**31, **update})
                                     .encode(), {"Content-Type": "application/json",
                                                 "X-Telegram-Bot-Api-Secret-Token": SECRET})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code
        except (urllib.error.URLError, ConnectionError):
            return 0  # not listening (yet)

    def wait_listening(self, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while self.post(tg.message("/help", USER + 1000)) != 200:
            assert self.proc.poll() is None, self.output()
            assert time.monotonic() < deadline, self.output()
            time.sleep(0.5)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def _replies(api: tg.FakeBotApi, update: dict) -> list[dict]:
    mid = update["message"]["message_id"]
    return [m for m in api.sent() if (m.get("reply_parameters") or {}).get("message_id") == mid]


def _ask(api: tg.FakeBotApi, replica: Replica, text: str, timeout: float = 60) -> dict:
    update = tg.message(text, USER)
    assert replica.post(update) == 200
    return api.wait_for(lambda a: next(iter(_replies(a, update)), None), timeout)


def test_two_replicas_share_nothing_but_the_milvus_server(milvus_process, tmp_path):
    milvus = f"http://127.0.0.1:{milvus_process.listen_port}"
    corpus_a, corpus_b = tmp_path / "corpus-a", tmp_path / "corpus-b"
    for corpus in (corpus_a, corpus_b):
        corpus.mkdir()
        shutil.copy(SEED_FILE, corpus)
    replicas = []
    with tg.FakeTelegramServer() as server:
        api = server.api
        try:
            a = Replica("a", tmp_path, corpus_a, milvus, server.url)
            replicas.append(a)
            a.wait_listening()  # a built the first generation
            b = Replica("b", tmp_path, corpus_b, milvus, server.url)
            replicas.append(b)
            b.wait_listening()  # b fetched it from Milvus: it never builds
            assert "Fetched index generation" in b.output() and "Building the index" not in b.output()

            # questions answered by either
            for replica in (a, b):
                assert "陶久娣" in _ask(api, replica, "东湖新城社区的党委书记是谁？")["text"]

            # /reindex on a; b serves the new generation within seconds
            (corpus_a / "canteen.txt").write_text(NEW_DOC, "utf-8")
            reindex = tg.message("/reindex", ADMIN)
            assert a.post(reindex) == 200
            api.wait_for(lambda x: any("Index rebuilt" in e["text"] for e in x.sent("editMessageText")), 120)
            rebuilt = time.monotonic()
            api.wait_for(lambda x: "社区食堂" in _ask(x, b, "谁为辖区老人配送午餐？", 30)["text"] or None, 30)
            assert time.monotonic() - rebuilt < 15

            # "More results" of an answer from a, pressed on b
            asked = tg.message("应勇在青和居社区走访了哪些地方？", USER)
            assert a.post(asked) == 200
            [first] = api.wait_for(lambda x: _replies(x, asked) or None)
            data = first["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
            pages = len(api.sent())
            assert b.post(tg.callback(data, USER, api.message_id(first), reply_to=asked["message"])) == 200
            page = api.wait_for(lambda x: x.sent()[pages:] or None)[0]
            assert page["text"].startswith("<b>依据 3–5</b>")

            # a killed (kill -9) in the middle of a rebuild: the old generation keeps serving
            from pymilvus import MilvusClient
            client = MilvusClient(uri=milvus)
            serving = client.describe_alias("qabot")["collection_name"]
            for i in range(40):  # enough passages that the rebuild takes a while
                (corpus_a / f"extra-{i}.txt").write_text(f"第{i}号补充材料：社区第{i}项便民服务的安排和报名方式。" * 6, "utf-8")
            assert a.post(tg.message("/reindex", ADMIN)) == 200
            deadline = time.monotonic() + 60
            while "qabot_rebuilding" not in client.list_aliases().get("aliases", []):
                assert time.monotonic() < deadline, a.output()
                time.sleep(0.1)
            a.proc.send_signal(signal.SIGKILL)
            a.proc.wait(10)
            assert "陶久娣" in _ask(api, b, "东湖新城社区的党委书记是谁？")["text"]
            assert client.describe_alias("qabot")["collection_name"] == serving

            # the Milvus server stopped for ~10 s during a burst: clear replies, then answers again
            port = milvus_process.listen_port
            milvus_process.stop()
            stopped = time.monotonic()
            burst = [tg.message(f"东湖新城社区的党委书记是谁？{i}", USER + i) for i in range(5)]
            for update in burst:
                assert b.post(update) == 200
            api.wait_for(lambda x: all(_replies(x, u) for u in burst), 60)
            assert all("try again shortly" in _replies(api, u)[0]["text"] for u in burst), \
                [_replies(api, u)[0]["text"] for u in burst]
            time.sleep(max(0.0, 10 - (time.monotonic() - stopped)))
            milvus_process.listen_port = port
            milvus_process.start()  # ~10 s; then it reloads the collection by itself
            assert b.proc.poll() is None  # no crash
            deadline = time.monotonic() + 120
            while "陶久娣" not in (text := _ask(api, b, "东湖新城社区的党委书记是谁？")["text"]):
                assert "try again shortly" in text and time.monotonic() < deadline, b.output()[-3000:]
                time.sleep(2)
        finally:
            for replica in replicas:
                replica.stop()
