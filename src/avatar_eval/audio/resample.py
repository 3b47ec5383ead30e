"""torchaudio's default resampler in numpy, for the THEval compat VAD input.

silero-vad's ``read_audio`` (what the official THEval scripts call) loads the exported WAV at its
native rate and, where that is not 16 kHz, resamples with ``torchaudio.transforms.Resample``:
band-limited sinc interpolation with a Hann window, ``lowpass_filter_width=6``, ``rolloff=0.99``
(torchaudio's documented defaults). avatar-eval's own audio path uses ``scipy.signal.resample_poly``
instead (io/video.py); both feed the VAD the same speech on 16/44.1/48 kHz tracks, but from an
8 kHz track the two upsampled signals differ enough to move silero's segments (held-out clip g08:
silent-lip compat −7.7 % before). This module computes the same filter bank as torchaudio
(float64 kernel, cast to float32) and applies it as torchaudio does (pad ``width`` left and
``width + orig`` right, one strided correlation per output phase, keep ``ceil(new·n/orig)``
samples); the floats agree with torchaudio's float32 convolution to rounding, not bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

LOWPASS_FILTER_WIDTH = 6
ROLLOFF = 0.99


def sinc_kernel(orig: int, new: int, width_z: int = LOWPASS_FILTER_WIDTH, rolloff: float = ROLLOFF
                ) -> tuple[np.ndarray, int]:
    """(kernel (new, 2·width + orig) float32, width) for the reduced rates ``orig`` → ``new``."""
    base = min(orig, new) * rolloff
    width = math.ceil(width_z * orig / base)
    idx = np.arange(-width, width + orig, dtype=np.float64)[None, :] / orig
    t = np.arange(0, -new, -1, dtype=np.float64)[:, None] / new + idx
    t *= base
    t = np.clip(t, -width_z, width_z)
    window = np.cos(t * math.pi / width_z / 2) ** 2
    t *= math.pi
    scale = base / orig
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(t == 0, 1.0, np.sin(t) / t)
    k *= window * scale
    return k.astype(np.float32), width


def resample_like_torchaudio(x: np.ndarray, orig_freq: int, new_freq: int) -> np.ndarray:
    """Resample a 1-D float signal as ``torchaudio.transforms.Resample(orig_freq, new_freq)``."""
    x = np.asarray(x, dtype=np.float32)
    if orig_freq == new_freq:
        return x
    g = math.gcd(int(orig_freq), int(new_freq))
    orig, new = int(orig_freq) // g, int(new_freq) // g
    kernel, width = sinc_kernel(orig, new)
    n = x.shape[-1]
    xp = np.pad(x, (width, width + orig))
    taps = kernel.shape[1]
    n_blocks = (xp.shape[0] - taps) // orig + 1
    frames = np.lib.stride_tricks.sliding_window_view(xp, taps)[::orig][:n_blocks]
    y = (frames @ kernel.T).reshape(-1)  # (blocks, new) -> interleaved phases
    return np.ascontiguousarray(y[: math.ceil(new * n / orig)])
