"""Beat alignment score (BAS) between audio onsets and motion beats (Bailando / EDGE convention).

* Motion beats (Li et al., "Bailando", CVPR 2022, §4.1 "Beat Align Score"; same code path in
  Tseng et al., "EDGE", CVPR 2023): the kinetic speed ``v_i = mean_j ‖x_{i+1,j} − x_{i,j}‖`` (joints
  ``j``, index ``i`` = transition i → i+1), smoothed with a Gaussian of σ = 5 frames; motion beats
  are its strict local minima (``scipy.signal.argrelextrema(.., np.less)``).
* Audio beats: onsets of a spectral-flux detector (:func:`onset_frames`; librosa is not a
  dependency), converted to video frame indices.
* ``BA = 1/|B_a| Σ_{a ∈ B_a} exp(−min_m (a − m)² / (2 σ²))``, σ = 3 frames, over audio beats ``a``.
"""

from __future__ import annotations

import warnings

import numpy as np

SIGMA_SMOOTH = 5.0
SIGMA_BA = 3.0


def joint_speed(xy: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """(T−1,) mean over joints of the per-frame displacement norm. ``xy``: (T, J, 2|3);
    ``valid`` (T, J) bool: a joint counts in transition i only if valid in frames i and i+1.
    Transitions with no valid joint are linearly interpolated (NaN if none at all)."""
    xy = np.asarray(xy, dtype=np.float64)
    d = np.linalg.norm(np.diff(xy, axis=0), axis=-1)
    if valid is not None:
        v = np.asarray(valid, bool)
        d = np.where(v[1:] & v[:-1], d, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN transitions
        s = np.nanmean(d, axis=1) if d.shape[1] else np.full(d.shape[0], np.nan)
    ok = np.isfinite(s)
    if ok.any() and not ok.all():
        i = np.arange(s.size)
        s = np.interp(i, i[ok], s[ok])
    return s


def motion_beats(speed: np.ndarray, sigma: float = SIGMA_SMOOTH) -> np.ndarray:
    """Indices of the strict local minima of the Gaussian-smoothed speed."""
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import argrelextrema

    s = gaussian_filter1d(np.asarray(speed, dtype=np.float64), sigma)
    return argrelextrema(s, np.less)[0]


def onset_envelope(wav: np.ndarray, sr: int, hop_s: float = 0.01, n_fft: int = 1024) -> tuple[np.ndarray, float]:
    """Spectral flux: Σ_f max(0, L_t(f) − L_{t−1}(f)), L = log(1 + 100 |STFT|) (Hann window
    ``n_fft``, hop ``hop_s``). Returns (envelope (T,), envelope frame rate)."""
    from scipy.signal import stft

    hop = max(1, round(hop_s * sr))
    wav = np.asarray(wav, dtype=np.float64)
    if wav.size < n_fft:
        return np.zeros(0), sr / hop
    _, _, z = stft(wav, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft - hop, boundary=None, padded=False)
    L = np.log1p(100.0 * np.abs(z))
    flux = np.maximum(0.0, np.diff(L, axis=1)).sum(axis=0)
    # frame t of flux compares STFT frames t and t+1; centre of frame t+1 in seconds:
    env = np.concatenate([[0.0], flux])
    return env, sr / hop


def pick_peaks(env: np.ndarray, pre_max: int = 3, post_max: int = 3, avg: int = 10,
               delta: float = 0.07, wait: int = 3) -> np.ndarray:
    """Onset peaks of an envelope normalised to max 1: ``env[t]`` is the maximum of
    ``env[t−pre_max : t+post_max]``, exceeds the mean of ``env[t−avg : t+avg]`` by ``delta``, and
    lies ≥ ``wait`` frames after the previous peak (windows in envelope frames: 30/100 ms)."""
    env = np.asarray(env, dtype=np.float64)
    if env.size == 0 or env.max() <= 0:
        return np.zeros(0, dtype=int)
    e = env / env.max()
    peaks: list[int] = []
    for t in range(e.size):
        lo, hi = max(0, t - pre_max), min(e.size, t + post_max + 1)
        if e[t] < e[lo:hi].max() or e[t] <= 0:
            continue
        if e[t] < e[max(0, t - avg):t + avg + 1].mean() + delta:
            continue
        if peaks and t - peaks[-1] < wait:
            continue
        peaks.append(t)
    return np.asarray(peaks, dtype=int)


def onset_times(wav: np.ndarray, sr: int, **kw) -> np.ndarray:
    """Onset times in seconds (spectral flux + :func:`pick_peaks`)."""
    hop_s = kw.pop("hop_s", 0.01)
    n_fft = kw.pop("n_fft", 1024)
    env, rate = onset_envelope(wav, sr, hop_s, n_fft)
    # envelope frame t is centred at (t * hop + n_fft / 2) / sr
    return (pick_peaks(env, **kw) / rate + n_fft / 2 / sr) if env.size else np.zeros(0)


def onset_frames(wav: np.ndarray, sr: int, fps: float, n_frames: int | None = None, **kw) -> np.ndarray:
    """Onset times as video frame indices (rounded, unique, < ``n_frames`` when given)."""
    f = np.unique(np.round(onset_times(wav, sr, **kw) * fps).astype(int))
    return f[f < n_frames] if n_frames is not None else f


def beat_alignment(audio_beats: np.ndarray, motion_beats_: np.ndarray, sigma: float = SIGMA_BA) -> float:
    """Mean over audio beats of exp(−d² / (2σ²)), d = frames to the nearest motion beat.
    NaN when either set is empty."""
    a = np.asarray(audio_beats, dtype=np.float64)
    m = np.asarray(motion_beats_, dtype=np.float64)
    if a.size == 0 or m.size == 0:
        return float("nan")
    d2 = ((a[:, None] - m[None, :]) ** 2).min(axis=1)
    return float(np.exp(-d2 / (2.0 * sigma**2)).mean())
