"""Pairwise audio judges: prompt, strict verdict parsing, backends, verdict cache.

A judge hears two renditions of the same utterance (slot A and slot B) and answers which one is
better for the utterance's category, or a tie. :func:`parse_verdict` accepts exactly

* the whole answer being ``A``, ``B`` or ``tie`` (any case; surrounding quotes, ``**``, backticks
  and one final period are ignored), or
* a JSON object ``{"verdict": "A"}``, or
* a last non-empty line ``VERDICT: A`` / ``VERDICT: B`` / ``VERDICT: tie`` (reasoning may come
  before it; a second VERDICT line that disagrees makes the answer unparseable).

Anything else ("A or B", "Both", "Audio 1", "I prefer the first") is :class:`VerdictParseError`:
the runner asks again and records an error when it never gets a parseable answer.

Backends (all expose ``identity`` and ``ask(request) -> str``):

* :class:`HttpJudge`: audio-capable LLM APIs, ``api="openai"`` (Chat Completions with
  ``input_audio`` parts: OpenAI, and OpenAI-compatible servers such as vLLM / LiteLLM /
  OpenRouter) or ``api="gemini"`` (``models/{model}:generateContent`` with ``inline_data``). The
  key comes from an environment variable (never from a file or the command line, never logged).
  Timeouts, retries with exponential backoff (and ``Retry-After``) on 429 / 5xx / timeouts /
  connection errors / malformed bodies, and a client-side rate limit (requests per minute).
* :class:`CommandJudge`: any local program (a local audio LLM, a script): the request goes as
  JSON on stdin and as ``{audio_a}``, ``{audio_b}``, ``{prompt_file}``, ``{utterance_id}``
  placeholders in the command; its stdout is the answer.
* human judges: votes exported by the study app are imported by
  :func:`avatar_eval.speech.evaluate.import_study_votes` (no backend needed).

:class:`VerdictCache` keeps every parsed verdict keyed by judge identity, the exact prompt and the
SHA-256 of both audio files in their slot order, so a rerun (or another output directory sharing
the cache) never pays twice for the same question.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import random
import re
import shlex
import subprocess
import tempfile
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import AvatarEvalError
from .utterances import CATEGORY_LABELS, Utterance

__all__ = [
    "VERDICTS", "VerdictParseError", "JudgeError", "JudgeUnavailable", "JudgeRequest",
    "JudgeBackend", "parse_verdict", "render_prompt", "DEFAULT_TEMPLATE", "CATEGORY_CRITERIA",
    "HttpJudge", "CommandJudge", "RateLimiter", "VerdictCache", "encode_audio", "file_sha256",
    "TEMPLATE_VERSION",
]

VERDICTS = ("A", "B", "tie")
TEMPLATE_VERSION = "jwbdh-pairwise/1"


class VerdictParseError(ValueError):
    """The judge's answer is not one of the accepted verdict forms."""


class JudgeError(AvatarEvalError):
    """A judge backend failed for this comparison (after its own retries)."""


class JudgeUnavailable(JudgeError):
    """The judge cannot run at all (no API key, no command): nothing is attempted."""


# --------------------------------------------------------------------------------------------
# verdict parsing
# --------------------------------------------------------------------------------------------
_WRAP = " \t\r\n\"'`*_"
_VERDICT_LINE = re.compile(r"^\W*verdict\W*[:=]\s*[\"'`*_]*\s*(a|b|tie)\s*[\"'`*_]*\.?\s*$", re.I)


def _bare(s: str) -> str | None:
    v = s.strip(_WRAP)
    if v.endswith("."):
        v = v[:-1].strip(_WRAP)
    v = v.lower()
    return {"a": "A", "b": "B", "tie": "tie"}.get(v)


def parse_verdict(answer: str | None) -> str:
    """``"A"``, ``"B"`` or ``"tie"`` from a judge answer, strictly (see the module doc)."""
    if answer is None or not str(answer).strip():
        raise VerdictParseError("empty answer")
    text = str(answer).strip()
    if text.startswith("```"):
        text = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", text).strip()
    v = _bare(text)
    if v:
        return v
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            obj = None
        if isinstance(obj, dict) and isinstance(obj.get("verdict"), str):
            v = _bare(obj["verdict"])
            if v:
                return v
        raise VerdictParseError(f"JSON answer without a valid 'verdict': {text[:200]!r}")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    m = _VERDICT_LINE.match(lines[-1]) if lines else None
    if m:
        v = _bare(m.group(1))
        others = {_bare(mm.group(1)) for ln in lines[:-1] if (mm := _VERDICT_LINE.match(ln))}
        if others and others != {v}:
            raise VerdictParseError(f"conflicting VERDICT lines: {sorted(others | {v})}")
        return v  # type: ignore[return-value]
    raise VerdictParseError(
        f"answer is not 'A', 'B', 'tie' or a final 'VERDICT: A|B|tie' line: {text[-200:]!r}")


