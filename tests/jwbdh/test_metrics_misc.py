"""HKC/HKV on real tracks, table building, feature cache, suites and metadata."""

import shutil

import numpy as np
import pytest

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.metrics.naming import metric_name
from avatar_eval.metrics.registry import get_metric, get_metric_class, list_metrics, resolve_metrics
from avatar_eval.results.schema import Record


def test_hkc_hkv_mediapipe(halfbody, halfbody_masked):
    hkc = get_metric("hands.hkc.offline")
    hkv = get_metric("hands.hkv.offline")
    full = hkc.compute(halfbody)
    masked = hkc.compute(halfbody_masked)
    t = halfbody.get("region_tracks")
    assert full.value == pytest.approx(float(np.nanmean(t.hand_score)), rel=1e-6)  # both hands on all frames
    # 8 of 24 frames without hands count as 0 confidence
    tm = halfbody_masked.get("region_tracks")
    assert masked.value == pytest.approx(float(np.nan_to_num(tm.hand_score).mean()), rel=1e-6)
    assert masked.value < full.value
    v = hkv.compute(halfbody)
    ref = np.mean([(t.hands[:, h, :, :2].astype(np.float64) / t.height).var(axis=0).mean() for h in range(2)])
    assert v.value == pytest.approx(ref, rel=1e-6)
    assert v.details["hkv_px2"] == pytest.approx(ref * t.height**2, rel=1e-6)
    assert v.details["frames_left_hand"] == 24 and v.details["n_hands"] == 2
    assert hkv.compute(halfbody_masked).details["frames_left_hand"] == 16


def test_dwpose_variants_unavailable_offline(halfbody):
    from avatar_eval.pipeline.context import ClipContext

    ctx = ClipContext(halfbody.video_path)
    with pytest.raises(WeightsUnavailable, match="dwpose"):
        get_metric("hands.hkc").compute(ctx)
    assert ctx.decode_count == 0, "no decode for an analyzer whose weights are missing"


def test_dwpose_postprocessing_pieces():
    from avatar_eval.regions import dwpose as D

    sx = np.zeros((1, 3, 20), np.float32)
    sy = np.zeros((1, 3, 30), np.float32)
    sx[0, 0, 7], sy[0, 0, 11] = 0.9, 0.6
    sx[0, 1, 3], sy[0, 1, 4] = 0.5, 0.8
    locs, vals = D.simcc_maximum(sx, sy)
    assert locs[0, 0].tolist() == [7, 11] and vals[0, 0] == pytest.approx(0.6)
    assert vals[0, 1] == pytest.approx(0.5) and locs[0, 2].tolist() == [-1, -1]
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], float)
    assert D.nms(boxes, np.array([0.9, 0.8, 0.7]), 0.45) == [0, 2]
    # the public code's slices: face 24:92 is the 68 face points shifted by one (includes the left-hand root)
    assert D.JWBDH_SLICES["face"] == slice(24, 92) and D.WHOLEBODY_SLICES["face"] == slice(23, 91)
    assert len(range(133)[D.JWBDH_SLICES["right_hand"]]) == 20  # 113:134 on 133 points: one point short


def _rec(model, sid, metric, value=None, status="ok", details=None, reason=None):
    return Record(model=model, sample_id=sid, metric=metric, status=status, value=value, details=details or {},
                  reason=reason, message=None if status == "ok" else "x")


def test_table_from_records(tmp_path):
    from avatar_eval.protocols.jwbdh import (
        TableCell,
        build_table,
        table_cell,
        to_markdown,
        wide_table,
        write_tables,
    )

    # cells from the metrics' fields, never from their names
    assert table_cell("jwbdh.ssim.face") == TableCell("ssim", "face", "default", "SSIM↑")
    assert table_cell("jwbdh.fid.hands.compat") == TableCell("fid", "hands", "compat", "FID↓")
    assert table_cell("vbench.subject_consistency") == TableCell("subject_consistency", "full", "default", "SC↑")
    assert table_cell("vbench.dynamic_degree.left_hand").region == "left_hand"
    # the DIS rows (issue 11: a four-part name used to drop out of the table)
    assert table_cell("vbench.dynamic_degree.face.offline") == TableCell("dynamic_degree.dis", "face", "default",
                                                                         "DD [dis]")
    assert table_cell("vbench.motion_smoothness.hands.offline_compat").variant == "compat"
    assert table_cell("vbench.dynamic_degree.dis.face") == table_cell("vbench.dynamic_degree.face.offline")  # old name
    assert table_cell("hands.hkc.offline") == TableCell("hkc.mediapipe-hands", "hands", "default",
                                                        "HKC↑ [mediapipe-hands]")
    assert table_cell("theval.lip_dynamics") is None and table_cell("identity.csim") is None
    recs = [_rec("A", f"s{i}", "jwbdh.ssim.face", 0.5 + 0.1 * i, details={"n_frames": 10}) for i in range(4)]
    recs += [_rec("A", "s9", "jwbdh.ssim.face", status="skipped", reason="undefined")]
    recs += [_rec("A", "__dataset__", "jwbdh.fid", 12.5, details={"n_gen": 300, "n_gen_clips": 3})]
    recs += [_rec("B", "__dataset__", "jwbdh.fid", status="skipped", reason="weights_unavailable")]
    recs += [_rec("gt", "s0", "jwbdh.ssim.face", 1.0)]
    recs += [_rec("A", f"s{i}", "vbench.dynamic_degree.face.offline", float(i % 2)) for i in range(4)]
    long = build_table(recs, n_boot=500)
    dis = long[(long.model == "A") & (long.metric == "dynamic_degree.dis")].iloc[0]
    assert dis.region == "face" and dis.variant == "default" and dis.value == 0.5 and dis.n_clips == 4
    row = long[(long.model == "A") & (long.metric == "ssim")].iloc[0]
    assert row.value == pytest.approx(0.65) and row.n_clips == 4 and row.n_frames == 40 and row.n_skipped == 1
    assert row.ci_low <= row.value <= row.ci_high
    fid = long[(long.model == "A") & (long.metric == "fid")].iloc[0]
    assert fid.value == 12.5 and fid.n_frames == 300 and fid.n_clips == 3 and np.isnan(fid.ci_low)
    b = long[(long.model == "B")].iloc[0]
    assert np.isnan(b.value) and b.reason == "weights_unavailable"
    assert "gt" not in set(long.model)
    zero = build_table(recs, failed_as_zero=True)
    assert zero[(zero.model == "A") & (zero.metric == "ssim")].iloc[0].value == pytest.approx((0.5 + 0.6 + 0.7 + 0.8) / 5)
    paths = write_tables(long, tmp_path)
    assert paths["md"].read_text().count("| A |") >= 1 and "weights_unavailable" in paths["md"].read_text()
    import pandas as pd

    assert len(pd.read_parquet(paths["parquet"])) == len(long) == len(pd.read_csv(paths["csv"]))
    w = wide_table(long)
    assert "Face · SSIM↑" in w.columns and "Face · DD [dis]" in w.columns
    md = to_markdown(long)
    assert "JWB-DH" in md and "DD [dis]" in md
    # one bootstrap: results/aggregate.py's, with its default
    from avatar_eval.results.aggregate import bootstrap_ci

    vals = [0.5 + 0.1 * i for i in range(4)]
    assert (row.ci_low, row.ci_high) == bootstrap_ci(vals, n_boot=500, seed=0)
    one = build_table(recs)
    r1 = one[(one.model == "A") & (one.metric == "ssim")].iloc[0]
    assert (r1.ci_low, r1.ci_high) == bootstrap_ci(vals)


