"""Issue 17 extras on real clips: known answers, suites, one decode per clip.

Measured on the shipped clips (examples/clips, 25 fps; values of this implementation, mediapipe
0.10.21, recorded 2025-11):

| clip | blink.rate | blink.duration | landmarks.lmd.mouth / landmarks.lmd.face vs gt | sharpness.cpbd.face | beat.alignment |
|---|---|---|---|---|---|
| gt/may | 24.0 /min (2 blinks in 5 s) | 0.18 s | 0 / 0 | 0.256 | 0.244 |
| frozen/may | 0 | undefined | 0.058 / 0.073 IOD | 0.297 | undefined (still video) |
| audio_shift_0.5s/may | 24.0 | 0.18 s | 0.003 / 0.002 IOD | 0.259 | 0.138 |
"""

import numpy as np
import pytest

from avatar_eval.errors import MetricUndefined
from avatar_eval.metrics import extras
from avatar_eval.metrics.functional import beat_alignment as BA
from avatar_eval.metrics.registry import get_metric, list_suites, resolve_metrics
from avatar_eval.pipeline.context import ClipContext, PairContext

ALL = extras.TALKING_HEAD_EXTRAS + extras.GESTURE


def _prepared(path):
    ctx = ClipContext(str(path))
    ctx.prepare(sorted({r for n in ALL for r in get_metric(n).requires}))
    return ctx


def _value(name, ctx, gt=None):
    m = get_metric(name)
    return m.compute_pair(PairContext(ctx, gt)) if m.level == "pair" else m.compute(ctx)


@pytest.fixture(scope="module")
def gt(clips):
    return _prepared(clips / "gt" / "may.mp4")


@pytest.fixture(scope="module")
def frozen(clips):
    return _prepared(clips / "frozen" / "may.mp4")


@pytest.fixture(scope="module")
def shifted(clips):
    return _prepared(clips / "audio_shift_0.5s" / "may.mp4")


def test_suites_and_names():
    assert resolve_metrics(["talking-head-extras"]) == extras.TALKING_HEAD_EXTRAS
    assert resolve_metrics(["gesture"]) == extras.GESTURE and extras.GESTURE[0] == "beat.alignment"
    assert {"talking-head-extras", "gesture"} <= set(list_suites())
    for n in ALL:
        info = get_metric(n).info()
        assert info["protocol"] == "extras" and info["description"]
    assert get_metric("landmarks.lmd.mouth").level == "pair" and get_metric("landmarks.lmd.face").units == "IOD"


def test_all_metrics_on_one_decode(gt):
    vals = {n: _value(n, gt, gt).value for n in ALL if n != "motion.energy.hands"}  # no hands in a face clip
    assert gt.decode_count == 1
    assert vals["blink.rate"] == pytest.approx(24.0)  # 2 hand-counted blinks in 5 s
    assert vals["blink.duration"] == pytest.approx((5 + 4) / 2 / 25)  # closed runs 5–9, 100–103
    assert vals["landmarks.lmd.mouth"] == 0.0 and vals["landmarks.lmd.face"] == 0.0
    assert 0.2 < vals["sharpness.cpbd.face"] < 0.32 and 0.28 < vals["sharpness.cpbd"] < 0.4
    assert 0.0 < vals["beat.alignment"] <= 1.0


def test_gt_vs_itself_from_a_fresh_context_is_zero(clips, gt):
    again = ClipContext(str(clips / "gt" / "may.mp4"))
    for n in ("landmarks.lmd.mouth", "landmarks.lmd.face"):
        assert _value(n, again, gt).value == 0.0


def test_frozen_clip(frozen, gt, shifted):
    assert _value("blink.rate", frozen).value == 0.0
    with pytest.raises(MetricUndefined, match="no blink"):
        _value("blink.duration", frozen)
    with pytest.raises(MetricUndefined, match="does not move"):
        _value("beat.alignment", frozen)
    for n in ("landmarks.lmd.mouth", "landmarks.lmd.face"):
        f, s = _value(n, frozen, gt).value, _value(n, shifted, gt).value
        # the same video re-encoded is ~0; the frozen one misses every mouth movement and head turn
        assert f > 10 * s > 0, (n, f, s)
    assert frozen.decode_count == 1


def test_audio_delay_lowers_beat_alignment(gt, shifted):
    # measured: the same motion with the audio delayed by 0.5 s (12.5 frames) aligns worse
    a, b = _value("beat.alignment", gt).value, _value("beat.alignment", shifted).value
    assert a > b, (a, b)
    # and re-timing the motion against the clip's own audio: every shift of 6–12 frames scores lower
    tr = gt.get("region_tracks")
    speed = BA.joint_speed(*extras.body_joints(tr))
    wav, sr = gt.get("audio16k")
    ab = BA.onset_frames(wav, sr, gt.fps, n_frames=tr.n_frames)
    aligned = BA.beat_alignment(ab, BA.motion_beats(speed))
    assert aligned == pytest.approx(a)
    for k in (6, 9, 12):
        assert BA.beat_alignment(ab, BA.motion_beats(speed) + k) < aligned


