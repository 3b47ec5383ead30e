"""Statistics of pairwise human judgements (pure numpy / scipy; no I/O).

* :func:`bradley_terry`: Bradley–Terry strengths by Hunter's (2004) MM algorithm, batched so
  bootstrap replicates are fitted together. Ties count half a win to each side. ``prior``
  pseudo-wins per compared pair keep strengths finite under perfect separation (0 = plain MLE).
* :func:`win_rates`: (wins + ½ ties) / comparisons per model.
* :func:`gsb_score`: JoyAvatar's (G + S) / (B + S); ``inf`` when B + S = 0 and G > 0 (every
  judgement favours the model), ``nan`` when there is no judgement at all.
* :func:`krippendorff_alpha_nominal`: inter-rater agreement with any number of raters per item.
* :func:`spearman_with_ci`: Spearman ρ and p (scipy) with a percentile bootstrap CI over the
  paired points (THEval: 10,000 resamples).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
from scipy import stats as sps

from ..results.bootstrap import DEFAULT_N_BOOT, bootstrap_distribution


def bradley_terry(W: np.ndarray, N: np.ndarray, *, prior: float = 0.5,
                  prior_mask: np.ndarray | None = None, max_iter: int = 20000,
                  tol: float = 1e-10) -> np.ndarray:
    """Log-strengths (mean 0 over models) from win matrices.

    ``W[..., i, j]``: wins of i over j (ties as ½ each); ``N[..., i, j]``: comparisons of i and j
    (symmetric). A leading batch axis is allowed: ``W`` of shape (B, n, n) gives (B, n).
    ``prior`` adds that many wins to each side of every pair in ``prior_mask`` (default: the
    pairs compared at least once), i.e. a weak pull towards equal strengths.
    """
    W = np.asarray(W, dtype=float)
    N = np.asarray(N, dtype=float)
    squeeze = W.ndim == 2
    if squeeze:
        W, N = W[None], N[None]
    n = W.shape[-1]
    if prior > 0:
        mask = (N.sum(axis=0) > 0) if prior_mask is None else np.asarray(prior_mask, bool)
        mask = mask & ~np.eye(n, dtype=bool)
        W = W + prior * mask
        N = N + 2 * prior * mask
    wins = W.sum(axis=-1)  # (B, n)
    p = np.ones(W.shape[:-1])
    for _ in range(max_iter):
        denom = (N / (p[..., :, None] + p[..., None, :])).sum(axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = np.where(denom > 0, wins / denom, p)
        new = np.maximum(new, 1e-300)
        new = new / np.exp(np.log(new).mean(axis=-1, keepdims=True))
        delta = np.nanmax(np.abs(np.log(new) - np.log(p)))
        p = new
        if delta < tol:
            break
    out = np.log(p)
    out = out - out.mean(axis=-1, keepdims=True)
    return out[0] if squeeze else out


def bt_loglik(theta: np.ndarray, W: np.ndarray, N: np.ndarray) -> float:
    """Bradley–Terry log-likelihood of log-strengths ``theta`` (for checks)."""
    d = theta[:, None] - theta[None, :]
    logp = -np.logaddexp(0.0, -d)  # log sigmoid(θi − θj)
    return float((W * logp).sum())


def win_rates(W: np.ndarray, N: np.ndarray) -> np.ndarray:
    """(wins + ½ ties) / comparisons per model; works on a leading batch axis too."""
    num = W.sum(axis=-1)
    den = N.sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def gsb_score(g: float, s: float, b: float) -> float:
    """(G + S) / (B + S). B + S = 0: ``inf`` if G > 0, ``nan`` when there are no votes."""
    den = b + s
    if den == 0:
        return math.inf if g > 0 else math.nan
    return (g + s) / den


def krippendorff_alpha_nominal(units: Iterable[Sequence[Hashable]]) -> float:
    """Krippendorff's α for nominal data; ``units`` = the ratings of each item (any count).

    Items with fewer than two ratings are not pairable and are ignored. Returns ``nan`` when
    fewer than two ratings are pairable or only one category occurs (α undefined).
    """
    coinc: Counter = Counter()
    for u in units:
        vals = list(u)
        m = len(vals)
        if m < 2:
            continue
        cnt = Counter(vals)
        for c, nc in cnt.items():
            for k, nk in cnt.items():
                pairs = nc * (nk - 1) if c == k else nc * nk
                if pairs:
                    coinc[(c, k)] += pairs / (m - 1)
    if not coinc:
        return math.nan
    cats = sorted({c for c, _ in coinc}, key=repr)
    n_c = {c: sum(coinc[(c, k)] for k in cats) for c in cats}
    n = sum(n_c.values())
    if n <= 1:
        return math.nan
    d_o = sum(v for (c, k), v in coinc.items() if c != k)
    d_e = sum(n_c[c] * n_c[k] for c in cats for k in cats if c != k)
    if d_e == 0:
        return math.nan
    return 1.0 - (n - 1) * d_o / d_e


def pairwise_agreement(units: Iterable[Sequence[Hashable]]) -> float:
    """Share of agreeing rater pairs, averaged over items with ≥ 2 ratings."""
    vals = []
    for u in units:
        m = len(u)
        if m < 2:
            continue
        cnt = Counter(u)
        vals.append(sum(v * (v - 1) for v in cnt.values()) / (m * (m - 1)))
    return float(np.mean(vals)) if vals else math.nan


def _rowwise_spearman(xb: np.ndarray, yb: np.ndarray) -> np.ndarray:
    rx = sps.rankdata(xb, axis=1)
    ry = sps.rankdata(yb, axis=1)
    rx = rx - rx.mean(axis=1, keepdims=True)
    ry = ry - ry.mean(axis=1, keepdims=True)
    den = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, (rx * ry).sum(axis=1) / np.where(den > 0, den, 1), np.nan)


def spearman_with_ci(x: Sequence[float], y: Sequence[float], *, n_boot: int = DEFAULT_N_BOOT,
                     seed: int = 0, level: float = 0.95) -> dict[str, float]:
    """Spearman ρ and its p-value (scipy), with a percentile bootstrap CI over the points.

    Resamples whose ranks are constant (ρ undefined) are dropped; ``n_boot_valid`` says how
    many were kept. Fewer than 3 points: everything ``nan``.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n = len(x)
    out = {"rho": math.nan, "p": math.nan, "ci_low": math.nan, "ci_high": math.nan, "n": n,
           "n_boot_valid": 0}
    if n < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return out
    res = sps.spearmanr(x, y)
    out["rho"], out["p"] = float(res.statistic), float(res.pvalue)
    if n_boot > 0:
        r = bootstrap_distribution(n, lambda idx: _rowwise_spearman(x[idx], y[idx]), n_boot=n_boot, seed=seed)
        r = r[np.isfinite(r)]
        out["n_boot_valid"] = int(len(r))
        if len(r):
            a = (1 - level) / 2
            out["ci_low"], out["ci_high"] = (float(v) for v in np.quantile(r, [a, 1 - a]))
    return out


def percentile_ci(samples: np.ndarray, level: float = 0.95, axis: int = 0
                  ) -> tuple[np.ndarray, np.ndarray]:
    import warnings

    a = (1 - level) / 2
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        lo = np.nanquantile(samples, a, axis=axis)
        hi = np.nanquantile(samples, 1 - a, axis=axis)
    return lo, hi
