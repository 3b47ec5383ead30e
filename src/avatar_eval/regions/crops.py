"""Region crop videos, written while the clip is decoded (one pass, bounded memory).

Artifacts (registered in :mod:`avatar_eval.regions.artifacts`):

* ``region_crops`` (default mode): for each crop region (``face``, ``mouth``, ``hands`` (both
  hands), ``left_hand``, ``right_hand``) a square, fixed-size (224 px; mouth 128 px), temporally
  smoothed crop video with
  ONE frame per source frame. Frames where the region was not detected are still written (with the
  held box, or black before the first detection) and flagged in ``present``: nothing is dropped
  silently; ``n_missing`` counts them.
* ``region_crops.compat``: JWB-DH's crop videos (``face`` and the two-hands union ``hands``):
  per-frame boxes by the public code's rules, frames without detection and frames outside the
  area range dropped, every crop resized to the first kept crop (see :mod:`.boxes`).

Each crop video is lossless (exact RGB round trip): HuffYUV (``ffvhuff``) in a NUT file by
default, FFV1 in Matroska with ``regions.crop_codec=ffv1`` (smaller, slower); readable
with :func:`avatar_eval.io.video.iter_frames` like any clip, or loaded as a ``uint8`` array with
:meth:`RegionCropVideo.array`. Files live in a temporary directory deleted when the
:class:`RegionCrops` object is garbage-collected (or in ``options["regions"]["crops_dir"]``, kept).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..pipeline.artifacts import FrameAnalyzer
from . import boxes as B
from .tracks import CROP_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext

COMPAT_REGIONS = ("face", "hands")


#: lossless crop codecs: name -> (file suffix, stored pixel format). Both round-trip RGB exactly.
#: ``ffvhuff`` (HuffYUV, in NUT) encodes ~4× and decodes ~2× faster than ``ffv1`` (in Matroska)
#: at ~2.3× the file size (224² face crop of a 1080p talking clip: 0.24 / 0.60 ms and 54 kB a frame
#: against 0.96 / 1.15 ms and 23 kB); ``regions.crop_codec=ffv1`` keeps the smaller files.
CROP_CODECS: dict[str, tuple[str, str]] = {"ffvhuff": (".nut", "rgb24"), "ffv1": (".mkv", "bgr0")}
DEFAULT_CROP_CODEC = "ffvhuff"


def check_crop_codec(codec: Any) -> str:
    """``codec`` if it is one of :data:`CROP_CODECS`, else ValueError (also the up-front option check)."""
    if codec not in CROP_CODECS:
        raise ValueError(f"option 'regions.crop_codec' takes one of {', '.join(sorted(CROP_CODECS))}, got {codec!r}")
    return str(codec)


def crop_codec(ctx: "ClipContext | None") -> str:
    """The crop codec of a run (``regions.crop_codec``), checked against :data:`CROP_CODECS`."""
    opts = ((ctx.options or {}).get("regions", {}) or {}) if ctx is not None else {}
    return check_crop_codec(opts.get("crop_codec", DEFAULT_CROP_CODEC))


class CropVideoWriter:
    """Lossless crop video writer (:data:`CROP_CODECS`); size fixed by the first frame. The codec
    is ``codec`` or, when None, the one whose suffix ``path`` has (``.nut`` ffvhuff, else ffv1)."""

    def __init__(self, path: Path, fps: float, codec: str | None = None):
        self.path = Path(path)
        self.fps = fps
        if codec is None:
            codec = next((c for c, (ext, _) in CROP_CODECS.items() if self.path.suffix == ext), "ffv1")
        self.codec = codec
        self._c = None
        self._s = None
        self.size: tuple[int, int] | None = None  # (w, h) of the frames given
        self.n = 0

    def write(self, rgb: np.ndarray) -> None:
        from fractions import Fraction

        import av

        if self._c is None:
            h, w = rgb.shape[:2]
            self.size = (w, h)
            self._c = av.open(str(self.path), "w")
            rate = Fraction(self.fps).limit_denominator(1001) if self.fps > 0 else Fraction(25)
            self._s = self._c.add_stream(self.codec, rate=rate)
            self._s.width, self._s.height = w, h
            self._s.pix_fmt = CROP_CODECS[self.codec][1]
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            raise ValueError(f"crop size changed: {rgb.shape[1]}x{rgb.shape[0]} vs {self.size}")
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        for p in self._s.encode(vf):
            self._c.mux(p)
        self.n += 1

    def close(self) -> None:
        if self._c is not None:
            for p in self._s.encode():
                self._c.mux(p)
            self._c.close()
            self._c = None


@dataclass
class RegionCropVideo:
    """One region's crop video.

    ``frame_indices`` (N,): source frame of each crop frame; ``present`` (N,): the region was
    detected on that frame (always True in compat mode, where undetected frames are dropped);
    ``boxes`` (N, 4) xyxy source px (NaN where no box existed yet: a black frame).
    """

    region: str
    path: str | None
    width: int
    height: int
    fps: float
    frame_indices: np.ndarray
    present: np.ndarray
    boxes: np.ndarray
    mode: str
    source: str = "detector"
    stats: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.frame_indices.shape[0])

    @property
    def n_present(self) -> int:
        return int(self.present.sum())

    @property
    def n_missing(self) -> int:
        return self.n_frames - self.n_present

    def frames(self) -> Iterator[np.ndarray]:
        """Crop frames in order (uint8 H×W×3 RGB)."""
        if self.path is None or self.n_frames == 0:
            return iter(())
        from ..io.video import iter_frames

        return (f.rgb for f in iter_frames(self.path))

    def array(self, *, stride: int = 1, max_frames: int | None = None, only_present: bool = False) -> np.ndarray:
        """Crops as one uint8 array (N, H, W, 3): every ``stride``-th frame, at most ``max_frames``."""
        out = []
        for i, f in enumerate(self.frames()):
            if i % stride:
                continue
            if only_present and not self.present[i]:
                continue
            out.append(f)
            if max_frames is not None and len(out) >= max_frames:
                break
        if not out:
            return np.zeros((0, self.height, self.width, 3), dtype=np.uint8)
        return np.stack(out)

    def summary(self) -> dict:
        return {"region": self.region, "mode": self.mode, "n_frames": self.n_frames,
                "n_present": self.n_present, "n_missing": self.n_missing,
                "size": [self.width, self.height], "source": self.source, **self.stats}


@dataclass
class RegionCrops:
    """Crop videos of one clip: ``videos[region]`` (see module doc)."""

    mode: str
    videos: dict[str, RegionCropVideo]
    directory: str
    n_source_frames: int
    fps: float
    source_size: tuple[int, int]

    def __getitem__(self, region: str) -> RegionCropVideo:
        try:
            return self.videos[region]
        except KeyError:
            raise KeyError(f"no {self.mode} crops for region {region!r}; have {sorted(self.videos)}") from None

    def summary(self) -> dict:
        return {r: v.summary() for r, v in self.videos.items()}


def _crop_dir(ctx: "ClipContext", mode: str) -> tuple[str, bool]:
    opts = (ctx.options or {}).get("regions", {}) or {}
    stored = ctx.artifact_workdir("region_crops" if mode == "default" else f"region_crops.{mode}") \
        if hasattr(ctx, "artifact_workdir") else None
    if stored:  # the run's artifact store keeps them with the persisted RegionCrops
        return stored, True
    keep = opts.get("crops_dir")
    if keep:
        d = Path(keep) / f"{(ctx.model or 'clip')}__{(ctx.sample_id or Path(ctx.video_path).stem)}__{mode}"
        d.mkdir(parents=True, exist_ok=True)
        return str(d), True
    return tempfile.mkdtemp(prefix=f"avatar-eval-crops-{mode}-", dir=os.environ.get("AVATAR_EVAL_TMP")), False


class _DetectionSource:
    """Per-frame keypoints: the clip's finished ``region_tracks`` if cached, else the shared detector."""

    def __init__(self, ctx: "ClipContext", need: bool):
        from . import mediapipe as mpd

        self.ctx = ctx
        self.tracks = None
        self.det = None
        self.cfg = mpd.detector_config(ctx.options if ctx is not None else None)
        if not need:
            return
        if ctx is not None and ctx.has("region_tracks"):
            self.tracks = ctx.get("region_tracks")
        else:
            self.det = mpd.acquire(ctx, self.cfg)

    def points(self, frame: "Frame", region: str) -> tuple[np.ndarray, np.ndarray]:
        if self.tracks is not None:
            t = self.tracks
            i = int(frame.index)
            pts, sc = t.region_points(region)
            if i >= pts.shape[0]:
                return np.full((1, 2), np.nan), np.full(1, np.nan)
            return pts[i], sc[i]
        d = self.det.detect(frame)
        return _points_of(d, region)

    def close(self) -> None:
        if self.det is not None:
            from . import mediapipe as mpd

            mpd.release(self.ctx, self.cfg)
            self.det = None


