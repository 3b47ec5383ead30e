"""VBench formulas (Vchitect/VBench), pure numpy, independent of any network.

Each function states which VBench module it follows. Networks produce the inputs (features,
flow fields, interpolated frames); these functions turn them into the published numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# ---- subject / background consistency (subject_consistency.py, background_consistency.py) ----

@dataclass(frozen=True)
class ConsistencyResult:
    video_score: float  # per-video value VBench reports: video_sim / (T - 1)
    video_sim: float  # sum over frames i >= 1 (the aggregate is sum(video_sim) / sum(count))
    count: int  # T - 1
    per_frame: np.ndarray  # (T-1,) the ½[max(0,cos prev) + max(0,cos first)] terms


def l2_normalize(feats: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """``F.normalize(x, p=2, dim=-1)``: x / max(||x||, eps)."""
    f = np.asarray(feats, dtype=np.float64)
    n = np.linalg.norm(f, axis=-1, keepdims=True)
    return f / np.maximum(n, eps)


def _cos(a: np.ndarray, b: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """``F.cosine_similarity`` row-wise (eps on the product of norms)."""
    num = (a * b).sum(-1)
    den = np.maximum(np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1), eps)
    return num / den


def temporal_consistency(feats: np.ndarray, normalize: bool = True) -> ConsistencyResult:
    """Subject/background consistency of one video from per-frame features (T, D).

    For frames i ≥ 1: ½[max(0, cos(f_{i−1}, f_i)) + max(0, cos(f_0, f_i))]; per video the mean
    over those T−1 terms. A single frame has no value (VBench divides by zero there).
    """
    f = np.asarray(feats, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"features must be (T, D), got {f.shape}")
    if f.shape[0] < 2:
        raise ValueError("consistency needs at least two frames")
    if normalize:
        f = l2_normalize(f)
    prev = np.maximum(0.0, _cos(f[:-1], f[1:]))
    first = np.maximum(0.0, _cos(np.broadcast_to(f[:1], f[1:].shape), f[1:]))
    terms = (prev + first) / 2.0
    s = float(terms.sum())
    return ConsistencyResult(s / len(terms), s, int(len(terms)), terms)


def aggregate_consistency(results: list[ConsistencyResult]) -> float:
    """VBench's aggregate: sum of all per-frame terms / number of terms (frame-weighted)."""
    cnt = sum(r.count for r in results)
    return float(sum(r.video_sim for r in results) / cnt) if cnt else float("nan")


# ---- dynamic degree (dynamic_degree.py) -------------------------------------------------------

def dynamic_interval(fps: float) -> int:
    """Frame step: ``max(1, round(fps / 8))`` with Python's round (half to even)."""
    return max(1, round(fps / 8))


def dynamic_params(height: int, width: int, n_sampled: int) -> tuple[float, int]:
    """(thres, count_num) = (6·min(H,W)/256, round(4·N/16)) with N the number of sampled frames."""
    return 6.0 * (min(height, width) / 256.0), round(4 * (n_sampled / 16.0))


def top_magnitude_mean(flow: np.ndarray, frac: float = 0.05) -> float:
    """Mean of the largest ``int(H·W·frac)`` flow magnitudes; ``flow`` is (2, H, W) or (H, W, 2)."""
    f = np.asarray(flow, dtype=np.float64)
    if f.shape[0] == 2 and f.ndim == 3 and f.shape[-1] != 2:
        u, v = f[0], f[1]
    else:
        u, v = f[..., 0], f[..., 1]
    rad = np.sqrt(u * u + v * v)
    h, w = rad.shape
    k = int(h * w * frac)
    if k <= 0:
        return float("nan")
    flat = rad.reshape(-1)
    top = np.partition(flat, flat.size - k)[flat.size - k:]
    return float(np.mean(top))


def is_dynamic(scores: list[float] | np.ndarray, thres: float, count_num: int) -> bool:
    """VBench ``check_move``: True once ``count_num`` pair scores exceed ``thres`` (checked after
    each pair, so count_num = 0 is True as soon as one pair exists; no pair → False)."""
    count = 0
    for s in scores:
        if s > thres:
            count += 1
        if count >= count_num:
            return True
    return False


# ---- motion smoothness (motion_smoothness.py) -------------------------------------------------

def smoothness_pairs(n_frames: int) -> list[tuple[int, int, int]]:
    """(left, right, target) frame triples: even frames are kept, each odd frame that has an even
    neighbour on both sides is interpolated from them (an even-length clip's last frame is not)."""
    return [(i - 1, i + 1, i) for i in range(1, n_frames - 1, 2)]


def abs_diff_mean(a: np.ndarray, b: np.ndarray) -> float:
    """``np.mean(cv2.absdiff(a, b))`` on uint8 frames."""
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def motion_smoothness_score(diffs: list[float] | np.ndarray) -> float:
    """(255 − mean of the per-frame mean absolute differences) / 255."""
    d = np.asarray(diffs, dtype=np.float64)
    if d.size == 0:
        raise ValueError("motion smoothness needs at least three frames")
    return float((255.0 - d.mean()) / 255.0)


def float_to_uint8_truncate(x: np.ndarray) -> np.ndarray:
    """AMT's ``tensor2img``: (x·255).clip(0, 255).astype(uint8) (truncation, not rounding)."""
    return np.clip(np.asarray(x, dtype=np.float32) * 255.0, 0, 255).astype(np.uint8)


# ---- aesthetic / imaging quality (aesthetic_quality.py, imaging_quality.py) --------------------

def aesthetic_score(laion_scores: np.ndarray) -> float:
    """Per video: mean of LAION head outputs / 10."""
    return float(np.mean(np.asarray(laion_scores, dtype=np.float64) / 10.0))


def imaging_resize_size(height: int, width: int, mode: str = "longer", limit: int = 512) -> tuple[int, int]:
    """Size MUSIQ sees in VBench ``imaging_quality`` (default mode 'longer': long side ≤ 512)."""
    if mode == "longer":
        m = max(height, width)
        if m > limit:
            s = limit / m
            return int(s * height), int(s * width)
        return height, width
    if mode.startswith("shorter"):
        m = min(height, width)
        if m > limit:
            s = limit / m
            return int(s * height), int(s * width)
        return height, width
    if mode == "None":
        return height, width
    raise ValueError(f"unknown imaging-quality preprocessing mode {mode!r}")


def imaging_score(musiq_scores: np.ndarray) -> float:
    """Per video: mean MUSIQ score / 100 (VBench divides the aggregate by 100; the per-video
    values it stores are unscaled — we report the scaled one and keep the raw mean in details)."""
    return float(np.mean(np.asarray(musiq_scores, dtype=np.float64)) / 100.0)


def finite_or_nan(x: float) -> float:
    return x if math.isfinite(x) else float("nan")
