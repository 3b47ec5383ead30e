"""Five-point face alignment (ArcFace template) from Face Mesh landmarks.

Points, in image order as InsightFace expects them: eye on the image's left (the person's right,
mean of mesh 33 and 133), eye on the image's right (362, 263), nose tip (4), mouth corners 61
(image left) and 291. :func:`norm_crop` warps with the least-squares similarity transform onto
the 112×112 ArcFace template (``cv2.estimateAffinePartial2D`` with LMEDS off, i.e. the same
Umeyama solution as InsightFace's ``SimilarityTransform``).
"""

from __future__ import annotations

import numpy as np

ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)


def five_points(face_px: np.ndarray) -> np.ndarray | None:
    """(5, 2) alignment points from (468+, 2) Face Mesh points in pixels; None if no face."""
    f = np.asarray(face_px, dtype=np.float64)
    if f.shape[0] < 468 or not np.isfinite(f[:468, :2]).all():
        return None
    return np.stack([
        (f[33, :2] + f[133, :2]) / 2,
        (f[362, :2] + f[263, :2]) / 2,
        f[4, :2],
        f[61, :2],
        f[291, :2],
    ])


def umeyama_similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 similarity transform (rotation, uniform scale, translation) mapping src onto dst."""
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    n = src.shape[0]
    ms, md = src.mean(0), dst.mean(0)
    s0, d0 = src - ms, dst - md
    cov = d0.T @ s0 / n
    U, S, Vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[-1] = -1
    R = U @ np.diag(d) @ Vt
    var = (s0**2).sum() / n
    scale = (S * d).sum() / var
    M = np.zeros((2, 3))
    M[:, :2] = scale * R
    M[:, 2] = md - scale * R @ ms
    return M


def norm_crop(rgb: np.ndarray, pts5: np.ndarray, size: int = 112) -> np.ndarray:
    import cv2

    dst = ARCFACE_TEMPLATE * (size / 112.0)
    M = umeyama_similarity(pts5, dst)
    return cv2.warpAffine(np.ascontiguousarray(rgb), M, (size, size), borderValue=0.0)