def _points_of(d: Any, region: str) -> tuple[np.ndarray, np.ndarray]:
    from .tracks import LIP_LANDMARKS

    face_ok = bool(np.isfinite(d.face[0, 0]))
    if region == "face":
        return d.face.astype(np.float64), np.full(d.face.shape[0], 1.0 if face_ok else np.nan)
    if region == "mouth":
        p = d.face[list(LIP_LANDMARKS)].astype(np.float64)
        return p, np.full(p.shape[0], 1.0 if face_ok else np.nan)
    if region == "left_hand":
        return d.hands[0, :, :2].astype(np.float64), np.full(21, d.hand_score[0], dtype=np.float64)
    if region == "right_hand":
        return d.hands[1, :, :2].astype(np.float64), np.full(21, d.hand_score[1], dtype=np.float64)
    if region == "hands":
        return (d.hands[:, :, :2].reshape(42, 2).astype(np.float64),
                np.repeat(d.hand_score.astype(np.float64), 21))
    raise KeyError(region)


def _manifest(ctx: "ClipContext") -> dict[str, np.ndarray]:
    if ctx is None:
        return {}
    spec = B.manifest_spec_for(ctx)
    if spec is None:
        return {}
    info = ctx.info
    return B.load_manifest_boxes(spec, info.width, info.height)


