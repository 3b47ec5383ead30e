"""Pair alignment rule, lockstep pass, pair metrics vs independent computation."""

import numpy as np
import pytest
from jwbdh_data import clip
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from avatar_eval.errors import InputError, MetricUndefined
from avatar_eval.io.video import VideoInfo, iter_frames
from avatar_eval.metrics.registry import get_metric
from avatar_eval.pipeline.context import ClipContext, PairContext
from avatar_eval.pipeline.pairs import aligned_pairs, pair_get, pair_prepare, pair_stats, plan_alignment


def info(w=256, h=256, fps=25.0, n=100):
    return VideoInfo("x.mp4", w, h, fps, n, n / fps, "h264", False, None, None, 1)


def test_alignment_rules():
    al = plan_alignment(info(), info())
    assert al.mode == "index" and not al.resize_gen
    assert aligned_pairs(al, 90, 100)[-1].tolist() == [89, 89]
    al = plan_alignment(info(fps=12.5, n=50), info(fps=25.0))
    assert al.mode == "time"
    p = aligned_pairs(al, 50, 100)
    assert p[:5].tolist() == [[0, 0], [0, 1], [1, 2], [2, 3], [2, 4]]  # round(i/2): banker's rounding of .5
    al = plan_alignment(info(w=512, h=512), info())
    assert al.resize_gen
    with pytest.raises(InputError, match="aspect"):
        plan_alignment(info(w=256, h=200), info())
    with pytest.raises(InputError, match="frame rates differ"):
        plan_alignment(info(fps=30), info(fps=25), {"fps_mismatch": "refuse"})
    with pytest.raises(InputError, match="min_overlap"):
        plan_alignment(info(n=20), info(n=100))
    assert plan_alignment(info(n=20), info(n=100), {"min_overlap": 0}).mode == "index"


@pytest.fixture(scope="module")
def aragaki_pair():
    gen = ClipContext(clip("aragaki_gen_20f.mp4"), sample_id="a", model="m1")
    gt = ClipContext(clip("aragaki_gt_20f.mp4"), sample_id="a", model="gt")
    pair = PairContext(gen, gt)
    names = ["jwbdh.ssim", "jwbdh.psnr", "jwbdh.pixel_csim", "jwbdh.ssim.face",
             "jwbdh.psnr.face", "jwbdh.ssim.hands", "jwbdh.ssim.compat", "jwbdh.psnr.compat",
             "jwbdh.ssim.face.compat", "jwbdh.fid"]
    pair_prepare(pair, names)
    return pair


def test_lockstep_decodes_each_clip_once(aragaki_pair):
    assert aragaki_pair.gen.decode_count == 1 and aragaki_pair.gt.decode_count == 1
    assert pair_stats(aragaki_pair)["pair_decodes"] == 1
    # the generated clip's dataset-metric artifact was attempted in the same pass (no weights -> failure cached)
    with pytest.raises(Exception, match="fid_inception"):
        aragaki_pair.gen.get("fid_inception:full")
    assert aragaki_pair.gen.decode_count == 1


def test_full_frame_metrics_equal_skimage(aragaki_pair):
    gen = [f.rgb for f in iter_frames(aragaki_pair.gen.video_path)]
    gt = [f.rgb for f in iter_frames(aragaki_pair.gt.video_path)]
    ssim = np.mean([structural_similarity(a, b, data_range=255, win_size=7, channel_axis=-1) for a, b in zip(gen, gt)])
    psnr = np.mean([peak_signal_noise_ratio(b, a, data_range=255) for a, b in zip(gen, gt)])
    v = get_metric("jwbdh.ssim").compute_pair(aragaki_pair)
    assert v.value == pytest.approx(ssim, abs=1e-6) and v.details["n_frames"] == 20
    assert get_metric("jwbdh.psnr").compute_pair(aragaki_pair).value == pytest.approx(psnr, abs=1e-6)
    # compat: the first 16 frames only
    ssim16 = np.mean([structural_similarity(b, a, data_range=255, win_size=7, channel_axis=-1) for a, b in zip(gen[:16], gt[:16])])
    c = get_metric("jwbdh.ssim.compat").compute_pair(aragaki_pair)
    assert c.value == pytest.approx(ssim16, abs=1e-6) and c.details["n_frames"] == 16