# --------------------------------------------------------------------------------------------
# prompt
# --------------------------------------------------------------------------------------------
CATEGORY_CRITERIA = {
    "emotions": ("Judge how convincingly the speech conveys the emotions the text calls for, "
                 "including changes of emotion within the utterance, while staying natural."),
    "paralinguistics": ("Judge how well the speech renders the paralinguistic cues the text asks "
                        "for (laughter, sighs, hesitations, interjections, whispering, emphasis, "
                        "onomatopoeia) as sounds rather than reading the tags out."),
    "complex_pronunciation": ("Judge the correctness and clarity of the pronunciation of hard "
                              "items: numbers, dates, units, abbreviations, acronyms, URLs, "
                              "formulas, tongue twisters and rare words."),
    "syntactic_complexity": ("Judge whether the prosody (phrasing, pauses, stress, intonation) "
                             "makes the structure of a complex sentence easy to follow."),
    "": "Judge the overall quality, naturalness and faithfulness to the text of the speech.",
}

DEFAULT_TEMPLATE = """You are an expert evaluator of text-to-speech systems.
Two audio clips, A and B, are two systems' renditions of the same input.
Category: {category_label}.
Input given to the systems: {tts_prompt}
Text that should be spoken: {text}

{criteria} Both clips must say the text; missing, added or wrong words count against a clip.
Ignore the order in which the clips are presented and do not prefer a clip for its length.
Answer on the last line with exactly one of:
VERDICT: A
VERDICT: B
VERDICT: tie"""


def render_prompt(utt: Utterance, template: str | None = None) -> str:
    return (template or DEFAULT_TEMPLATE).format(
        category=utt.category, category_label=CATEGORY_LABELS.get(utt.category, "General"),
        criteria=CATEGORY_CRITERIA.get(utt.category, CATEGORY_CRITERIA[""]),
        text=utt.text, tts_prompt=utt.tts_prompt, utterance_id=utt.id)


@dataclass
class JudgeRequest:
    utterance_id: str
    category: str
    instructions: str  # the rendered prompt
    audio_a: Path
    audio_b: Path

    def to_json(self) -> dict[str, Any]:
        return {"utterance_id": self.utterance_id, "category": self.category,
                "prompt": self.instructions, "audio_a": str(self.audio_a),
                "audio_b": str(self.audio_b)}


class JudgeBackend(Protocol):
    identity: str

    def ask(self, request: JudgeRequest) -> str: ...


# --------------------------------------------------------------------------------------------
# audio for an API
# --------------------------------------------------------------------------------------------
def file_sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def encode_audio(path: str | os.PathLike[str]) -> tuple[bytes, str]:
    """(bytes, format) an audio API accepts: WAV and MP3 files as they are; anything else (FLAC,
    the audio track of a video, ...) decoded and written as 16-bit mono WAV at its native rate."""
    p = Path(path)
    suf = p.suffix.lower()
    if suf in (".wav", ".mp3"):
        return p.read_bytes(), suf[1:]
    from ..errors import InputError
    from ..io.video import decode_audio

    try:
        wav, sr = decode_audio(p, None)
    except InputError:
        raise
    except Exception as e:  # noqa: BLE001 - e.g. PyAV's ValueError on a garbage stream
        raise InputError(f"{p.name}: audio does not decode ({type(e).__name__}: {e})") from e
    pcm = (np.clip(wav, -1.0, 1.0) * 32767.0).round().astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(int(sr))
        w.writeframes(pcm.tobytes())
    return buf.getvalue(), "wav"


