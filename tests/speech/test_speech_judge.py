"""Verdict parsing, order randomisation, and the HTTP judge client against a real local server."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest
from speech_fake_api import FakeAudioLLM

from avatar_eval.results.store import RecordStore
from avatar_eval.speech.evaluate import JUDGE_METRIC, candidate_in_slot_a, run_judging
from avatar_eval.speech.judge import (
    HttpJudge,
    JudgeError,
    JudgeRequest,
    JudgeUnavailable,
    RateLimiter,
    VerdictCache,
    VerdictParseError,
    encode_audio,
    parse_verdict,
    render_prompt,
)
from avatar_eval.speech.utterances import Utterance


# ---------------------------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("answer, verdict", [
    ("A", "A"), ("b", "B"), ("tie", "tie"), ("TIE", "tie"), (" A. ", "A"), ("**B**", "B"),
    ("'A'", "A"), ("`tie`", "tie"),
    ("Clip A is more expressive.\nVERDICT: A", "A"),
    ("reasoning...\n\nVerdict: **B**", "B"),
    ("VERDICT: tie\n", "tie"),
    ('{"verdict": "B"}', "B"),
    ("```\nVERDICT: A\n```", "A"),
    ("First thoughts. VERDICT: B is wrong, wait.\nVERDICT: B", "B"),
])
def test_parse_accepts(answer, verdict):
    assert parse_verdict(answer) == verdict


@pytest.mark.parametrize("answer", [
    "", "   ", None, "A or B", "Both", "Audio 1", "I prefer the first clip", "AB", "a tie I guess",
    "VERDICT: A\nsome trailing words", "VERDICT: C", '{"verdict": "maybe"}', '{"winner": "A"}',
    "VERDICT: A\nVERDICT: B", "The answer is A",
])
def test_parse_rejects(answer):
    with pytest.raises(VerdictParseError):
        parse_verdict(answer)


def test_order_is_seeded_recorded_and_balanced():
    ids = [f"u{i}" for i in range(400)]
    a = [candidate_in_slot_a(0, "cand", "base", u) for u in ids]
    assert a == [candidate_in_slot_a(0, "cand", "base", u) for u in ids]  # reproducible
    assert 160 < sum(a) < 240  # about half (binomial 400, 0.5: ±2.5 sd)
    b = [candidate_in_slot_a(1, "cand", "base", u) for u in ids]
    assert a != b  # the seed changes the order


def test_prompt_mentions_category_text_and_answer_format():
    u = Utterance("x", "I can't believe it!", "emotions", prompt="[angrily] I can't believe it!")
    p = render_prompt(u)
    assert "Emotions" in p and "[angrily] I can't believe it!" in p and "I can't believe it!" in p
    assert "VERDICT: A" in p and "VERDICT: tie" in p
    assert render_prompt(u, "T={text}|{category}") == "T=I can't believe it!|emotions"


def test_rate_limiter_spacing():
    t = [0.0]
    slept: list[float] = []
    rl = RateLimiter(120, clock=lambda: t[0], sleep=slept.append)  # one per 0.5 s
    for _ in range(4):
        rl.wait()
    assert slept == pytest.approx([0.5, 1.0, 1.5])
    RateLimiter(None).wait()  # no limit: returns at once


# ---------------------------------------------------------------------------------------------
# audio fixtures
# ---------------------------------------------------------------------------------------------
def _tone(path: Path, amp: float, seconds: float = 0.5, sr: int = 16000, freq: float = 220.0) -> Path:
    t = np.arange(int(sr * seconds)) / sr
    x = (amp * np.sin(2 * np.pi * freq * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(x.tobytes())
    return path


@pytest.fixture()
def two_systems(tmp_path):
    """Three utterances; system 'loud' and baseline 'quiet' (same tone, 10x quieter)."""
    utts = [Utterance(f"u{i}", f"sentence number {i}", cat) for i, cat in
            enumerate(["emotions", "paralinguistics", "complex_pronunciation"])]
    for name, amp in (("loud", 0.5), ("quiet", 0.05)):
        d = tmp_path / name
        d.mkdir()
        for u in utts:
            _tone(d / f"{u.id}.wav", amp)
    return utts, {"loud": tmp_path / "loud", "quiet": tmp_path / "quiet"}


def _req(tmp_path) -> JudgeRequest:
    a = _tone(tmp_path / "a.wav", 0.3)
    b = _tone(tmp_path / "b.wav", 0.1)
    return JudgeRequest("u0", "emotions", "Which is better?", a, b)


# ---------------------------------------------------------------------------------------------
# HTTP client against a real local server
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("api", ["openai", "gemini"])
def test_http_request_shapes_and_answer(api, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_JUDGE_KEY", "sekrit")
    req = _req(tmp_path)
    with FakeAudioLLM(key="sekrit") as srv:
        srv.script.append(("answer", "Thinking...\nVERDICT: B"))
        j = HttpJudge("audio-model-1", api=api, base_url=srv.url, api_key_env="TEST_JUDGE_KEY",
                      timeout_s=5, max_retries=0)
        assert parse_verdict(j.ask(req)) == "B"
        r = srv.requests[0]
    assert r["api"] == api and r["auth_ok"] and r["shape_ok"]
    # the two clips arrive in slot order, byte for byte, after the prompt
    assert r["audios"][0][0] == Path(req.audio_a).read_bytes()
    assert r["audios"][1][0] == Path(req.audio_b).read_bytes()
    assert r["texts"][0] == "Which is better?"
    if api == "gemini":
        assert r["model"] == "audio-model-1" and r["audios"][0][1] == "audio/wav"
        assert r["body"]["generationConfig"]["temperature"] == 0.0
    else:
        assert r["body"]["model"] == "audio-model-1" and r["audios"][0][1] == "wav"


def test_non_wav_audio_is_sent_as_wav(data_dir):
    data, fmt = encode_audio(data_dir / "grid" / "lbax4n.mpg")  # a video's audio track
    assert fmt == "wav" and data[:4] == b"RIFF"
    import io

    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and 2.5 < w.getnframes() / w.getframerate() < 3.5


def test_http_retries_429_5xx_malformed_then_succeeds(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "k")
    with FakeAudioLLM(key="k") as srv:
        srv.script.extend([
            ("status", 429, '{"error": "rate limited"}', {"Retry-After": "0"}),
            ("status", 503, "overloaded", {}),
            ("raw", "<html>gateway hiccup</html>"),
            ("json", {"choices": []}),
            ("answer", "VERDICT: tie"),
        ])
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5, max_retries=4,
                      backoff_s=0.01, max_backoff_s=0.05)
        assert parse_verdict(j.ask(_req(tmp_path))) == "tie"
        assert len(srv.requests) == 5
    assert j.stats["http_429"] == 1 and j.stats["malformed"] == 2 and j.stats["retries"] == 4


def test_http_gives_up_after_max_retries(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "k")
    with FakeAudioLLM(key="k") as srv:
        srv.script.extend([("status", 429, "slow down", {})] * 10)
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5, max_retries=2,
                      backoff_s=0.01, max_backoff_s=0.02)
        with pytest.raises(JudgeError, match="gave up after 3 attempts; last: HTTP 429"):
            j.ask(_req(tmp_path))
        assert len(srv.requests) == 3


def test_http_timeout_is_retried(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "k")
    with FakeAudioLLM(key="k") as srv:
        srv.script.extend([("sleep", 1.5, "VERDICT: A"), ("answer", "VERDICT: B")])
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=0.4, max_retries=1,
                      backoff_s=0.01)
        t0 = time.monotonic()
        assert parse_verdict(j.ask(_req(tmp_path))) == "B"
        assert time.monotonic() - t0 < 1.4  # did not wait for the slow answer
    assert j.stats["timeouts"] == 1


def test_http_client_errors_are_not_retried(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "wrong")
    with FakeAudioLLM(key="right") as srv:
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5, max_retries=3, backoff_s=0.01)
        with pytest.raises(JudgeError, match="HTTP 401"):
            j.ask(_req(tmp_path))
        assert len(srv.requests) == 1


def test_missing_key_is_judge_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    j = HttpJudge("m", base_url="http://127.0.0.1:9/v1", api_key_env="NO_SUCH_KEY_VAR")
    with pytest.raises(JudgeUnavailable, match="NO_SUCH_KEY_VAR"):
        j.ask(_req(tmp_path))


def test_rate_limit_spaces_real_requests(tmp_path, monkeypatch):
    monkeypatch.setenv("K", "k")
    with FakeAudioLLM(key="k") as srv:
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5, requests_per_minute=600)
        req = _req(tmp_path)
        t0 = time.monotonic()
        for _ in range(6):
            j.ask(req)
        t = [r["t"] for r in srv.requests]
    # 600/min = one per 0.1 s: 6 calls take >= 0.5 s. (The first arrival is late by the TCP
    # connect, so the spacing is checked from the second on.)
    assert time.monotonic() - t0 >= 0.5
    assert t[-1] - t[1] >= 4 * 0.1 - 0.03


# ---------------------------------------------------------------------------------------------
# the judging run: order, parse retries, errors, cache, resume
# ---------------------------------------------------------------------------------------------
def _slot_answer(prefer: str):
    """A server-side judge that really listens: prefers the louder (or quieter) clip."""
    import io

    def rms(b: bytes) -> float:
        with wave.open(io.BytesIO(b)) as w:
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(float)
        return float(np.sqrt(np.mean(x * x)))

    def answer(req):
        ra, rb = rms(req["audios"][0][0]), rms(req["audios"][1][0])
        louder = "A" if ra > rb else "B"
        quieter = "B" if louder == "A" else "A"
        return f"VERDICT: {louder if prefer == 'louder' else quieter}"

    return answer


def test_run_judging_known_answer_cache_and_resume(two_systems, tmp_path, monkeypatch):
    monkeypatch.setenv("K", "k")
    utts, systems = two_systems
    with FakeAudioLLM(key="k", default=_slot_answer("louder")) as srv:
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5)
        store = RecordStore(tmp_path / "out" / "records.jsonl")
        cache = VerdictCache(tmp_path / "out" / "cache.jsonl")
        s = run_judging(utts, systems, "quiet", j, store, cache=cache, seed=3)
        assert s.done == 3 and s.errors == 0 and len(srv.requests) == 3
        recs = [r for r in store.records() if r.metric == JUDGE_METRIC]
        assert all(r.model == "loud" and r.value == 1.0 and r.details["outcome"] == "win" for r in recs)
        for r in recs:  # the order is recorded and the verdict names the slot the louder clip had
            d = r.details
            assert d["candidate_slot"] == ("A" if candidate_in_slot_a(3, "loud", "quiet", r.sample_id) else "B")
            assert d["verdict"] == d["candidate_slot"] and d["slot_a"] in ("loud", "quiet")
            assert d["cached"] is False and d["judge"] == "http-openai:m"
        # rerun in the same directory: nothing asked again
        s2 = run_judging(utts, systems, "quiet", j, RecordStore(store.path), cache=cache, seed=3)
        assert s2.resumed == 3 and s2.done == 0 and len(srv.requests) == 3
        # a fresh output directory sharing the cache: answered from the cache, no request
        store3 = RecordStore(tmp_path / "out3" / "records.jsonl")
        s3 = run_judging(utts, systems, "quiet", j, store3,
                         cache=VerdictCache(tmp_path / "out" / "cache.jsonl"), seed=3)
        assert s3.done == 3 and len(srv.requests) == 3
        assert all(r.details["cached"] for r in store3.records())
    # the key never lands in a file
    for f in (tmp_path / "out").iterdir():
        assert "Bearer" not in f.read_text() and '"k"' not in f.read_text()


def test_unparseable_answers_retried_then_error_and_rerun_resumes(two_systems, tmp_path, monkeypatch):
    monkeypatch.setenv("K", "k")
    utts, systems = two_systems
    with FakeAudioLLM(key="k", default=_slot_answer("louder")) as srv:
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5, max_retries=0)

        class Flaky:  # u2's backend always fails (as after exhausted 429 retries)
            identity = j.identity

            def ask(self, req):
                if req.utterance_id == "u2":
                    raise JudgeError("gave up after 5 attempts; last: HTTP 429")
                return j.ask(req)

        store = RecordStore(tmp_path / "records.jsonl")
        cache = VerdictCache(tmp_path / "cache.jsonl")
        # u0: two unparseable answers, then the server's real verdict -> ok after 3 asks
        srv.script.extend([("answer", "Hmm, both sound fine."), ("answer", "Audio 1")])
        run_judging(utts[:1], systems, "quiet", Flaky(), store, cache=cache, parse_retries=2)
        r0 = store.get("loud", "u0", JUDGE_METRIC)
        assert r0.status == "ok" and r0.details["attempts"] == 3 and r0.value == 1.0
        # u1: three unparseable answers -> error; u2: backend error -> error; u0 resumed
        srv.script.extend([("answer", "VERDICT: X"), ("answer", "no idea"), ("answer", "A or B")])
        s = run_judging(utts, systems, "quiet", Flaky(), store, cache=cache, parse_retries=2)
        r1 = store.get("loud", "u1", JUDGE_METRIC)
        r2 = store.get("loud", "u2", JUDGE_METRIC)
        assert s.resumed == 1 and s.errors == 2
        assert r1.status == "error" and r1.reason == "unparseable_verdict"
        assert r1.details["answers"] == ["VERDICT: X", "no idea", "A or B"]
        assert r2.status == "error" and r2.reason == "judge_error" and "429" in r2.message
        n_before = len(srv.requests)
        assert n_before == 6
        # rerun: ok items kept, errors retried (u1 now gets a clean answer; u2 still fails)
        s = run_judging(utts, systems, "quiet", Flaky(), RecordStore(store.path), cache=cache)
        assert s.resumed == 1 and s.done == 2 and s.errors == 1
        assert len(srv.requests) == n_before + 1
        assert RecordStore(store.path).get("loud", "u1", JUDGE_METRIC).status == "ok"
        # keep errors instead: nothing is retried
        s = run_judging(utts, systems, "quiet", Flaky(), RecordStore(store.path), cache=cache,
                        retry_errors=False)
        assert s.resumed == 3 and s.done == 0


def test_missing_key_records_error_for_each_item(two_systems, tmp_path, monkeypatch):
    monkeypatch.delenv("ABSENT_KEY", raising=False)
    utts, systems = two_systems
    j = HttpJudge("m", base_url="http://127.0.0.1:9/v1", api_key_env="ABSENT_KEY")
    store = RecordStore(tmp_path / "r.jsonl")
    s = run_judging(utts, systems, "quiet", j, store)
    assert s.errors == 3
    assert {r.reason for r in store.records()} == {"judge_unavailable"}
    assert "ABSENT_KEY" in store.records()[0].message


def test_position_biased_judge_is_measured(two_systems, tmp_path, monkeypatch):
    """A judge that always says "A": its win-rate is just the share of comparisons with the
    candidate in slot A, and the report shows slot A winning 100% of decisive verdicts."""
    from avatar_eval.speech.report import summarize

    monkeypatch.setenv("K", "k")
    utts, _ = two_systems
    # 40 utterances for a meaningful share
    many = [Utterance(f"v{i}", "hello there", "emotions") for i in range(40)]
    for name, amp in (("loud", 0.5), ("quiet", 0.05)):
        for u in many:
            _tone(tmp_path / name / f"{u.id}.wav", amp, seconds=0.1)
    systems = {"loud": tmp_path / "loud", "quiet": tmp_path / "quiet"}
    with FakeAudioLLM(key="k", default=lambda req: "A") as srv:
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5)
        store = RecordStore(tmp_path / "r.jsonl")
        run_judging(many, systems, "quiet", j, store, seed=0, workers=4)
    expected = sum(candidate_in_slot_a(0, "loud", "quiet", u.id) for u in many) / 40
    s = summarize(store.records())
    w = s.win["loud"]["overall"]
    assert w.n == 40 and w.win_rate == pytest.approx(expected) and w.ties == 0
    pb = s.position_bias[0]
    assert pb.slot_a_share == 1.0 and pb.slot_a_wins == 40 and pb.slot_a_share_ci[0] > 0.9


def test_bad_template_and_undecodable_audio(two_systems, tmp_path, monkeypatch):
    from avatar_eval.errors import InputError

    monkeypatch.setenv("K", "k")
    utts, systems = two_systems
    j = HttpJudge("m", base_url="http://127.0.0.1:9/v1", api_key_env="K")
    with pytest.raises(InputError, match="template"):
        run_judging(utts, systems, "quiet", j, RecordStore(tmp_path / "r.jsonl"), template="{nope}")
    # an unreadable candidate file (not WAV/MP3, so it must be decoded) is a per-item bad_input
    (systems["loud"] / "u0.wav").unlink()
    (systems["loud"] / "u0.flac").write_bytes(b"not a flac at all" * 10)
    store = RecordStore(tmp_path / "r2.jsonl")
    with FakeAudioLLM(key="k") as srv:
        j = HttpJudge("m", base_url=srv.url, api_key_env="K", timeout_s=5)
        s = run_judging(utts, systems, "quiet", j, store)
    r = store.get("loud", "u0", JUDGE_METRIC)
    assert s.errors == 1 and r.reason == "bad_input" and "u0.flac" in r.message
