"""The builder's own frame artifact, ``benchmark.scan``: the reference-frame choice and the camera
motion, read in the same decode pass as ``region_tracks`` (it shares the clip's MediaPipe detector,
so no frame is landmarked twice).

Reference frame (the rule, per frame with a face; Face Mesh 468 points of the region detector):

* **eyes open**: mean eye aspect ratio of both eyes ≥ ``EYES_OPEN_EAR`` = 0.2 (the blink metrics'
  closed-eye threshold, ``metrics/functional/blink.py``);
* **mouth closed**: inner-lip gap (points 13–14) ≤ ``MOUTH_CLOSED_GAP`` = 0.05 inter-ocular
  distances (IOD, outer eye corners 33–263);
* **frontal**: horizontal offset of the nose tip (point 1) from the mid-point of the outer eye
  corners ≤ ``FRONTAL_NOSE_OFFSET`` = 0.15 IOD (the nose tip stands ~0.6 IOD in front of the eye
  corners, so 0.15 IOD is a yaw of about 14°), and the face's roll (eye-corner line) ≤ 15°;
* **sharp**: variance of the Laplacian of the face box in grey levels, the box resized to 128 px on
  its long side so that sharpness does not depend on the face's size.

The chosen frame is the one passing the most of the three gates (eyes, mouth, frontal), the
sharpest among those; ties keep the earliest. Its gates, features and index are recorded, so a
reference that could not pass every gate says which it failed. Without a face in any frame, the
sharpest whole frame is kept (recorded as ``face: false``).

Camera motion: Shi–Tomasi corners of the background (the frame, grey, resized to 320 px wide,
minus the person's box: the box around every Pose joint with visibility ≥ 0.5 and every Hands and
Face Mesh point found, clipped to the frame, grown by 20 % of its size on each side) tracked to the
next frame by pyramidal Lucas–Kanade; per transition, the length of the median displacement vector
(per component) of the tracked corners (≥ ``MIN_BG_POINTS`` = 8 of them, else undefined), in
fractions of the frame width per second. The clip's camera speed is the median over the defined
transitions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext

EYES_OPEN_EAR = 0.2
MOUTH_CLOSED_GAP = 0.05
FRONTAL_NOSE_OFFSET = 0.15
FRONTAL_MAX_ROLL_DEG = 15.0
SHARP_SIDE = 128
FLOW_WIDTH = 320
PERSON_MARGIN = 0.2
MIN_BG_POINTS = 8
POSE_MIN_VISIBILITY = 0.5
GATES = ("eyes_open", "mouth_closed", "frontal")

_IOD = (33, 263)
_NOSE = 1
_LIP_UP, _LIP_DOWN = 13, 14


def face_features(face: np.ndarray) -> dict[str, float]:
    """EAR, mouth gap / IOD, nose offset / IOD and roll (deg) of one frame's 468 points (px)."""
    from ..metrics.functional import blink as BL

    p = np.asarray(face, dtype=np.float64)
    a, b = p[_IOD[0]], p[_IOD[1]]
    iod = float(np.linalg.norm(b - a))
    if not iod > 0:
        return {}
    ear = float(BL.ear(p[None])[0])
    gap = float(np.linalg.norm(p[_LIP_UP] - p[_LIP_DOWN])) / iod
    nose = float(abs(p[_NOSE, 0] - (a[0] + b[0]) / 2)) / iod
    roll = float(np.degrees(np.arctan2(abs(b[1] - a[1]), abs(b[0] - a[0]))))
    return {"ear": ear, "mouth_gap_iod": gap, "nose_offset_iod": nose, "roll_deg": roll, "iod_px": iod}


