"""Motion energy and diversity of landmark / pose tracks (descriptive statistics; docs/extras.md).

* energy = mean over frame transitions of the mean displacement of a set of points, times fps, in a
  scale-free unit (inter-ocular distances, shoulder widths or degrees per second);
* head-pose diversity = mean over (pitch, yaw, roll) of the standard deviation over frames (degrees),
  SadTalker's head-motion diversity (Zhang et al., CVPR 2023, sec. 4: "standard deviation of the
  head motion feature embeddings") with the angles of the face-mesh pose instead of Hopenet's;
* body diversity = square root of the mean over joints of the variance over frames of the joint
  positions, relative to the shoulder midpoint, in shoulder widths.

A tracker re-run on an identical image still jitters; :func:`hold_still` first copies the previous
frame's points onto every frame that does not differ from it (the caller decides which), so a
still video has exactly zero energy and diversity.
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["body_diversity", "energy", "hold_still", "mean_displacement", "pose_diversity"]


def hold_still(points: np.ndarray, still: np.ndarray) -> np.ndarray:
    """``points`` (T, ...) with frame i+1 replaced by frame i wherever ``still[i]`` (T−1,) is true."""
    out = np.array(points, dtype=np.float64, copy=True)
    still = np.asarray(still, bool)
    if still.shape[0] != max(out.shape[0] - 1, 0):
        raise ValueError(f"still has {still.shape[0]} transitions for {out.shape[0]} frames")
    for i in np.flatnonzero(still):
        out[i + 1] = out[i]
    return out


def mean_displacement(points: np.ndarray) -> np.ndarray:
    """(T−1,) mean over points of ‖p(t+1) − p(t)‖; NaN where no point is finite in both frames.
    ``points``: (T, J, D) or (T, D) (one point)."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 2:
        p = p[:, None, :]
    d = np.linalg.norm(np.diff(p, axis=0), axis=-1)  # NaN where either frame lacks the point
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(d, axis=1) if d.shape[1] else np.full(d.shape[0], np.nan)


def energy(points: np.ndarray, fps: float, scale: float = 1.0) -> tuple[float, int]:
    """Mean displacement per second in units of ``scale``, and the number of transitions measured."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    d = mean_displacement(points)
    ok = np.isfinite(d)
    if not ok.any():
        return float("nan"), 0
    return float(d[ok].mean() * fps / scale), int(ok.sum())


def pose_diversity(angles: np.ndarray) -> float:
    """Mean over columns of the standard deviation over rows (frames with all angles finite)."""
    a = np.asarray(angles, dtype=np.float64)
    a = a[np.isfinite(a).all(axis=1)]
    if a.shape[0] < 2:
        return float("nan")
    return float(a.std(axis=0).mean())


def body_diversity(points: np.ndarray, scale: float) -> float:
    """sqrt(mean over joints of the variance over frames of the joint's position) / ``scale``; a
    joint counts where it is finite in ≥ 2 frames."""
    p = np.asarray(points, dtype=np.float64)
    var = []
    for j in range(p.shape[1]):
        q = p[:, j][np.isfinite(p[:, j]).all(axis=-1)]
        if q.shape[0] >= 2:
            var.append(float(q.var(axis=0).sum()))
    if not var or not scale > 0:
        return float("nan")
    return float(np.sqrt(np.mean(var)) / scale)
