"""Landmark distance (LMD) between GT and generated Face Mesh tracks: M-LMD (mouth) and F-LMD (face).

Definition followed: Chen et al., "Lip Movements Generation at a Glance", ECCV 2018, §4 (LMD = mean
Euclidean distance between corresponding landmarks of generated and real frames, averaged over
landmarks and frames), with the normalisation the common talking-head evaluation scripts apply
before it (landmarks of an aligned face, so head position and face size do not count): here each
frame's landmarks are translated so the face centroid (all 468 mesh points) is at the origin and
scaled so the inter-ocular distance (outer eye corners, mesh points 33 and 263) is 1. No rotation
is removed. The value is in inter-ocular distances (IOD); ×100 reads as % of IOD.

Frames are paired by index over the common length; frames where either track has no face are
skipped (their number is reported).
"""

from __future__ import annotations

import numpy as np

from ...regions.tracks import LIP_LANDMARKS

#: 40 lip points of Face Mesh (outer + inner contour), as regions.tracks.LIP_LANDMARKS
MOUTH: tuple[int, ...] = LIP_LANDMARKS
FACE = tuple(range(468))  #: every mesh point (iris points of the refined mesh excluded)
IOD_PAIR = (33, 263)


def normalise(points: np.ndarray) -> np.ndarray:
    """(T, N, 2) → the same points centred on the 468-point centroid, in inter-ocular units."""
    p = np.asarray(points, dtype=np.float64)[:, :, :2]
    c = p[:, :468].mean(axis=1, keepdims=True)
    iod = np.linalg.norm(p[:, IOD_PAIR[0]] - p[:, IOD_PAIR[1]], axis=-1)[:, None, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return (p - c) / iod


def lmd(gt: np.ndarray, gen: np.ndarray, indices=FACE) -> tuple[float, dict]:
    """Mean over frames and ``indices`` of ‖gt − gen‖₂ after :func:`normalise`. Returns
    (value, details); value NaN when no frame has a face in both tracks."""
    n = min(gt.shape[0], gen.shape[0])
    a = normalise(gt[:n])[:, list(indices)]
    b = normalise(gen[:n])[:, list(indices)]
    per_frame = np.linalg.norm(a - b, axis=-1).mean(axis=1)
    ok = np.isfinite(per_frame)
    val = float(per_frame[ok].mean()) if ok.any() else float("nan")
    return val, {"n_frames_compared": int(ok.sum()), "n_frames_gt": int(gt.shape[0]),
                 "n_frames_gen": int(gen.shape[0]), "n_frames_skipped": int(n - ok.sum())}
