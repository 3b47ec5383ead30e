"""Blink statistics from the eye aspect ratio (EAR) of Face Mesh eye landmarks.

EAR (Soukupová & Čech, "Real-Time Eye Blink Detection using Facial Landmarks", CVWW 2016, eq. 1)::

    EAR = (|p2 − p6| + |p3 − p5|) / (2 |p1 − p4|)

with p1/p4 the eye corners, p2/p3 two upper-lid points and p6/p5 the lower-lid points facing them.
The paper's 6 points are dlib/iBUG-68 ones; on MediaPipe Face Mesh the usual equivalents are
used (:data:`RIGHT_EYE`, :data:`LEFT_EYE`, the person's own sides). The per-frame EAR is the mean
of both eyes, as in the paper ("averaged over both eyes").

Blink rule (the paper's simple-threshold baseline, not its SVM): a blink is a maximal run of at
least :data:`MIN_FRAMES` consecutive frames with EAR < :data:`EAR_THRESHOLD`. Frames without a
face (NaN) end a run. Defaults chosen on the shipped clips (open-eye EAR on Face Mesh 0.26–0.31,
closed 0.02–0.15; see tests/metrics/functional/test_blink.py for the hand-counted blinks).
"""

from __future__ import annotations

import numpy as np

#: Face Mesh indices (p1, p2, p3, p4, p5, p6) of the person's right eye (image left) ...
RIGHT_EYE: tuple[int, ...] = (33, 160, 158, 133, 153, 144)
#: ... and of the left eye (image right)
LEFT_EYE: tuple[int, ...] = (362, 385, 387, 263, 373, 380)
EAR_THRESHOLD = 0.2
MIN_FRAMES = 2


def eye_aspect_ratio(points: np.ndarray, eye: tuple[int, ...]) -> np.ndarray:
    """EAR per frame of one eye. ``points``: (T, N, 2) pixel coordinates (NaN rows: no face)."""
    p = np.asarray(points, dtype=np.float64)[:, list(eye), :2]
    d = lambda a, b: np.linalg.norm(p[:, a] - p[:, b], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (d(1, 5) + d(2, 4)) / (2.0 * d(0, 3))


def ear(points: np.ndarray) -> np.ndarray:
    """Mean EAR of both eyes per frame (T,), NaN where no face."""
    return (eye_aspect_ratio(points, RIGHT_EYE) + eye_aspect_ratio(points, LEFT_EYE)) / 2.0


def detect_blinks(ear_t: np.ndarray, threshold: float = EAR_THRESHOLD,
                  min_frames: int = MIN_FRAMES) -> list[tuple[int, int]]:
    """Blinks as (first frame, last frame) inclusive: maximal runs of ≥ ``min_frames`` frames
    with EAR < ``threshold`` (NaN is not closed)."""
    closed = np.asarray(ear_t, dtype=np.float64) < threshold  # NaN compares False
    out: list[tuple[int, int]] = []
    start = None
    for i, c in enumerate(np.append(closed, False)):
        if c and start is None:
            start = i
        elif not c and start is not None:
            if i - start >= min_frames:
                out.append((start, i - 1))
            start = None
    return out


def blink_stats(ear_t: np.ndarray, fps: float, threshold: float = EAR_THRESHOLD,
                min_frames: int = MIN_FRAMES) -> dict:
    """Count, rate (blinks per minute of the clip) and mean duration (s) of the blinks.

    The rate is over the clip's duration ``T / fps``; the duration of a blink is its closed run
    length / fps. ``mean_duration_s`` is NaN without a blink."""
    ear_t = np.asarray(ear_t, dtype=np.float64)
    blinks = detect_blinks(ear_t, threshold, min_frames)
    minutes = ear_t.shape[0] / fps / 60.0
    lengths = [b - a + 1 for a, b in blinks]
    return {
        "n_blinks": len(blinks),
        "blinks": [list(b) for b in blinks],
        "rate_per_min": len(blinks) / minutes if minutes > 0 else float("nan"),
        "mean_duration_s": float(np.mean(lengths) / fps) if lengths else float("nan"),
        "duration_min": minutes,
    }