class DefaultRegionCropper:
    """Per-frame default-mode crops of some regions (causal smoothing: no lag, no buffer).

    Used by the ``region_crops`` artifact and by the VBench crop providers, so both see the same
    pixels. ``crop(frame, region)`` returns ``(crop, present, square)``.
    """

    def __init__(self, ctx: "ClipContext", regions: tuple[str, ...]):
        opts = ((ctx.options or {}).get("regions", {}) or {}) if ctx is not None else {}
        self.window = int(opts.get("window", B.DEFAULT_WINDOW))
        self.regions = tuple(regions)
        self.params = {r: dict(B.DEFAULT_REGION_PARAMS[r], **(opts.get("params", {}).get(r, {}))) for r in self.regions}
        self.manifest = _manifest(ctx)
        self.src = _DetectionSource(ctx, any(r not in self.manifest for r in self.regions))
        self.smooth = {r: B.CausalSmoother(self.window) for r in self.regions}
        self._last: dict[str, tuple[int, tuple]] = {}

    def raw(self, frame: "Frame", region: str) -> np.ndarray:
        if region in self.manifest:
            arr = self.manifest[region]
            i = frame.index
            if i < arr.shape[0] and np.isfinite(arr[i]).all():
                return B.xyxy_to_square(arr[i])
            return np.full(3, np.nan)
        pts, sc = self.src.points(frame, region)
        if not np.isfinite(sc).any():
            return np.full(3, np.nan)
        p = self.params[region]
        return B.square_from_points(pts, p["expand"], p["min_side"])

    def crop(self, frame: "Frame", region: str) -> tuple[np.ndarray, bool, np.ndarray]:
        hit = self._last.get(region)
        if hit is not None and hit[0] == frame.index:
            return hit[1]
        raw = self.raw(frame, region)
        sq = self.smooth[region].push(raw)
        out = int(self.params[region]["out"])
        if np.isfinite(sq).all():
            img = B.crop_square(frame.rgb, sq, out)
        else:
            img = np.zeros((out, out, 3), dtype=np.uint8)
        res = (img, bool(np.isfinite(raw).all()), sq)
        self._last[region] = (frame.index, res)
        return res

    def close(self) -> None:
        self.src.close()


