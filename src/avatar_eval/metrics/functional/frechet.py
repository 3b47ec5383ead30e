"""Fréchet distance between Gaussians fitted to feature sets (FID, FVD, edge FID).

``d² = |μ1 − μ2|² + tr(Σ1) + tr(Σ2) − 2 tr((Σ1 Σ2)^½)``

* :func:`frechet_distance` follows pytorch-fid's ``calculate_frechet_distance`` (scipy ``sqrtm``;
  ``eps·I`` added to both covariances when the product's root is not finite; an imaginary part
  above 1e-3 is an error).
* :func:`frechet_from_features` takes the same formula, but when either side has fewer samples
  than dimensions it computes it exactly from the samples (:func:`frechet_from_samples`): with
  ``Σ1 = AᵀA``, ``Σ2 = BᵀB`` (centred features / √(n−1)), the eigenvalues of ``Σ1Σ2`` are the
  squared singular values of the small ``A Bᵀ`` (n1 × n2), so ``tr((Σ1Σ2)^½) = ‖A Bᵀ‖_*`` (the
  nuclear norm). No d × d square root of a singular matrix (where ``sqrtm`` is slow and only
  approximate), no ``eps``: e.g. 2048-d features of a few hundred frames take milliseconds.
* :func:`frechet_distance_jwbdh` reproduces JWB-DH's ``calculate_fid`` (FID / E-FID: no imaginary
  check) and :func:`fvd_jwbdh` its ``compute_fvd`` (one-sample covariance = 1e-6·I, 1e-6·I added
  before ``sqrtm`` but not in the trace term).
* :func:`feature_stats` warns (:class:`FewSamplesWarning`) when there are fewer samples than
  feature dimensions: the covariance is then singular and the distance is biased, which is the
  case of JWB-DH's 16-frame per-pair FID (2048-d features from 16 frames).
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = [
    "FewSamplesWarning",
    "feature_stats",
    "frechet_distance",
    "frechet_from_features",
    "frechet_from_samples",
    "frechet_distance_jwbdh",
    "fvd_jwbdh",
]


class FewSamplesWarning(UserWarning):
    """Fewer samples than feature dimensions: singular covariance, biased Fréchet distance."""


def _sqrtm(m: np.ndarray) -> np.ndarray:
    """scipy ``sqrtm(m, disp=False)`` (pytorch-fid's call) without SciPy's deprecation noise."""
    from scipy import linalg

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out = linalg.sqrtm(m, disp=False)
    return out[0] if isinstance(out, tuple) else out


def feature_stats(feats: np.ndarray, *, warn: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(mean, covariance) of an (N, D) feature matrix; covariance with ``ddof=1`` (np.cov)."""
    f = np.asarray(feats, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be (N, D), got shape {f.shape}")
    n, d = f.shape
    if n < 2:
        raise ValueError(f"need at least 2 samples for a covariance, got {n}")
    if warn and n < d:
        warnings.warn(
            f"Fréchet distance from {n} samples of {d}-d features: the covariance is singular "
            "and the value is biased (use at least as many samples as dimensions)",
            FewSamplesWarning,
            stacklevel=2,
        )
    return f.mean(axis=0), np.cov(f, rowvar=False)


def frechet_distance(
    mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray, eps: float = 1e-6
) -> float:
    mu1 = np.atleast_1d(np.asarray(mu1, dtype=np.float64))
    mu2 = np.atleast_1d(np.asarray(mu2, dtype=np.float64))
    sigma1 = np.atleast_2d(np.asarray(sigma1, dtype=np.float64))
    sigma2 = np.atleast_2d(np.asarray(sigma2, dtype=np.float64))
    if mu1.shape != mu2.shape or sigma1.shape != sigma2.shape:
        raise ValueError("mean vectors / covariances have different shapes")
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1.dot(sigma2))
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = _sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            m = np.max(np.abs(covmean.imag))
            raise ValueError(f"sqrtm has an imaginary component {m}")
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean))


def frechet_from_samples(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance of the Gaussians fitted to (n1, D) and (n2, D) features (``np.cov``,
    ``ddof=1``), exactly through the n1 × n2 matrix ``A Bᵀ``: ``tr((Σ1Σ2)^½) = ‖A Bᵀ‖_*``.

    Σ1Σ2 = AᵀA BᵀB has the same non-zero eigenvalues as (A Bᵀ)(A Bᵀ)ᵀ, whose eigenvalues are the
    squared singular values of A Bᵀ; all are ≥ 0, so the trace of the principal square root is the
    sum of those singular values. Cost O(n1·n2·D), whatever the rank of the covariances."""
    fa = np.asarray(a, dtype=np.float64)
    fb = np.asarray(b, dtype=np.float64)
    if fa.ndim != 2 or fb.ndim != 2 or fa.shape[1] != fb.shape[1]:
        raise ValueError(f"features must be (N, D) with one D, got {fa.shape} and {fb.shape}")
    if len(fa) < 2 or len(fb) < 2:
        raise ValueError(f"need at least 2 samples per side, got {len(fa)} and {len(fb)}")
    mu1, mu2 = fa.mean(axis=0), fb.mean(axis=0)
    A = (fa - mu1) / np.sqrt(len(fa) - 1)
    B = (fb - mu2) / np.sqrt(len(fb) - 1)
    diff = mu1 - mu2
    nuclear = float(np.linalg.svd(A @ B.T, compute_uv=False).sum())
    return float(diff.dot(diff) + np.square(A).sum() + np.square(B).sum() - 2.0 * nuclear)


def frechet_from_features(a: np.ndarray, b: np.ndarray, *, warn: bool = True) -> float:
    """Fréchet distance of two (N, D) feature sets. Fewer samples than dimensions on either side:
    exact from the samples (:func:`frechet_from_samples`, and a :class:`FewSamplesWarning`);
    otherwise pytorch-fid's route on the covariances (:func:`frechet_distance`)."""
    mu1, s1 = feature_stats(a, warn=warn)
    mu2, s2 = feature_stats(b, warn=warn)
    if min(len(a), len(b)) < s1.shape[0]:
        return frechet_from_samples(a, b)
    return frechet_distance(mu1, s1, mu2, s2)


def frechet_distance_jwbdh(a: np.ndarray, b: np.ndarray, eps: float = 1e-6) -> float:
    """JWB-DH ``FID_calculate.calculate_fid`` on two feature sets (GT first, generated second)."""
    mu1, s1 = feature_stats(a, warn=False)
    mu2, s2 = feature_stats(b, warn=False)
    diff = mu1 - mu2
    covmean = _sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = _sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1 + s2 - 2 * covmean))


def fvd_jwbdh(feats_fake: np.ndarray, feats_real: np.ndarray, eps: float = 1e-6) -> float:
    """JWB-DH ``compute_fvd``: works on one video per side (covariance 1e-6·I for N == 1)."""
    def stats(f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        f = np.asarray(f, dtype=np.float64)
        mu = f.mean(axis=0)
        if f.shape[0] == 1:
            sigma = np.eye(f.shape[1]) * 1e-6
        else:
            sigma = np.atleast_2d(np.cov(f, rowvar=False))
        return mu, sigma

    mu_g, s_g = stats(feats_fake)
    mu_r, s_r = stats(feats_real)
    eye = np.eye(s_g.shape[0]) * eps
    m = float(np.square(mu_g - mu_r).sum())
    s = _sqrtm(np.dot(s_g + eye, s_r + eye))
    if np.iscomplexobj(s):
        s = s.real
    return float(m + np.trace(s_g + s_r - 2 * s))