# --------------------------------------------------------------------------------------------
# rate limit
# --------------------------------------------------------------------------------------------
class RateLimiter:
    """At most ``per_minute`` calls per minute, evenly spaced, shared by threads."""

    def __init__(self, per_minute: float | None, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock, self._sleep = clock, sleep

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = self._clock()
            at = max(now, self._next)
            self._next = at + self.interval
        if at > now:
            self._sleep(at - now)


# --------------------------------------------------------------------------------------------
# HTTP judge
# --------------------------------------------------------------------------------------------
class _Retryable(Exception):
    def __init__(self, msg: str, retry_after: float | None = None):
        super().__init__(msg)
        self.retry_after = retry_after


_DEFAULTS = {
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "gemini": ("https://generativelanguage.googleapis.com/v1beta", "GEMINI_API_KEY"),
}
_RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class HttpJudge:
    """An audio-capable LLM behind an HTTP API (OpenAI-compatible or Gemini request shapes)."""

    def __init__(
        self,
        model: str,
        *,
        api: str = "openai",
        base_url: str | None = None,
        api_key_env: str | None = None,
        timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 2.0,
        max_backoff_s: float = 60.0,
        requests_per_minute: float | None = None,
        temperature: float = 0.0,
        max_output_tokens: int | None = 1024,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if api not in _DEFAULTS:
            raise ValueError(f"api must be one of {sorted(_DEFAULTS)}, got {api!r}")
        self.api, self.model = api, model
        default_url, default_env = _DEFAULTS[api]
        self.base_url = (base_url or default_url).rstrip("/")
        self.api_key_env = api_key_env or default_env
        self.timeout_s, self.max_retries = float(timeout_s), int(max_retries)
        self.backoff_s, self.max_backoff_s = float(backoff_s), float(max_backoff_s)
        self.temperature, self.max_output_tokens = temperature, max_output_tokens
        self.limiter = RateLimiter(requests_per_minute, sleep=sleep)
        self._sleep = sleep
        self._client = None
        self._lock = threading.Lock()
        self.identity = f"http-{api}:{model}"
        self.stats = {"requests": 0, "retries": 0, "http_429": 0, "timeouts": 0, "malformed": 0}

    # -- request shapes --------------------------------------------------------------------------
    def _key(self) -> str:
        key = os.environ.get(self.api_key_env, "").strip()
        if not key:
            raise JudgeUnavailable(
                f"no API key: set the environment variable {self.api_key_env} "
                f"(or choose another with --api-key-env)")
        return key

    def build_request(self, req: JudgeRequest) -> tuple[str, dict[str, str], dict[str, Any]]:
        """(url, headers, JSON body) of the API call for ``req`` (the key is in the headers)."""
        key = self._key()
        a_bytes, a_fmt = encode_audio(req.audio_a)
        b_bytes, b_fmt = encode_audio(req.audio_b)
        a64, b64 = base64.b64encode(a_bytes).decode(), base64.b64encode(b_bytes).decode()
        if self.api == "openai":
            content = [
                {"type": "text", "text": req.instructions},
                {"type": "text", "text": "Audio A:"},
                {"type": "input_audio", "input_audio": {"data": a64, "format": a_fmt}},
                {"type": "text", "text": "Audio B:"},
                {"type": "input_audio", "input_audio": {"data": b64, "format": b_fmt}},
            ]
            body: dict[str, Any] = {"model": self.model, "temperature": self.temperature,
                                    "messages": [{"role": "user", "content": content}]}
            if self.max_output_tokens:
                body["max_tokens"] = self.max_output_tokens
            headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
            return f"{self.base_url}/chat/completions", headers, body
        parts = [
            {"text": req.instructions},
            {"text": "Audio A:"},
            {"inline_data": {"mime_type": f"audio/{a_fmt}", "data": a64}},
            {"text": "Audio B:"},
            {"inline_data": {"mime_type": f"audio/{b_fmt}", "data": b64}},
        ]
        gen: dict[str, Any] = {"temperature": self.temperature}
        if self.max_output_tokens:
            gen["maxOutputTokens"] = self.max_output_tokens
        body = {"contents": [{"role": "user", "parts": parts}], "generationConfig": gen}
        headers = {"x-goog-api-key": key, "Content-Type": "application/json"}
        return f"{self.base_url}/models/{self.model}:generateContent", headers, body

    def parse_response(self, data: Any) -> str:
        """The answer text of an API response body; :class:`_Retryable` when malformed."""
        try:
            if self.api == "openai":
                content = data["choices"][0]["message"]["content"]
                if isinstance(content, list):
                    content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            else:
                if not data.get("candidates") and (data.get("promptFeedback") or {}).get("blockReason"):
                    raise JudgeError(f"the API blocked the request: {data['promptFeedback']['blockReason']}")
                parts = data["candidates"][0]["content"]["parts"]
                content = "".join(p.get("text", "") for p in parts if isinstance(p, dict))
        except JudgeError:
            raise
        except (KeyError, IndexError, TypeError, AttributeError) as e:
            raise _Retryable(f"malformed API response ({type(e).__name__}: {e}): "
                             f"{json.dumps(data)[:200] if data is not None else ''}") from e
        if not isinstance(content, str):
            raise _Retryable(f"malformed API response: content is {type(content).__name__}")
        return content

    # -- transport -------------------------------------------------------------------------------
    def _http(self):
        with self._lock:
            if self._client is None:
                import httpx

                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout_s))
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _once(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> str:
        import httpx

        self.limiter.wait()
        self.stats["requests"] += 1
        try:
            r = self._http().post(url, headers=headers, json=body)
        except httpx.TimeoutException as e:
            self.stats["timeouts"] += 1
            raise _Retryable(f"timeout after {self.timeout_s:g} s ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise _Retryable(f"connection error ({type(e).__name__}: {e})") from e
        if r.status_code in _RETRY_STATUS:
            if r.status_code == 429:
                self.stats["http_429"] += 1
            raise _Retryable(f"HTTP {r.status_code}: {r.text[:200]}", _retry_after(r.headers))
        if r.status_code >= 400:
            raise JudgeError(f"HTTP {r.status_code} from {url.split('?')[0]}: {r.text[:300]}")
        try:
            data = r.json()
        except ValueError as e:
            self.stats["malformed"] += 1
            raise _Retryable(f"response is not JSON: {r.text[:200]!r}") from e
        try:
            return self.parse_response(data)
        except _Retryable:
            self.stats["malformed"] += 1
            raise

    def ask(self, request: JudgeRequest) -> str:
        url, headers, body = self.build_request(request)
        last = ""
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(url, headers, body)
            except _Retryable as e:
                last = str(e)
                if attempt == self.max_retries:
                    break
                self.stats["retries"] += 1
                delay = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
                if e.retry_after is not None:
                    delay = min(self.max_backoff_s, max(delay, e.retry_after))
                self._sleep(delay * (1.0 + 0.1 * random.random()))
        raise JudgeError(f"{self.identity}: gave up after {self.max_retries + 1} attempts; last: {last}")


def _retry_after(headers: Any) -> float | None:
    v = headers.get("retry-after") if headers is not None else None
    try:
        return max(0.0, float(v)) if v is not None else None
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# command judge
# --------------------------------------------------------------------------------------------
class CommandJudge:
    """A local program as judge. ``command`` is a shell-like string or an argv list; placeholders
    ``{audio_a}``, ``{audio_b}``, ``{prompt_file}``, ``{utterance_id}``, ``{category}`` are
    substituted per request; the request JSON (prompt, audio paths, ids) is written to stdin;
    stdout is the answer. A non-zero exit or a timeout is a :class:`JudgeError`."""

    def __init__(self, command: str | list[str], *, timeout_s: float = 600.0):
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise JudgeUnavailable("empty judge command")
        self.timeout_s = float(timeout_s)
        self.identity = "command:" + " ".join(self.argv)

    def ask(self, request: JudgeRequest) -> str:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
            f.write(request.instructions)
            prompt_file = f.name
        subst = {"audio_a": str(request.audio_a), "audio_b": str(request.audio_b),
                 "prompt_file": prompt_file, "utterance_id": request.utterance_id,
                 "category": request.category}
        argv = [_subst(a, subst) for a in self.argv]
        try:
            p = subprocess.run(argv, input=json.dumps(request.to_json()), capture_output=True,
                               text=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired as e:
            raise JudgeError(f"judge command timed out after {self.timeout_s:g} s") from e
        except OSError as e:
            raise JudgeUnavailable(f"cannot run judge command {argv[0]!r}: {e}") from e
        finally:
            os.unlink(prompt_file)
        if p.returncode != 0:
            raise JudgeError(f"judge command exited {p.returncode}: {p.stderr.strip()[-300:]}")
        return p.stdout


def _subst(arg: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        arg = arg.replace("{" + k + "}", v)
    return arg


# --------------------------------------------------------------------------------------------
# verdict cache
# --------------------------------------------------------------------------------------------
class VerdictCache:
    """Append-only JSONL of parsed verdicts; a torn last line (killed run) is ignored."""

    def __init__(self, path: str | os.PathLike[str] | None):
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, Any]] = {}
        if self.path and self.path.exists():
            for line in self.path.read_bytes().split(b"\n"):
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if isinstance(e, dict) and "key" in e and e.get("verdict") in VERDICTS:
                    self._data[e["key"]] = e

    @staticmethod
    def key(identity: str, instructions: str, sha_a: str, sha_b: str) -> str:
        blob = json.dumps([identity, instructions, sha_a, sha_b], ensure_ascii=False)
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()

    def get(self, key: str) -> dict[str, Any] | None:
        return self._data.get(key)

    def put(self, key: str, entry: dict[str, Any]) -> None:
        e = dict(entry, key=key)
        with self._lock:
            self._data[key] = e
            if self.path is None:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            line = (json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
            with open(self.path, "ab") as f:
                if f.tell() > 0:  # a torn last line from a killed run must not swallow this one
                    with open(self.path, "rb") as r:
                        r.seek(-1, os.SEEK_END)
                        if r.read(1) != b"\n":
                            line = b"\n" + line
                f.write(line)
                f.flush()
                os.fsync(f.fileno())

    def __len__(self) -> int:
        return len(self._data)
