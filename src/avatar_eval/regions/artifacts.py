"""Region artifacts (registered on import; every metric module that needs them imports this).

| name | kind | value |
|---|---|---|
| ``region_tracks`` | frame | :class:`~.tracks.RegionTracks`: MediaPipe Pose / Hands / Face Mesh per frame |
| ``region_boxes`` | value | ``{region: RegionBoxes}`` smoothed default-mode boxes (manifest boxes win) |
| ``region_crops`` | frame | :class:`~.crops.RegionCrops` default mode (face, mouth, hands, left_hand, right_hand) |
| ``region_crops.compat`` | frame | :class:`~.crops.RegionCrops` JWB-DH mode (face, hands) |
| ``first_frames16`` | frame | the first 16 decoded RGB frames (uint8 (≤16, H, W, 3)): JWB-DH's per-pair inputs |

``region_tracks``, ``region_crops`` and ``region_crops.compat`` share one detector per clip
(:func:`avatar_eval.regions.mediapipe.acquire`), so asking for all three landmarks each frame once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..pipeline.artifacts import FrameAnalyzer, artifact, register_frame_artifact
from . import boxes as B
from .tracks import CROP_REGIONS, RegionTracks

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext


class RegionTracksAnalyzer(FrameAnalyzer):
    def __init__(self, ctx: "ClipContext"):
        super().__init__(ctx)
        from . import mediapipe as mpd

        self.cfg = mpd.detector_config(ctx.options if ctx is not None else None)
        self.det = mpd.acquire(ctx, self.cfg)
        self.rows: list = []
        self.times: list[float] = []
        self.indices: list[int] = []
        self.size: tuple[int, int] | None = None

    def update(self, frame: "Frame") -> None:
        if self.size is None:
            self.size = (frame.rgb.shape[1], frame.rgb.shape[0])
        self.rows.append(self.det.detect(frame))
        self.times.append(frame.time)
        self.indices.append(frame.index)

    def finalize(self) -> RegionTracks:
        T = len(self.rows)
        pose = np.full((T, 33, 4), np.nan, dtype=np.float32)
        hands = np.full((T, 2, 21, 3), np.nan, dtype=np.float32)
        score = np.full((T, 2), np.nan, dtype=np.float32)
        source = np.zeros((T, 2), dtype=np.int8)
        face = np.full((T, 468, 2), np.nan, dtype=np.float32)
        for i, d in enumerate(self.rows):
            pose[i], hands[i], score[i], source[i], face[i] = d.pose, d.hands, d.hand_score, d.hand_source, d.face
        w, h = self.size or (0, 0)
        fps = self.ctx.fps if self.ctx is not None else 0.0
        return RegionTracks(pose, hands, score, source, face, w, h,
                            np.asarray(self.times), np.asarray(self.indices, dtype=np.int64), fps,
                            "mediapipe", dict(self.cfg))

    def close(self) -> None:
        from . import mediapipe as mpd

        if self.det is not None:
            mpd.release(self.ctx, self.cfg)
            self.det = None


register_frame_artifact(
    "region_tracks", RegionTracksAnalyzer,
    "MediaPipe Pose (33 pts + visibility), Hands (2×21 pts + handedness confidence, person's "
    "left/right from the Pose wrists, wrist-ROI re-detection) and Face Mesh (468 pts) per frame, "
    "source-frame pixels, NaN where not found.",
    persist=True,
)


def _crops_default(ctx: "ClipContext"):
    from .crops import RegionCropsAnalyzer

    return RegionCropsAnalyzer(ctx)


def _crops_compat(ctx: "ClipContext"):
    from .crops import CompatCropsAnalyzer

    return CompatCropsAnalyzer(ctx)


register_frame_artifact(
    "region_crops", _crops_default,
    "Default-mode region crop videos (face 224², mouth 128², hands / left_hand / right_hand 224²): "
    "smoothed square boxes, one crop per source frame, `present` mask; lossless crop videos (HuffYUV .nut, or FFV1 .mkv: regions.crop_codec).",
    persist=True,
)
register_frame_artifact(
    "region_crops.compat", _crops_compat,
    "JWB-DH crop videos (face, hands union): public-code box rules, undetected and out-of-area "
    "frames dropped, crops resized to the first kept crop; lossless crop videos (regions.crop_codec).",
    persist=True,
)


class FirstFramesAnalyzer(FrameAnalyzer):
    """Keeps the first ``n`` decoded frames (bounded memory)."""

    def __init__(self, ctx: "ClipContext", n: int = 16):
        super().__init__(ctx)
        self.n = n
        self.frames: list[np.ndarray] = []

    def update(self, frame: "Frame") -> None:
        if len(self.frames) < self.n:
            self.frames.append(frame.rgb)

    def finalize(self) -> np.ndarray:
        return np.stack(self.frames) if self.frames else np.zeros((0, 0, 0, 3), dtype=np.uint8)


register_frame_artifact("first_frames16", FirstFramesAnalyzer,
                        "The first 16 decoded RGB frames (JWB-DH's per-pair FID/FVD/PSNR inputs).")


@artifact("region_boxes", "Default-mode boxes per crop region {region: RegionBoxes}; manifest boxes win.")
def region_boxes(ctx: "ClipContext") -> dict[str, B.RegionBoxes]:
    spec = B.manifest_spec_for(ctx)
    manifest = B.load_manifest_boxes(spec, ctx.info.width, ctx.info.height) if spec is not None else {}
    opts = (ctx.options or {}).get("regions", {}) or {}
    window = int(opts.get("window", B.DEFAULT_WINDOW))
    out: dict[str, B.RegionBoxes] = {}
    tracks = None
    n_frames = None
    for r in CROP_REGIONS:
        if r in manifest:
            if n_frames is None:
                n_frames = ctx.get("region_tracks").n_frames if not all(x in manifest for x in CROP_REGIONS) \
                    else max(a.shape[0] for a in manifest.values())
            out[r] = B.manifest_region_boxes(manifest[r], r, n_frames)
            continue
        if tracks is None:
            tracks = ctx.get("region_tracks")
            n_frames = tracks.n_frames
        out[r] = B.default_region_boxes(tracks, r, opts.get("params", {}).get(r), window)
    return out


@artifact("region_boxes.compat", "JWB-DH per-frame boxes {region: {frame: (x0,y0,x1,y1)}} + area-filter stats.")
def region_boxes_compat(ctx: "ClipContext") -> dict[str, dict]:
    tracks = ctx.get("region_tracks")
    out: dict[str, dict] = {}
    for r in ("face", "hands"):
        pts, sc = tracks.region_points(r)
        boxes = {}
        for t in range(tracks.n_frames):
            b = B.jwbdh_box(r, pts[t], sc[t], tracks.width, tracks.height)
            if b is not None:
                boxes[int(tracks.frame_indices[t])] = b
        kept, stats = B.jwbdh_area_keep(r, boxes)
        out[r] = {"boxes": boxes, "kept": kept, "stats": stats}
    return out


def computed_boxes(ctx: "ClipContext") -> dict[str, np.ndarray] | None:
    """The region boxes a clip's metrics already computed (``region_crops`` default mode, else
    ``region_boxes``), as ``{region: (T, 4) xyxy source px, NaN where the region is absent}`` (the
    format :func:`~.boxes.load_manifest_boxes` reads); None when no region artifact ran. Computes
    nothing: the runner stores these with the run so reports can draw them."""
    if ctx.has("region_crops"):
        crops = ctx.get("region_crops")
        out: dict[str, np.ndarray] = {}
        for region, v in crops.videos.items():
            arr = np.full((int(crops.n_source_frames), 4), np.nan)
            idx = np.asarray(v.frame_indices, dtype=np.int64)
            keep = np.asarray(v.present, dtype=bool) & (idx >= 0) & (idx < arr.shape[0])
            arr[idx[keep]] = np.asarray(v.boxes, dtype=np.float64)[keep]
            out[region] = arr
        return out or None
    if ctx.has("region_boxes"):
        out = {}
        for region, b in ctx.get("region_boxes").items():
            arr = np.asarray(b.xyxy, dtype=np.float64).copy()
            arr[~np.asarray(b.present, dtype=bool)] = np.nan
            out[region] = arr
        return out or None
    return None