def test_region_metrics_and_missing_region(aragaki_pair):
    v = get_metric("jwbdh.ssim.face").compute_pair(aragaki_pair)
    assert 0 < v.value < 1 and v.details["n_frames"] == 20
    d = pair_get(aragaki_pair, "pair_frames.regions")["face"]
    gen_c = aragaki_pair.gen.get("region_crops")["face"].array()
    gt_c = aragaki_pair.gt.get("region_crops")["face"].array()
    ref = np.mean([structural_similarity(a, b, data_range=255, channel_axis=-1) for a, b in zip(gen_c, gt_c)])
    assert v.value == pytest.approx(ref, abs=1e-6)
    assert d["valid"].all()
    with pytest.raises(MetricUndefined, match="no aligned frame pair"):  # portraits: no hands on either side
        get_metric("jwbdh.ssim.hands").compute_pair(aragaki_pair)


def test_identical_pair_and_fps_mismatch():
    a = ClipContext(clip("aragaki_gt_20f.mp4"), model="m")
    b = ClipContext(clip("aragaki_gt_20f.mp4"), model="gt")
    pair = PairContext(a, b)
    pair_prepare(pair, ["jwbdh.ssim", "jwbdh.psnr"])
    assert get_metric("jwbdh.ssim").compute_pair(pair).value == pytest.approx(1.0, abs=1e-12)
    with pytest.raises(MetricUndefined, match="identical"):
        get_metric("jwbdh.psnr").compute_pair(pair)
    # generated at 12.5 fps vs GT at 25 fps: time-aligned, GT frame i <-> generated frame round(i/2);
    # GT frame 19 would need generated frame 10, past the end: unpaired, counted
    g = ClipContext(clip("aragaki_gen_12p5fps.mp4"), model="m")
    t = ClipContext(clip("aragaki_gt_20f.mp4"), model="gt")
    p2 = PairContext(g, t)
    pair_prepare(p2, ["jwbdh.ssim"])
    v = get_metric("jwbdh.ssim").compute_pair(p2)
    al = v.details["alignment"]
    assert al["mode"] == "time" and al["n_pairs"] == 19 and al["n_gen"] == 10 and al["unpaired_gt"] == 1
    gen = [f.rgb for f in iter_frames(g.video_path)]
    gt = [f.rgb for f in iter_frames(t.video_path)]
    ref = np.mean([structural_similarity(gen[int(round(i / 2))], gt[i], data_range=255, channel_axis=-1) for i in range(19)])
    assert v.value == pytest.approx(ref, abs=1e-6)
    p3 = PairContext(ClipContext(clip("aragaki_gen_12p5fps.mp4"), options={"pair": {"fps_mismatch": "refuse"}}),
                     ClipContext(clip("aragaki_gt_20f.mp4")))
    pair_prepare(p3, ["jwbdh.ssim"])
    with pytest.raises(InputError, match="frame rates differ"):
        get_metric("jwbdh.ssim").compute_pair(p3)


def test_different_resolution_is_resized_not_mispaired(tmp_path):
    """A 128x128 copy of the GT clip vs the GT: resized to 256x256, high similarity, reported."""
    import av
    import cv2

    src = clip("aragaki_gt_20f.mp4")
    out = tmp_path / "small.mp4"
    c = av.open(str(out), "w")
    s = c.add_stream("libx264", rate=25)
    s.width = s.height = 128
    s.pix_fmt = "yuv420p"
    s.options = {"crf": "10"}
    for f in iter_frames(src):
        for pk in s.encode(av.VideoFrame.from_ndarray(cv2.resize(f.rgb, (128, 128), interpolation=cv2.INTER_AREA), format="rgb24")):
            c.mux(pk)
    for pk in s.encode():
        c.mux(pk)
    c.close()
    pair = PairContext(ClipContext(str(out), model="m"), ClipContext(src, model="gt"))
    pair_prepare(pair, ["jwbdh.ssim"])
    v = get_metric("jwbdh.ssim").compute_pair(pair)
    assert v.details["alignment"]["resize_gen"] and v.details["alignment"]["gen_size"] == [128, 128]
    assert v.value > 0.8
