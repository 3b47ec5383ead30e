"""Hand-motion formulas (CyberHost's HKC / HKV) on hand keypoint tracks.

Inputs are per frame and per hand: ``points`` (T, H, K, 2) pixel coordinates with NaN where the
hand was not found, and ``conf`` (T, H, K) or (T, H) confidences (NaN or 0 where not found).

* :func:`hkc`: mean keypoint confidence over frames × hands (× keypoints). A hand that was not
  found counts as confidence 0 (``missing="zero"``, the detector's view: an undetected hand has no
  confidence), or is left out (``missing="skip"``).
* :func:`hkv`: temporal variance of keypoint positions (ddof=0, frames where the hand was found),
  averaged over hands, keypoints and the two axes. Units: pixels² of the source frame (divide by
  ``scale**2`` to normalise, e.g. by the frame height).
"""

from __future__ import annotations

import numpy as np

__all__ = ["hkc", "hkv"]


def hkc(conf: np.ndarray, *, missing: str = "zero") -> float:
    c = np.asarray(conf, dtype=np.float64)
    if c.size == 0:
        return float("nan")
    if missing == "zero":
        return float(np.nan_to_num(c, nan=0.0).mean())
    if missing == "skip":
        ok = np.isfinite(c) & (c > 0)
        return float(c[ok].mean()) if ok.any() else float("nan")
    raise ValueError("missing must be 'zero' or 'skip'")


def hkv(points: np.ndarray, *, min_frames: int = 2, scale: float = 1.0) -> tuple[float, int]:
    """(HKV, number of hands that entered the mean). NaN when no hand has ``min_frames`` frames."""
    p = np.asarray(points, dtype=np.float64) / float(scale)
    if p.ndim != 4 or p.shape[-1] < 2:
        raise ValueError(f"points must be (T, H, K, 2+), got {p.shape}")
    p = p[..., :2]
    vals = []
    for h in range(p.shape[1]):
        ph = p[:, h]  # (T, K, 2)
        present = np.isfinite(ph).all(axis=(1, 2))
        if present.sum() < min_frames:
            continue
        vals.append(ph[present].var(axis=0, ddof=0).mean())
    if not vals:
        return float("nan"), 0
    return float(np.mean(vals)), len(vals)