def test_blur_lowers_cpbd_monotonically(clips, tmp_path):
    from scipy.ndimage import gaussian_filter

    from avatar_eval.io.video import iter_frames
    from avatar_eval.regions.crops import CropVideoWriter

    sigmas = (0.0, 1.0, 2.0, 3.0)
    writers = {s: CropVideoWriter(tmp_path / f"blur{s}.mkv", 25.0) for s in sigmas}  # lossless FFV1
    for f in iter_frames(clips / "gt" / "may.mp4"):
        if f.index >= 30:
            break
        for s, w in writers.items():
            img = f.rgb if s == 0 else np.clip(np.round(gaussian_filter(f.rgb.astype(float), (s, s, 0))), 0, 255)
            w.write(img.astype(np.uint8))
    face, full = [], []
    for w in writers.values():
        w.close()
        ctx = ClipContext(str(w.path))
        ctx.prepare(["face_mesh", "sharpness.cpbd_blocks"])
        face.append(_value("sharpness.cpbd.face", ctx).value)
        full.append(_value("sharpness.cpbd", ctx).value)
        assert ctx.decode_count == 1
    assert all(a > b for a, b in zip(face, face[1:])), face
    assert all(a > b for a, b in zip(full, full[1:])), full


def test_whole_body_clip_from_shared(shared_data, tmp_path):
    """A real gesturing speaker (hands visible): BAS is defined and uses the hands."""
    from avatar_eval.io.video import iter_frames
    from avatar_eval.regions.crops import CropVideoWriter

    src = shared_data / "whole_body" / "seated_woman_speaking.mp4"
    if not src.is_file():
        pytest.skip(f"{src} is not present")
    from avatar_eval.io.video import probe

    w = CropVideoWriter(tmp_path / "body.mkv", probe(src).fps)  # same frame rate: audio stays aligned
    for f in iter_frames(src):  # first 100 frames at half size (keep the test short)
        if f.index >= 100:
            break
        w.write(np.ascontiguousarray(f.rgb[::2, ::2]))
    w.close()
    ctx = ClipContext(str(w.path), audio_path=str(src))
    ctx.prepare(get_metric("beat.alignment").requires)
    v = _value("beat.alignment", ctx)
    assert ctx.decode_count == 1
    assert 0.0 < v.value <= 1.0 and v.details["n_motion_beats"] >= 1
    assert v.details["joints_per_frame"] > 7  # hand points counted beside the pose joints


# ------------------------------------------------------------------------------ motion energy / diversity
MOTION_FACE = ["motion.energy.head", "motion.energy.mouth", "motion.diversity.head"]


@pytest.fixture(scope="module")
def retimed(clips, tmp_path_factory):
    """gt/may with every frame shown twice (the same motion, half as fast) and with every second frame
    dropped (twice as fast), both at the source's 25 fps."""
    from avatar_eval.io.video import iter_frames
    from avatar_eval.testing.variants import _write

    d = tmp_path_factory.mktemp("retimed")
    frames = [f.rgb for f in iter_frames(clips / "gt" / "may.mp4")]
    slow = _write(d / "slow.mp4", (f for f in frames for _ in (0, 1)), 25.0, None)
    fast = _write(d / "fast.mp4", frames[::2], 25.0, None)
    out = {}
    for k, p in (("slow", slow), ("fast", fast)):
        ctx = ClipContext(str(p))
        ctx.prepare(["face_mesh", "frame_motion"])
        out[k] = ctx
    return out


def test_motion_of_a_still_clip_is_exactly_zero(frozen, gt):
    for n in MOTION_FACE + ["motion.energy.body", "motion.diversity.body"]:
        assert abs(_value(n, frozen).value) < 1e-9, n  # every frame held: no tracker jitter (std of equal floats: ~1e-15)
        assert _value(n, gt).value > 0, n
    # face clips have no hands: said, not scored
    with pytest.raises(MetricUndefined, match="hand"):
        _value("motion.energy.hands", gt)


def test_motion_energy_follows_the_playback_speed(gt, retimed):
    """Known by construction: the same frames played at half / double speed. Repeated frames are held,
    so the slow copy's energy is half the original's; dropping every second frame doubles the
    per-frame displacement (less than 2× where the tracker jitter, which does not scale, weighs in)."""
    for n in ("motion.energy.head", "motion.energy.mouth"):
        base = _value(n, gt).value
        slow = _value(n, retimed["slow"])
        assert slow.details["n_still_transitions"] >= 0.45 * slow.details["n_transitions"]
        assert slow.value == pytest.approx(base / 2, rel=0.1), n  # re-encoding moves landmarks slightly
        assert 1.4 * base < _value(n, retimed["fast"]).value < 2.2 * base, n
    # diversity does not depend on the speed
    d = _value("motion.diversity.head", gt).value
    assert _value("motion.diversity.head", retimed["slow"]).value == pytest.approx(d, rel=0.1)
