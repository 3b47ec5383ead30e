"""How many faces a clip shows, on a few sampled frames (the ``multi_face`` flag, issue 12).

Face Mesh (``max_num_faces=1``) tracks one face: the one its BlazeFace stage detects first with the
highest score, then follows it frame to frame. When a clip shows two people, every landmark metric
measures one of them and nothing says which. :class:`FaceCountAnalyzer` runs MediaPipe's face
detector — BlazeFace short range, ``face_detection_short_range.tflite`` bundled in the mediapipe
wheel (``mp.solutions.face_detection``, ``model_selection=0``: faces within ~2 m, i.e. talking
heads), no download — on :data:`N_SAMPLES` frames spread over the clip, in the same decode pass as
the default Face Mesh track. :func:`measured_face` then says which detected face the track's
landmarks cover (largest box overlap) and where it ranks by size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..pipeline.artifacts import FrameAnalyzer

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext
    from .face_mesh import FaceTrack

#: frames sampled per clip (evenly over the container's frame count, first and last included)
N_SAMPLES = 5
#: BlazeFace score a detection must reach (MediaPipe's default)
MIN_SCORE = 0.5
DETECTOR = f"mediapipe face_detection short range (BlazeFace, bundled tflite), min score {MIN_SCORE}"

Box = tuple[float, float, float, float, float]  # x0, y0, x1, y1 (pixels), score


@dataclass
class FaceCount:
    """Faces found on the sampled frames (boxes sorted largest first)."""

    frames: list[int] = field(default_factory=list)
    boxes: list[list[Box]] = field(default_factory=list)
    detector: str = DETECTOR

    @property
    def counts(self) -> list[int]:
        return [len(b) for b in self.boxes]

    @property
    def max_faces(self) -> int:
        return max(self.counts, default=0)


def sample_indices(n_frames: int, k: int = N_SAMPLES) -> list[int]:
    """``k`` frame indices spread evenly over ``0 … n_frames − 1`` (fewer when the clip is shorter)."""
    if n_frames <= 0:
        return list(range(k))
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, min(k, n_frames))})


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


class FaceCountAnalyzer(FrameAnalyzer):
    def __init__(self, ctx: "ClipContext | None", n_samples: int = N_SAMPLES):
        super().__init__(ctx)  # type: ignore[arg-type]
        import mediapipe as mp

        n = ctx.info.n_frames if ctx is not None else 0
        self.targets = set(sample_indices(n, n_samples))
        self.last_target = max(self.targets)
        self._det = mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=MIN_SCORE)
        self.result = FaceCount()
        self._last: tuple[int, np.ndarray] | None = None

    def detect(self, rgb: np.ndarray) -> list[Box]:
        h, w = rgb.shape[:2]
        res = self._det.process(np.ascontiguousarray(rgb))
        out: list[Box] = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            x0, y0 = bb.xmin * w, bb.ymin * h
            out.append((float(x0), float(y0), float(x0 + bb.width * w), float(y0 + bb.height * h), float(d.score[0])))
        return sorted(out, key=_area, reverse=True)

    def update(self, frame: "Frame") -> None:
        if frame.index in self.targets:
            self.result.frames.append(int(frame.index))
            self.result.boxes.append(self.detect(frame.rgb))
        elif frame.index > self.last_target:
            return
        else:  # the container's frame count can overstate the decoded frames: keep the latest one
            self._last = (int(frame.index), frame.rgb)

    def finalize(self) -> FaceCount:
        if len(self.result.frames) < len(self.targets) and self._last is not None \
                and self._last[0] not in self.result.frames:
            self.result.frames.append(self._last[0])
            self.result.boxes.append(self.detect(self._last[1]))
        self._last = None
        return self.result

    def close(self) -> None:
        try:
            self._det.close()
        except Exception:  # noqa: BLE001
            pass


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def measured_face(fc: FaceCount, track: "FaceTrack | None") -> dict[str, Any]:
    """The ``multi_face`` flag: how many faces, and which one the default Face Mesh track measured.

    On the first sampled frame with more than one face, the track's landmark box is matched to the
    detections by overlap (IoU); ``measured_rank`` 1 = the largest face."""
    out: dict[str, Any] = {"faces": fc.max_faces, "frames_sampled": len(fc.frames),
                           "frames_with_several": sum(c > 1 for c in fc.counts),
                           "why": "Face Mesh tracks one face (max_num_faces=1): the first it detects with the "
                                  "highest score, then follows it"}
    i = next((j for j, c in enumerate(fc.counts) if c > 1), None)
    if i is None or track is None or track.n_frames == 0:
        return out
    rows = np.flatnonzero(np.asarray(track.frame_indices) == fc.frames[i])
    if rows.size == 0 or np.isnan(track.landmarks[rows[0], 0, 0]):
        out["measured"] = "no face tracked on that frame"
        return out
    px = track.landmarks[rows[0], :, :2].astype(np.float64) * (track.src_width, track.src_height)
    lm_box = (float(px[:, 0].min()), float(px[:, 1].min()), float(px[:, 0].max()), float(px[:, 1].max()))
    ious = [_iou(lm_box, b[:4]) for b in fc.boxes[i]]
    k = int(np.argmax(ious))
    out.update({"frame": fc.frames[i], "measured_rank": k + 1, "measured_box": [round(v) for v in lm_box],
                "measured": "the largest face" if k == 0 else f"face {k + 1} by size (not the largest)",
                "overlap_iou": round(float(ious[k]), 3)})
    return out
