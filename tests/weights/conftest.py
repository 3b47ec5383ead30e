"""Fixtures for the weights tests: a clean environment, tiny registered weights, and a real HTTP
server on 127.0.0.1 (no other network: any other host is refused)."""

from __future__ import annotations

import http.server
import os
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from _weights_helpers import Register, Server

from avatar_eval.weights import WeightSpec
from avatar_eval.weights import spec as spec_mod

ENV_VARS = (
    "AVATAR_EVAL_WEIGHTS_DIR",
    "AVATAR_EVAL_CACHE",
    "AVATAR_EVAL_OFFLINE",
    "AVATAR_EVAL_PACKAGE_WEIGHTS",  # tests/jwbdh turns carrier payloads off for the whole session
    "HF_HUB_OFFLINE",
    "HF_ENDPOINT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No weight env vars from the caller; the cache lives in tmp_path/cache."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    for var in list(os.environ):
        if var.startswith("AVATAR_EVAL_W_"):
            monkeypatch.delenv(var)
    cache = tmp_path / "cache"
    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(cache))
    return cache


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse any URL that is not on 127.0.0.1, so no test can reach the internet."""
    real = urllib.request.urlopen

    def guarded(req: object, *a: object, **kw: object) -> object:
        url = req.full_url if isinstance(req, urllib.request.Request) else str(req)
        host = urllib.parse.urlsplit(url).hostname
        if host != "127.0.0.1":
            raise AssertionError(f"test tried to reach {url}")
        return real(req, *a, **kw)  # type: ignore[call-overload]

    monkeypatch.setattr(urllib.request, "urlopen", guarded)


@pytest.fixture
def register(monkeypatch: pytest.MonkeyPatch) -> Register:
    """register(spec): add a spec for this test only."""

    def _register(spec: WeightSpec) -> WeightSpec:
        monkeypatch.setitem(spec_mod._REGISTRY, spec.name, spec)
        return spec

    return _register


@pytest.fixture
def http_server() -> Iterator[Server]:
    """A real HTTP server on 127.0.0.1 serving ``routes`` (path -> (status, body))."""
    server = Server(base="")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            server.requests.append(self.path)
            status, body = server.routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            length = server.declared_length.get(self.path, len(body))
            self.send_header("Content-Length", str(length))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
