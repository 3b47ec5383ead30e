"""THEval formulas as pure numpy functions (no MediaPipe, no decoding).

Every function documents which definition it implements: the paper's ("paper") or the public
code's (Newbyl/THEval @ cfe23fe, "compat"). Inputs are landmark arrays, VAD segments and audio.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np

# MediaPipe FACEMESH_LIPS: the 40 unique indices of its 40 edges, sorted (as THEval builds them).
LIP_INDICES: tuple[int, ...] = (
    0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181,
    185, 191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415,
)
LIP_PAIRS: tuple[tuple[int, int], ...] = tuple(combinations(range(len(LIP_INDICES)), 2))  # 780

LEFT_EYEBROW = (276, 282, 283, 285, 293, 295, 296, 300, 334, 336)
RIGHT_EYEBROW = (46, 52, 53, 55, 63, 65, 66, 70, 105, 107)
LEFT_EYE = (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466)
RIGHT_EYE = (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246)

UPPER_LIP = (191, 80, 81, 82, 13, 312, 311, 310)
LOWER_LIP = (95, 88, 178, 87, 14, 317, 402, 318)
EYE_OUTER = (33, 263)  # silent-lip normaliser
EYES_LEFT_PAIR = (33, 133)  # lip-sync interocular term (image-left eye corners)
EYES_RIGHT_PAIR = (362, 263)


# -- lip dynamics -----------------------------------------------------------------------------
def lip_pair_distances(lips_xy: np.ndarray) -> np.ndarray:
    """(T, 40, 2) lip points -> (T, 780) pairwise distances (THEval's lip shape vector)."""
    lips_xy = np.asarray(lips_xy, dtype=np.float64)
    i, j = np.triu_indices(lips_xy.shape[1], k=1)
    return np.linalg.norm(lips_xy[:, i, :] - lips_xy[:, j, :], axis=-1)


def lip_dynamics(lips_xy: np.ndarray, ddof: int = 1) -> float:
    """Mean over the 780 lip-point distances of their std over time.

    Frames with NaN (no face) are dropped. ``ddof=1`` is the paper's sample std; the public
    code uses ``np.std`` (``ddof=0``). Returns NaN with fewer than ``ddof + 1`` frames.
    """
    d = lip_pair_distances(lips_xy)
    d = d[~np.isnan(d).any(axis=1)]
    if d.shape[0] <= ddof:
        return float("nan")
    return float(np.mean(np.std(d, axis=0, ddof=ddof)))


# -- eyebrow dynamics -------------------------------------------------------------------------
def eyebrow_ratios(points_xy: np.ndarray, min_scale: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Per frame (left, right) eyebrow-to-eye centroid distance / inter-eye-centroid distance.

    ``points_xy`` is (T, ≥468, 2) in pixels. Frames without a face (NaN) or with an inter-eye
    distance below ``min_scale`` px are NaN in both outputs (THEval skips them).
    """
    p = np.asarray(points_xy, dtype=np.float64)
    le, re = p[:, LEFT_EYE].mean(1), p[:, RIGHT_EYE].mean(1)
    lb, rb = p[:, LEFT_EYEBROW].mean(1), p[:, RIGHT_EYEBROW].mean(1)
    scale = np.linalg.norm(le - re, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        left = np.linalg.norm(lb - le, axis=-1) / scale
        right = np.linalg.norm(rb - re, axis=-1) / scale
    bad = ~(scale >= min_scale)  # also True for NaN
    left[bad] = np.nan
    right[bad] = np.nan
    return left, right


def eyebrow_dynamics_paper(left: np.ndarray, right: np.ndarray, ddof: int = 1) -> float:
    """Paper: std over frames of the normalised eyebrow distance, mean of the two sides."""
    vals = []
    for x in (left, right):
        x = np.asarray(x, dtype=np.float64)
        x = x[~np.isnan(x)]
        if x.size > ddof:
            vals.append(np.std(x, ddof=ddof))
    return float(np.mean(vals)) if len(vals) == 2 else float("nan")


def eyebrow_ratios_compat(points_xy: np.ndarray, min_scale: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """:func:`eyebrow_ratios` in eyebrow_dynamics.py's own operation order, frame by frame.

    Same quantities, but each centroid is ``coords.mean(axis=0)`` of a (K, 2) array and each
    distance ``np.linalg.norm`` of a 2-vector (``x.dot(x)``: BLAS, which may fuse the multiply-add),
    as the public script computes them; the vectorised form rounds differently in the last bits.
    Used by the compat variant only, so that it gives the script's floats bit for bit (measured on
    the shared reference clips); a few µs per frame."""
    p = np.asarray(points_xy, dtype=np.float64)
    left = np.full(len(p), np.nan)
    right = np.full(len(p), np.nan)
    idx = [list(LEFT_EYE), list(RIGHT_EYE), list(LEFT_EYEBROW), list(RIGHT_EYEBROW)]
    for t in range(len(p)):
        f = p[t]
        if np.isnan(f[0, 0]):
            continue
        le, re, lb, rb = (f[i].mean(axis=0) for i in idx)
        scale = np.linalg.norm(le - re)
        if scale < min_scale:
            continue
        left[t] = np.linalg.norm(lb - le) / scale
        right[t] = np.linalg.norm(rb - re) / scale
    return left, right


def _sequential_sum(x: np.ndarray) -> float:
    """Left-to-right float64 sum (a Python ``+=`` loop's rounding; ``np.sum`` sums pairwise)."""
    return float(np.cumsum(x)[-1]) if x.size else 0.0


def eyebrow_dynamics_compat(left: np.ndarray, right: np.ndarray) -> float:
    """Public code: mean |Δ| between consecutive *detected* frames, pooled over both sides.

    Frames without a face are skipped without resetting the previous value, so a transition
    can span a gap. No transition at all -> 0.0 (as the public code returns).
    """
    total, n = 0.0, 0
    for x in (left, right):
        x = np.asarray(x, dtype=np.float64)
        x = x[~np.isnan(x)]
        if x.size > 1:
            # each side summed left to right, then the two sums added, as the script's loop does
            total += _sequential_sum(np.abs(np.diff(x)))
            n += x.size - 1
    return total / n if n else 0.0


# -- silent-lip stability ---------------------------------------------------------------------
def mouth_opening(points_xy: np.ndarray, min_eye: float = 1e-3) -> np.ndarray:
    """Per frame mean over 8 pairs of |y_upper − y_lower| / distance(33, 263); NaN if no face."""
    p = np.asarray(points_xy, dtype=np.float64)
    eye = np.linalg.norm(p[:, EYE_OUTER[0]] - p[:, EYE_OUTER[1]], axis=-1)
    gap = np.abs(p[:, list(UPPER_LIP), 1] - p[:, list(LOWER_LIP), 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (gap / eye[:, None]).mean(axis=1)
    out[~(eye >= min_eye)] = np.nan
    return out


def silent_frames(segments: list[tuple[float, float]], n_frames: int, fps: float, min_silence_s: float = 0.3) -> np.ndarray:
    """Indices of frames in non-speech runs of at least ``min_silence_s`` (THEval's rule).

    A speech segment [s, e] (seconds) removes frames int(s·fps) … int(e·fps) inclusive; the
    remaining runs shorter than ``min_silence_s · fps`` frames are dropped.
    """
    silent = ~speech_mask(segments, n_frames, fps)
    keep: list[int] = []
    need = min_silence_s * fps
    i = 0
    while i < n_frames:
        if silent[i]:
            j = i
            while j < n_frames and silent[j]:
                j += 1
            if (j - i) >= need:
                keep.extend(range(i, j))
            i = j
        else:
            i += 1
    return np.asarray(keep, dtype=np.int64)


def mad_median(x: np.ndarray) -> float:
    """Paper: median absolute deviation around the median. NaN with < 2 values."""
    x = np.asarray(x, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return float("nan")
    return float(np.median(np.abs(x - np.median(x))))


def mouth_opening_compat(landmarks_xy: np.ndarray, width: float = 256.0, height: float = 256.0,
                         min_eye: float = 1e-3) -> np.ndarray:
    """:func:`mouth_opening` in silent_lip_stability.py's own operation order, frame by frame.

    ``landmarks_xy``: (T, N, 2) normalised coordinates. Per frame: the eye distance as
    ``np.linalg.norm`` of a 2-vector (BLAS dot), each pair's ``abs(y_u·h − y_l·h) / eye`` in Python
    floats, ``np.mean`` of the eight; NaN where no face or the eye distance is below ``min_eye``.
    Bit for bit the script's values (the vectorised form differs in the last bits)."""
    p = np.asarray(landmarks_xy, dtype=np.float64)
    out = np.full(len(p), np.nan)
    for t in range(len(p)):
        f = p[t]
        if np.isnan(f[0, 0]):
            continue
        a, b = EYE_OUTER
        eye = np.linalg.norm(np.array([f[a, 0] * width, f[a, 1] * height]) - np.array([f[b, 0] * width, f[b, 1] * height]))
        if eye < min_eye:
            continue
        out[t] = np.mean([abs(f[u, 1] * height - f[lo, 1] * height) / eye for u, lo in zip(UPPER_LIP, LOWER_LIP)])
    return out


def mad_mean_compat(x: np.ndarray) -> float:
    """Public code: median(|x − mean(x)|). NaN with < 2 values."""
    x = np.asarray(x, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size < 2:
        return float("nan")
    return float(np.median(np.abs(x - np.mean(x))))


# -- lip-sync ---------------------------------------------------------------------------------
def lip_openness_compat(landmarks_norm: np.ndarray) -> np.ndarray:
    """Public code: |mean_y(upper) − mean_y(lower)| / |mean_x(33,133) − mean_x(362,263)| on
    *normalised* coordinates (x/W and y/H: anisotropic on non-square frames)."""
    lm = np.asarray(landmarks_norm, dtype=np.float64)
    upper = lm[:, list(UPPER_LIP), 1].mean(1)
    lower = lm[:, list(LOWER_LIP), 1].mean(1)
    io = np.abs(lm[:, list(EYES_RIGHT_PAIR), 0].mean(1) - lm[:, list(EYES_LEFT_PAIR), 0].mean(1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.abs(upper - lower) / io
    out[~(io > 0)] = np.nan
    return out


def lip_openness(points_xy: np.ndarray) -> np.ndarray:
    """Corrected: the same lip gap over the Euclidean distance between the two eye-corner
    midpoints, both in isotropic pixel coordinates (frame shape does not change the value)."""
    p = np.asarray(points_xy, dtype=np.float64)
    upper = p[:, list(UPPER_LIP), 1].mean(1)
    lower = p[:, list(LOWER_LIP), 1].mean(1)
    io = np.linalg.norm(p[:, list(EYES_RIGHT_PAIR)].mean(1) - p[:, list(EYES_LEFT_PAIR)].mean(1), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.abs(upper - lower) / io
    out[~(io > 0)] = np.nan
    return out


#: RMS frames :func:`rms_librosa` computes at a time in float64: its temporaries are a few of these
#: frames, not a few copies of the whole signal (each frame's mean is the same arithmetic either way)
RMS_CHUNK_FRAMES = 64


def rms_librosa(y: np.ndarray, frame_length: int, hop_length: int, dtype: type | None = None,
                chunk: int = RMS_CHUNK_FRAMES) -> tuple[np.ndarray, np.ndarray]:
    """RMS per frame as ``librosa.feature.rms(y, frame_length, hop_length)`` (center=True,
    zero padding of frame_length//2 on both sides); returns (rms, frame start times in samples).

    ``dtype=None``: in float64 (the paper variants), ``chunk`` frames at a time: the floats of the
    whole-signal computation (tests/metrics/functional/test_theval.py) with temporaries that do not
    grow with the clip. ``dtype=np.float32``: librosa 0.11's own operations on a float32 signal (its
    ``dtype=np.float32`` default: the framed view, its square in float32, ``np.mean`` over the frame
    axis, ``np.sqrt``), so the same floats bit for bit; its float32 square of the padded signal is
    the one whole-clip temporary (10.6 MB a minute at 44.1 kHz)."""
    y = np.asarray(y)
    pad = frame_length // 2
    total = len(y) + 2 * pad  # the zero-padded signal's length
    n = 1 + (total - frame_length) // hop_length if total >= frame_length else 0
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    if dtype is not None:
        # librosa.util.frame: a (frame_length, n) view, sample axis first; librosa.util.abs2 → np.square
        yp = np.pad(y, (pad, pad), mode="constant")
        x = np.lib.stride_tricks.sliding_window_view(yp, frame_length)[::hop_length].T
        rms = np.sqrt(np.mean(np.square(x, dtype=dtype), axis=-2, keepdims=True))[0]
        return rms, np.arange(n) * hop_length
    rms = np.empty(n)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo = a * hop_length - pad  # the chunk's first sample in y (negative: in the left padding)
        seg = np.zeros((b - a - 1) * hop_length + frame_length)  # the padded signal over these frames
        s0, s1 = max(lo, 0), min(lo + len(seg), len(y))
        if s1 > s0:
            seg[s0 - lo: s1 - lo] = y[s0:s1]
        idx = np.arange(frame_length)[None, :] + hop_length * np.arange(b - a)[:, None]
        rms[a:b] = np.sqrt(np.mean(seg[idx] ** 2, axis=1))
    return rms, np.arange(n) * hop_length


def volume_at_frames(y: np.ndarray, sr: int, frame_times: np.ndarray, window_s: float = 0.05,
                     dtype: type | None = None) -> np.ndarray:
    """RMS with frame = hop = ``window_s``·sr, linearly interpolated at the video frame times
    (``dtype``: see :func:`rms_librosa`)."""
    w = int(sr * window_s)
    rms, starts = rms_librosa(y, w, w, dtype)
    if rms.size == 0:
        return np.full(len(frame_times), np.nan)
    return np.interp(frame_times, starts / sr, rms)


def speech_mask(segments: list[tuple[float, float]], n_frames: int, fps: float) -> np.ndarray:
    """Frames int(s·fps) … int(e·fps) (inclusive, clipped) of each speech segment."""
    m = np.zeros(max(n_frames, 0), dtype=bool)
    for s, e in segments:
        a, b = int(s * fps), int(e * fps)
        if a < n_frames:
            m[max(a, 0) : min(b + 1, n_frames)] = True
    return m


def minmax(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    return (x - np.min(x)) / (np.max(x) - np.min(x) + eps)


def lip_sync_distance(openness: np.ndarray, volume: np.ndarray, speech: np.ndarray, min_speech_ratio: float = 0.1) -> tuple[float, dict]:
    """Mean |o* − v*| over speech frames with a face, both min–max normalised over those frames.

    Returns (value, details); value is NaN when the speech ratio is below ``min_speech_ratio``
    or fewer than two speech frames have a face (the definition does not exist there).
    """
    o = np.asarray(openness, dtype=np.float64)
    v = np.asarray(volume, dtype=np.float64)
    speech = np.asarray(speech, dtype=bool)
    n = len(o)
    ratio = float(speech.sum() / n) if n else 0.0
    mask = speech & ~np.isnan(o) & ~np.isnan(v)
    det = {"speech_ratio": ratio, "n_speech_frames_with_face": int(mask.sum()), "n_frames": n}
    if ratio < min_speech_ratio or mask.sum() < 2:
        return float("nan"), det
    on, vn = minmax(o[mask]), minmax(v[mask])
    det["openness_range"] = float(np.ptp(o[mask]))
    return float(np.mean(np.abs(on - vn))), det


# -- head-motion dynamics ---------------------------------------------------------------------
def head_motion_dynamics(pitch, yaw, roll, cx=None, cy=None) -> float:
    """sqrt( mean(std p, std y, std r) · mean(var Δp, var Δy, var Δr) + mean(var cx, var cy) ).

    Angles in degrees, centre in pixels; ``np.std``/``np.var`` with ddof=0 and var(Δ) = 0 when
    fewer than two differences exist, as the public code does.
    """
    p, y, r = (np.asarray(a, dtype=np.float64) for a in (pitch, yaw, roll))
    avg_std = (np.std(p) + np.std(y) + np.std(r)) / 3.0
    dv = [np.var(np.diff(a)) if len(a) > 2 else 0.0 for a in (p, y, r)]
    avg_dvar = sum(dv) / 3.0
    trans = 0.0
    if cx is not None and cy is not None and len(cx) > 0:
        trans = (np.var(np.asarray(cx, dtype=np.float64)) + np.var(np.asarray(cy, dtype=np.float64))) / 2.0
    return float(np.sqrt(avg_std * avg_dvar + trans))


def mesh_head_pose(points_xyz: np.ndarray) -> np.ndarray:
    """Pitch, yaw, roll (degrees) per frame from face-mesh geometry (no pose network).

    Head axes from landmarks in isotropic pixel units: x from the right-eye outer corner (33)
    to the left one (263), y from the chin (152) to the forehead (10) made orthogonal to x,
    z = x × y. Angles are the ZYX Euler angles of that rotation. A different estimator from
    FaceXFormer: it is named apart (``theval.head_motion.offline``).
    """
    p = np.asarray(points_xyz, dtype=np.float64) * np.array([1.0, -1.0, -1.0])  # y up, z to camera
    x = p[:, 263] - p[:, 33]
    yv = p[:, 10] - p[:, 152]
    x = x / np.linalg.norm(x, axis=-1, keepdims=True)
    yv = yv - (yv * x).sum(-1, keepdims=True) * x
    yv = yv / np.linalg.norm(yv, axis=-1, keepdims=True)
    z = np.cross(x, yv)
    R = np.stack([x, yv, z], axis=-1)  # columns are the head axes
    pitch = np.degrees(np.arctan2(R[:, 2, 1], R[:, 2, 2]))
    yaw = np.degrees(np.arcsin(np.clip(-R[:, 2, 0], -1, 1)))
    roll = np.degrees(np.arctan2(R[:, 1, 0], R[:, 0, 0]))
    return np.stack([pitch, yaw, roll], axis=-1)
