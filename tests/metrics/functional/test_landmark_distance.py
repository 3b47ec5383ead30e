"""M-LMD / F-LMD formula on hand-placed landmarks."""

import numpy as np
import pytest

from avatar_eval.metrics.functional import landmark_distance as L


def _gt():
    p = np.zeros((1, 478, 2))
    p[0, 33] = (-0.5, 0.0)
    p[0, 263] = (0.5, 0.0)  # centroid (0, 0), inter-ocular distance 1
    return p


def test_hand_computed_lmd():
    gt = _gt()
    gen = gt.copy()
    d = 0.4
    gen[0, 61, 0] += d   # two lip corners moved towards each other: centroid and IOD unchanged
    gen[0, 291, 0] -= d
    m, det = L.lmd(gt, gen, L.MOUTH)
    f, _ = L.lmd(gt, gen, L.FACE)
    assert m == pytest.approx(2 * d / 40)   # 2 of the 40 lip points moved by d IOD
    assert f == pytest.approx(2 * d / 468)  # 2 of the 468 mesh points
    assert det["n_frames_compared"] == 1


def test_translation_and_scale_are_aligned_and_nan_frames_skipped():
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 478, 2)) * 50 + 200
    gen = 2.5 * gt + np.array([13.0, -7.0])
    assert L.lmd(gt, gen, L.FACE)[0] == pytest.approx(0.0, abs=1e-12)
    gen[1] = np.nan
    v, det = L.lmd(gt, gen[:2], L.MOUTH)
    assert v == pytest.approx(0.0, abs=1e-12) and det["n_frames_compared"] == 1 and det["n_frames_skipped"] == 1
    assert np.isnan(L.lmd(gt[:1], np.full((1, 478, 2), np.nan))[0])
