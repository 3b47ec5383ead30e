"""MediaPipe Face Mesh (468 points, 478 with refined iris) as a streamed frame analyzer.

Uses the Face Mesh model bundled in mediapipe 0.10.21 (``mp.solutions.face_mesh``), one fresh
tracker per clip (the official THEval scripts reuse one across clips; see docs/theval.md).
Settings are explicit so the THEval ``compat`` variants can reproduce each official script:

* ``resize``: feed frames resized to this (W, H) with ``cv2.INTER_LINEAR`` (THEval: 256×256).
* ``swap_rb``: swap R and B before Face Mesh (THEval lip_sync's double conversion).
* ``refine``: ``refine_landmarks`` (478 points instead of 468).
* ``static``: static image mode instead of tracking.
* ``feed``: feed only these frame indices, in this order, repeats and steps back allowed (the
  frames a step back needs are kept from the one decode pass until used); one track row per
  entry. THEval silent_lip_stability feeds silent frames only, so its tracker sees
  non-consecutive frames; readers that return other frames than asked repeat some
  (``io/compat_readers.py``).
* ``hold_still``: a still frame keeps the landmarks of the frame it is still against (the
  *anchor*: the last frame whose landmarks were taken from the tracker). A frame is still when,
  over an 8×8 grid of blocks covering the anchor's face box (landmark box + 10 % on each side;
  the whole frame where the anchor has no face), no block's mean absolute luma difference from the
  anchor exceeds ``hold_still`` 8-bit levels (:func:`still_difference`); a decoded key frame is
  still up to ``KEYFRAME_FACTOR`` × ``hold_still`` (a key frame re-codes the whole picture) and then
  becomes the pixel reference, its landmarks still the anchor's. Face Mesh in tracking
  mode does not give identical landmarks for identical frames (each frame's crop comes from the
  previous frame's landmarks, and the loop never settles): on a frozen clip that jitter reads
  3–10 % of the moving clip's lip/eyebrow/head dynamics. The default track holds still frames
  (``DEFAULT_STILL_THRESHOLD``); the compat tracks never do (the official scripts see the
  jitter). The tracker is still fed every frame, so ``FaceTrack.tracker`` — the rows as the
  tracker gave them — is what a track with the same settings but no hold would give, and the
  compat track with those settings shares it (``shared_value``). Measured in docs/theval.md.
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
    #: with ``hold_still``: the rows as the tracker gave them (no hold), else None
    tracker: "FaceTrack | None" = None
    #: with ``hold_still``: per row, the row whose landmarks it reports (itself when not held)
    held_from: np.ndarray | None = None

    @property
    def n_held(self) -> int:
        """Rows that report an earlier (anchor) frame's landmarks."""
        if self.held_from is None:
            return 0
        return int((self.held_from != np.arange(len(self.held_from))).sum())

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


#: default ``hold_still`` of the shared ``face_mesh`` track, in 8-bit levels (mean |Δ| of a block).
#: Measured (docs/theval.md): frozen clips re-encoded with x264 (CRF 18 and 23) differ from their
#: anchor by at most 0.52 in any block; moving talking-head clips differ from the previous frame
#: by a median of 6–14 (a real frame with motion stays above 1 but for a few near-duplicates).
DEFAULT_STILL_THRESHOLD = 1.0
#: a decoded *key frame* (I-frame) re-codes the whole picture, so a still face changes by more than
#: the P-frame noise there (x264 frozen copies: up to 3.8 levels at its key frame 250, docs/theval.md).
#: A key frame within KEYFRAME_FACTOR × ``hold_still`` of the anchor is the same picture refreshed:
#: its landmarks are held and it becomes the pixel reference of the frames after it. Moving clips:
#: values change ≤ 0.6 % (GRID's MPEG-1 key frames every 12 frames); × 6 already moved one by 1.4 %.
KEYFRAME_FACTOR = 4.0
#: the face box is cut into STILL_GRID × STILL_GRID blocks: a mouth that opens moves a block
#: of the box, not the whole box's mean, so local motion is not averaged away by a still face.
STILL_GRID = 8


