"""Motion energy / diversity formulas on hand-computed inputs."""

import numpy as np
import pytest

from avatar_eval.metrics.functional import motion as MO


def test_hold_still_copies_the_previous_frame():
    p = np.arange(5, dtype=float)[:, None, None] * np.ones((5, 2, 2))
    out = MO.hold_still(p, np.array([False, True, True, False]))
    np.testing.assert_array_equal(out[:, 0, 0], [0, 1, 1, 1, 4])
    with pytest.raises(ValueError):
        MO.hold_still(p, np.array([True]))


def test_energy_of_constant_velocity():
    t = np.arange(10, dtype=float)
    pts = np.stack([np.stack([3 * t, 4 * t], -1), np.stack([3 * t + 1, 4 * t], -1)], axis=1)  # 5 px/frame
    v, n = MO.energy(pts, fps=25.0, scale=10.0)
    assert n == 9 and v == pytest.approx(5 * 25 / 10)
    # scale-free: the same motion drawn twice as large, measured in a twice larger unit
    assert MO.energy(2 * pts, 25.0, 20.0)[0] == pytest.approx(v)
    # a missing point in one frame drops only the transitions touching it
    pts[4, 0] = np.nan
    d = MO.mean_displacement(pts)
    assert np.all(d == pytest.approx(5.0)) and np.isfinite(d).all()
    pts[4, :] = np.nan
    d = MO.mean_displacement(pts)
    assert np.isnan(d[3]) and np.isnan(d[4]) and MO.energy(pts, 25.0)[1] == 7
    assert np.isnan(MO.energy(np.full((3, 1, 2), np.nan), 25.0)[0])


def test_diversities():
    ang = np.array([[0.0, 1.0, 2.0], [2.0, 1.0, 4.0], [4.0, 1.0, np.nan]])
    # the row with a NaN is left out: stds of [0, 2], [1, 1], [2, 4] = 1, 0, 1
    assert MO.pose_diversity(ang) == pytest.approx(2 / 3)
    pts = np.zeros((4, 2, 2))
    pts[:, 0, 0] = [0, 2, 0, 2]  # var 1 in x
    pts[:, 1, 1] = [1, 1, 3, 3]  # var 1 in y
    assert MO.body_diversity(pts, scale=2.0) == pytest.approx(np.sqrt(1.0) / 2)
    assert np.isnan(MO.body_diversity(pts[:1], 1.0))
