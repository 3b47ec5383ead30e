"""MediaPipe (0.10.21 legacy solutions, models bundled with the wheel) whole-body detector.

One :class:`MediaPipeRegionDetector` per clip runs, on each frame, Pose (33 points with
visibility), Hands (21 points + handedness confidence, up to 2 hands) and Face Mesh (468 points),
all in tracking mode. Frames are downscaled to ``detect_max_side`` (long side) for detection;
coordinates are returned in source-frame pixels.

Hands get the person's side from the Pose wrists (15 = left, 16 = right): with two hands the
assignment minimising the wrist distances, with one hand the nearer wrist. Without a body, the
MediaPipe handedness label is flipped (the legacy Hands model labels a mirrored selfie image, so
its "Left" is the person's right hand in an ordinary camera image; checked on the whole-body test
clips against the Pose wrists). When a visible Pose wrist (visibility >= ``roi_min_visibility``)
has no hand near it, Hands runs once more, in static mode, on a full-resolution square crop
around that wrist (side 3 × forearm length, at least 96 px): small or clasped hands in whole-body
frames are often missed by the full-frame palm detector (``hand_source`` = 2 marks them).

The detector is shared by every region artifact of a clip through :func:`acquire` /
:func:`release`, so a frame is landmarked once however many artifacts need it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .tracks import (
    HAND_FULL,
    HAND_NONE,
    HAND_ROI,
    POSE_LEFT_ELBOW,
    POSE_LEFT_WRIST,
    POSE_RIGHT_ELBOW,
    POSE_RIGHT_WRIST,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame

DEFAULT_CONFIG: dict[str, Any] = {
    "detect_max_side": 1280,
    "pose_complexity": 1,
    "hands_complexity": 1,
    "min_detection_confidence": 0.5,
    "min_tracking_confidence": 0.5,
    "hand_roi": True,
    "roi_min_visibility": 0.5,
    "face": True,
}


def detector_config(options: dict | None) -> dict[str, Any]:
    cfg = dict(DEFAULT_CONFIG)
    if options:
        extra = options.get("regions", {}) or {}
        for k in DEFAULT_CONFIG:
            if k in extra:
                cfg[k] = extra[k]
    return cfg


@dataclass
class FrameDetections:
    index: int
    pose: np.ndarray  # (33, 4) px, NaN if none
    hands: np.ndarray  # (2, 21, 3) px
    hand_score: np.ndarray  # (2,)
    hand_source: np.ndarray  # (2,) int8
    face: np.ndarray  # (468, 2) px


def _nan(shape) -> np.ndarray:
    return np.full(shape, np.nan, dtype=np.float32)


class MediaPipeRegionDetector:
    def __init__(self, config: dict[str, Any] | None = None):
        import mediapipe as mp

        self.config = dict(DEFAULT_CONFIG, **(config or {}))
        c = self.config
        self.pose = mp.solutions.pose.Pose(
            static_image_mode=False,
            model_complexity=int(c["pose_complexity"]),
            min_detection_confidence=c["min_detection_confidence"],
            min_tracking_confidence=c["min_tracking_confidence"],
        )
        self.hands = mp.solutions.hands.Hands(
            static_image_mode=False,
            max_num_hands=2,
            model_complexity=int(c["hands_complexity"]),
            min_detection_confidence=c["min_detection_confidence"],
            min_tracking_confidence=c["min_tracking_confidence"],
        )
        self.roi_hands = None
        if c["hand_roi"]:
            self.roi_hands = mp.solutions.hands.Hands(
                static_image_mode=True, max_num_hands=1, model_complexity=int(c["hands_complexity"]),
                min_detection_confidence=c["min_detection_confidence"],
            )
        self.face = None
        if c["face"]:
            self.face = mp.solutions.face_mesh.FaceMesh(
                static_image_mode=False, max_num_faces=1, refine_landmarks=False,
                min_detection_confidence=c["min_detection_confidence"],
                min_tracking_confidence=c["min_tracking_confidence"],
            )
        self._last: FrameDetections | None = None
        self.n_detected = 0
        self.clock: Any = None  # the clip context whose ``region_tracking`` stage times detect()

    # ------------------------------------------------------------------ per frame
    def detect(self, frame: "Frame") -> FrameDetections:
        if self._last is not None and self._last.index == frame.index:
            return self._last
        add_time = getattr(self.clock, "add_time", None)
        if add_time is None:
            return self._detect(frame)
        t0 = time.perf_counter()
        try:
            return self._detect(frame)
        finally:  # the tracking's own stage in run.json, apart from the artifacts sharing it
            add_time("region_tracking", time.perf_counter() - t0)

    def _detect(self, frame: "Frame") -> FrameDetections:
        rgb = frame.rgb
        H, W = rgb.shape[:2]
        img, scale = self._small(rgb)
        h, w = img.shape[:2]
        pose = _nan((33, 4))
        r = self.pose.process(img)
        if r.pose_landmarks is not None:
            pose = np.array(
                [(p.x * W, p.y * H, p.z, p.visibility) for p in r.pose_landmarks.landmark], dtype=np.float32
            )
        found: list[tuple[np.ndarray, float, str]] = []
        r = self.hands.process(img)
        if r.multi_hand_landmarks:
            for lm, hd in zip(r.multi_hand_landmarks, r.multi_handedness):
                pts = np.array([(p.x * W, p.y * H, p.z) for p in lm.landmark], dtype=np.float32)
                c = hd.classification[0]
                found.append((pts, float(c.score), str(c.label)))
        found = _dedupe(found)
        hands, score, source = _assign(found, pose)
        if self.roi_hands is not None and np.isfinite(pose[0, 0]):
            for side, (wi, ei) in enumerate(((POSE_LEFT_WRIST, POSE_LEFT_ELBOW), (POSE_RIGHT_WRIST, POSE_RIGHT_ELBOW))):
                if source[side] != HAND_NONE or pose[wi, 3] < self.config["roi_min_visibility"]:
                    continue
                det = self._roi_hand(rgb, pose[wi, :2], pose[ei, :2])
                if det is None:
                    continue
                pts, sc = det
                other = hands[1 - side]
                if np.isfinite(other[0, 0]) and _iou(_bbox(pts), _bbox(other)) > 0.3:
                    continue  # the same physical hand as the other side's
                hands[side], score[side], source[side] = pts, sc, HAND_ROI
        face = _nan((468, 2))
        if self.face is not None:
            r = self.face.process(img)
            if r.multi_face_landmarks:
                face = np.array([(p.x * W, p.y * H) for p in r.multi_face_landmarks[0].landmark[:468]], dtype=np.float32)
        self._last = FrameDetections(frame.index, pose, hands, score, source, face)
        self.n_detected += 1
        return self._last

    def _small(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        import cv2

        H, W = rgb.shape[:2]
        m = int(self.config["detect_max_side"] or 0)
        if m and max(H, W) > m:
            s = m / max(H, W)
            img = cv2.resize(rgb, (max(1, round(W * s)), max(1, round(H * s))), interpolation=cv2.INTER_AREA)
            return np.ascontiguousarray(img), s
        return np.ascontiguousarray(rgb), 1.0

    def _roi_hand(self, rgb: np.ndarray, wrist: np.ndarray, elbow: np.ndarray):
        H, W = rgb.shape[:2]
        fore = float(np.hypot(*(wrist - elbow))) if np.isfinite(elbow).all() else 0.0
        half = max(1.5 * fore, 48.0)
        x0, y0 = int(max(0, wrist[0] - half)), int(max(0, wrist[1] - half))
        x1, y1 = int(min(W, wrist[0] + half)), int(min(H, wrist[1] + half))
        if x1 - x0 < 16 or y1 - y0 < 16:
            return None
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        r = self.roi_hands.process(crop)
        if not r.multi_hand_landmarks:
            return None
        cw, ch = x1 - x0, y1 - y0
        pts = np.array([(p.x * cw + x0, p.y * ch + y0, p.z) for p in r.multi_hand_landmarks[0].landmark], dtype=np.float32)
        if np.hypot(*(pts[0, :2] - wrist)) > max(half, 1.0):
            return None  # a hand far from this wrist: not this side's
        return pts, float(r.multi_handedness[0].classification[0].score)

    def close(self) -> None:
        for m in (self.pose, self.hands, self.roi_hands, self.face):
            if m is not None:
                try:
                    m.close()
                except Exception:  # noqa: BLE001
                    pass


def _bbox(pts: np.ndarray) -> np.ndarray:
    return np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / ua) if ua > 0 else 0.0


def _dedupe(found):
    """Drop a detection that overlaps a higher-scored one (IoU > 0.5); keep at most 2."""
    found = sorted(found, key=lambda f: -f[1])
    out = []
    for f in found:
        if all(_iou(_bbox(f[0]), _bbox(g[0])) <= 0.5 for g in out):
            out.append(f)
    return out[:2]


def _assign(found, pose: np.ndarray):
    """Give each detected hand the person's side; returns (hands (2,21,3), score (2,), source (2,))."""
    hands = _nan((2, 21, 3))
    score = np.full(2, np.nan, dtype=np.float32)
    source = np.zeros(2, dtype=np.int8)
    if not found:
        return hands, score, source
    wrists = pose[[POSE_LEFT_WRIST, POSE_RIGHT_WRIST], :2] if np.isfinite(pose[0, 0]) else None
    sides: list[int]
    if wrists is not None:
        d = np.array([[np.hypot(*(f[0][0, :2] - wrists[s])) for s in (0, 1)] for f in found])
        if len(found) == 2:
            sides = [0, 1] if d[0, 0] + d[1, 1] <= d[0, 1] + d[1, 0] else [1, 0]
        else:
            sides = [int(np.argmin(d[0]))]
    else:
        # legacy Hands labels a mirrored image: label "Left" = the person's right hand
        sides = [1 if f[2] == "Left" else 0 for f in found]
        if len(sides) == 2 and sides[0] == sides[1]:
            sides[1] = 1 - sides[0]
    for f, s in zip(found, sides):
        hands[s], score[s], source[s] = f[0], f[1], HAND_FULL
    return hands, score, source


# ---------------------------------------------------------------------- sharing per clip
_SHARED: dict[tuple[int, tuple], list] = {}


def _key(ctx: Any, config: dict) -> tuple[int, tuple]:
    return (id(ctx), tuple(sorted((k, str(v)) for k, v in config.items())))


def acquire(ctx: Any, config: dict) -> MediaPipeRegionDetector:
    """The clip's shared detector (created on first use; reference-counted)."""
    k = _key(ctx, config)
    if k not in _SHARED:
        _SHARED[k] = [MediaPipeRegionDetector(config), 0]
        _SHARED[k][0].clock = ctx
    _SHARED[k][1] += 1
    return _SHARED[k][0]


def release(ctx: Any, config: dict) -> None:
    k = _key(ctx, config)
    ent = _SHARED.get(k)
    if ent is None:
        return
    ent[1] -= 1
    if ent[1] <= 0:
        ent[0].close()
        del _SHARED[k]