class RegionCropsAnalyzer(FrameAnalyzer):
    """Default-mode crop videos (smoothed squares, one crop per source frame)."""

    def __init__(self, ctx: "ClipContext", regions: tuple[str, ...] = CROP_REGIONS):
        super().__init__(ctx)
        self.cropper = DefaultRegionCropper(ctx, regions)
        self.regions = self.cropper.regions
        self.dir, self.keep = _crop_dir(ctx, "default")
        self.fps = ctx.fps
        codec = crop_codec(ctx)
        ext = CROP_CODECS[codec][0]
        self.writers = {r: CropVideoWriter(Path(self.dir) / f"{r}{ext}", self.fps, codec) for r in self.regions}
        self.present: dict[str, list[bool]] = {r: [] for r in self.regions}
        self.squares: dict[str, list[np.ndarray]] = {r: [] for r in self.regions}
        self.indices: list[int] = []
        self.n = 0
        self.size: tuple[int, int] | None = None
        self._finalized = False

    def update(self, frame: "Frame") -> None:
        if self.size is None:
            self.size = (frame.rgb.shape[1], frame.rgb.shape[0])
        for r in self.regions:
            img, present, sq = self.cropper.crop(frame, r)
            self.writers[r].write(img)
            self.present[r].append(present)
            self.squares[r].append(sq)
        self.indices.append(frame.index)
        self.n += 1

    def finalize(self) -> RegionCrops:
        videos = {}
        for r in self.regions:
            self.writers[r].close()
            p = self.cropper.params[r]
            out = int(p["out"])
            sq = np.asarray(self.squares[r]).reshape(-1, 3)
            videos[r] = RegionCropVideo(
                region=r, path=str(self.writers[r].path) if self.writers[r].n else None,
                width=out, height=out, fps=self.fps,
                frame_indices=np.asarray(self.indices, dtype=np.int64),
                present=np.asarray(self.present[r], dtype=bool),
                boxes=B.square_to_xyxy(sq), mode="default",
                source="manifest" if r in self.cropper.manifest else "detector",
                stats={"window": self.cropper.window, **dict(p)},
            )
        self._finalized = True
        rc = RegionCrops("default", videos, self.dir, self.n, self.fps, self.size or (0, 0))
        if not self.keep:
            weakref.finalize(rc, shutil.rmtree, self.dir, True)
        return rc

    def close(self) -> None:
        self.cropper.close()
        for w in self.writers.values():
            try:
                w.close()
            except Exception:  # noqa: BLE001
                pass
        if not self._finalized and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