#: BT.601 luma weights (R, G, B) for :func:`still_difference`
LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def face_box(landmarks: np.ndarray, width: int, height: int, margin: float = 0.1) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) pixel box of normalised landmarks, ``margin`` × its size added each side."""
    px = landmarks[:, :2].astype(np.float64) * (width, height)
    (x0, y0), (x1, y1) = px.min(0), px.max(0)
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return (int(max(0, np.floor(x0 - mx))), int(max(0, np.floor(y0 - my))),
            int(min(width, np.ceil(x1 + mx))), int(min(height, np.ceil(y1 + my))))


def _still_region(shape: tuple[int, ...], box: tuple[int, int, int, int] | None,
                  grid: int) -> tuple[int, int, int, int]:
    """The region :func:`still_difference` compares: ``box``, or the whole image when None or
    smaller than the grid."""
    H, W = shape[:2]
    x0, y0, x1, y1 = box if box is not None else (0, 0, W, H)
    if x1 - x0 < grid or y1 - y0 < grid:
        x0, y0, x1, y1 = 0, 0, W, H
    return x0, y0, x1, y1


def _still_plane(img: np.ndarray, region: tuple[int, int, int, int]) -> np.ndarray:
    """The float32 plane :func:`still_difference` compares: luma of an RGB image's region."""
    x0, y0, x1, y1 = region
    a = img[y0:y1, x0:x1]
    if a.ndim == 3:
        a = a.astype(np.float32) @ LUMA
    return np.ascontiguousarray(a, dtype=np.float32)


