"""Audio–video offset from mouth opening and the speech spectrum, without learned weights.

Pure numpy/scipy functions (no MediaPipe, no decoding); :mod:`avatar_eval.metrics.av_offset`
feeds them the default Face Mesh track and the 16 kHz audio.

Method (docs/theval.md, "Offline AV offset"):

1. **Mouth signal** — per frame the outer lip opening, the distance between the outer-lip midpoints
   (Face Mesh 0 and 17) over the distance between the two eye-corner midpoints (33/133 and
   362/263), put on a uniform grid at the clip's frame rate (frames without a face are
   interpolated; VFR clips are resampled).
2. **Audio signals** — 16 log-mel band energies (80–7000 Hz, 32 ms Hann windows every 10 ms,
   power averaged over one video frame) sampled at the same grid times; audio sample ``k`` is at
   ``audio_start + k / sr`` on the video's clock.
3. Both are band-passed to 2–10 Hz (syllable-rate motion; zero-phase Butterworth, order 2), which
   removes slow drifts that otherwise dominate the correlation.
4. For every lag ``L`` in ``[-max_shift, +max_shift]`` frames, the Pearson correlation of the mouth
   signal at ``t`` with each band at ``t + L`` over the frames where both exist (at least half the
   clip), averaged over bands: the **correlation curve** ``r(L)``.
5. ``offset = argmax_L r(L)``. **Sign: positive = the audio lags the video** (it is late: a mouth
   movement at frame ``t`` is heard at frame ``t + offset``); shifting the audio later by ``s``
   seconds adds ``s · fps`` frames. SyncNet's ``vshift − argmin`` has the opposite sign.
6. **Confidence** (LSE-C-like): ``r(offset) − median_L r(L)``, in correlation units (0 … 2). As
   SyncNet's LSE-C (median − minimum of distances) it says how much the best lag stands out of
   the window. ``z`` divides it by the standard deviation a correlation between two *unrelated*
   signals with these autocorrelations would have (Bartlett's formula), which makes clips of
   different lengths comparable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: sign convention, repeated in every record's details
SIGN_CONVENTION = "positive = audio lags video (audio late); audio delayed by s seconds adds s*fps frames"
DEFAULT_MAX_SHIFT = 15  # frames, as SyncNet's vshift
WIDE_MAX_SHIFT = 30
BAND_HZ = (2.0, 10.0)
N_BANDS = 16
MEL_RANGE_HZ = (80.0, 7000.0)
#: a lag is scored only where the two signals overlap on at least this fraction of the clip
MIN_OVERLAP = 0.5

OUTER_LIPS = (0, 17)  # outer upper-lip midpoint, outer lower-lip midpoint
EYES_LEFT_PAIR = (33, 133)  # image-left eye corners
EYES_RIGHT_PAIR = (362, 263)


# -- mouth ------------------------------------------------------------------------------------
def outer_lip_opening(points_xy: np.ndarray) -> np.ndarray:
    """(T, ≥468, 2) landmarks in isotropic pixels -> (T,) distance(0, 17) / eye-midpoint distance.

    NaN where there is no face (NaN landmarks) or the eye distance is not positive."""
    p = np.asarray(points_xy, dtype=np.float64)
    gap = np.linalg.norm(p[:, OUTER_LIPS[1]] - p[:, OUTER_LIPS[0]], axis=-1)
    io = np.linalg.norm(p[:, list(EYES_RIGHT_PAIR)].mean(1) - p[:, list(EYES_LEFT_PAIR)].mean(1), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = gap / io
    out[~(io > 0)] = np.nan
    return out


def uniform_grid(times: np.ndarray, fps: float) -> np.ndarray:
    """Times ``t0 + k / fps`` covering ``times`` (the frame grid the lags are counted on)."""
    t = np.asarray(times, dtype=np.float64)
    if t.size == 0:
        return t
    n = int(np.floor((t[-1] - t[0]) * fps + 1e-6)) + 1
    return t[0] + np.arange(n) / fps


def on_grid(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """``values`` (NaN = missing) linearly interpolated at ``grid`` (held constant past the ends)."""
    t = np.asarray(times, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    if ok.sum() == 0:
        return np.full(len(grid), np.nan)
    return np.interp(grid, t[ok], v[ok])


def robust_range(x: np.ndarray) -> float:
    """95th − 5th percentile of the finite values (0 with fewer than two)."""
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return 0.0
    return float(np.percentile(x, 95) - np.percentile(x, 5))


# -- audio ------------------------------------------------------------------------------------
def mel_filterbank(n_bands: int, n_fft: int, sr: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_bands, n_fft//2+1) triangular filters equally spaced on the HTK mel scale."""
    def mel(h):
        return 2595.0 * np.log10(1.0 + np.asarray(h, dtype=np.float64) / 700.0)

    def hz(m):
        return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)

    f = np.arange(n_fft // 2 + 1) * sr / n_fft
    edges = hz(np.linspace(mel(fmin), mel(min(fmax, sr / 2)), n_bands + 2))
    w = np.zeros((n_bands, f.size))
    for i in range(n_bands):
        a, c, b = edges[i], edges[i + 1], edges[i + 2]
        w[i] = np.clip(np.minimum((f - a) / (c - a), (b - f) / (b - c)), 0.0, None)
    return w


def log_mel_at(wav: np.ndarray, sr: int, times: np.ndarray, fps: float, *, audio_start: float = 0.0,
               n_bands: int = N_BANDS, fmin: float = MEL_RANGE_HZ[0], fmax: float = MEL_RANGE_HZ[1],
               n_fft: int = 512, hop_s: float = 0.01) -> np.ndarray:
    """(len(times), n_bands) log band powers averaged over one video frame around each time.

    STFT frames (Hann, ``n_fft`` samples, centred, zero padding) every ``hop_s``; band power is
    averaged over ``1/fps`` seconds, floored at 1e-5 of the clip's largest band power (digital
    silence is then a constant, not −inf), and interpolated at ``times − audio_start`` seconds.
    """
    y = np.asarray(wav, dtype=np.float64)
    hop = max(1, int(round(hop_s * sr)))
    pad = n_fft // 2
    yp = np.pad(y, (pad, pad))
    n_frames = 1 + max(0, (len(yp) - n_fft)) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    spec = np.abs(np.fft.rfft(yp[idx] * np.hanning(n_fft + 1)[:-1], axis=1)) ** 2
    bands = spec @ mel_filterbank(n_bands, n_fft, sr, fmin, fmax).T  # (frames, bands)
    k = max(1, int(round(sr / hop / fps)))
    if k > 1:
        kern = np.ones(k) / k
        bands = np.stack([np.convolve(b, kern, mode="same") for b in bands.T], axis=1)
    floor = 1e-5 * float(bands.max()) if bands.size and bands.max() > 0 else 1e-12
    logb = np.log(bands + floor + 1e-20)
    ft = np.arange(n_frames) * hop / sr
    q = np.asarray(times, dtype=np.float64) - audio_start
    return np.stack([np.interp(q, ft, logb[:, j]) for j in range(n_bands)], axis=1)


# -- correlation ------------------------------------------------------------------------------
def bandpass(x: np.ndarray, fps: float, lo: float = BAND_HZ[0], hi: float = BAND_HZ[1]) -> np.ndarray:
    """Zero-phase order-2 Butterworth band-pass along axis 0 (``hi`` capped at 0.95·Nyquist)."""
    from scipy.signal import butter, sosfiltfilt

    x = np.asarray(x, dtype=np.float64)
    hi = min(hi, 0.95 * fps / 2.0)
    if not lo < hi:
        raise ValueError(f"frame rate {fps:g} too low for a {lo:g} Hz high-pass")
    sos = butter(2, [lo, hi], btype="band", fs=fps, output="sos")
    x = x - x.mean(axis=0)
    padlen = min(x.shape[0] - 1, 3 * (2 * len(sos) + 1))
    return sosfiltfilt(sos, x, axis=0, padlen=padlen)


def lag_correlations(v: np.ndarray, bands: np.ndarray, max_shift: int,
                     min_overlap: float = MIN_OVERLAP) -> tuple[np.ndarray, np.ndarray]:
    """Lags ``-max_shift … +max_shift`` and, per lag ``L``, the mean over bands of
    ``pearson(v[t], bands[t + L, j])`` over the overlapping frames.

    NaN at lags whose overlap is below ``min_overlap`` of the clip or where every band (or the
    mouth) is constant over the overlap.
    """
    v = np.asarray(v, dtype=np.float64)
    a = np.asarray(bands, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    n = len(v)
    lags = np.arange(-max_shift, max_shift + 1)
    out = np.full(lags.size, np.nan)
    need = max(3, int(np.ceil(min_overlap * n)))
    for i, L in enumerate(lags):
        if L >= 0:
            x, y = v[: n - L], a[L:]
        else:
            x, y = v[-L:], a[: n + L]
        if len(x) < need:
            continue
        xc = x - x.mean()
        yc = y - y.mean(axis=0)
        sx = np.sqrt((xc * xc).sum())
        sy = np.sqrt((yc * yc).sum(axis=0))
        ok = sy > 1e-12 * max(1.0, float(np.abs(y).max()))
        if sx <= 1e-12 or not ok.any():
            continue
        r = (xc[:, None] * yc[:, ok]).sum(axis=0) / (sx * sy[ok])
        out[i] = float(r.mean())
    return lags, out


def null_sd(v: np.ndarray, bands: np.ndarray, max_lag: int | None = None) -> float:
    """Standard deviation of the band-averaged correlation between ``v`` and ``bands`` if they were
    unrelated (Bartlett: var = (1/N) Σ_k ρ_v(k) γ_m(k), m = mean of the standardised bands)."""
    v = np.asarray(v, dtype=np.float64)
    a = np.asarray(bands, dtype=np.float64)
    if a.ndim == 1:
        a = a[:, None]
    n = len(v)
    sd = a.std(axis=0)
    keep = sd > 0
    if n < 3 or v.std() <= 0 or not keep.any():
        return float("nan")
    z = (a[:, keep] - a[:, keep].mean(axis=0)) / sd[keep]
    m = z.mean(axis=1)
    vc = v - v.mean()
    K = n // 4 if max_lag is None else min(max_lag, n - 1)
    rho_v = np.array([(vc[: n - k] * vc[k:]).sum() for k in range(K + 1)]) / (vc * vc).sum()
    gam_m = np.array([(m[: n - k] * m[k:]).sum() for k in range(K + 1)]) / n
    var = (rho_v[0] * gam_m[0] + 2.0 * (rho_v[1:] * gam_m[1:]).sum()) / n
    return float(np.sqrt(var)) if var > 0 else float("nan")


@dataclass
class OffsetEstimate:
    #: lag of the correlation peak, frames (positive = audio lags video)
    offset: int
    #: the peak refined by a parabola through it and its neighbours (= offset at a window edge)
    offset_refined: float
    #: r(offset) − median r over the window (correlation units, 0 … 2)
    confidence: float
    #: confidence / null standard deviation (Bartlett); NaN when it cannot be estimated
    z: float
    peak: float
    median: float
    max_shift: int
    fps: float
    #: the peak is at ±max_shift: the true offset may lie outside the window
    at_edge: bool
    lags: np.ndarray = field(repr=False)
    curve: np.ndarray = field(repr=False)

    @property
    def offset_s(self) -> float:
        return self.offset / self.fps

    @property
    def offset_refined_s(self) -> float:
        return self.offset_refined / self.fps


def estimate_offset(mouth: np.ndarray, bands: np.ndarray, fps: float, max_shift: int = DEFAULT_MAX_SHIFT,
                    band_hz: tuple[float, float] = BAND_HZ) -> OffsetEstimate | None:
    """Offset and confidence from a mouth signal and audio band signals on the same frame grid.

    Both are band-passed (``band_hz``) before :func:`lag_correlations`. Returns ``None`` when no lag
    can be scored (too short, or a constant signal)."""
    if max_shift < 1:
        raise ValueError("max_shift must be ≥ 1 frame")
    v = bandpass(mouth, fps, *band_hz)
    a = bandpass(bands, fps, *band_hz)
    lags, r = lag_correlations(v, a, max_shift)
    if np.all(np.isnan(r)):
        return None
    i = int(np.nanargmax(r))
    peak = float(r[i])
    med = float(np.nanmedian(r))
    refined = float(lags[i])
    edge = i == 0 or i == len(r) - 1
    if not edge and np.isfinite(r[i - 1]) and np.isfinite(r[i + 1]):
        den = r[i - 1] - 2.0 * r[i] + r[i + 1]
        if den < 0:
            refined += float(np.clip(0.5 * (r[i - 1] - r[i + 1]) / den, -0.5, 0.5))
    sd = null_sd(v, a)
    conf = peak - med
    return OffsetEstimate(
        offset=int(lags[i]), offset_refined=refined, confidence=conf,
        z=float(conf / sd) if np.isfinite(sd) and sd > 0 else float("nan"),
        peak=peak, median=med, max_shift=int(max_shift), fps=float(fps), at_edge=bool(edge), lags=lags, curve=r,
    )