class CompatCropsAnalyzer(FrameAnalyzer):
    """JWB-DH crop videos (face, hands union): per-frame boxes, drops, area filter, first-crop size."""

    def __init__(self, ctx: "ClipContext", regions: tuple[str, ...] = COMPAT_REGIONS):
        super().__init__(ctx)
        self.regions = tuple(regions)
        self.manifest = _manifest(ctx)
        need = any(r not in self.manifest for r in self.regions)
        self.src = _DetectionSource(ctx, need)
        self.dir, self.keep = _crop_dir(ctx, "compat")
        self.fps = ctx.fps
        # two streams per region: crops that pass the area filter, and all crops (the fallback)
        codec = crop_codec(ctx)
        self.ext = CROP_CODECS[codec][0]
        self.w_pass = {r: CropVideoWriter(Path(self.dir) / f"{r}{self.ext}", self.fps, codec) for r in self.regions}
        self.w_all = {r: CropVideoWriter(Path(self.dir) / f"{r}.all{self.ext}", self.fps, codec) for r in self.regions}
        self.boxes: dict[str, dict[int, B.Box]] = {r: {} for r in self.regions}
        self.n = 0
        self.size: tuple[int, int] | None = None
        self._finalized = False

    def _box(self, frame: "Frame", region: str) -> B.Box | None:
        H, W = frame.rgb.shape[:2]
        if region in self.manifest:
            arr = self.manifest[region]
            i = frame.index
            if i < arr.shape[0] and np.isfinite(arr[i]).all():
                x0, y0, x1, y1 = arr[i]
                b = (max(0, int(x0)), max(0, int(y0)), min(W, int(x1)), min(H, int(y1)))
                return b if b[2] > b[0] and b[3] > b[1] else None
            return None
        pts, sc = self.src.points(frame, region)
        return B.jwbdh_box(region, pts, sc, W, H)

    @staticmethod
    def _write(w: CropVideoWriter, crop: np.ndarray) -> None:
        import cv2

        if w.size is not None and (crop.shape[1], crop.shape[0]) != w.size:
            crop = cv2.resize(crop, w.size)  # JWB-DH: cv2.resize(img, (width, height)), bilinear
        w.write(crop)

    def update(self, frame: "Frame") -> None:
        if self.size is None:
            self.size = (frame.rgb.shape[1], frame.rgb.shape[0])
        self.n += 1
        for r in self.regions:
            b = self._box(frame, r)
            if b is None:
                continue
            self.boxes[r][frame.index] = b
            crop = np.ascontiguousarray(B.crop_xyxy(frame.rgb, b))
            self._write(self.w_all[r], crop)
            if r in self.manifest:
                continue
            lo, hi = B.JWBDH_AREA[r]
            if lo <= B.box_area(b) <= hi:
                self._write(self.w_pass[r], crop)

    def finalize(self) -> RegionCrops:
        videos = {}
        for r in self.regions:
            self.w_pass[r].close()
            self.w_all[r].close()
            boxes = self.boxes[r]
            if r in self.manifest:
                kept, stats = list(boxes), {"detected": len(boxes), "kept": len(boxes), "area_filter": 0}
                w = self.w_all[r]
            else:
                kept, stats = B.jwbdh_area_keep(r, boxes)
                w = self.w_all[r] if stats["fallback_all"] else self.w_pass[r]
            other = self.w_pass[r] if w is self.w_all[r] else self.w_all[r]
            if other.n:
                os.unlink(other.path)
            if w.n and w.path.name != f"{r}{self.ext}":
                final = w.path.with_name(f"{r}{self.ext}")
                os.replace(w.path, final)
                w.path = final
            size = w.size or (0, 0)
            stats["n_source_frames"] = self.n
            stats["missing_frames"] = self.n - stats["detected"]
            videos[r] = RegionCropVideo(
                region=r, path=str(w.path) if w.n else None, width=size[0], height=size[1], fps=self.fps,
                frame_indices=np.asarray(kept, dtype=np.int64), present=np.ones(len(kept), dtype=bool),
                boxes=np.asarray([boxes[i] for i in kept], dtype=np.float64).reshape(-1, 4),
                mode="compat", source="manifest" if r in self.manifest else "detector", stats=stats,
            )
        self._finalized = True
        rc = RegionCrops("compat", videos, self.dir, self.n, self.fps, self.size or (0, 0))
        if not self.keep:
            weakref.finalize(rc, shutil.rmtree, self.dir, True)
        return rc

    def close(self) -> None:
        self.src.close()
        for w in list(self.w_pass.values()) + list(self.w_all.values()):
            try:
                w.close()
            except Exception:  # noqa: BLE001
                pass
        if not self._finalized and not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