def gates(f: dict[str, float]) -> dict[str, bool]:
    if not f:
        return {g: False for g in GATES}
    return {
        "eyes_open": bool(f["ear"] >= EYES_OPEN_EAR),
        "mouth_closed": bool(f["mouth_gap_iod"] <= MOUTH_CLOSED_GAP),
        "frontal": bool(f["nose_offset_iod"] <= FRONTAL_NOSE_OFFSET and f["roll_deg"] <= FRONTAL_MAX_ROLL_DEG),
    }


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian of ``grey`` resized to SHARP_SIDE px on its long side."""
    import cv2

    h, w = grey.shape[:2]
    if h < 2 or w < 2:
        return 0.0
    s = SHARP_SIDE / max(h, w)
    g = cv2.resize(grey, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(g.astype(np.float64), cv2.CV_64F).var())


class BenchmarkScanAnalyzer(FrameAnalyzer):
    """Keeps the best reference frame so far (one RGB frame) and the background flow per transition."""

    def __init__(self, ctx: "ClipContext"):
        super().__init__(ctx)
        from ..regions import mediapipe as mpd

        self.cfg = mpd.detector_config(ctx.options if ctx is not None else None)
        self.det = mpd.acquire(ctx, self.cfg)
        self.best_key: tuple | None = None
        self.best: dict[str, Any] | None = None
        self.best_rgb: np.ndarray | None = None
        self.prev_grey: np.ndarray | None = None
        self.prev_mask: np.ndarray | None = None
        self.flow: list[float] = []  # per transition, px of the FLOW_WIDTH image per frame (NaN: undefined)
        self.n_bg: list[int] = []
        self.scale = 1.0

    def _person_mask(self, d, W: int, H: int, shape: tuple[int, int]) -> np.ndarray:
        pose = np.asarray(d.pose, dtype=np.float64)
        vis = pose[np.nan_to_num(pose[:, 3]) >= POSE_MIN_VISIBILITY, :2]
        pts = [vis, d.hands[:, :, :2].reshape(-1, 2), d.face]
        p = np.concatenate([np.asarray(x, dtype=np.float64).reshape(-1, 2) for x in pts])
        p = p[np.isfinite(p).all(axis=1)]
        p = np.clip(p, 0, [W, H])  # joints guessed outside the frame do not hide the background
        mask = np.full(shape, 255, dtype=np.uint8)
        if len(p):
            lo, hi = p.min(axis=0), p.max(axis=0)
            m = (hi - lo) * PERSON_MARGIN
            lo, hi = (lo - m) * self.scale, (hi + m) * self.scale
            x0, y0 = max(0, int(lo[0])), max(0, int(lo[1]))
            x1, y1 = min(shape[1], int(np.ceil(hi[0]))), min(shape[0], int(np.ceil(hi[1])))
            mask[y0:y1, x0:x1] = 0
        return mask

    def update(self, frame: "Frame") -> None:
        import cv2

        rgb = frame.rgb
        H, W = rgb.shape[:2]
        d = self.det.detect(frame)
        grey_full = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        # --- reference frame
        face = np.asarray(d.face, dtype=np.float64)
        if np.isfinite(face).all():
            f = face_features(face)
            g = gates(f)
            x0, y0 = np.clip(face.min(axis=0), 0, [W, H]).astype(int)
            x1, y1 = np.clip(np.ceil(face.max(axis=0)), 0, [W, H]).astype(int)
            sh = sharpness(grey_full[y0:y1, x0:x1])
            key = (1, sum(g.values()), sh)
            info = {"face": True, "gates": g, "features": {k: round(v, 4) for k, v in f.items()},
                    "face_box_xyxy": [int(x0), int(y0), int(x1), int(y1)]}
        else:
            sh = sharpness(grey_full)
            key = (0, 0, sh)
            info = {"face": False, "gates": {k: False for k in GATES}, "features": {}}
        if self.best_key is None or key > self.best_key:
            self.best_key = key
            self.best = dict(info, frame_index=int(frame.index), time_s=round(float(frame.time), 4),
                             sharpness=round(sh, 3))
            self.best_rgb = rgb.copy()
        # --- camera motion (background flow)
        self.scale = FLOW_WIDTH / W
        small = cv2.resize(grey_full, (FLOW_WIDTH, max(2, round(H * self.scale))), interpolation=cv2.INTER_AREA)
        mask = self._person_mask(d, W, H, small.shape)
        if self.prev_grey is not None:
            v, n = float("nan"), 0
            if self.prev_grey.shape == small.shape:
                both = cv2.bitwise_and(self.prev_mask, mask)
                c = cv2.goodFeaturesToTrack(self.prev_grey, maxCorners=200, qualityLevel=0.01, minDistance=8,
                                            mask=both)
                if c is not None and len(c) >= MIN_BG_POINTS:
                    nxt, st, _ = cv2.calcOpticalFlowPyrLK(self.prev_grey, small, c, None,
                                                         winSize=(21, 21), maxLevel=3)
                    ok = st.reshape(-1) == 1
                    n = int(ok.sum())
                    if n >= MIN_BG_POINTS:
                        # the median displacement vector (per component): a camera pan/tilt moves every
                        # background corner alike, tracker noise and stray person corners do not
                        v = float(np.linalg.norm(np.median((nxt - c).reshape(-1, 2)[ok], axis=0)))
            self.flow.append(v)
            self.n_bg.append(n)
        self.prev_grey, self.prev_mask = small, mask

    def finalize(self) -> dict[str, Any]:
        return {"reference": self.best, "reference_rgb": self.best_rgb,
                "bg_flow_px": np.asarray(self.flow, dtype=np.float64), "bg_points": np.asarray(self.n_bg),
                "flow_width": FLOW_WIDTH}

    def close(self) -> None:
        from ..regions import mediapipe as mpd

        if self.det is not None:
            mpd.release(self.ctx, self.cfg)
            self.det = None


register_frame_artifact(
    "benchmark.scan", BenchmarkScanAnalyzer,
    "Benchmark builder: the reference frame chosen by rule (eyes open, mouth closed, frontal, sharpest) "
    "and the background optical flow per transition (camera motion); shares the region detector.",
)