def test_feature_cache_by_content(tmp_path):
    from avatar_eval.cache import FeatureCache

    src = tmp_path / "a.bin"
    src.write_bytes(b"abc" * 100)
    cache = FeatureCache(tmp_path / "cache")
    calls = []
    f = lambda: (calls.append(1), np.arange(6.0).reshape(2, 3))[1]  # noqa: E731
    a = cache.get_or_compute(src, "k.v1", f)
    shutil.copy(src, tmp_path / "b.bin")  # same content elsewhere: hit
    b = cache.get_or_compute(tmp_path / "b.bin", "k.v1", f)
    assert len(calls) == 1 and np.array_equal(a, b)
    cache.get_or_compute(src, "k.v2", f)  # another feature key: miss
    (tmp_path / "b.bin").write_bytes(b"xyz")  # edited content: miss
    cache.get_or_compute(tmp_path / "b.bin", "k.v1", f)
    assert len(calls) == 3 and cache.hits == 1
    with pytest.raises(ValueError):
        cache.path(src, "bad key/../x")


def test_suites_and_metadata():
    names = resolve_metrics(["jwbdh"])
    for r in ("full", "face", "hands", "left_hand", "right_hand"):
        for m in ("ssim", "psnr", "pixel_csim", "fid", "edge_fid", "fvd"):
            assert metric_name("jwbdh", m, r) in names
    assert "vbench.subject_consistency.face" in names and "vbench.imaging_quality.hands" in names
    assert "jwbdh.expression_fid.face" in names
    compat = resolve_metrics(["jwbdh.compat"])
    assert "jwbdh.fvd.hands.compat" in compat and "vbench.motion_smoothness.face.compat" in compat
    for cls in list_metrics("jwbdh"):
        assert cls.description and cls.level in ("pair", "dataset")
        assert cls.region in ("full", "face", "hands", "left_hand", "right_hand")
    assert get_metric_class("jwbdh.fid").weights == ("fid_inception_tf",)
    assert get_metric_class("jwbdh.fid.face.compat").weights == ("inception_v3_torchvision",)
    assert get_metric_class("jwbdh.fvd.face.compat").requires == ("region_crops.compat",)


def test_expression_fid_is_clearly_unavailable(halfbody):
    with pytest.raises(WeightsUnavailable, match="3DMM"):
        get_metric("jwbdh.expression_fid.face").features(halfbody)


def test_dataset_fid_reduce_invariances():
    rng = np.random.default_rng(0)
    m = get_metric("jwbdh.fid")
    gen = [rng.normal(size=(40, 8)) + 0.3 for _ in range(3)]
    gt = [rng.normal(size=(50, 8)) for _ in range(2)]
    v = m.reduce(gen, gt)
    assert v.details["n_gen"] == 120 and v.details["n_gt_clips"] == 2
    assert m.reduce(gen[::-1], gt).value == pytest.approx(v.value, rel=1e-9)  # clip order
    assert m.reduce([np.concatenate(gen)], gt).value == pytest.approx(v.value, rel=1e-9)  # batching into clips
    with pytest.warns(UserWarning):
        few = m.reduce([rng.normal(size=(5, 8))], [rng.normal(size=(6, 8))])
    assert few.details["few_samples_warning"]
    assert "every fid.frame_stride-th frame" in v.details["sampling"]
    fvd = get_metric("jwbdh.fvd.face")
    fv = fvd.reduce([rng.normal(size=(1, 8)) for _ in range(3)], [rng.normal(size=(1, 8)) for _ in range(3)])
    assert fv.details["unit"] == "clips" and "first 16 frames" in fv.details["sampling"]  # FVD states its sampling
    from avatar_eval.errors import MetricUndefined

    with pytest.raises(MetricUndefined):
        fvd.reduce([rng.normal(size=(1, 8))], [rng.normal(size=(1, 8))])
