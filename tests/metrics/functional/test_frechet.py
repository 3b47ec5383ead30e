"""Fréchet distance against an independent eigenvalue formulation (scipy.linalg.eigh)."""

import warnings

import numpy as np
import pytest
from scipy import linalg

from avatar_eval.metrics.functional import frechet as FR


def independent_frechet(a: np.ndarray, b: np.ndarray) -> float:
    """tr((S1 S2)^½) = Σ √λ(S1^½ S2 S1^½): symmetric eigenproblems only, no sqrtm of a product."""
    m1, m2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, V = linalg.eigh(s1)
    r1 = (V * np.sqrt(np.clip(w, 0, None))) @ V.T
    lam = linalg.eigvalsh(r1 @ s2 @ r1)
    tr = np.sqrt(np.clip(lam, 0, None)).sum()
    return float(((m1 - m2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr)


@pytest.mark.parametrize("seed,d", [(0, 8), (1, 32), (2, 64)])
def test_frechet_matches_independent(seed, d):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, d)) / np.sqrt(d)
    a = rng.normal(size=(4 * d, d)) @ A
    b = rng.normal(size=(4 * d, d)) @ (A + 0.3 * np.eye(d)) + 0.5
    ref = independent_frechet(a, b)
    assert FR.frechet_from_features(a, b) == pytest.approx(ref, rel=1e-6)
    assert FR.frechet_distance_jwbdh(a, b) == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("seed,n1,n2,d", [(0, 10, 7, 64), (1, 40, 40, 256), (2, 300, 100, 64)])
def test_sample_route_matches_independent(seed, n1, n2, d):
    """The n1 × n2 nuclear-norm route against symmetric eigenproblems on the d × d covariances:
    fewer samples than dimensions (singular covariances) and more. rel 1e-7: the reference takes
    √ of the d − n round-off eigenvalues (~1e-14 each) that are exactly 0 in the sample route."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n1, d)) * rng.uniform(0.5, 2, d)
    b = rng.normal(size=(n2, d)) + 0.3
    ref = independent_frechet(a, b)
    assert FR.frechet_from_samples(a, b) == pytest.approx(ref, rel=1e-7)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FR.FewSamplesWarning)
        assert FR.frechet_from_features(a, b) == pytest.approx(ref, rel=1e-7)
    assert abs(FR.frechet_from_samples(a, a)) < 1e-9


def test_sample_route_rejects_bad_shapes():
    with pytest.raises(ValueError):
        FR.frechet_from_samples(np.zeros((3, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError):
        FR.frechet_from_samples(np.zeros((1, 4)), np.zeros((3, 4)))


def test_frechet_identical_sets_near_zero_and_order_invariant():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(200, 16))
    assert abs(FR.frechet_from_features(a, a)) < 1e-6
    b = rng.normal(size=(150, 16)) + 1.0
    perm = rng.permutation(len(a))
    assert FR.frechet_from_features(a[perm], b) == pytest.approx(FR.frechet_from_features(a, b), rel=1e-9)


def test_frechet_mean_shift_only():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(500, 4))
    b = a + np.array([1.0, 2.0, 0.0, 0.0])
    assert FR.frechet_from_features(a, b) == pytest.approx(5.0, rel=1e-6)


def test_warns_when_fewer_samples_than_dims():
    rng = np.random.default_rng(5)
    with pytest.warns(FR.FewSamplesWarning):
        FR.feature_stats(rng.normal(size=(16, 64)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        FR.feature_stats(rng.normal(size=(100, 64)))


def test_feature_stats_rejects_bad_shapes():
    with pytest.raises(ValueError):
        FR.feature_stats(np.zeros(5))
    with pytest.raises(ValueError):
        FR.feature_stats(np.zeros((1, 5)))


def test_fvd_jwbdh_single_video_rule():
    """One video per side: covariance 1e-6·I, +1e-6·I inside sqrtm only -> |Δμ|² − 2e-6·d."""
    rng = np.random.default_rng(6)
    d = 400
    f, r = rng.normal(size=(1, d)), rng.normal(size=(1, d))
    expect = float(((f - r) ** 2).sum()) - 2e-6 * d
    assert FR.fvd_jwbdh(f, r) == pytest.approx(expect, rel=1e-9, abs=1e-9)


def test_fvd_jwbdh_many_videos_close_to_frechet():
    rng = np.random.default_rng(7)
    a, b = rng.normal(size=(60, 6)), rng.normal(size=(60, 6)) + 0.2
    assert FR.fvd_jwbdh(a, b) == pytest.approx(independent_frechet(a, b), rel=1e-4)
