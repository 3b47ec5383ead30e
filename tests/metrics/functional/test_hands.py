"""HKC / HKV formulas against direct numpy computations."""

import numpy as np
import pytest

from avatar_eval.metrics.functional import hands as FH


def test_hkc_missing_counts_zero_or_skipped():
    c = np.array([[0.9, np.nan], [0.8, 0.6], [np.nan, np.nan]])
    assert FH.hkc(c) == pytest.approx((0.9 + 0.8 + 0.6) / 6)
    assert FH.hkc(c, missing="skip") == pytest.approx((0.9 + 0.8 + 0.6) / 3)
    with pytest.raises(ValueError):
        FH.hkc(c, missing="other")


def test_hkv_reference_and_invariances():
    rng = np.random.default_rng(0)
    T = 30
    p = rng.normal(size=(T, 2, 21, 2)) * 5 + 100
    p[5:9, 1] = np.nan  # right hand missing on 4 frames
    ref_l = p[:, 0].var(axis=0).mean()
    ok = np.isfinite(p[:, 1, 0, 0])
    ref_r = p[ok, 1].var(axis=0).mean()
    v, n = FH.hkv(p)
    assert n == 2 and v == pytest.approx((ref_l + ref_r) / 2, rel=1e-12)
    # translation does not change a variance; frame order does not either
    v2, _ = FH.hkv(p + 37.0)
    v3, _ = FH.hkv(p[rng.permutation(T)])
    assert v2 == pytest.approx(v, rel=1e-9) and v3 == pytest.approx(v, rel=1e-12)
    # static hands: zero; scale: squared
    assert FH.hkv(np.repeat(p[:1], T, axis=0))[0] == pytest.approx(0.0, abs=1e-20)
    assert FH.hkv(p, scale=10.0)[0] == pytest.approx(v / 100, rel=1e-12)


def test_hkv_undefined_without_two_frames():
    p = np.full((3, 2, 21, 2), np.nan)
    p[0, 0] = 1.0
    v, n = FH.hkv(p)
    assert np.isnan(v) and n == 0