def still_difference(img: np.ndarray, anchor: np.ndarray, box: tuple[int, int, int, int] | None = None,
                     grid: int = STILL_GRID, anchor_plane: np.ndarray | None = None) -> float:
    """Largest block mean of |luma(img) − luma(anchor)| (8-bit levels; BT.601 luma weights, float)
    over a grid × grid cut of ``box`` (the whole image when None or smaller than the grid), from an
    integral image (~1 ms for a 250×320 face box). Luma, not the channel mean: 4:2:0 chroma is
    coded at a quarter of the resolution and its coding noise alone moved a frozen GRID copy past
    1 level (1.04 on channels averaged, 0.50 on luma; docs/theval.md)."""
    import cv2

    region = _still_region(img.shape, box, grid)
    x0, y0, x1, y1 = region
    g = max(1, min(grid, x1 - x0, y1 - y0))
    # ``anchor_plane``: the anchor's plane over the same region, computed once per anchor by the
    # caller (FaceMeshAnalyzer) instead of once per frame: the same floats, half the work
    b = anchor_plane if anchor_plane is not None else _still_plane(anchor, region)
    d = cv2.absdiff(_still_plane(img, region), b)
    s = cv2.integral(d, sdepth=cv2.CV_64F)  # (h+1, w+1[, C])
    if s.ndim == 2:
        s = s[:, :, None]
    ys = np.linspace(0, y1 - y0, g + 1).astype(int)
    xs = np.linspace(0, x1 - x0, g + 1).astype(int)
    sums = (s[ys[1:]][:, xs[1:]] - s[ys[:-1]][:, xs[1:]] - s[ys[1:]][:, xs[:-1]]
            + s[ys[:-1]][:, xs[:-1]]).sum(-1)
    counts = np.outer(np.diff(ys), np.diff(xs)) * s.shape[2]
    return float((sums / counts).max())


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
        hold_still: float | None = None,
    ):
        super().__init__(ctx)  # type: ignore[arg-type]
        import mediapipe as mp

        self.config = dict(
            refine=refine, resize=resize, swap_rb=swap_rb, static=static,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
            feed=None if feed is None else len(feed),
        )
        if hold_still is not None:
            hold_still = float(hold_still)
            if not (hold_still >= 0 and np.isfinite(hold_still)):
                raise ValueError(f"hold_still must be a finite number of 8-bit levels ≥ 0, got {hold_still!r}")
            self.config["hold_still"] = hold_still
        self.hold_still = hold_still
        self._anchor: np.ndarray | None = None  # the image the held landmarks were measured on
        self._anchor_row = -1
        self._anchor_box: tuple[int, int, int, int] | None = None
        #: (anchor image, region, its still plane): the anchor's side of still_difference, kept
        self._anchor_plane: tuple[np.ndarray, tuple[int, int, int, int], np.ndarray] | None = None
        self.held_from: list[int] = []
        self.fed: frozenset[int] | None = None  # the frames the feed asks for (None: every frame)
        self._feed: list[int] | None = None
        if feed is not None:
            self._feed = [int(i) for i in feed]
            self.fed = frozenset(self._feed)
            # a feed that steps back (OpenCV's seeks past a timestamp gap land on earlier frames)
            # is served from the frames it will still ask for, kept as they are decoded: the
            # suffix minimum says which (a few frames, however long the clip)
            self._rest_min = list(self._feed)
            for k in range(len(self._rest_min) - 2, -1, -1):
                self._rest_min[k] = min(self._rest_min[k], self._rest_min[k + 1])
            self._next = 0
            self._kept: dict[int, "Frame"] = {}
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
        if self._feed is None:
            return self._track(frame)
        # the feed's entries up to this frame, in the feed's order; frames it asks for again later
        # are kept until then, entries for frames never decoded are skipped
        feed, i = self._feed, frame.index
        if i in self.fed:
            self._kept[i] = frame
        while self._next < len(feed) and feed[self._next] <= i:
            f = self._kept.get(feed[self._next])
            if f is not None:
                self._track(f)
            self._next += 1
        low = self._rest_min[self._next] if self._next < len(feed) else None
        for j in [j for j in self._kept if low is None or j < low]:
            del self._kept[j]

    def _track(self, frame: "Frame") -> None:
        row = self.process_rgb(frame.rgb)  # the tracker sees every frame, held or not
        if self.hold_still is not None:
            self._hold(frame.rgb, row, bool(getattr(frame.av_frame, "key_frame", False)))
        self.rows.append(row)
        self.times.append(frame.time)
        self.indices.append(frame.index)

    def _hold(self, rgb: np.ndarray, row: np.ndarray | None, key_frame: bool = False) -> None:
        i = len(self.rows)
        if self._anchor is not None and self._anchor.shape == rgb.shape:
            region = _still_region(rgb.shape, self._anchor_box, STILL_GRID)
            if self._anchor_plane is None or self._anchor_plane[0] is not self._anchor or \
                    self._anchor_plane[1] != region:
                self._anchor_plane = (self._anchor, region, _still_plane(self._anchor, region))
            d = still_difference(rgb, self._anchor, self._anchor_box, anchor_plane=self._anchor_plane[2])
            if d <= self.hold_still:
                self.held_from.append(self._anchor_row)
                return
            if key_frame and d <= KEYFRAME_FACTOR * self.hold_still:  # the same picture, re-coded
                self._anchor = rgb  # new pixel reference; the landmarks stay the anchor's
                self.held_from.append(self._anchor_row)
                return
        self._anchor, self._anchor_row = rgb, i
        h, w = rgb.shape[:2]
        self._anchor_box = None if row is None else face_box(row, w, h)
        self.held_from.append(i)

    def finalize(self) -> FaceTrack:
        n = len(self.rows)
        arr = np.full((n, self.n_points, 3), np.nan, dtype=np.float32)
        for i, r in enumerate(self.rows):
            if r is not None:
                arr[i] = r
        sw, sh = self.src_size or (0, 0)
        w, h = self.resize if self.resize is not None else (sw, sh)
        track = FaceTrack(
            landmarks=arr, width=w, height=h, src_width=sw, src_height=sh,
            times=np.asarray(self.times, dtype=np.float64),
            frame_indices=np.asarray(self.indices, dtype=np.int64),
            config={k: v for k, v in self.config.items() if k != "hold_still"},
        )
        if self.hold_still is None:
            return track
        src = np.asarray(self.held_from, dtype=np.int64)
        return FaceTrack(
            landmarks=arr[src], width=w, height=h, src_width=sw, src_height=sh,
            times=track.times, frame_indices=track.frame_indices, config=self.config,
            tracker=track, held_from=src,
        )

    def shared_value(self, value: FaceTrack) -> FaceTrack:
        """This analyzer's result from the result of the analyzer it shares a Face Mesh run with
        (``ClipContext.prepare``): the tracker's own rows where this one does not hold."""
        if self.hold_still is None and value.tracker is not None:
            return value.tracker
        return value

    def close(self) -> None:
        try:
            self.mesh.close()
        except Exception:  # noqa: BLE001
            pass
