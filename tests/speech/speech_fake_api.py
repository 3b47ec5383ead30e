"""A real HTTP server on 127.0.0.1 that answers like an audio-LLM API (OpenAI Chat Completions or
Gemini generateContent), scripted per request: verdicts, malformed bodies, 429s, 5xx, delays."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeAudioLLM:
    """Start with ``with FakeAudioLLM(key="k") as api:``; ``api.url`` is the base URL.

    ``api.script`` is a deque of actions consumed one per request:
    ``("answer", text)``, ``("status", code, body, headers)``, ``("raw", text)`` (200, not JSON),
    ``("json", obj)`` (200, any JSON), ``("sleep", seconds, text)`` (answer after a delay).
    When empty, ``default(request) -> text`` answers (``"VERDICT: A"`` unless set).
    """

    def __init__(self, key: str = "test-key", default: Callable[[dict[str, Any]], str] | None = None):
        self.key = key
        self.script: deque[tuple[Any, ...]] = deque()
        self.default = default or (lambda req: "VERDICT: A")
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(n)
                outer._handle(self, raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> "FakeAudioLLM":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    # -- request handling ----------------------------------------------------------------------
    def _parse(self, path: str, headers: Any, body: dict[str, Any]) -> dict[str, Any]:
        """What the request asked (and whether it is well formed for its API)."""
        req: dict[str, Any] = {"path": path, "t": time.monotonic(), "body": body, "audios": [],
                               "texts": [], "auth_ok": False, "shape_ok": False}
        if path.endswith("/chat/completions"):
            req["api"] = "openai"
            req["auth_ok"] = headers.get("Authorization") == f"Bearer {self.key}"
            try:
                parts = body["messages"][0]["content"]
                for p in parts:
                    if p["type"] == "text":
                        req["texts"].append(p["text"])
                    elif p["type"] == "input_audio":
                        req["audios"].append((base64.b64decode(p["input_audio"]["data"]),
                                              p["input_audio"]["format"]))
                req["shape_ok"] = bool(body.get("model")) and len(req["audios"]) == 2
            except (KeyError, IndexError, TypeError, ValueError):
                pass
        elif ":generateContent" in path:
            req["api"] = "gemini"
            req["model"] = path.rsplit("/", 1)[-1].split(":")[0]
            req["auth_ok"] = headers.get("x-goog-api-key") == self.key
            try:
                for p in body["contents"][0]["parts"]:
                    if "text" in p:
                        req["texts"].append(p["text"])
                    elif "inline_data" in p:
                        req["audios"].append((base64.b64decode(p["inline_data"]["data"]),
                                              p["inline_data"]["mime_type"]))
                req["shape_ok"] = len(req["audios"]) == 2
            except (KeyError, IndexError, TypeError, ValueError):
                pass
        else:
            req["api"] = "unknown"
        return req

    def _reply(self, api: str, text: str) -> dict[str, Any]:
        if api == "gemini":
            return {"candidates": [{"content": {"role": "model", "parts": [{"text": text}]},
                                    "finishReason": "STOP"}]}
        return {"id": "cmpl-1", "object": "chat.completion",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop"}]}

    def _send(self, h: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str] | None = None,
              ctype: str = "application/json") -> None:
        try:
            h.send_response(code)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for k, v in (headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    def _handle(self, h: BaseHTTPRequestHandler, raw: bytes) -> None:
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        req = self._parse(h.path, h.headers, body)
        with self._lock:
            self.requests.append(req)
            action = self.script.popleft() if self.script else None
        if not req["auth_ok"]:
            return self._send(h, 401, b'{"error": {"message": "bad key"}}')
        if not req["shape_ok"]:
            return self._send(h, 400, b'{"error": {"message": "bad request shape"}}')
        if action is None:
            action = ("answer", self.default(req))
        kind = action[0]
        if kind == "answer":
            return self._send(h, 200, json.dumps(self._reply(req["api"], action[1])).encode())
        if kind == "status":
            _, code, text, headers = action
            return self._send(h, code, text.encode(), headers)
        if kind == "raw":
            return self._send(h, 200, action[1].encode(), ctype="text/html")
        if kind == "json":
            return self._send(h, 200, json.dumps(action[1]).encode())
        if kind == "sleep":
            time.sleep(action[1])
            return self._send(h, 200, json.dumps(self._reply(req["api"], action[2])).encode())
        raise ValueError(f"unknown action {action!r}")
