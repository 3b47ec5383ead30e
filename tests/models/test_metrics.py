"""Metric wiring on real and synthetic clips: one decode, offline variants, regions, unavailable
weights, SyncNet streaming pipeline (with a stand-in network), THEval crop rules."""

import numpy as np
import pytest

from avatar_eval.errors import MetricUndefined, WeightsUnavailable
from avatar_eval.metrics.registry import get_metric, resolve_metrics
from avatar_eval.pipeline.context import ClipContext


def _run(ctx, names):
    ctx.prepare({r for n in names for r in get_metric(n).requires})
    out = {}
    for n in names:
        try:
            out[n] = get_metric(n).compute(ctx)
        except (WeightsUnavailable, MetricUndefined) as e:
            out[n] = e
    return out


def _moving(n=17, h=64, w=80, step=2):
    rng = np.random.default_rng(0)
    tex = rng.integers(0, 255, (h, w + 2 * n * step, 3), dtype=np.uint8)
    import cv2

    tex = cv2.GaussianBlur(tex, (7, 7), 2)
    return [np.ascontiguousarray(tex[:, i * step: i * step + w]) for i in range(n)]


def test_offline_variants_known_answers(tmp_path, media):
    frozen = media.write_video(tmp_path / "frozen.mp4", [_moving()[0]] * 17)
    moving = media.write_video(tmp_path / "moving.mp4", _moving(step=6))
    names = resolve_metrics(["vbench-offline"])
    f = _run(ClipContext(str(frozen)), names)
    assert f["vbench.dynamic_degree.offline"].value == 0.0
    assert f["vbench.motion_smoothness.offline"].value > 0.995  # codec noise only
    ctx = ClipContext(str(moving))
    m = _run(ctx, names)
    assert ctx.decode_count == 1
    d = m["vbench.dynamic_degree.offline"]
    assert d.value == 1.0 and d.details["stride"] == 3 and d.details["n_sampled"] == 6  # every round(25/8) frame
    assert 0.9 < m["vbench.motion_smoothness.offline"].value < f["vbench.motion_smoothness.offline"].value


def test_dis_interpolation_beats_blending():
    from avatar_eval.metrics.functional.flow import DISFlow, interpolate_midpoint

    fr = _moving(n=3, step=4)
    mid = interpolate_midpoint(fr[0], fr[2], DISFlow())
    blend = ((fr[0].astype(int) + fr[2]) // 2).astype(np.uint8)
    err = lambda a: np.abs(a[:, 10:-10].astype(int) - fr[1][:, 10:-10]).mean()
    assert err(mid) < 0.5 * err(blend)


def test_weighted_metrics_are_unavailable_offline(tmp_path, media):
    clip = media.write_video(tmp_path / "c.mp4", _moving(n=6))
    names = resolve_metrics(["vbench", "syncnet", "qalign"]) + ["identity.idc", "theval.global_aesthetics", "theval.face_quality",
                                                                  "theval.mouth_quality", "theval.mouth_quality.compat", "theval.head_motion"]
    out = _run(ClipContext(str(clip), reference_image=str(clip)), names)
    for n in names:
        assert isinstance(out[n], WeightsUnavailable), (n, out[n])


def test_idc_without_reference_is_undefined(tmp_path, media):
    clip = media.write_video(tmp_path / "c.mp4", _moving(n=4))
    with pytest.raises(MetricUndefined):
        ClipContext(str(clip)).get("idc.dinov2")


def test_region_registration_shares_one_decode(tmp_path, media):
    from avatar_eval.metrics import vbench

    calls = []

    def provider(ctx):
        def crop(frame):
            calls.append(frame.index)
            return frame.rgb[8:56, 10:70] if frame.index != 3 else None

        return crop

    # a region of the naming grammar's closed set that regions/ does not register ("body")
    names = vbench.register_region("body", provider)
    assert "vbench.dynamic_degree.body.offline" in names and get_metric("vbench.subject_consistency.body").region == "body"
    clip = media.write_video(tmp_path / "c.mp4", _moving(n=9))
    ctx = ClipContext(str(clip))
    out = _run(ctx, ["vbench.dynamic_degree.body.offline", "vbench.motion_smoothness.body.offline"])
    assert ctx.decode_count == 1
    assert sorted(set(calls)) == list(range(9)) and len(calls) == 9  # crop computed once per frame
    assert out["vbench.motion_smoothness.body.offline"].details["frames_without_region"] == 1


class _StubSyncNet:
    """Stand-in for the SyncNet towers (weights are not available offline): deterministic features."""

    def forward_lip(self, x):

        return x.mean(dim=(1, 3, 4)).repeat(1, 4)[:, :16] / 255.0

    def forward_aud(self, x):
        return x.mean(dim=(1, 2)).repeat(1, 4)[:, :16] / 100.0


def test_syncnet_streaming_pipeline_on_real_clip(tmp_path, media, monkeypatch):
    import avatar_eval.models.syncnet as ms

    monkeypatch.setattr(ms, "load_syncnet", lambda p, device="cpu": _StubSyncNet())
    dummy = tmp_path / "syncnet_v2.model"
    dummy.write_bytes(b"stub")
    clip = media.shared("talking_head/real3dportrait_May_5s.mp4")
    opts = {"weights": {"syncnet_v2": str(dummy)}, "syncnet_detector": "mediapipe", "syncnet_min_track": 35}
    ctx = ClipContext(str(clip), options=opts)
    out = _run(ctx, ["syncnet.lse_d", "syncnet.lse_c", "syncnet.av_offset"])
    assert ctx.decode_count == 1
    d = out["syncnet.lse_d"]
    assert not isinstance(d, Exception), d
    t = d.details["tracks"][0]
    assert t["n_windows"] == min(t["end_frame"] - t["start_frame"] + 1, 125) - 5
    assert d.details["detector"].startswith("mediapipe") and d.details["min_track"] == 35
    assert out["syncnet.lse_c"].value >= 0 and -15 <= out["syncnet.av_offset"].value <= 15
    # the reference's min_track (100) on a 5 s clip still keeps the 125-frame track; 200 does not
    ctx2 = ClipContext(str(clip), options={**opts, "syncnet_min_track": 200})
    assert isinstance(_run(ctx2, ["syncnet.lse_d"])["syncnet.lse_d"], MetricUndefined)


def test_mouth_box_rule():
    from avatar_eval.metrics.functional.theval import LIP_INDICES
    from avatar_eval.metrics.theval_quality import crop_box, mouth_box

    lm = np.zeros((478, 3))
    lm[list(LIP_INDICES), 0] = np.linspace(0.40, 0.60, 40)
    lm[list(LIP_INDICES), 1] = np.linspace(0.70, 0.80, 40)
    assert mouth_box(lm, 200, 100) == (70, 60, 130, 90)  # int(x·W) − 10 … int(x·W) + 10
    lm[list(LIP_INDICES), 1] = 0.99
    assert mouth_box(lm, 200, 100)[3] == 100  # clipped to the frame
    assert crop_box(np.zeros((100, 200, 3)), (70, 60, 130, 90)).shape == (30, 60, 3)


def test_compat_padding_depends_on_batch():
    from avatar_eval.models.musiq import pad_batch_compat

    a, b = np.full((10, 20, 3), 200, np.uint8), np.full((30, 15, 3), 100, np.uint8)
    p = pad_batch_compat([a, b])
    assert p.shape == (2, 30, 20, 3)
    assert (p[0, :10, :20] == 200).all() and (p[0, 10:] == 0).all() and (p[1, :, 15:] == 0).all()
