"""Degenerate input is said in every record of the clip (issue 12 item 4), values unchanged."""

from __future__ import annotations

import json

import numpy as np
import pytest

from avatar_eval.pipeline.manifest import from_folders
from avatar_eval.pipeline.runner import RunConfig, run
from avatar_eval.testing import variants as V

METRICS = ["motion.energy.mouth", "theval.silent_lip_stability", "landmarks.lmd.mouth"]


@pytest.fixture(scope="module")
def flagged_run(tmp_path_factory, clips):
    d = tmp_path_factory.mktemp("flags")
    gt = V.first_frames(clips / "gt" / "may.mp4", d / "gt" / "may.mp4", 40)
    models = {
        "same": V.reencode(gt, d / "same" / "may.mp4"),
        "frozen": V.freeze(gt, d / "frozen" / "may.mp4"),
        "muted": V.mute(gt, d / "muted" / "may.mp4"),
        "black": V.black(gt, d / "black" / "may.mp4"),
        "short": V.first_frames(gt, d / "short" / "may.mp4", 30),
    }
    # audio that ends 1 s before the video
    from avatar_eval.io.video import decode_audio, iter_frames, probe
    from avatar_eval.testing.variants import _write

    wav, sr = decode_audio(gt, 16000)
    models["cut_audio"] = _write(d / "cut_audio" / "may.mp4", (f.rgb for f in iter_frames(gt)), probe(gt).fps,
                                 (wav[: len(wav) - sr], sr))
    out = d / "run"
    store = run(from_folders(d / "gt", {k: v.parent for k, v in models.items()}),
                RunConfig(metrics=METRICS, out_dir=str(out)), progress=False)
    by = {}
    for r in store.records():
        by.setdefault(r.model, {})[r.metric] = r
    return by


def _flags(by, model):
    fl = [r.details.get("flags", {}) for r in by[model].values()]
    assert all(f == fl[0] for f in fl), "every record of a clip carries the same flags"
    return fl[0]


def test_each_degenerate_case_is_flagged(flagged_run):
    assert _flags(flagged_run, "gt") == {} and _flags(flagged_run, "same") == {}
    fz = _flags(flagged_run, "frozen")
    assert {"frozen_video", "frozen_face", "frozen_mouth"} <= set(fz)
    assert fz["frozen_video"]["still_fraction"] >= 0.95
    assert "no_speech" in _flags(flagged_run, "muted")
    assert set(_flags(flagged_run, "black")) >= {"no_face"}
    assert _flags(flagged_run, "short") == {"video_shorter_than_gt": {"frames": 30, "gt_frames": 40}}
    cut = _flags(flagged_run, "cut_audio")
    assert "audio_shorter" in cut and cut["audio_shorter"]["video_s"] - cut["audio_shorter"]["audio_s"] >= 0.9


def test_flags_change_no_value_and_undefined_metrics_say_why(flagged_run):
    # the re-encoded copy reads what the GT reads, flags or not
    assert flagged_run["black"]["motion.energy.mouth"].status == "skipped"
    assert "face" in flagged_run["black"]["motion.energy.mouth"].message
    assert flagged_run["frozen"]["motion.energy.mouth"].value == pytest.approx(0.0, abs=1e-12)
    assert np.isfinite(flagged_run["same"]["motion.energy.mouth"].value)
    json.dumps([r.to_dict() for m in flagged_run.values() for r in m.values()])  # JSON-safe


def test_report_lists_the_flagged_clips(flagged_run, tmp_path):
    from avatar_eval.report.build import build_reports

    recs = [r for m in flagged_run.values() for r in m.values()]
    build_reports(tmp_path, recs, n_boot=50, formats="md")
    md = (tmp_path / "leaderboard.md").read_text()
    assert "## Flagged clips (degenerate input)" in md
    rows = {ln.split("|")[1].strip(): ln for ln in md.splitlines() if ln.startswith("| ") and ln.count("|") == 4}
    assert "frozen_video (still_fraction=1.0)" in rows["frozen"] and "frozen_mouth" in rows["frozen"]
    assert "no_face" in rows["black"] and "gt" not in rows and "same" not in rows
    info = json.loads((tmp_path / "report.json").read_text())
    assert set(info["flags"]) == {"frozen", "muted", "black", "short", "cut_audio"}
