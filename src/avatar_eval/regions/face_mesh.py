"""MediaPipe Face Mesh (468 points, 478 with refined iris) as a streamed frame analyzer.

Uses the Face Mesh model bundled in mediapipe 0.10.21 (``mp.solutions.face_mesh``), one fresh
tracker per clip (the official THEval scripts reuse one across clips; see docs/theval.md).
Settings are explicit so the THEval ``compat`` variants can reproduce each official script:

* ``resize``: feed frames resized to this (W, H) with ``cv2.INTER_LINEAR`` (THEval: 256×256).
* ``swap_rb``: swap R and B before Face Mesh (THEval lip_sync's double conversion).
* ``refine``: ``refine_landmarks`` (478 points instead of 468).
* ``static``: static image mode instead of tracking.
* ``feed``: feed only these frame indices, in order, repeats allowed (non-decreasing); one track
  row per entry. THEval silent_lip_stability feeds silent frames only, so its tracker sees
  non-consecutive frames; readers that return other frames than asked repeat some
  (``io/compat_readers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..pipeline.artifacts import FrameAnalyzer

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext


@dataclass
class FaceTrack:
    """Landmarks per frame in normalised image coordinates (x/W, y/H, z), NaN where no face."""

    landmarks: np.ndarray  # float32 (T, N, 3)
    width: int  # size of the image Face Mesh saw (after resize)
    height: int
    src_width: int  # original frame size
    src_height: int
    times: np.ndarray  # float64 (T,) seconds
    frame_indices: np.ndarray  # int (T,) indices in the clip (differs from arange with feed)
    config: dict

    @property
    def present(self) -> np.ndarray:
        return ~np.isnan(self.landmarks[:, 0, 0])

    @property
    def n_frames(self) -> int:
        return int(self.landmarks.shape[0])

    @property
    def n_present(self) -> int:
        return int(self.present.sum())

    def pixels(self, width: float | None = None, height: float | None = None) -> np.ndarray:
        """(T, N, 2) coordinates scaled to ``width``×``height`` (default: the source frame)."""
        w = self.src_width if width is None else width
        h = self.src_height if height is None else height
        return self.landmarks[:, :, :2] * np.array([w, h], dtype=np.float64)


_REC = 17  # serialized NormalizedLandmark with x, y, z set: 0x0a 15 | 0x0d f32 | 0x15 f32 | 0x1d f32


def landmarks_xyz(msg) -> np.ndarray:
    """(N, 3) float32 x, y, z of a ``NormalizedLandmarkList``.

    Reads the protobuf wire bytes directly (7× faster than 478 × 3 Python attribute reads, which
    cost ~8 % of Face Mesh time per frame); any other layout (a field missing, visibility set)
    falls back to the attribute reads, so the values are always the message's own."""
    n = len(msg.landmark)
    raw = msg.SerializeToString()
    if n and len(raw) == _REC * n:
        u = np.frombuffer(raw, dtype=np.uint8).reshape(n, _REC)
        if ((u[:, 0] == 0x0A) & (u[:, 1] == _REC - 2) & (u[:, 2] == 0x0D) & (u[:, 7] == 0x15) & (u[:, 12] == 0x1D)).all():
            out = np.empty((n, 3), dtype=np.float32)
            for j, o in enumerate((3, 8, 13)):
                out[:, j] = np.ascontiguousarray(u[:, o:o + 4]).view("<f4")[:, 0]
            return out
    return np.array([(p.x, p.y, p.z) for p in msg.landmark], dtype=np.float32).reshape(n, 3)


class FaceMeshAnalyzer(FrameAnalyzer):
    def __init__(
        self,
        ctx: "ClipContext | None",
        *,
        refine: bool = True,
        resize: tuple[int, int] | None = None,
        swap_rb: bool = False,
        static: bool = False,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        feed: list[int] | None = None,
    ):
        super().__init__(ctx)  # type: ignore[arg-type]
        import mediapipe as mp

        self.config = dict(
            refine=refine, resize=resize, swap_rb=swap_rb, static=static,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
            feed=None if feed is None else len(feed),
        )
        self.counts: dict[int, int] | None = None
        if feed is not None:
            if any(b < a for a, b in zip(feed, feed[1:])):
                raise ValueError("feed must be non-decreasing: frames arrive in decode order")
            self.counts = {}
            for i in feed:
                self.counts[int(i)] = self.counts.get(int(i), 0) + 1
        self.refine = refine
        self.resize = resize
        self.swap_rb = swap_rb
        self.n_points = 478 if refine else 468
        self.mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=1,
            refine_landmarks=refine,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )
        self.rows: list[np.ndarray | None] = []
        self.times: list[float] = []
        self.indices: list[int] = []
        self.src_size: tuple[int, int] | None = None

    def process_rgb(self, rgb: np.ndarray) -> np.ndarray | None:
        import cv2

        img = rgb
        if self.resize is not None and (img.shape[1], img.shape[0]) != tuple(self.resize):
            img = cv2.resize(img, tuple(self.resize))  # INTER_LINEAR, as cv2.resize(frame, (256, 256))
        if self.swap_rb:
            img = img[:, :, ::-1]
        img = np.ascontiguousarray(img)
        res = self.mesh.process(img)
        if not res.multi_face_landmarks:
            return None
        return landmarks_xyz(res.multi_face_landmarks[0])

    def update(self, frame: "Frame") -> None:
        if self.src_size is None:
            self.src_size = (frame.rgb.shape[1], frame.rgb.shape[0])
        reps = 1 if self.counts is None else self.counts.get(frame.index, 0)
        for _ in range(reps):
            self.rows.append(self.process_rgb(frame.rgb))
            self.times.append(frame.time)
            self.indices.append(frame.index)

    def finalize(self) -> FaceTrack:
        n = len(self.rows)
        arr = np.full((n, self.n_points, 3), np.nan, dtype=np.float32)
        for i, r in enumerate(self.rows):
            if r is not None:
                arr[i] = r
        sw, sh = self.src_size or (0, 0)
        w, h = self.resize if self.resize is not None else (sw, sh)
        return FaceTrack(
            landmarks=arr, width=w, height=h, src_width=sw, src_height=sh,
            times=np.asarray(self.times, dtype=np.float64),
            frame_indices=np.asarray(self.indices, dtype=np.int64),
            config=self.config,
        )

    def close(self) -> None:
        try:
            self.mesh.close()
        except Exception:  # noqa: BLE001
            pass
