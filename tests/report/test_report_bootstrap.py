"""bootstrap_ci against scipy.stats.bootstrap (percentile) and hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import avatar_eval.results.bootstrap as bootstrap_module
from avatar_eval.results.aggregate import bootstrap_ci, bootstrap_means


def _scipy_ci(x, confidence, n_resamples, seed):
    res = stats.bootstrap(
        (x,), np.mean, confidence_level=confidence, n_resamples=n_resamples, method="percentile",
        rng=np.random.default_rng(seed),
    )
    return res.confidence_interval.low, res.confidence_interval.high


@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
@pytest.mark.parametrize("dist", ["normal", "lognormal"])
def test_ci_matches_scipy_percentile_bootstrap(confidence, dist):
    rng = np.random.default_rng(123)
    x = rng.normal(3.0, 2.0, size=40) if dist == "normal" else rng.lognormal(0.0, 1.0, size=40)
    se = x.std(ddof=1) / math.sqrt(x.size)
    lo, hi = bootstrap_ci(x, confidence=confidence, n_boot=40_000, seed=1)
    slo, shi = _scipy_ci(x, confidence, 40_000, seed=2)
    # Monte-Carlo error of a bootstrap percentile with 40k resamples is ~0.02-0.05 se;
    # a wrong level (e.g. 90% instead of 95%) is off by ~0.3 se.
    tol = 0.12 * se
    assert abs(lo - slo) < tol, (lo, slo, tol)
    assert abs(hi - shi) < tol, (hi, shi, tol)
    assert lo < x.mean() < hi


def test_tolerance_above_would_catch_a_wrong_level():
    """The tolerance of the scipy comparison is tight enough to see a wrong confidence level."""
    rng = np.random.default_rng(123)
    x = rng.normal(3.0, 2.0, size=40)
    se = x.std(ddof=1) / math.sqrt(x.size)
    lo90, hi90 = bootstrap_ci(x, confidence=0.90, n_boot=40_000, seed=1)
    slo, shi = _scipy_ci(x, 0.95, 40_000, seed=2)
    assert abs(lo90 - slo) > 0.12 * se and abs(hi90 - shi) > 0.12 * se


def test_ci_is_percentiles_of_resampled_means_same_draws():
    """Same index draws as an independent re-implementation -> identical interval."""
    x = np.random.default_rng(5).exponential(size=25)
    n_boot = 5000
    idx = np.random.default_rng(9).integers(0, x.size, size=(n_boot, x.size))
    ref_means = x[idx].mean(axis=1)
    np.testing.assert_allclose(bootstrap_means(x, n_boot=n_boot, seed=9), ref_means, rtol=0, atol=1e-12)
    ref = np.percentile(ref_means, [2.5, 97.5])
    np.testing.assert_allclose(bootstrap_ci(x, n_boot=n_boot, seed=9), ref, rtol=0, atol=1e-12)


def test_chunking_does_not_change_the_result(monkeypatch):
    x = np.random.default_rng(0).normal(size=37)
    whole = bootstrap_means(x, n_boot=1001, seed=3)
    monkeypatch.setattr(bootstrap_module, "_CHUNK_ELEMENTS", 37 * 5 + 3)  # chunks of 5 resamples, odd sizes
    chunked = bootstrap_means(x, n_boot=1001, seed=3)
    np.testing.assert_array_equal(whole, chunked)


def test_two_point_sample_hand_computed():
    # resampled means of {0, 1} are 0 (p=1/4), 0.5 (p=1/2), 1 (p=1/4): 2.5% -> 0, 97.5% -> 1
    assert bootstrap_ci([0.0, 1.0], n_boot=20_000, seed=0) == (0.0, 1.0)


def test_constant_sample_gives_degenerate_interval():
    assert bootstrap_ci([2.5] * 7, n_boot=500, seed=0) == (2.5, 2.5)


@pytest.mark.parametrize("values", [[], [4.2]])
def test_fewer_than_two_values_give_nan(values):
    lo, hi = bootstrap_ci(values)
    assert math.isnan(lo) and math.isnan(hi)


def test_seeded_and_reproducible():
    x = np.arange(12.0) ** 1.5
    assert bootstrap_ci(x, seed=4) == bootstrap_ci(x, seed=4)
    assert bootstrap_ci(x, seed=4) != bootstrap_ci(x, seed=5)


def test_default_is_10000_resamples():
    x = np.random.default_rng(2).normal(size=10)
    assert bootstrap_ci(x, seed=11) == bootstrap_ci(x, seed=11, n_boot=10_000)
    assert bootstrap_ci(x, seed=11) != bootstrap_ci(x, seed=11, n_boot=9_999)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, float("nan")])
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], confidence=1.5)


def test_one_bootstrap_for_every_interval():
    """Summary tables, JWB-DH tables, speech WER / win rates and study ρ draw their resamples
    with the one routine and default (results/bootstrap.py): same seed and n, same resamples."""
    from avatar_eval.results.bootstrap import DEFAULT_N_BOOT
    from avatar_eval.speech.stats import bootstrap_ratio_ci

    x = np.random.default_rng(5).uniform(size=23)
    means = bootstrap_means(x, n_boot=999, seed=4)
    # the ratio CI with den = 1 is the bootstrap of the mean: the same resamples give its quantiles
    lo, hi = bootstrap_ratio_ci(x, n_boot=999, seed=4)
    assert (lo, hi) == tuple(float(v) for v in np.quantile(means, [0.025, 0.975]))
    import inspect

    from avatar_eval.protocols.jwbdh import build_table
    from avatar_eval.study.stats import spearman_with_ci

    for f in (bootstrap_ci, bootstrap_means, bootstrap_ratio_ci, build_table, spearman_with_ci):
        assert inspect.signature(f).parameters["n_boot"].default == DEFAULT_N_BOOT, f.__name__
