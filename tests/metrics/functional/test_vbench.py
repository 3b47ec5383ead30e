"""VBench formulas against hand-computed values."""

import numpy as np
import pytest

from avatar_eval.metrics.functional import vbench as fv


def test_consistency_hand_computed():
    # frame 0 = e1, frame 1 = (e1+e2)/√2, frame 2 = e2, frame 3 = -e1 (negative cosines clip at 0)
    f = np.array([[1, 0], [1, 1], [0, 1], [-1, 0]], dtype=float)
    r = fv.temporal_consistency(f)
    s = 1 / np.sqrt(2)
    expected_terms = [(s + s) / 2, (s + 0) / 2, (0 + 0) / 2]
    np.testing.assert_allclose(r.per_frame, expected_terms, atol=1e-12)
    assert r.count == 3
    assert r.video_score == pytest.approx(sum(expected_terms) / 3)
    # unnormalised features give the same value (VBench L2-normalises first)
    assert fv.temporal_consistency(f * 7.0).video_score == pytest.approx(r.video_score)


def test_consistency_aggregate_is_frame_weighted():
    a = fv.temporal_consistency(np.array([[1.0, 0], [1, 0]]))  # 1 term of 1.0
    b = fv.temporal_consistency(np.array([[1.0, 0], [0, 1], [0, 1], [0, 1]]))  # terms 0, .5, .5
    assert fv.aggregate_consistency([a, b]) == pytest.approx((1.0 + 0 + 0.5 + 0.5) / 4)
    with pytest.raises(ValueError):
        fv.temporal_consistency(np.ones((1, 4)))


def test_dynamic_interval_uses_python_round():
    assert fv.dynamic_interval(25) == 3  # 3.125
    assert fv.dynamic_interval(30) == 4  # 3.75
    assert fv.dynamic_interval(20) == 2  # 2.5 → half to even
    assert fv.dynamic_interval(4) == 1  # round(0.5) = 0 → max(1, ·)


def test_dynamic_params_thresholds():
    thres, count = fv.dynamic_params(512, 288, 40)
    assert thres == pytest.approx(6 * 288 / 256)
    assert count == 10
    assert fv.dynamic_params(256, 256, 10) == (6.0, 2)  # round(2.5) = 2
    assert fv.dynamic_params(256, 256, 14)[1] == 4  # round(3.5) = 4
    assert fv.dynamic_params(256, 256, 2)[1] == 0  # round(0.5) = 0


def test_is_dynamic_check_move_semantics():
    assert fv.is_dynamic([7, 1, 7], 6.0, 2) is True
    assert fv.is_dynamic([7, 1, 1], 6.0, 2) is False
    assert fv.is_dynamic([6.0, 6.0], 6.0, 1) is False  # strictly greater
    assert fv.is_dynamic([0.0], 6.0, 0) is True  # count_num 0: True after the first pair
    assert fv.is_dynamic([], 6.0, 0) is False


def test_top_magnitude_mean():
    flow = np.zeros((2, 10, 10))
    flow[0, 0, :5] = 3.0  # 5 pixels of magnitude 5 (3,4)
    flow[1, 0, :5] = 4.0
    # int(100 * 0.05) = 5 largest → all 5.0
    assert fv.top_magnitude_mean(flow) == pytest.approx(5.0)
    assert fv.top_magnitude_mean(np.moveaxis(flow, 0, -1)) == pytest.approx(5.0)
    flow[0, 1, 0] = 100.0
    assert fv.top_magnitude_mean(flow) == pytest.approx((100 + 4 * 5) / 5)


def test_motion_smoothness_formula_and_triples():
    assert fv.smoothness_pairs(5) == [(0, 2, 1), (2, 4, 3)]
    assert fv.smoothness_pairs(6) == [(0, 2, 1), (2, 4, 3)]  # frame 5 has no right neighbour
    a = np.full((4, 4, 3), 10, np.uint8)
    b = np.full((4, 4, 3), 13, np.uint8)
    assert fv.abs_diff_mean(a, b) == 3.0
    assert fv.abs_diff_mean(b, a) == 3.0  # absdiff, no uint8 wrap-around
    assert fv.motion_smoothness_score([3.0, 1.0]) == pytest.approx((255 - 2.0) / 255)
    np.testing.assert_array_equal(fv.float_to_uint8_truncate(np.array([0.999, 0.5, 1.2, -0.1])), [254, 127, 255, 0])


def test_imaging_and_aesthetic_scaling():
    assert fv.imaging_resize_size(1080, 1920) == (288, 512)
    assert fv.imaging_resize_size(512, 300) == (512, 300)
    assert fv.imaging_resize_size(1000, 700, "shorter") == (731, 512)
    assert fv.imaging_score([50.0, 70.0]) == pytest.approx(0.6)
    assert fv.aesthetic_score([5.0, 6.0]) == pytest.approx(0.55)
