"""``avatar-eval build-benchmark`` on real clips whose answers are known by construction.

Shipped clips (always run): the GRID clip of examples/clips, a 1 s cut of it (too short), a file
that is not a video (unreadable), and a camera pan made from the GRID clip (a 280-px window sliding
1 px per frame: the background moves 1 px/frame by construction). Shared clips (skipped without
``../shared``): the 7 GRID clips (word transcripts known), the whole-body clips cut to 3 s (hands
in view) and the half-body clip whose audio track is silent.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from avatar_eval.benchmark import builder as BB
from avatar_eval.benchmark.builder import BuildSettings, build
from avatar_eval.cli.main import app
from avatar_eval.io.video import decode_audio, iter_frames, probe
from avatar_eval.pipeline.manifest import load_manifest
from avatar_eval.regions.boxes import load_manifest_boxes
from avatar_eval.speech.wer import aggregate_scores, score_texts
from avatar_eval.testing import variants as V

runner = CliRunner()
#: GRID clips are 75 frames, but the MPEG-PS container says 2.98 s: the tests keep clips from 2.5 s
MIN_S = 2.5


def _pan(src: Path, dst: Path, width: int = 280) -> Path:
    """A camera pan by construction: a ``width``-px window moving right by 1 px per frame."""
    info = probe(src)
    frames = [f.rgb[:, f.index: f.index + width] for f in iter_frames(src) if f.index + width <= info.width]
    return V._write(dst, frames, info.fps, decode_audio(src, 16000))


@pytest.fixture(scope="module")
def shipped(tmp_path_factory, clips) -> tuple[Path, Path, list]:
    d = tmp_path_factory.mktemp("shipped")
    raw = d / "raw"
    raw.mkdir()
    shutil.copy(clips / "gt" / "grid_bbaf2n.mpg", raw / "grid_bbaf2n.mpg")
    V.first_frames(clips / "gt" / "grid_bbaf2n.mpg", raw / "short_1s.mp4", 25)
    (raw / "broken.mp4").write_bytes(b"this is not a video\n" * 50)
    _pan(clips / "gt" / "grid_bbaf2n.mpg", raw / "grid_pan.mp4")
    out = d / "bench"
    outcomes = build(raw, out, BuildSettings(min_duration=MIN_S))
    return raw, out, outcomes


def _ann(out: Path, sid: str) -> dict:
    p = out / "annotations" / f"{sid}.json"
    if not p.exists():
        p = out / "rejected" / f"{sid}.json"
    return json.loads(p.read_text())


def test_outcomes_reasons_and_files(shipped):
    raw, out, outcomes = shipped
    by = {o.id: o for o in outcomes}
    assert by["grid_bbaf2n"].status == "accepted" and by["grid_pan"].status == "accepted"
    assert by["short_1s"].status == "rejected" and by["short_1s"].reason.startswith("too short: 1.0")
    assert "< min duration 2.5 s" in by["short_1s"].reason
    assert by["broken"].status == "rejected" and by["broken"].reason.startswith("unreadable: cannot open broken.mp4")
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert {r["id"] for r in rejected} == {"short_1s", "broken"}

    a = _ann(out, "grid_bbaf2n")
    assert a["decode_count"] == 1  # everything above came from one decode of the clip
    assert a["video"] == {**a["video"], "fps": 25.0, "width": 360, "height": 288, "n_frames_decoded": 75}
    assert a["speech"]["has_speech"] and a["presence"]["has_face"] and a["body"]["category"] == "head"
    assert score_texts("bin blue at f two now", a["transcript"]["text"]).wer <= 4 / 6  # see the GRID test
    words = a["transcript"]["words"]
    assert words and all(0 <= w[1] <= w[2] <= 3.0 for w in words)
    # the reference image is the decoded frame the rule chose
    ref = a["reference"]
    import cv2

    png = cv2.cvtColor(cv2.imread(str(out / a["files"]["reference_image"])), cv2.COLOR_BGR2RGB)
    frame = next(f.rgb for f in iter_frames(raw / "grid_bbaf2n.mpg") if f.index == ref["frame_index"])
    assert np.array_equal(png, frame)
    assert ref["face"] and ref["gates"] == {"eyes_open": True, "mouth_closed": True, "frontal": True}
    # the audio is the clip's (16 kHz PCM16: quantisation only)
    wav, sr = decode_audio(out / a["files"]["audio"], 16000)
    src, _ = decode_audio(raw / "grid_bbaf2n.mpg", 16000)
    assert sr == 16000 and len(wav) == len(src) and np.abs(wav - np.clip(src, -1, 1)).max() < 1e-4
    # boxes: the format the region metrics read as a manifest `regions` file
    boxes = load_manifest_boxes(out / "annotations" / "grid_bbaf2n.json", 360, 288)
    assert set(boxes) == {"face", "mouth", "hands", "left_hand", "right_hand"}
    assert boxes["face"].shape == (75, 4) and np.isfinite(boxes["face"]).all()
    assert np.isnan(boxes["hands"]).all()  # GRID: a head, no hands in view
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_accepted"] == 2 and summary["rejection_reasons"] == {"too short": 1, "unreadable": 1}
    assert (out / "durations.png").stat().st_size > 0 and "| body | head | 2 |" in (out / "summary.md").read_text()


def test_camera_motion_flag_by_construction(shipped):
    _, out, _ = shipped
    pan, still = _ann(out, "grid_pan")["motion"], _ann(out, "grid_bbaf2n")["motion"]
    # 1 px/frame at 25 fps in a 280-px frame is 0.089 frame widths/s (measured 0.083); the fixed camera
    # of GRID reads 0.014 (tracker noise on MPEG-1): each a factor ≥ 1.5 away from the threshold (0.04)
    assert pan["camera_moving"] is True and pan["camera_speed_width_per_s"] > 1.5 * BB.CAMERA_MOTION_THR
    assert abs(pan["camera_speed_width_per_s"] - 25 / 280) < 0.15 * 25 / 280
    assert still["camera_moving"] is False and still["camera_speed_width_per_s"] < BB.CAMERA_MOTION_THR / 1.5


def test_rerun_resumes_and_a_changed_clip_is_redone(shipped, tmp_path):
    raw, out, _ = shipped
    before = {p.name: p.stat().st_mtime_ns for p in (out / "annotations").iterdir()}
    outcomes = build(raw, out, BuildSettings(min_duration=MIN_S))
    assert all(o.reused for o in outcomes)
    assert {p.name: p.stat().st_mtime_ns for p in (out / "annotations").iterdir()} == before
    # other settings: the clips are redone (here only the cheap rejections are checked: a copy of the folder)
    raw2 = tmp_path / "raw"
    raw2.mkdir()
    shutil.copy(raw / "short_1s.mp4", raw2 / "short_1s.mp4")
    shutil.copytree(out, tmp_path / "bench")
    o2 = build(raw2, tmp_path / "bench", BuildSettings(min_duration=0.5, require=("face",)))
    assert not o2[0].reused and o2[0].status == "accepted"


def test_manifest_runs_and_generates(shipped, tmp_path):
    _, out, _ = shipped
    man = load_manifest(out / "manifest.jsonl")
    assert [s.id for s in man.samples] == ["grid_bbaf2n", "grid_pan"]
    s = man.samples[0]
    assert Path(s.gt).is_file() and Path(s.audio).is_file() and Path(s.reference_image).is_file()
    assert s.regions and Path(s.regions).is_file() and s.transcript
    r = runner.invoke(app, ["generate", "--benchmark", str(out / "manifest.jsonl"), "--baseline", "still",
                            "--out", str(tmp_path / "gens")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["run", "--manifest", str(out / "manifest.jsonl"), "--model",
                            f"still={tmp_path / 'gens' / 'still'}", "-s", "blink.rate", "--out", str(tmp_path / "run"),
                            "--no-progress", "--no-reports"])
    assert r.exit_code == 0, r.output
    recs = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    by = {(x["model"], x["sample_id"]): x for x in recs}
    assert set(by) == {(m, i) for m in ("gt", "still") for i in ("grid_bbaf2n", "grid_pan")}
    # the still baseline holds the reference frame, chosen with eyes open: no blink
    assert by[("still", "grid_bbaf2n")]["value"] == 0.0


def test_cli_rejects_unknown_requirement(tmp_path, clips):
    r = runner.invoke(app, ["build-benchmark", str(clips / "gt"), "--out", str(tmp_path / "b"), "--require", "hand"])
    assert r.exit_code == 2 and "unknown hand" in r.output


# ------------------------------------------------------------------------------ shared clips
@pytest.fixture(scope="module")
def shared_bench(tmp_path_factory, shared_data) -> tuple[Path, list]:
    d = tmp_path_factory.mktemp("shared")
    raw = d / "raw"
    (raw / "grid").mkdir(parents=True)
    for p in sorted((shared_data / "talking_head" / "grid").glob("*.mpg")):
        shutil.copy(p, raw / "grid" / p.name)
    for name, n in (("seated_woman_speaking", 75), ("creator_gesturing_phone", 90), ("halfbody_silent_audio", 90)):
        V.first_frames(shared_data / "whole_body" / f"{name}.mp4", raw / "whole_body" / f"{name}.mp4", n)
    out = d / "bench"
    return out, build(raw, out, BuildSettings(min_duration=MIN_S))


def test_grid_transcripts_within_wer(shared_bench, shared_data):
    out, _ = shared_bench
    with open(shared_data / "talking_head" / "grid" / "transcripts.tsv") as f:
        ref = {r[0].rsplit(".", 1)[0]: r[1] for r in csv.reader(f, delimiter="\t") if r[0].endswith(".mpg")}
    assert len(ref) == 7
    scores = [score_texts(ref[sid], _ann(out, sid)["transcript"]["text"]) for sid in ref]
    # tiny.en on these 7 clips: corpus WER 14.3 % (6 of 42 words; docs/speech.md), per clip 0–50 %
    # (bbaf2n: "Bimblue F2 now"). Bounds: corpus 25 %, no clip above 4 of its 6 words, so a wrong
    # audio track or a broken word list fails while a one-word change of the decoder does not
    assert aggregate_scores(scores).wer <= 0.25
    assert max(s.wer for s in scores) <= 4 / 6
    for sid in ref:
        w = _ann(out, sid)["transcript"]["words"]
        # tiny.en merges GRID words ("bin blue at" -> "Bimblue", "f two" -> "F2"): ≥ 3 words, timed in the clip
        assert len(w) >= 3 and all(0 <= a[1] <= a[2] <= 3.0 for a in w)
        assert all(a[2] <= b[1] + 1e-6 for a, b in zip(w, w[1:]))  # in order, not overlapping


def test_whole_body_clips_have_hands_and_silent_clip_has_no_speech(shared_bench):
    out, outcomes = shared_bench
    by = {o.id: o for o in outcomes}
    for sid in ("seated_woman_speaking", "creator_gesturing_phone"):
        a = _ann(out, sid)
        assert by[sid].status == "accepted", by[sid].reason
        assert a["presence"]["has_hands"] and a["presence"]["hands_fraction"] >= 0.5
        assert a["body"]["category"] in ("whole_body", "half_body") and a["decode_count"] == 1
        assert a["speech"]["has_speech"]
        assert a["boxes"]["hands"].count(None) < len(a["boxes"]["hands"]) / 2
    silent = _ann(out, "halfbody_silent_audio")
    assert by["halfbody_silent_audio"].status == "rejected"
    assert by["halfbody_silent_audio"].reason.startswith("no speech: 0.00 s of VAD speech")
    assert silent["speech"] == {**silent["speech"], "has_speech": False, "segments_s": []}
    assert silent["transcript"] is None  # no ASR run on a clip without speech
