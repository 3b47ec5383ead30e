"""Confidence intervals used by the speech protocol (numpy only).

* :func:`bootstrap_ratio_ci`: percentile bootstrap over items of ``sum(num) / sum(den)``. With
  ``den = 1`` it is the bootstrap of a mean (win-rates); with ``num`` = word errors and ``den`` =
  reference words it is the corpus WER, resampling utterances (the unit that was sampled).
* :func:`wilson_ci`: Wilson score interval of a binomial proportion (position bias).

Resampling is seeded, so a report is reproducible bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..results.bootstrap import DEFAULT_N_BOOT, bootstrap_distribution

__all__ = ["bootstrap_ratio_ci", "wilson_ci", "DEFAULT_N_BOOT"]


def bootstrap_ratio_ci(
    num: Sequence[float] | np.ndarray,
    den: Sequence[float] | np.ndarray | None = None,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile CI of ``sum(num)/sum(den)`` resampling items with replacement.

    Returns ``None`` when there is no item. One item gives a degenerate interval (the value
    itself): report ``n`` next to the interval.
    """
    x = np.asarray(num, dtype=np.float64).reshape(-1)
    d = np.ones_like(x) if den is None else np.asarray(den, dtype=np.float64).reshape(-1)
    if x.shape != d.shape:
        raise ValueError("num and den must have the same length")
    n = x.size
    if n == 0 or d.sum() <= 0:
        return None

    def ratio(idx: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return x[idx].sum(axis=1) / d[idx].sum(axis=1)

    s = bootstrap_distribution(n, ratio, n_boot=n_boot, seed=seed)
    s = s[np.isfinite(s)]  # a resample whose denominator is 0 has no value
    if s.size == 0:
        return None
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(s, [a, 1.0 - a])
    return float(lo), float(hi)


def wilson_ci(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval of ``successes / n``; ``None`` when ``n == 0``."""
    if n <= 0:
        return None
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - confidence) / 2))
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)
