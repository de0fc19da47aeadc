"""A fake OpenAI-compatible chat-completions server on 127.0.0.1, over real HTTP: it answers
what a test tells it to (one JSON completion, a stream of server-sent events, slowly, an HTTP
error, garbage) and records every request it gets."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    text: str = ""
    mode: str = "stream"  # stream | json | status | garbage
    status: int = 200
    delay: float = 0.0  # seconds before answering (and between streamed pieces, divided by their number)
    pieces: int = 4


class FakeLLM:
    def __init__(self):
        self.reply = Reply()
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a time-out)
                    self._answer()

            def _answer(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                fake.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                r = fake.reply
                if r.mode != "stream":
                    time.sleep(r.delay)
                if r.mode == "status":
                    self._send(r.status, b'{"error": {"message": "failing as asked"}}', "application/json")
                elif r.mode == "garbage":
                    self._send(200, b"<html>this is not a chat completion</html>", "text/html")
                elif r.mode == "json":
                    done = {"id": "c1", "object": "chat.completion", "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": r.text}, "finish_reason": "stop"}]}
                    self._send(200, json.dumps(done, ensure_ascii=False).encode(), "application/json")
                else:
                    self.send_response(200)
                    self.send_header("Content-Type", "text/event-stream")
                    self.end_headers()
                    size = max(1, len(r.text) // r.pieces + 1)
                    for start in range(0, len(r.text), size):
                        time.sleep(r.delay / r.pieces)
                        chunk = {"choices": [{"index": 0, "delta": {"content": r.text[start:start + size]}}]}
                        self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                        self.wfile.flush()
                    self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, status: int, body: bytes, ctype: str):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()
