"""Request-level protections of the study server (pure ASGI, no extra dependencies).

* :class:`BodyLimitMiddleware`: refuses bodies larger than ``max_body_bytes`` with 413, both when
  ``Content-Length`` says so up front and when a chunked body grows past the limit while read.
* :class:`RateLimiter`: token buckets keyed by client address / participant (bounded memory).
* :class:`SecurityHeadersMiddleware`: CSP (no inline script), no framing, no sniffing,
  no referrer (invite tokens never leak through ``Referer``), no caching of API answers.
* CSRF: participant POSTs need ``X-CSRF-Token`` (an HMAC of the participant id, only readable
  by same-origin JavaScript), ``Content-Type: application/json`` and, when the browser sends
  them, a same-origin ``Origin`` / ``Sec-Fetch-Site``. The session cookie is ``HttpOnly`` and
  ``SameSite=Lax``. Admin requests authenticate with an ``Authorization: Bearer`` header,
  which a cross-site page cannot attach.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

ASGIApp = Callable[[dict, Callable[[], Awaitable[dict]], Callable[[dict], Awaitable[None]]],
                   Awaitable[None]]


class _TooLarge(Exception):
    pass


def _json_response_msgs(status: int, detail: str) -> tuple[dict, dict]:
    body = json.dumps({"detail": detail}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body, "more_body": False}


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int):
        self.app = app
        self.max = int(max_body_bytes)

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    n = int(v)
                except ValueError:
                    n = -1
                if n < 0 or n > self.max:
                    start, body = _json_response_msgs(
                        413 if n > self.max else 400,
                        "request body too large" if n > self.max else "bad content-length")
                    await send(start)
                    await send(body)
                    return
        state = {"received": 0, "too_large": False, "started": False, "sent_413": False}

        async def limited_receive() -> dict:
            msg = await receive()
            if msg["type"] == "http.request":
                state["received"] += len(msg.get("body", b""))
                if state["received"] > self.max:
                    state["too_large"] = True
                    raise _TooLarge()
            return msg

        async def guarded_send(msg: dict) -> None:
            if state["too_large"]:
                # whatever the app made of the aborted read, the answer is 413
                if not state["started"] and not state["sent_413"]:
                    state["sent_413"] = True
                    start, body = _json_response_msgs(413, "request body too large")
                    await send(start)
                    await send(body)
                return
            if msg["type"] == "http.response.start":
                state["started"] = True
            await send(msg)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _TooLarge:
            pass
        except Exception:
            if not state["too_large"]:
                raise
        if state["too_large"] and not state["started"] and not state["sent_413"]:
            state["sent_413"] = True
            start, body = _json_response_msgs(413, "request body too large")
            await send(start)
            await send(body)


CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(msg: dict) -> None:
            if msg["type"] == "http.response.start":
                headers = [(k, v) for k, v in msg.get("headers", [])
                           if k.lower() not in (b"server",)]
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                ]
                if (path.startswith("/api/") or path.startswith("/admin")) and \
                        b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                headers += [(k, v) for k, v in extra if k not in names]
                msg = dict(msg, headers=headers)
            await send(msg)

        await self.app(scope, receive, send_with_headers)


class RateLimiter:
    """Token buckets: ``allow(key)`` spends one token; at most ``max_keys`` keys kept (LRU)."""

    def __init__(self, rate: float, burst: float, max_keys: int = 50_000):
        self.rate = float(rate)
        self.burst = float(burst)
        self.max_keys = max_keys
        self._b: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, key: str, cost: float = 1.0) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._b.pop(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            ok = tokens >= cost
            if ok:
                tokens -= cost
            self._b[key] = (tokens, now)
            while len(self._b) > self.max_keys:
                self._b.popitem(last=False)
            return ok

    def blocked(self, key: str, cost: float = 1.0) -> bool:
        """True when ``key`` has fewer than ``cost`` tokens (spends nothing)."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._b.get(key, (self.burst, now))
            return min(self.burst, tokens + (now - last) * self.rate) < cost


def client_ip(scope_or_request: Any, trust_proxy: bool) -> str:
    scope = getattr(scope_or_request, "scope", scope_or_request)
    if trust_proxy:
        for k, v in scope.get("headers", []):
            if k == b"x-forwarded-for":
                return v.decode("latin-1").split(",")[0].strip()[:64]
    client = scope.get("client")
    return client[0] if client else "unknown"


class RateLimitMiddleware:
    """Per-address ceiling on all requests (429 with ``Retry-After``)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, trust_proxy: bool = False):
        self.app = app
        self.limiter = limiter
        self.trust_proxy = trust_proxy

    async def __call__(self, scope: dict, receive, send) -> None:
        if scope["type"] == "http" and not self.limiter.allow(
                "ip:" + client_ip(scope, self.trust_proxy)):
            start, body = _json_response_msgs(429, "too many requests")
            start["headers"].append((b"retry-after", b"1"))
            await send(start)
            await send(body)
            return
        await self.app(scope, receive, send)


def csrf_token(signing_key: str, participant_public_id: str) -> str:
    return hmac.new(signing_key.encode(), f"csrf:{participant_public_id}".encode(),
                    hashlib.sha256).hexdigest()


def same_origin(headers: Any) -> bool:
    """False when the browser says the request comes from another site."""
    site = headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return False
    return True


def secret_ok(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())
