"""JWB-DH box rules (public code, re-derived by hand), smoothing, manifest boxes."""

import json

import numpy as np
import pytest

from avatar_eval.errors import InputError
from avatar_eval.regions import boxes as B


def test_face_box_expansion_and_threshold():
    pts = np.array([[100, 200], [140, 260], [500, 500]], dtype=float)
    sc = np.array([0.9, 0.5, 0.2])  # the third point is dropped (score <= 0.3)
    # min/max: x 100..140 (w 40), y 200..260 (h 60) -> expand int(20), int(30) per side
    assert B.jwbdh_face_box(pts, sc, 1000, 1000) == (80, 170, 160, 290)


def test_face_box_min_50_and_clipping():
    pts = np.array([[10, 10], [20, 22]], dtype=float)
    # w 10, h 12 -> expanded (5, 4, 25, 28) = 20x24 < 50 -> 50x50 around centre (15, 16), clipped at 0
    assert B.jwbdh_face_box(pts, np.ones(2), 640, 480) == (0, 0, 40, 41)
    assert B.jwbdh_face_box(pts, np.full(2, 0.3), 640, 480) is None  # score must exceed 0.3


def test_hand_box_union_and_small_rule():
    left = np.array([[100, 100], [110, 130]], float)  # w 10 < 20: small rule for the union?
    right = np.array([[300, 120], [340, 160]], float)
    pts = np.vstack([left, right])
    sc = np.ones(4)
    # union x 100..340 (w 240), y 100..160 (h 60): normal rule, expand 120 / 30
    assert B.jwbdh_hand_box(pts, sc, 1000, 1000) == (0, 70, 460, 190)
    # one small hand alone: w 10 < 20 -> expand by max(w, h) = 30 on every side
    assert B.jwbdh_hand_box(left, np.ones(2), 1000, 1000) == (70, 70, 140, 160)
    assert B.jwbdh_hand_box(pts, np.zeros(4), 1000, 1000) is None


def test_area_filter_and_fallback():
    boxes = {0: (0, 0, 50, 50), 1: (0, 0, 100, 100), 2: (0, 0, 40, 40), 3: (0, 0, 10, 10)}
    kept, st = B.jwbdh_area_keep("face", boxes)  # areas 2500, 10000, 1600, 100
    assert kept == [0, 1] and st["too_small"] == 2 and st["too_big"] == 0 and not st["fallback_all"]
    kept, st = B.jwbdh_area_keep("face", {5: (0, 0, 200, 200)})
    assert kept == [5] and st["fallback_all"] == 1 and st["too_big"] == 1
    kept, st = B.jwbdh_area_keep("hands", {0: (0, 0, 100, 150)})  # 15000: inclusive upper bound
    assert kept == [0] and not st["fallback_all"]


def test_smoothing_is_causal_and_streaming_equal():
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(40, 3)) * 3 + np.array([100, 100, 50])
    raw[[3, 4, 5, 6, 20]] = np.nan
    raw[0] = np.nan
    s = B.smooth_squares(raw, 3)
    assert np.isnan(s[0]).all()
    assert np.allclose(s[1], raw[1])
    assert np.allclose(s[2], raw[1:3].mean(0))
    assert np.allclose(s[6], raw[2])  # rows 4,5,6 missing: hold the previous box (window 2..4 -> raw[2])
    # causal: changing the future does not change the past
    raw2 = raw.copy()
    raw2[30:] += 50
    assert np.allclose(B.smooth_squares(raw2, 3)[:30], s[:30], equal_nan=True)
    sm = B.CausalSmoother(3)
    stream = np.array([sm.push(r) for r in raw])
    assert np.allclose(stream, s, equal_nan=True)


def test_square_crop_pads_outside_frame():
    img = np.full((20, 30, 3), 200, np.uint8)
    c = B.crop_square(img, np.array([0.0, 0.0, 10.0]), 10)
    assert c.shape == (10, 10, 3)
    assert (c[:5, :5] == 0).all() and (c[5:, 5:] == 200).all()


def test_square_crop_inside_frame_equals_padded_copy():
    """A square inside the frame is resized from a view of the frame (speed, issue 14): the same
    output as resizing the contiguous copy, for downscaling (INTER_AREA) and upscaling (linear),
    squares touching each edge included."""
    import cv2

    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (300, 420, 3), dtype=np.uint8)
    for cx, cy, side in ((200.0, 150.0, 257.0), (60.0, 60.0, 120.0), (380.0, 240.0, 80.0), (210.4, 149.6, 33.0),
                         (5.0, 5.0, 10.0)):
        for out in (224, 128, 17):
            got = B.crop_square(img, np.array([cx, cy, side]), out)
            s = max(1, int(round(side)))
            x0, y0 = int(round(cx - s / 2.0)), int(round(cy - s / 2.0))
            patch = np.ascontiguousarray(img[y0 : y0 + s, x0 : x0 + s])
            interp = cv2.INTER_AREA if s > out else cv2.INTER_LINEAR
            assert np.array_equal(got, cv2.resize(patch, (out, out), interpolation=interp)), (cx, cy, side, out)


def test_manifest_boxes_json_npz_and_errors(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"format": "xywh", "boxes": {"face": [[10, 20, 30, 40], None], "left_hand": [None]}}))
    out = B.load_manifest_boxes(str(p))
    assert np.allclose(out["face"][0], [10, 20, 40, 60]) and np.isnan(out["face"][1]).all()
    z = tmp_path / "b.npz"
    np.savez(z, hands=np.array([[0.1, 0.1, 0.5, 0.5]]), normalized=True)
    out = B.load_manifest_boxes(str(z), width=200, height=100)
    assert np.allclose(out["hands"][0], [20, 10, 100, 50])
    with pytest.raises(InputError, match="unknown region"):
        B.load_manifest_boxes({"boxes": {"feet": [[0, 0, 1, 1]]}})
    with pytest.raises(InputError, match="empty boxes"):
        B.load_manifest_boxes({"boxes": {"face": [[10, 10, 5, 20]]}})
    with pytest.raises(InputError, match="not found"):
        B.load_manifest_boxes(str(tmp_path / "nope.json"))


def test_manifest_spec_applies_to_gt_unless_told():
    class C:
        def __init__(self, model, options):
            self.model, self.options = model, options

    spec = {"boxes": {"face": [[0, 0, 10, 10]]}}
    assert B.manifest_spec_for(C("gt", {"regions_file": spec})) is spec
    assert B.manifest_spec_for(C("modelA", {"regions_file": spec})) is None
    spec_all = dict(spec, apply_to="all")
    assert B.manifest_spec_for(C("modelA", {"region_boxes": spec_all})) is spec_all
    per = {"models": {"gt": spec, "modelA": spec_all}}
    assert B.manifest_spec_for(C("modelA", {"regions_file": per})) is spec_all
