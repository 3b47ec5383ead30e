"""Resume: one rule for every runner (results/resume.py), and one configuration per run directory.

Fast fake metrics registered here (they read no frames: a clip costs one probe) count their
computations; the kill -9 test runs the real CLI on the shipped clips.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from avatar_eval.errors import InputError
from avatar_eval.metrics.base import Metric, MetricValue
from avatar_eval.metrics.registry import register
from avatar_eval.pipeline.manifest import from_folders
from avatar_eval.pipeline.runner import RunConfig, run
from avatar_eval.results.resume import RunConfigChanged, reusable
from avatar_eval.results.schema import DATASET, Record
from avatar_eval.results.store import RecordStore
from avatar_eval.weights import WeightSpec, register_weight, resolve_weight

CALLS: Counter = Counter()
STATE = {"fail": False}
WEIGHT = "resume_test_w"
register_weight(WeightSpec(name=WEIGHT, filename=f"{WEIGHT}.bin", url="http://127.0.0.1:9/none"))


def _size(ctx) -> float:
    return float(Path(ctx.video_path).stat().st_size)


@register
class CountMetric(Metric):
    name = "resume_test.count"
    protocol = "resume_test"
    description = "test: the clip's size in bytes"

    def compute(self, ctx):
        CALLS[self.name] += 1
        if STATE["fail"]:
            raise RuntimeError("boom")
        return MetricValue(_size(ctx))


@register
class OtherMetric(Metric):
    name = "resume_test.other"
    protocol = "resume_test"

    def compute(self, ctx):
        CALLS[self.name] += 1
        return 1.0


@register
class WeightedMetric(Metric):
    name = "resume_test.weighted"
    protocol = "resume_test"
    weights = (WEIGHT,)

    def compute(self, ctx):
        CALLS[self.name] += 1
        return float(len(resolve_weight(WEIGHT).read_bytes()))


@register
class DatasetMetric(Metric):
    name = "resume_test.dataset"
    protocol = "resume_test"
    level = "dataset"

    def features(self, ctx):
        CALLS["features"] += 1
        return np.array([_size(ctx)])

    def reduce(self, gen, gt):
        CALLS["reduce"] += 1
        return MetricValue(float(np.mean(gen) - np.mean(gt)), {"n_gen": len(gen), "n_gt": len(gt)})


COUNT, OTHER, WEIGHTED, DS = CountMetric.name, OtherMetric.name, WeightedMetric.name, DatasetMetric.name


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()
    STATE["fail"] = False
    yield
    STATE["fail"] = False


@pytest.fixture()
def folders(tmp_path, clips):
    """GT and one model ('m'), two samples each: copies, so a test may change a file."""
    gt, m = tmp_path / "gt", tmp_path / "m"
    gt.mkdir()
    m.mkdir()
    for stem in ("face5", "may"):
        shutil.copy(clips / "gt" / f"{stem}.mp4", gt)
        shutil.copy(clips / "frozen" / f"{stem}.mp4", m)
    return gt, m


def go(folders, metrics, out, **kw):
    gt, m = folders
    kw.setdefault("workers", 1)  # in this process: the fake metrics are registered here only
    cfg = RunConfig(metrics=list(metrics), out_dir=str(out), reports=False, **kw)
    return run(from_folders(gt, {"m": m}), cfg, progress=False)


def lines(out: Path) -> list[str]:
    return (out / "records.jsonl").read_text().splitlines()


def last_run(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())["last_run"]


# ---------------------------------------------------------------------------------------------
def test_unchanged_rerun_computes_nothing(folders, tmp_path):
    out = tmp_path / "run"
    s = go(folders, [COUNT, DS], out)
    assert CALLS == {COUNT: 4, "features": 4, "reduce": 1}  # 2 samples x (gt, m); one dataset record (m)
    assert all(r.fingerprint for r in s.records()) and len(s) == 5
    before = lines(out)
    s2 = go(folders, [COUNT, DS], out, workers=2)  # the worker count is not part of anything
    assert CALLS == {COUNT: 4, "features": 4, "reduce": 1}
    assert lines(out) == before and len(s2) == 5
    assert last_run(out)["clips"] == 0 and last_run(out)["records_written"] == 0
    assert last_run(out)["records_reused"] == 5
    # features deleted: the dataset record still matches, so no feature is recomputed
    shutil.rmtree(out / "features")
    go(folders, [COUNT, DS], out)
    assert CALLS == {COUNT: 4, "features": 4, "reduce": 1}


def test_metric_version_bump(folders, tmp_path, monkeypatch):
    out = tmp_path / "run"
    go(folders, [COUNT, OTHER], out)
    before = lines(out)
    monkeypatch.setattr(CountMetric, "version", "2")
    # run level: the directory's configuration changed
    with pytest.raises(RunConfigChanged, match=r"metric resume_test.count version: '1' → '2'"):
        go(folders, [COUNT, OTHER], out)
    assert lines(out) == before and CALLS == {COUNT: 4, OTHER: 4}
    # record level: records.jsonl without its run.json (copied, or from before run.json kept the
    # configuration): the per-record fingerprint still recomputes exactly the bumped metric
    (out / "run.json").unlink()
    s = go(folders, [COUNT, OTHER], out)
    assert CALLS == {COUNT: 8, OTHER: 4}
    assert {r.metric_version for r in s.records() if r.metric == COUNT} == {"2"}


def test_option_change_is_refused_then_overwrite_moves_old_records_aside(folders, tmp_path):
    from typer.testing import CliRunner

    from avatar_eval.cli.main import app

    gt, m = folders
    out = tmp_path / "run"
    cli = CliRunner()

    def cli_run(*extra):
        return cli.invoke(app, ["run", "--gt", str(gt), "--model", f"m={m}", "--suite", COUNT, "--out", str(out),
                                "--no-progress", *extra])

    r = cli_run("--vad", "silero-v5")
    assert r.exit_code == 0, r.output
    before = lines(out)
    run_json = (out / "run.json").read_text()
    r = cli_run("--vad", "silero-v6")
    assert r.exit_code == 2
    text = " ".join(r.output.split())
    assert "vad_model: 'silero-v5' → 'silero-v6'" in text
    assert "--overwrite" in text and "--out" in text
    assert lines(out) == before and (out / "run.json").read_text() == run_json and CALLS[COUNT] == 4

    r = cli_run("--vad", "silero-v6", "--overwrite")
    assert r.exit_code == 0, r.output
    assert CALLS[COUNT] == 8 and "moved aside" in r.output
    (bak,) = out.glob("records.jsonl.*.bak")
    assert bak.read_text().splitlines() == before  # nothing deleted
    assert list(out.glob("run.json.*.bak"))
    assert len(lines(out)) == 4
    info = json.loads((out / "run.json").read_text())
    assert info["resume"]["config"]["options"]["vad_model"] == "silero-v6"
    assert info["vad"]["model"] == "silero-v6" and info["environment"]  # the lead's fields kept
    r = cli_run("--vad", "silero-v6")
    assert r.exit_code == 0 and CALLS[COUNT] == 8


def test_other_run_level_changes_are_refused_workers_are_not(folders, tmp_path):
    out = tmp_path / "run"
    go(folders, [COUNT], out)
    with pytest.raises(RunConfigChanged, match="theval_variant: 'paper' → 'compat'"):
        go(folders, [COUNT], out, theval_variant="compat")
    with pytest.raises(RunConfigChanged, match=r"option idc_stride: \(unset\) → 4"):
        go(folders, [COUNT], out, options={"idc_stride": 4})
    # the default VAD spelled out equals the default left unset (API run vs CLI run)
    go(folders, [COUNT], out, options={"vad_model": "silero-v5"}, workers=3)
    assert CALLS[COUNT] == 4


def test_weights_appearing_retry_the_skipped_records(folders, tmp_path, monkeypatch):
    w = tmp_path / "w.bin"
    monkeypatch.setenv("AVATAR_EVAL_W_" + WEIGHT.upper(), str(w))
    out = tmp_path / "run"
    s = go(folders, [WEIGHTED], out)
    assert {(r.status, r.reason) for r in s.records()} == {("skipped", "weights_unavailable")}
    go(folders, [WEIGHTED], out)  # always retried: cheap, and the weights may be there now
    assert CALLS[WEIGHTED] == 8
    w.write_bytes(b"12345")
    s = go(folders, [WEIGHTED], out)
    assert CALLS[WEIGHTED] == 12 and {r.value for r in s.records()} == {5.0}
    go(folders, [WEIGHTED], out)
    assert CALLS[WEIGHTED] == 12
    w.write_bytes(b"1234567")  # other weights (another sha256): recomputed
    s = go(folders, [WEIGHTED], out)
    assert CALLS[WEIGHTED] == 16 and {r.value for r in s.records()} == {7.0}


def test_errors_are_retried_unless_keep_errors(folders, tmp_path):
    out = tmp_path / "run"
    STATE["fail"] = True
    s = go(folders, [COUNT, OTHER], out)
    assert {r.status for r in s.records() if r.metric == COUNT} == {"error"}
    go(folders, [COUNT, OTHER], out, keep_errors=True)
    assert CALLS == {COUNT: 4, OTHER: 4}
    go(folders, [COUNT, OTHER], out)
    assert CALLS == {COUNT: 8, OTHER: 4}  # only the errors
    STATE["fail"] = False
    go(folders, [COUNT, OTHER], out, keep_errors=True)
    assert CALLS == {COUNT: 8, OTHER: 4}
    s = go(folders, [COUNT, OTHER], out)
    assert CALLS == {COUNT: 12, OTHER: 4} and {r.status for r in s.records()} == {"ok"}


def test_changed_input_file_is_recomputed(folders, tmp_path, clips):
    gt, m = folders
    out = tmp_path / "run"
    s = go(folders, [COUNT, DS], out)
    ds_before = s.get("m", DATASET, DS).value
    shutil.copy(clips / "audio_shift_0.5s" / "face5.mp4", m / "face5.mp4")  # new content, same path
    s = go(folders, [COUNT, DS], out)
    assert CALLS == {COUNT: 5, "features": 5, "reduce": 2}  # that clip, its features, the dataset value
    assert s.get("m", "face5", COUNT).value == (m / "face5.mp4").stat().st_size
    assert s.get("m", DATASET, DS).value != ds_before


def test_adding_metrics_and_samples_extends_the_run(folders, tmp_path, clips):
    gt, m = folders
    out = tmp_path / "run"
    go(folders, [COUNT, DS], out)
    go(folders, [COUNT, DS, OTHER], out)
    assert CALLS == {COUNT: 4, OTHER: 4, "features": 4, "reduce": 1}
    shutil.copy(clips / "gt" / "grid_bbaf2n.mpg", gt)
    shutil.copy(clips / "frozen" / "grid_bbaf2n.mp4", m)
    s = go(folders, [COUNT, DS, OTHER], out)
    assert CALLS == {COUNT: 6, OTHER: 6, "features": 6, "reduce": 2}
    assert s.get("m", DATASET, DS).details == {"n_gen": 3, "n_gt": 3}
    # a run with fewer metrics is no change either; run.json keeps describing every record
    go(folders, [OTHER], out)
    info = json.loads((out / "run.json").read_text())
    assert set(info["resume"]["config"]["metric_versions"]) == {COUNT, DS, OTHER}
    assert {COUNT, DS, OTHER} <= set(info["metrics"])


def test_records_of_earlier_versions_are_recomputed(folders, tmp_path):
    out = tmp_path / "run"
    go(folders, [COUNT], out)
    old = [{k: v for k, v in json.loads(x).items() if k != "fingerprint"} for x in lines(out)]
    (out / "records.jsonl").write_text("".join(json.dumps(d) + "\n" for d in old))
    go(folders, [COUNT], out)
    assert CALLS[COUNT] == 8


def test_the_rule():
    base = dict(model="m", sample_id="s", metric="x", fingerprint="f")
    ok = Record(status="ok", value=1.0, **base)
    err = Record(status="error", reason="bad_input", **base)
    nw = Record(status="skipped", reason="weights_unavailable", **base)
    und = Record(status="skipped", reason="undefined", **base)
    assert reusable(ok, "f") and not reusable(ok, "g") and not reusable(None, "f")
    assert not reusable(err, "f") and reusable(err, "f", keep_errors=True) and not reusable(err, "g", True)
    assert not reusable(nw, "f") and not reusable(nw, "f", keep_errors=True)
    assert reusable(und, "f")
    assert not reusable(Record(status="ok", value=1.0, model="m", sample_id="s", metric="x"), "f")


# ---------------------------------------------------------------------------------------------
# a killed run
# ---------------------------------------------------------------------------------------------
REAL = "theval.silent_lip_stability"


def test_kill_9_mid_run_then_rerun_loses_nothing_and_duplicates_nothing(tmp_path, clips):
    out = tmp_path / "run"
    models = {"shift": str(clips / "audio_shift_0.5s"), "frozen": str(clips / "frozen")}
    cmd = [sys.executable, "-m", "avatar_eval.cli.main", "run", "--gt", str(clips / "gt"),
           *[a for k, v in models.items() for a in ("--model", f"{k}={v}")],
           "--suite", REAL, "--out", str(out), "--no-progress", "--workers", "1"]
    rec = out / "records.jsonl"
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and p.poll() is None:
            if rec.exists() and rec.read_bytes().count(b"\n") >= 1:
                break
            time.sleep(0.01)
    finally:
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
    n_killed = rec.read_bytes().count(b"\n")
    assert 1 <= n_killed < 9, "the kill should land after the first records and before the last"

    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:]
    assert last_run(out)["records_reused"] == n_killed

    clean = run(from_folders(clips / "gt", models),
                RunConfig(metrics=[REAL], out_dir=str(tmp_path / "clean"), options={"vad_model": "silero-v5"},
                          workers=1, reports=False), progress=False)
    store = RecordStore(rec)
    keys = [json.loads(x)["key"] for x in lines(out)]
    assert len(keys) == len(set(keys)) == len(store) == len(clean) == 9
    want = {r.key: r for r in clean.records()}
    for r in store.records():
        c = want[r.key]
        assert (r.status, r.reason) == (c.status, c.reason)
        assert r.value == pytest.approx(c.value, rel=1e-12, abs=1e-15)
        assert r.fingerprint == c.fingerprint  # same inputs, same configuration


# ---------------------------------------------------------------------------------------------
# the speech evaluator follows the same rule
# ---------------------------------------------------------------------------------------------
class FakeAsr:
    """Reads the words from the 'audio' file itself; counts transcriptions."""

    def __init__(self, sha: str = "a" * 64, beam: int = 5):
        self.sha, self.beam, self.calls = sha, beam, 0

    def describe(self):
        return {"engine": "fake", "engine_version": "0", "name": "fake", "path": "-", "source": "test",
                "model_sha256": self.sha, "english_only": True}

    def options(self):
        return {"beam_size": self.beam}

    def transcribe(self, path):
        from avatar_eval.speech.asr import Transcript

        self.calls += 1
        text = Path(path).read_text()
        if not text:
            raise InputError(f"{path}: empty file")
        return Transcript(text=text, words=[], segments=[], language="en", language_probability=None,
                          duration_s=1.0, avg_logprob=None, suspect_non_english=False, flags=[],
                          model=self.describe(), options=self.options())


class FakeJudge:
    def __init__(self, identity="test:judge", fail=False):
        self.identity, self.fail, self.calls = identity, fail, 0

    def ask(self, req):
        from avatar_eval.speech.judge import JudgeError

        self.calls += 1
        if self.fail:
            raise JudgeError("backend down")
        return "VERDICT: A"


def test_speech_wer_follows_the_same_rule(tmp_path):
    from avatar_eval.speech.evaluate import WER_METRIC, run_wer
    from avatar_eval.speech.utterances import Utterance

    sysdir = tmp_path / "sys"
    sysdir.mkdir()
    (sysdir / "u0.wav").write_text("hello world")
    (sysdir / "u1.wav").write_text("")  # unreadable: error
    utts = [Utterance("u0", "hello world"), Utterance("u1", "good morning"), Utterance("u2", "absent")]
    store = RecordStore(tmp_path / "records.jsonl")
    asr = FakeAsr()
    s = run_wer(utts, {"s": sysdir}, store, asr)
    assert s.done == 3 and s.errors == 2 and asr.calls == 2
    assert all(r.fingerprint for r in store.records())
    s = run_wer(utts, {"s": sysdir}, RecordStore(store.path), asr)  # errors retried, ok reused
    assert (s.resumed, s.done, asr.calls) == (1, 2, 3)
    for kw in ({"keep_errors": True}, {"retry_errors": False}):
        s = run_wer(utts, {"s": sysdir}, RecordStore(store.path), asr, **kw)
        assert (s.resumed, s.done, asr.calls) == (3, 0, 3)
    # the very records the pipeline rule decides on
    st = RecordStore(store.path)
    assert [reusable(r, r.fingerprint) for r in st.records()] == [True, False, False]
    # changed audio content, changed ASR options, changed ASR model: recomputed
    (sysdir / "u0.wav").write_text("hello word")
    s = run_wer(utts, {"s": sysdir}, st, asr, keep_errors=True)
    assert s.done == 1 and st.get("s", "u0", WER_METRIC).value == 0.5
    run_wer(utts, {"s": sysdir}, st, FakeAsr(beam=1), keep_errors=True)
    run_wer(utts, {"s": sysdir}, st, FakeAsr(sha="b" * 64), keep_errors=True)
    assert sum(r.status == "ok" for r in st.records()) == 1
    lines_now = st.path.read_text().splitlines()
    assert len(lines_now) == 3 + 2 + 1 + 3 + 3  # every recompute was one line per item


def test_speech_judge_follows_the_same_rule(tmp_path):
    from avatar_eval.speech.evaluate import run_judging
    from avatar_eval.speech.utterances import Utterance

    for name in ("cand", "base"):
        (tmp_path / name).mkdir()
        for u in ("u0", "u1"):
            (tmp_path / name / f"{u}.wav").write_bytes(f"{name}-{u}".encode())
    systems = {"cand": tmp_path / "cand", "base": tmp_path / "base"}
    utts = [Utterance("u0", "one"), Utterance("u1", "two")]
    store = RecordStore(tmp_path / "records.jsonl")
    j = FakeJudge()
    run_judging(utts, systems, "base", j, store)
    run_judging(utts, systems, "base", j, store)
    assert j.calls == 2
    run_judging(utts, systems, "base", j, store, seed=1)  # another A/B order: recomputed
    assert j.calls == 4
    (tmp_path / "cand" / "u1.wav").write_bytes(b"new")
    run_judging(utts, systems, "base", j, store, seed=1)
    assert j.calls == 5
    bad = FakeJudge(identity="test:judge2", fail=True)
    run_judging(utts, systems, "base", bad, store)
    run_judging(utts, systems, "base", bad, store, keep_errors=True)
    assert bad.calls == 2
    run_judging(utts, systems, "base", bad, store)
    assert bad.calls == 4


def test_speech_cli_keep_errors(tmp_path):
    from typer.testing import CliRunner

    from avatar_eval.cli.speech_cmd import app

    data = Path(__file__).resolve().parents[1] / "data" / "speech" / "misc"
    utt = tmp_path / "u.tsv"
    utt.write_text("file\ttext\tcategory\ngoforward.wav\tgo forward ten meters\temotions\n"
                   "absent.wav\tnothing here\temotions\n")
    out = tmp_path / "run"
    base = ["wer", "-u", str(utt), "-s", f"misc={data}", "-o", str(out), "-q"]
    cli = CliRunner()
    r = cli.invoke(app, base)
    assert r.exit_code == 0, r.output
    assert "2 transcribed (1 errors" in r.stderr
    r = cli.invoke(app, [*base, "--keep-errors"])
    assert "0 transcribed" in r.stderr and "2 resumed" in r.stderr
    r = cli.invoke(app, base)
    assert "1 transcribed (1 errors" in r.stderr and "1 resumed" in r.stderr
